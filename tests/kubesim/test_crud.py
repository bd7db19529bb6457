"""Conformance: object identity, metadata and errors on create/read/update/delete (raw HTTP)."""

from __future__ import annotations

from kubesim.testing import CM, DEPLOY, Api, cm, deployment


def assert_status(body: dict, *, code: int, reason: str, message: str | None = None) -> None:
    assert body["kind"] == "Status"
    assert body["apiVersion"] == "v1"
    assert body["status"] == "Failure"
    assert body["code"] == code
    assert body["reason"] == reason
    if message is not None:
        assert body["message"] == message


async def test_create_sets_system_metadata(api: Api) -> None:
    status, body = await api.post(CM, cm("a", k="v"))
    assert status == 201
    md = body["metadata"]
    assert body["kind"] == "ConfigMap" and body["apiVersion"] == "v1"
    assert md["namespace"] == "default"
    assert len(md["uid"]) == 36
    assert md["creationTimestamp"].endswith("Z")
    assert int(md["resourceVersion"]) > 0
    assert "generation" not in md  # configmaps do not track generation
    assert md["managedFields"][0]["operation"] == "Update"


async def test_get_missing_is_404_with_status(api: Api) -> None:
    status, body = await api.get(f"{CM}/nope")
    assert status == 404
    assert_status(body, code=404, reason="NotFound", message='configmaps "nope" not found')
    assert body["details"] == {"name": "nope", "kind": "configmaps"}


async def test_grouped_resource_not_found_message(api: Api) -> None:
    status, body = await api.get(f"{DEPLOY}/nope")
    assert status == 404
    assert body["message"] == 'deployments.apps "nope" not found'
    assert body["details"] == {"name": "nope", "group": "apps", "kind": "deployments"}


async def test_create_twice_is_already_exists(api: Api) -> None:
    assert (await api.post(CM, cm("a")))[0] == 201
    status, body = await api.post(CM, cm("a"))
    assert status == 409
    assert_status(body, code=409, reason="AlreadyExists", message='configmaps "a" already exists')


async def test_create_in_missing_namespace_is_404(api: Api) -> None:
    status, body = await api.post("/api/v1/namespaces/nope/configmaps", cm("a"))
    assert status == 404
    assert_status(body, code=404, reason="NotFound", message='namespaces "nope" not found')


async def test_invalid_name_is_422_with_cause(api: Api) -> None:
    status, body = await api.post(CM, cm("Bad_Name"))
    assert status == 422
    assert_status(body, code=422, reason="Invalid")
    assert body["message"].startswith(
        'ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": '
        "a lowercase RFC 1123 subdomain"
    )
    cause = body["details"]["causes"][0]
    assert cause["reason"] == "FieldValueInvalid" and cause["field"] == "metadata.name"
    assert body["details"]["kind"] == "ConfigMap"


async def test_namespace_name_must_be_dns_label(api: Api) -> None:
    status, body = await api.post("/api/v1/namespaces", {"metadata": {"name": "a.b"}})
    assert status == 422
    assert "RFC 1123 label" in body["message"]


async def test_missing_name_is_required(api: Api) -> None:
    status, body = await api.post(CM, {"metadata": {}})
    assert status == 422
    assert (
        body["message"]
        == 'ConfigMap "" is invalid: metadata.name: Required value: name or generateName is required'
    )
    assert body["details"]["causes"][0]["reason"] == "FieldValueRequired"


async def test_generate_name(api: Api) -> None:
    status, body = await api.post(CM, {"metadata": {"generateName": "gen-"}})
    assert status == 201
    name = body["metadata"]["name"]
    assert name.startswith("gen-") and len(name) == 9
    assert body["metadata"]["generateName"] == "gen-"


async def test_resource_version_strictly_increases_across_kinds(api: Api) -> None:
    _, a = await api.post(CM, cm("a"))
    _, d = await api.post(DEPLOY, deployment("web"))
    _, b = await api.put(f"{CM}/a", {**a, "data": {"x": "y"}})
    rvs = [int(o["metadata"]["resourceVersion"]) for o in (a, d, b)]
    assert rvs == sorted(rvs) and len(set(rvs)) == 3


async def test_stale_update_is_conflict(api: Api) -> None:
    _, a = await api.post(CM, cm("a"))
    status, _ = await api.put(f"{CM}/a", {**a, "data": {"x": "1"}})
    assert status == 200
    status, body = await api.put(f"{CM}/a", {**a, "data": {"x": "2"}})
    assert status == 409
    assert_status(
        body,
        code=409,
        reason="Conflict",
        message=(
            'Operation cannot be fulfilled on configmaps "a": the object has been modified; '
            "please apply your changes to the latest version and try again"
        ),
    )


async def test_update_without_resource_version_is_unconditional(api: Api) -> None:
    _, a = await api.post(CM, cm("a"))
    del a["metadata"]["resourceVersion"]
    status, body = await api.put(f"{CM}/a", {**a, "data": {"x": "1"}})
    assert status == 200 and body["data"] == {"x": "1"}


