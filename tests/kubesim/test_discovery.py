"""Conformance: discovery documents, version, OpenAPI, authentication of discovery."""

from __future__ import annotations

from kubesim.testing import Api

AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"


def _resource(body: dict, name: str) -> dict:
    return next(r for r in body["resources"] if r["name"] == name)


async def test_version(api: Api) -> None:
    status, body = await api.get("/version")
    assert status == 200 and body["major"] == "1" and body["gitVersion"].startswith("v1.")


async def test_core_group(api: Api) -> None:
    status, body = await api.get("/api")
    assert status == 200 and body["kind"] == "APIVersions" and body["versions"] == ["v1"]
    status, body = await api.get("/api/v1")
    assert body["kind"] == "APIResourceList" and body["groupVersion"] == "v1"
    cm = _resource(body, "configmaps")
    assert cm == {
        "name": "configmaps",
        "singularName": "configmap",
        "namespaced": True,
        "kind": "ConfigMap",
        "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
        "shortNames": ["cm"],
    }
    ns = _resource(body, "namespaces")
    assert ns["namespaced"] is False and ns["shortNames"] == ["ns"]
    token = _resource(body, "serviceaccounts/token")
    assert token["kind"] == "TokenRequest" and token["group"] == "authentication.k8s.io"
    assert token["verbs"] == ["create"]
    assert _resource(body, "pods")["categories"] == ["all"]


async def test_groups(api: Api) -> None:
    status, body = await api.get("/apis")
    assert status == 200 and body["kind"] == "APIGroupList"
    names = [g["name"] for g in body["groups"]]
    for group in (
        "apps",
        "batch",
        "coordination.k8s.io",
        "rbac.authorization.k8s.io",
        "apiextensions.k8s.io",
        "networking.k8s.io",
        "policy",
        "autoscaling",
    ):
        assert group in names
    apps = next(g for g in body["groups"] if g["name"] == "apps")
    assert apps["preferredVersion"] == {"groupVersion": "apps/v1", "version": "v1"}
    status, body = await api.get("/apis/apps")
    assert status == 200 and body["kind"] == "APIGroup" and body["name"] == "apps"


async def test_apps_resources_and_subresources(api: Api) -> None:
    _, body = await api.get("/apis/apps/v1")
    deploy = _resource(body, "deployments")
    assert deploy["shortNames"] == ["deploy"] and deploy["categories"] == ["all"]
    status_sub = _resource(body, "deployments/status")
    assert status_sub["kind"] == "Deployment" and status_sub["verbs"] == ["get", "patch", "update"]
    scale = _resource(body, "deployments/scale")
    assert (scale["group"], scale["version"], scale["kind"]) == ("autoscaling", "v1", "Scale")
    _, body = await api.get("/apis/autoscaling/v2")
    assert _resource(body, "horizontalpodautoscalers")["shortNames"] == ["hpa"]


async def test_aggregated_discovery(api: Api) -> None:
    async with api.session.get("/apis", headers={"Accept": AGGREGATED}) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("application/json;g=apidiscovery.k8s.io;v=v2")
        body = await resp.json(content_type=None)
    assert body["kind"] == "APIGroupDiscoveryList"
    apps = next(i for i in body["items"] if i["metadata"]["name"] == "apps")
    deploy = next(r for r in apps["versions"][0]["resources"] if r["resource"] == "deployments")
    assert deploy["scope"] == "Namespaced"
    assert {s["subresource"] for s in deploy["subresources"]} == {"status", "scale"}


async def test_unknown_group_version_is_404(api: Api) -> None:
    assert (await api.get("/apis/apps/v2"))[0] == 404
    assert (await api.get("/apis/example.com"))[0] == 404


async def test_openapi_v3(api: Api) -> None:
    status, root = await api.get("/openapi/v3")
    assert status == 200
    url = root["paths"]["apis/apps/v1"]["serverRelativeURL"]
    status, doc = await api.get(url)
    assert status == 200 and doc["openapi"].startswith("3.")
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "apps",
        "version": "v1",
        "kind": "Deployment",
    }
    assert any(p["name"] == "fieldValidation" for p in patch["parameters"])
    assert (await api.get("/openapi/v2"))[0] == 404


async def test_unauthenticated_is_401(sim) -> None:  # type: ignore[no-untyped-def]
    anonymous = Api(sim, token="")
    wrong = Api(sim, token="nope")
    try:
        for client in (anonymous, wrong):
            status, body = await client.get("/api/v1/namespaces")
            assert status == 401
            assert body == {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": "Unauthorized",
                "reason": "Unauthorized",
                "code": 401,
            }
        status, text = await anonymous.get("/healthz")
        assert status == 200 and text == "ok"
    finally:
        await anonymous.close()
        await wrong.close()
