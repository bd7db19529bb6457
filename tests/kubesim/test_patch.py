"""Conformance: PATCH in all four flavours, /scale, and server-side apply conflicts."""

from __future__ import annotations

import json

from kubesim.testing import CM, DEPLOY, Api, cm, deployment

JSON_PATCH = "application/json-patch+json"
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"


async def test_json_patch(api: Api) -> None:
    await api.post(CM, cm("a", k="v"))
    status, body = await api.patch(
        f"{CM}/a",
        [{"op": "add", "path": "/data/n", "value": "1"}, {"op": "remove", "path": "/data/k"}],
        content_type=JSON_PATCH,
    )
    assert status == 200 and body["data"] == {"n": "1"}


async def test_json_patch_test_failure_is_rejected(api: Api) -> None:
    await api.post(CM, cm("a", k="v"))
    status, body = await api.patch(
        f"{CM}/a", [{"op": "test", "path": "/data/k", "value": "other"}], content_type=JSON_PATCH
    )
    assert status in (422, 500) and body["kind"] == "Status"


async def test_merge_patch_deletes_with_null(api: Api) -> None:
    await api.post(CM, cm("a", k="v", j="w"))
    status, body = await api.patch(f"{CM}/a", {"data": {"k": None, "n": "1"}}, content_type=MERGE)
    assert status == 200 and body["data"] == {"j": "w", "n": "1"}


async def test_strategic_merge_patch_merges_containers_by_name(api: Api) -> None:
    d = deployment("web")
    d["spec"]["template"]["spec"]["containers"].append({"name": "side", "image": "busybox"})
    await api.post(DEPLOY, d)
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:2"}]}}}}
    status, body = await api.patch(f"{DEPLOY}/web", patch, content_type=STRATEGIC)
    assert status == 200
    images = {c["name"]: c["image"] for c in body["spec"]["template"]["spec"]["containers"]}
    assert images == {"c": "nginx:2", "side": "busybox"}
    assert body["metadata"]["generation"] == 2


async def test_patch_missing_is_404(api: Api) -> None:
    status, body = await api.patch(f"{CM}/ghost", {"data": {}}, content_type=MERGE)
    assert status == 404 and body["message"] == 'configmaps "ghost" not found'


async def test_patch_with_stale_resource_version_is_conflict(api: Api) -> None:
    _, a = await api.post(CM, cm("a"))
    await api.patch(f"{CM}/a", {"data": {"x": "1"}})
    status, body = await api.patch(
        f"{CM}/a", {"metadata": {"resourceVersion": a["metadata"]["resourceVersion"]}, "data": {"x": "2"}}
    )
    assert status == 409 and body["reason"] == "Conflict"


async def test_unknown_patch_type_is_415(api: Api) -> None:
    await api.post(CM, cm("a"))
    status, body = await api.patch(f"{CM}/a", {"data": {}}, content_type="text/plain")
    assert status == 415 and body["reason"] == "UnsupportedMediaType"


async def test_patch_status_subresource(api: Api) -> None:
    await api.post(DEPLOY, deployment("web"))
    status, body = await api.patch(
        f"{DEPLOY}/web/status", {"status": {"readyReplicas": 1}, "spec": {"replicas": 4}}
    )
    assert status == 200
    assert body["status"] == {"readyReplicas": 1} and body["spec"]["replicas"] == 1
    status, body = await api.patch(f"{DEPLOY}/web", {"status": {"readyReplicas": 9}})
    assert body["status"] == {"readyReplicas": 1}


async def test_scale_subresource(api: Api) -> None:
    await api.post(DEPLOY, deployment("web", replicas=2))
    status, scale = await api.get(f"{DEPLOY}/web/scale")
    assert status == 200
    assert scale["kind"] == "Scale" and scale["apiVersion"] == "autoscaling/v1"
    assert scale["spec"] == {"replicas": 2} and scale["status"]["selector"] == "app=web"
    status, scale = await api.patch(f"{DEPLOY}/web/scale", {"spec": {"replicas": 5}})
    assert status == 200 and scale["spec"]["replicas"] == 5
    _, d = await api.get(f"{DEPLOY}/web")
    assert d["spec"]["replicas"] == 5


def _yaml(obj: dict) -> str:
    return json.dumps(obj)  # JSON is YAML


async def test_apply_requires_field_manager(api: Api) -> None:
    status, body = await api.patch(f"{CM}/a", _yaml(cm("a")), content_type=APPLY)
    assert status == 422
    assert (
        body["message"]
        == 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch'
    )


async def test_apply_creates_then_updates_and_records_manager(api: Api) -> None:
    status, body = await api.patch(
        f"{CM}/a", _yaml(cm("a", k="v")), content_type=APPLY, params={"fieldManager": "me"}
    )
    assert status == 201 and body["data"] == {"k": "v"}
    entry = next(e for e in body["metadata"]["managedFields"] if e["manager"] == "me")
    assert entry["operation"] == "Apply" and "f:k" in entry["fieldsV1"]["f:data"]
    status, body = await api.patch(
        f"{CM}/a", _yaml(cm("a", j="w")), content_type=APPLY, params={"fieldManager": "me"}
    )
    assert status == 200 and body["data"] == {"j": "w"}  # k no longer applied: removed


async def test_apply_conflict_and_force(api: Api) -> None:
    await api.patch(f"{CM}/a", _yaml(cm("a", k="v")), content_type=APPLY, params={"fieldManager": "alice"})
    status, body = await api.patch(
        f"{CM}/a", _yaml(cm("a", k="other")), content_type=APPLY, params={"fieldManager": "bob"}
    )
    assert status == 409 and body["reason"] == "Conflict"
    assert body["message"] == 'Apply failed with 1 conflict: conflict with "alice": .data.k'
    cause = body["details"]["causes"][0]
    assert cause["reason"] == "FieldManagerConflict" and cause["field"] == ".data.k"
    status, body = await api.patch(
        f"{CM}/a",
        _yaml(cm("a", k="other")),
        content_type=APPLY,
        params={"fieldManager": "bob", "force": "true"},
    )
    assert status == 200 and body["data"] == {"k": "other"}
    managers = {e["manager"] for e in body["metadata"]["managedFields"]}
    assert "bob" in managers


async def test_apply_dry_run(api: Api) -> None:
    status, _ = await api.patch(
        f"{CM}/a", _yaml(cm("a")), content_type=APPLY, params={"fieldManager": "me", "dryRun": "All"}
    )
    assert status == 201
    assert (await api.get(f"{CM}/a"))[0] == 404


async def test_apply_to_status_subresource_records_manager(api: Api) -> None:
    await api.post(DEPLOY, deployment("web"))
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "status": {"readyReplicas": 1},
    }
    status, d = await api.patch(
        f"{DEPLOY}/web/status", _yaml(body), content_type=APPLY, params={"fieldManager": "ctrl"}
    )
    assert status == 200 and d["status"] == {"readyReplicas": 1}
    entry = next(e for e in d["metadata"]["managedFields"] if e["manager"] == "ctrl")
    assert entry["operation"] == "Apply" and entry.get("subresource") == "status"
    assert "f:readyReplicas" in entry["fieldsV1"]["f:status"]


def _managers(obj: dict) -> dict[tuple[str, str, str], dict]:
    return {
        (e["manager"], e["operation"], e.get("subresource", "")): e
        for e in obj["metadata"].get("managedFields", [])
    }


async def test_scale_writes_record_their_manager_as_kube_apiserver_does(api: Api) -> None:
    """HPA coexistence: a /scale writer owns spec.replicas with subresource scale; the applier
    then conflicts on replicas and may drop them from its configuration without a reset."""
    applied = deployment("web", replicas=2)
    status, _ = await api.patch(
        f"{DEPLOY}/web", _yaml(applied), content_type=APPLY, params={"fieldManager": "kubectl"}
    )
    assert status == 201
    status, sc = await api.patch(
        f"{DEPLOY}/web/scale", {"spec": {"replicas": 5}}, params={"fieldManager": "hpa"}
    )
    assert status == 200 and sc["spec"]["replicas"] == 5
    assert _managers(sc)[("hpa", "Update", "scale")]["apiVersion"] == "autoscaling/v1"
    _, d = await api.get(f"{DEPLOY}/web")
    hpa = _managers(d)[("hpa", "Update", "scale")]
    assert hpa["apiVersion"] == "apps/v1" and hpa["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" not in _managers(d)[("kubectl", "Apply", "")]["fieldsV1"]["f:spec"]
    status, err = await api.patch(
        f"{DEPLOY}/web", _yaml(applied), content_type=APPLY, params={"fieldManager": "kubectl"}
    )
    assert status == 409
    assert err["message"] == (
        'Apply failed with 1 conflict: conflict with "hpa" with subresource "scale" using apps/v1: '
        ".spec.replicas"
    )
    del applied["spec"]["replicas"]
    status, d = await api.patch(
        f"{DEPLOY}/web", _yaml(applied), content_type=APPLY, params={"fieldManager": "kubectl"}
    )
    assert status == 200 and d["spec"]["replicas"] == 5  # still the HPA's
    status, _ = await api.put(
        f"{DEPLOY}/web/scale",
        {**sc, "metadata": {**sc["metadata"], "resourceVersion": "1"}, "spec": {"replicas": 6}},
        params={"fieldManager": "other"},
    )
    assert status == 409  # stale resourceVersion in the Scale
    sc["metadata"].pop("resourceVersion")
    status, sc = await api.put(
        f"{DEPLOY}/web/scale", {**sc, "spec": {"replicas": 6}}, params={"fieldManager": "other"}
    )
    assert status == 200
    assert set(_managers(sc)) == {("other", "Update", "scale")}


async def test_apply_to_scale_conflicts_with_the_owner_of_replicas(api: Api) -> None:
    applied = deployment("web", replicas=2)
    await api.patch(f"{DEPLOY}/web", _yaml(applied), content_type=APPLY, params={"fieldManager": "kubectl"})
    scale_cfg = {
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": {"name": "web"},
        "spec": {"replicas": 4},
    }
    status, err = await api.patch(
        f"{DEPLOY}/web/scale", _yaml(scale_cfg), content_type=APPLY, params={"fieldManager": "scaler"}
    )
    assert (
        status == 409
        and err["message"] == 'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas'
    )
    status, sc = await api.patch(
        f"{DEPLOY}/web/scale",
        _yaml(scale_cfg),
        content_type=APPLY,
        params={"fieldManager": "scaler", "force": "true"},
    )
    assert status == 200 and sc["spec"]["replicas"] == 4
    _, d = await api.get(f"{DEPLOY}/web")
    assert _managers(d)[("scaler", "Apply", "scale")]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    status, err = await api.patch(f"{DEPLOY}/web/scale", {"spec": {"replicas": -1}})
    assert status == 422
    assert err["message"] == (
        'Scale.autoscaling "web" is invalid: spec.replicas: Invalid value: -1: '
        "must be greater than or equal to 0"
    )