async def test_update_missing_is_404(api: Api) -> None:
    status, body = await api.put(f"{CM}/ghost", cm("ghost"))
    assert status == 404 and body["reason"] == "NotFound"


async def test_update_name_mismatch_is_400(api: Api) -> None:
    await api.post(CM, cm("a"))
    status, body = await api.put(f"{CM}/a", cm("b"))
    assert status == 400
    assert body["message"] == "the name of the object (b) does not match the name on the URL (a)"


async def test_noop_update_keeps_resource_version(api: Api) -> None:
    _, a = await api.post(CM, cm("a", k="v"))
    status, b = await api.put(f"{CM}/a", a)
    assert status == 200
    assert b["metadata"]["resourceVersion"] == a["metadata"]["resourceVersion"]


async def test_generation_bumps_only_on_spec_change(api: Api) -> None:
    _, d = await api.post(DEPLOY, deployment("web"))
    assert d["metadata"]["generation"] == 1
    d["metadata"]["labels"] = {"x": "y"}
    _, d = await api.put(f"{DEPLOY}/web", d)
    assert d["metadata"]["generation"] == 1
    d["spec"]["replicas"] = 5
    _, d = await api.put(f"{DEPLOY}/web", d)
    assert d["metadata"]["generation"] == 2
    status, d = await api.put(f"{DEPLOY}/web/status", {**d, "status": {"replicas": 5}})
    assert status == 200 and d["metadata"]["generation"] == 2


async def test_status_subresource_rules(api: Api) -> None:
    body = deployment("web")
    body["status"] = {"replicas": 7}
    _, d = await api.post(DEPLOY, body)
    assert d["status"] == {}  # create ignores status
    _, d = await api.put(
        f"{DEPLOY}/web/status", {**d, "status": {"replicas": 3}, "spec": {**d["spec"], "replicas": 9}}
    )
    assert d["status"] == {"replicas": 3}
    assert d["spec"]["replicas"] == 1  # /status changes only status
    _, d = await api.put(f"{DEPLOY}/web", {**d, "status": {"replicas": 0}})
    assert d["status"] == {"replicas": 3}  # main resource ignores status


async def test_dry_run_changes_nothing(api: Api) -> None:
    status, body = await api.post(CM, cm("a"), params={"dryRun": "All"})
    assert status == 201 and body["metadata"]["name"] == "a"
    assert (await api.get(f"{CM}/a"))[0] == 404
    await api.post(CM, cm("a", k="1"))
    _, live = await api.get(f"{CM}/a")
    status, body = await api.put(f"{CM}/a", {**live, "data": {"k": "2"}}, params={"dryRun": "All"})
    assert status == 200 and body["data"] == {"k": "2"}
    status, body = await api.delete(f"{CM}/a", params={"dryRun": "All"})
    assert status == 200
    _, after = await api.get(f"{CM}/a")
    assert after == live


async def test_delete_returns_success_status(api: Api) -> None:
    _, a = await api.post(CM, cm("a"))
    status, body = await api.delete(f"{CM}/a")
    assert status == 200
    assert body["status"] == "Success"
    assert body["details"] == {"name": "a", "kind": "configmaps", "uid": a["metadata"]["uid"]}
    assert (await api.get(f"{CM}/a"))[0] == 404


async def test_delete_preconditions(api: Api) -> None:
    _, a = await api.post(CM, cm("a"))
    status, body = await api.delete(f"{CM}/a", {"preconditions": {"uid": "other"}})
    assert status == 409
    assert body["message"] == (
        f'Operation cannot be fulfilled on configmaps "a": Precondition failed: '
        f"UID in precondition: other, UID in object meta: {a['metadata']['uid']}"
    )
    status, body = await api.delete(f"{CM}/a", {"preconditions": {"resourceVersion": "1"}})
    assert status == 409 and "ResourceVersion in precondition: 1" in body["message"]
    status, _ = await api.delete(f"{CM}/a", {"preconditions": {"uid": a["metadata"]["uid"]}})
    assert status == 200


async def test_finalizers_hold_deletion(api: Api) -> None:
    body = cm("a")
    body["metadata"]["finalizers"] = ["example.com/hold"]
    await api.post(CM, body)
    status, gone = await api.delete(f"{CM}/a")
    assert status == 200
    assert gone["metadata"]["deletionTimestamp"]
    _, live = await api.get(f"{CM}/a")
    assert live["metadata"]["deletionTimestamp"]
    live["metadata"]["finalizers"].append("example.com/new")
    status, err = await api.put(f"{CM}/a", live)
    assert status == 422 and err["details"]["causes"][0]["field"] == "metadata.finalizers"
    live["metadata"]["finalizers"] = []
    status, _ = await api.put(f"{CM}/a", live)
    assert status == 200
    assert (await api.get(f"{CM}/a"))[0] == 404


async def test_unknown_resource_is_404(api: Api) -> None:
    for path in (
        "/apis/example.com/v1/widgets",
        "/api/v1/namespaces/default/widgets",
        "/apis/nope.io",
        "/api/v2",
    ):
        status, body = await api.get(path)
        assert status == 404, path
        assert body["message"] == "the server could not find the requested resource"


async def test_wrong_method_is_405(api: Api) -> None:
    status, body = await api.post(f"{CM}/a", cm("a"))
    assert status == 405 and body["reason"] == "MethodNotAllowed"


async def test_namespace_mismatch_is_400(api: Api) -> None:
    body = cm("a")
    body["metadata"]["namespace"] = "kube-system"
    status, err = await api.post(CM, body)
    assert status == 400
    assert (
        err["message"]
        == "the namespace of the provided object does not match the namespace sent on the request"
    )


async def test_cluster_scoped_objects(api: Api) -> None:
    status, ns = await api.post("/api/v1/namespaces", {"metadata": {"name": "team", "namespace": "x"}})
    assert status == 201
    assert "namespace" not in ns["metadata"]
    assert ns["status"] == {"phase": "Active"}


async def test_system_namespaces_cannot_be_deleted(api: Api) -> None:
    status, body = await api.delete("/api/v1/namespaces/default")
    assert status == 403
    assert body["message"] == 'namespaces "default" is forbidden: this namespace may not be deleted'


async def test_server_defaults(api: Api) -> None:
    _, secret = await api.post("/api/v1/namespaces/default/secrets", {"metadata": {"name": "s"}})
    assert secret["type"] == "Opaque"
    body = deployment("web")
    del body["spec"]["replicas"]
    _, d = await api.post(DEPLOY, body)
    assert d["spec"]["replicas"] == 1
    assert d["spec"]["strategy"]["type"] == "RollingUpdate"


async def test_resource_version_on_create_is_400(api: Api) -> None:
    body = cm("a")
    body["metadata"]["resourceVersion"] = "5"
    status, err = await api.post(CM, body)
    assert status == 400 and err["message"] == "resourceVersion should not be set on objects to be created"


async def test_immutable_configmap(api: Api) -> None:
    body = cm("frozen", k="v")
    body["immutable"] = True
    _, live = await api.post(CM, body)
    status, err = await api.put(f"{CM}/frozen", {**live, "data": {"k": "w"}})
    assert status == 422
    assert (
        err["message"]
        == 'ConfigMap "frozen" is invalid: data: Forbidden: field is immutable when `immutable` is set'
    )


async def test_selector_is_immutable(api: Api) -> None:
    _, d = await api.post(DEPLOY, deployment("web"))
    d["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    d["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    status, err = await api.put(f"{DEPLOY}/web", d)
    assert status == 422
    assert err["message"] == (
        'Deployment.apps "web" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:'
        'map[string]string{"app":"other"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: '
        "field is immutable"
    )


async def test_object_too_large_for_etcd(api: Api) -> None:
    status, body = await api.post(CM, cm("big", blob="x" * (1600 * 1024)))
    assert status == 500
    assert body["message"] == "etcdserver: request is too large" and "reason" not in body
    status, _ = await api.post(CM, cm("fits", blob="x" * (1400 * 1024)))
    assert status == 201


async def test_request_body_too_large(api: Api) -> None:
    status, body = await api.post(CM, cm("huge", blob="x" * (3 * 1024 * 1024 + 10)))
    assert status == 413 and body["reason"] == "RequestEntityTooLarge"


async def test_delete_collection_with_selector(api: Api) -> None:
    for name, app in (("a", "web"), ("b", "web"), ("c", "db")):
        body = cm(name)
        body["metadata"]["labels"] = {"app": app}
        await api.post(CM, body)
    status, body = await api.delete(CM, params={"labelSelector": "app=web"})
    assert status == 200 and body["kind"] == "ConfigMapList"
    assert sorted(o["metadata"]["name"] for o in body["items"]) == ["a", "b"]
    _, left = await api.get(CM, params={"labelSelector": "app"})
    assert [o["metadata"]["name"] for o in left["items"]] == ["c"]


async def test_owner_reference_fields_required(api: Api) -> None:
    body = cm("dep")
    body["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner"}]
    status, err = await api.post(CM, body)
    assert status == 422
    expected = (
        'ConfigMap "dep" is invalid: metadata.ownerReferences.uid: Invalid value: "": uid must not be empty'
    )
    assert err["message"] == expected


async def test_unqualified_finalizer_warns(api: Api) -> None:
    body = cm("f")
    body["metadata"]["finalizers"] = ["unqualified"]
    async with api.session.post(CM, json=body) as resp:
        assert resp.status == 201
        assert "prefer a domain-qualified finalizer name" in resp.headers["Warning"]


async def test_missing_namespace_wins_over_invalid_name(api: Api) -> None:
    status, body = await api.post("/api/v1/namespaces/nope/configmaps", cm("Bad_Name"))
    assert status == 404 and body["message"] == 'namespaces "nope" not found'
