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


async def test_seen_defects_refused_as_kube_apiserver_does(api: Api) -> None:
    """The three accepted-but-invalid manifests of issue #16."""
    bad = deployment("web")
    bad["spec"]["template"]["spec"]["containers"][0]["name"] = "Bad_Name"
    status, err = await api.post(DEPLOY, bad)
    assert status == 422
    assert err["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "field": "spec.template.spec.containers[0].name",
            "message": 'Invalid value: "Bad_Name": a lowercase RFC 1123 label must consist of lower case '
            "alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. "
            "'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
        }
    ]
    status, err = await api.post(CM, {**cm("c"), "data": {"k": {"nested": 1}}})
    assert (status, err["reason"]) == (400, "BadRequest")
    assert err["message"] == (
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal object into '
        "Go struct field ConfigMap.data of type string"
    )
    three = deployment("web")
    three["spec"]["replicas"] = "three"
    status, err = await api.post(DEPLOY, three)
    assert status == 400
    assert err["message"] == (
        'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into '
        "Go struct field DeploymentSpec.spec.replicas of type int32"
    )


async def test_ports_env_and_quantities(api: Api) -> None:
    d = deployment("web")
    c = d["spec"]["template"]["spec"]["containers"][0]
    c["ports"] = [{"name": "Http_Port", "containerPort": 70000, "protocol": "XTP"}]
    c["env"] = [{"name": "BAD=NAME", "value": "x"}]
    c["resources"] = {"limits": {"cpu": "500m"}, "requests": {"cpu": "1"}}
    status, err = await api.post(DEPLOY, d)
    assert status == 422
    fields = [(x["field"], x["message"].split(": ")[-1]) for x in err["details"]["causes"]]
    p = "spec.template.spec.containers[0]"
    assert fields == [
        (f"{p}.ports[0].name", "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"),
        (f"{p}.ports[0].containerPort", "must be between 1 and 65535, inclusive"),
        (f"{p}.ports[0].protocol", '"SCTP", "TCP", "UDP"'),
        (f"{p}.env[0].name", err["details"]["causes"][3]["message"].split(": ")[-1]),
        (f"{p}.resources.requests", "must be less than or equal to cpu limit of 500m"),
    ]
    assert err["details"]["causes"][3]["message"] == (
        'Invalid value: "BAD=NAME": a valid environment variable name must consist only of printable ASCII '
        "characters other than '='"
    )
    c["ports"], c["env"] = [], []
    c["resources"] = {"limits": {"memory": "lots"}}
    status, err = await api.post(DEPLOY, d)
    assert status == 400 and err["message"].endswith(
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )
