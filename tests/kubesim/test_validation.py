"""Conformance: built-in object validation through the HTTP API (422 with apiserver wording)."""

from __future__ import annotations

from kubesim.testing import CM, DEPLOY, Api, cm, deployment


async def test_deployment_selector_required(api: Api) -> None:
    body = deployment("web")
    del body["spec"]["selector"]
    status, err = await api.post(DEPLOY, body)
    assert status == 422
    assert err["message"] == 'Deployment.apps "web" is invalid: spec.selector: Required value'
    assert err["details"]["causes"] == [
        {"reason": "FieldValueRequired", "field": "spec.selector", "message": "Required value"}
    ]


async def test_selector_must_match_template(api: Api) -> None:
    body = deployment("web")
    body["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    status, err = await api.post(DEPLOY, body)
    assert status == 422
    assert err["message"] == (
        'Deployment.apps "web" is invalid: spec.template.metadata.labels: Invalid value: '
        'map[string]string{"app":"other"}: `selector` does not match template `labels`'
    )


async def test_containers_and_images_required(api: Api) -> None:
    body = deployment("web")
    body["spec"]["template"]["spec"]["containers"] = [{"name": "c"}]
    status, err = await api.post(DEPLOY, body)
    assert status == 422
    assert [c["field"] for c in err["details"]["causes"]] == ["spec.template.spec.containers[0].image"]
    body["spec"]["template"]["spec"]["containers"] = []
    status, err = await api.post(DEPLOY, body)
    assert err["details"]["causes"][0]["field"] == "spec.template.spec.containers"


async def test_negative_replicas(api: Api) -> None:
    status, err = await api.post(DEPLOY, deployment("web", replicas=-1))
    assert status == 422
    assert "spec.replicas: Invalid value: -1: must be greater than or equal to 0" in err["message"]


async def test_job_restart_policy(api: Api) -> None:
    job = {
        "metadata": {"name": "j"},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}},
    }
    status, err = await api.post("/apis/batch/v1/namespaces/default/jobs", job)
    assert status == 422
    assert err["details"]["causes"][0]["field"] == "spec.template.spec.restartPolicy"
    job["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    assert (await api.post("/apis/batch/v1/namespaces/default/jobs", job))[0] == 201


async def test_service_ports(api: Api) -> None:
    status, err = await api.post(
        "/api/v1/namespaces/default/services", {"metadata": {"name": "s"}, "spec": {}}
    )
    assert status == 422 and err["details"]["causes"][0]["field"] == "spec.ports"
    svc = {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}}
    status, body = await api.post("/api/v1/namespaces/default/services", svc)
    assert status == 201 and body["spec"]["ports"][0]["protocol"] == "TCP"


async def test_configmap_keys(api: Api) -> None:
    status, err = await api.post(CM, cm("bad", **{"a b": "x"}))
    assert status == 422
    assert err["details"]["causes"][0]["field"] == "data[a b]"


async def test_patch_is_validated_too(api: Api) -> None:
    await api.post(DEPLOY, deployment("web"))
    status, err = await api.patch(f"{DEPLOY}/web", {"spec": {"replicas": -3}})
    assert status == 422 and err["reason"] == "Invalid"
