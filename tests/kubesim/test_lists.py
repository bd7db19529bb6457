"""Conformance: LIST with selectors, pagination and resourceVersion; Table output."""

from __future__ import annotations

from kubesim.testing import CM, DEPLOY, Api, cm, deployment

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


async def _seed(api: Api) -> None:
    for name, labels in (
        ("a", {"app": "web", "tier": "fe"}),
        ("b", {"app": "web", "tier": "be"}),
        ("c", {"app": "db"}),
        ("d", {}),
    ):
        body = cm(name)
        body["metadata"]["labels"] = labels
        assert (await api.post(CM, body))[0] == 201


async def _names(api: Api, path: str, **params: str) -> list[str]:
    status, body = await api.get(path, params=params)
    assert status == 200, body
    return [o["metadata"]["name"] for o in body["items"]]


async def test_list_shape(api: Api) -> None:
    await _seed(api)
    status, body = await api.get(CM)
    assert status == 200
    assert body["kind"] == "ConfigMapList" and body["apiVersion"] == "v1"
    assert int(body["metadata"]["resourceVersion"]) > 0
    names = [o["metadata"]["name"] for o in body["items"]]
    assert names == sorted(names)


async def test_label_selectors(api: Api) -> None:
    await _seed(api)
    assert await _names(api, CM, labelSelector="app=web") == ["a", "b"]
    assert await _names(api, CM, labelSelector="app==web,tier!=fe") == ["b"]
    assert await _names(api, CM, labelSelector="app in (web,db)") == ["a", "b", "c"]
    assert await _names(api, CM, labelSelector="app notin (web),app") == ["c"]
    assert await _names(api, CM, labelSelector="!app") == ["d", "kube-root-ca.crt"]
    assert await _names(api, CM, labelSelector="tier") == ["a", "b"]


async def test_bad_label_selector_is_400(api: Api) -> None:
    status, body = await api.get(CM, params={"labelSelector": "a b c"})
    assert status == 400 and body["reason"] == "BadRequest"


async def test_field_selectors(api: Api) -> None:
    await _seed(api)
    assert await _names(api, CM, fieldSelector="metadata.name=b") == ["b"]
    assert await _names(
        api, "/api/v1/configmaps", fieldSelector="metadata.namespace=default,metadata.name!=a"
    ) == ["b", "c", "d", "kube-root-ca.crt"]


async def test_unsupported_field_selector_is_400(api: Api) -> None:
    status, body = await api.get(CM, params={"fieldSelector": "status.phase=Running"})
    assert status == 400
    assert (
        body["message"]
        == '"status.phase" is not a known field selector: only "metadata.name", "metadata.namespace"'
    )


async def test_pod_field_selector_status_phase(api: Api) -> None:
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
    assert (await api.post("/api/v1/namespaces/default/pods", pod))[0] == 201
    assert await _names(api, "/api/v1/namespaces/default/pods", fieldSelector="status.phase=Pending") == ["p"]
    assert await _names(api, "/api/v1/namespaces/default/pods", fieldSelector="status.phase=Running") == []


async def test_cluster_wide_list_of_namespaced_resource(api: Api) -> None:
    await api.post("/api/v1/namespaces", {"metadata": {"name": "other"}})
    await api.post("/api/v1/namespaces/other/configmaps", cm("x"))
    await api.post(CM, cm("y"))
    status, body = await api.get("/api/v1/configmaps")
    assert status == 200
    pairs = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in body["items"]}
    assert {("other", "x"), ("default", "y")} <= pairs


async def test_limit_and_continue(api: Api) -> None:
    await _seed(api)
    status, page1 = await api.get(CM, params={"limit": "2"})
    assert status == 200
    assert [o["metadata"]["name"] for o in page1["items"]] == ["a", "b"]
    assert page1["metadata"]["continue"]
    assert page1["metadata"]["remainingItemCount"] == 3
    status, page2 = await api.get(CM, params={"limit": "2", "continue": page1["metadata"]["continue"]})
    assert [o["metadata"]["name"] for o in page2["items"]] == ["c", "d"]
    status, page3 = await api.get(CM, params={"limit": "2", "continue": page2["metadata"]["continue"]})
    assert [o["metadata"]["name"] for o in page3["items"]] == ["kube-root-ca.crt"]
    assert "continue" not in page3["metadata"]
    assert page3["metadata"]["resourceVersion"] == page1["metadata"]["resourceVersion"]


async def test_bad_continue_is_400(api: Api) -> None:
    status, _body = await api.get(CM, params={"limit": "1", "continue": "garbage!"})
    assert status == 400


async def test_resource_version_match_needs_resource_version(api: Api) -> None:
    status, body = await api.get(CM, params={"resourceVersionMatch": "NotOlderThan"})
    assert status == 422 and body["details"]["causes"][0]["field"] == "resourceVersionMatch"


async def test_too_large_resource_version_is_504(api: Api) -> None:
    status, body = await api.get(CM, params={"resourceVersion": "999999"})
    assert status == 504 and body["reason"] == "Timeout"
    assert body["message"].startswith("Too large resource version: 999999")


async def test_exact_old_resource_version_is_410(api: Api) -> None:
    _, body = await api.get(CM)
    await api.post(CM, cm("new"))
    status, err = await api.get(
        CM, params={"resourceVersion": body["metadata"]["resourceVersion"], "resourceVersionMatch": "Exact"}
    )
    assert status == 410 and err["reason"] == "Expired"


async def test_table_output_for_deployments(api: Api) -> None:
    await api.post(DEPLOY, deployment("web", replicas=3))
    status, table = await api.get(DEPLOY, headers={"Accept": TABLE})
    assert status == 200
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    names = [c["name"] for c in table["columnDefinitions"] if c["priority"] == 0]
    assert names == ["Name", "Ready", "Up-to-date", "Available", "Age"]
    row = table["rows"][0]
    assert row["cells"][:2] == ["web", "0/3"]
    assert row["object"]["kind"] == "PartialObjectMetadata"
    assert row["object"]["metadata"]["name"] == "web"


async def test_table_output_single_object_and_namespaces(api: Api) -> None:
    status, table = await api.get("/api/v1/namespaces/default", headers={"Accept": TABLE})
    assert status == 200
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Status", "Age"]
    assert table["rows"][0]["cells"][:2] == ["default", "Active"]


async def test_partial_object_metadata_list(api: Api) -> None:
    await _seed(api)
    accept = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"
    status, body = await api.get(CM, headers={"Accept": accept})
    assert status == 200 and body["kind"] == "PartialObjectMetadataList"
    assert "data" not in body["items"][0]


async def test_event_table_columns(api: Api) -> None:
    event = {
        "metadata": {"name": "web.1"},
        "type": "Warning",
        "reason": "Failed",
        "message": "boom",
        "involvedObject": {"kind": "Deployment", "name": "web", "namespace": "default"},
        "lastTimestamp": "2026-01-01T00:00:00Z",
    }
    assert (await api.post("/api/v1/namespaces/default/events", event))[0] == 201
    status, table = await api.get("/api/v1/namespaces/default/events", headers={"Accept": TABLE})
    assert status == 200
    assert [c["name"] for c in table["columnDefinitions"]][:5] == [
        "Last Seen",
        "Type",
        "Reason",
        "Object",
        "Message",
    ]
    assert table["rows"][0]["cells"][1:5] == ["Warning", "Failed", "deployment/web", "boom"]


async def test_more_table_columns(api: Api) -> None:
    await api.post(
        "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
        {
            "metadata": {"name": "rb"},
            "subjects": [],
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        },
    )
    pvc = {
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    await api.post("/api/v1/namespaces/default/persistentvolumeclaims", pvc)
    _, rbs = await api.get(
        "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings", headers={"Accept": TABLE}
    )
    assert [c["name"] for c in rbs["columnDefinitions"]] == ["Name", "Role", "Age"]
    assert rbs["rows"][0]["cells"][:2] == ["rb", "ClusterRole/view"]
    _, pvcs = await api.get("/api/v1/namespaces/default/persistentvolumeclaims", headers={"Accept": TABLE})
    assert [c["name"] for c in pvcs["columnDefinitions"]][:3] == ["Name", "Status", "Volume"]
    assert pvcs["rows"][0]["cells"][1] == "Pending"


async def test_wide_columns_for_workloads(api: Api) -> None:
    await api.post(DEPLOY, deployment("web"))
    _, table = await api.get(DEPLOY, headers={"Accept": TABLE})
    wide = [(c["name"], c["priority"]) for c in table["columnDefinitions"] if c["priority"]]
    assert wide == [("Containers", 1), ("Images", 1), ("Selector", 1)]
    assert table["rows"][0]["cells"][-3:] == ["c", "nginx", "app=web"]


async def test_pagination_is_a_consistent_snapshot(api: Api) -> None:
    await _seed(api)
    _, page1 = await api.get(CM, params={"limit": "2"})
    await api.delete(f"{CM}/c")  # changes after the first page do not show in later pages
    await api.post(CM, cm("bb"))
    _, page2 = await api.get(CM, params={"limit": "2", "continue": page1["metadata"]["continue"]})
    assert [o["metadata"]["name"] for o in page2["items"]] == ["c", "d"]
    _, fresh = await api.get(CM)
    assert "c" not in [o["metadata"]["name"] for o in fresh["items"]]
