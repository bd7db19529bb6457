"""Conformance: garbage collection by ownerReferences, propagation policies, namespace termination."""

from __future__ import annotations

from typing import Any

from kubesim.testing import CM, DEPLOY, Api, cm, deployment, wait_for


def owned(name: str, owner: dict[str, Any], *, block: bool = False) -> dict[str, Any]:
    body = cm(name)
    ref = {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
    }
    if block:
        ref["blockOwnerDeletion"] = True
    body["metadata"]["ownerReferences"] = [ref]
    return body


async def gone(api: Api, path: str) -> bool:
    return (await api.get(path))[0] == 404


async def test_background_deletion_removes_dependents(api: Api) -> None:
    _, owner = await api.post(DEPLOY, deployment("web"))
    await api.post(CM, owned("dep", owner))
    status, _ = await api.delete(f"{DEPLOY}/web", {"propagationPolicy": "Background"})
    assert status == 200
    await wait_for(lambda: gone(api, f"{CM}/dep"))


async def test_orphan_keeps_dependents_without_owner_reference(api: Api) -> None:
    _, owner = await api.post(DEPLOY, deployment("web"))
    await api.post(CM, owned("dep", owner))
    status, _body = await api.delete(f"{DEPLOY}/web", params={"propagationPolicy": "Orphan"})
    assert status == 200
    await wait_for(lambda: gone(api, f"{DEPLOY}/web"))
    _, dep = await api.get(f"{CM}/dep")
    assert "ownerReferences" not in dep["metadata"]


async def test_foreground_waits_for_blocking_dependents(api: Api) -> None:
    _, owner = await api.post(DEPLOY, deployment("web"))
    blocker = owned("dep", owner, block=True)
    blocker["metadata"]["finalizers"] = ["example.com/hold"]
    await api.post(CM, blocker)
    status, body = await api.delete(f"{DEPLOY}/web", {"propagationPolicy": "Foreground"})
    assert status in (200, 202)
    assert "foregroundDeletion" in body["metadata"]["finalizers"]

    async def dependent_terminating() -> bool:
        _, dep = await api.get(f"{CM}/dep")
        return bool(dep["metadata"].get("deletionTimestamp"))

    await wait_for(dependent_terminating)
    _, still = await api.get(f"{DEPLOY}/web")
    assert still["metadata"]["deletionTimestamp"]  # owner waits while the blocker exists
    _, dep = await api.get(f"{CM}/dep")
    dep["metadata"]["finalizers"] = []
    await api.put(f"{CM}/dep", dep)
    await wait_for(lambda: gone(api, f"{DEPLOY}/web"))


async def test_cluster_scoped_owner(api: Api) -> None:
    _, ns_owner = await api.post("/api/v1/namespaces", {"metadata": {"name": "owner-ns"}})
    _, crole = await api.post(
        "/apis/rbac.authorization.k8s.io/v1/clusterroles", {"metadata": {"name": "owner-role"}, "rules": []}
    )
    await api.post(CM, owned("dep", crole))
    await api.delete("/apis/rbac.authorization.k8s.io/v1/clusterroles/owner-role")
    await wait_for(lambda: gone(api, f"{CM}/dep"))
    assert ns_owner["metadata"]["name"] == "owner-ns"


async def test_dependent_with_second_live_owner_survives(api: Api) -> None:
    _, a = await api.post(DEPLOY, deployment("a"))
    _, b = await api.post(DEPLOY, deployment("b"))
    body = owned("dep", a)
    body["metadata"]["ownerReferences"] += owned("x", b)["metadata"]["ownerReferences"]
    await api.post(CM, body)
    await api.delete(f"{DEPLOY}/a")

    async def only_b() -> bool:
        _, dep = await api.get(f"{CM}/dep")
        return [r["name"] for r in dep["metadata"].get("ownerReferences", [])] == ["b"]

    await wait_for(only_b)


async def test_dangling_owner_reference_is_collected(api: Api) -> None:
    fake = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "ghost", "uid": "0000"}}
    await api.post(CM, owned("orphan", fake))
    await wait_for(lambda: gone(api, f"{CM}/orphan"))


async def test_namespace_termination(api: Api) -> None:
    await api.post("/api/v1/namespaces", {"metadata": {"name": "doomed"}})
    held = cm("held")
    held["metadata"]["finalizers"] = ["example.com/hold"]
    await api.post("/api/v1/namespaces/doomed/configmaps", held)
    await api.post("/api/v1/namespaces/doomed/configmaps", cm("plain"))
    status, ns = await api.delete("/api/v1/namespaces/doomed")
    assert status == 200
    assert ns["status"]["phase"] == "Terminating" and ns["metadata"]["deletionTimestamp"]
    await wait_for(lambda: gone(api, "/api/v1/namespaces/doomed/configmaps/plain"))
    status, err = await api.post("/api/v1/namespaces/doomed/configmaps", cm("late"))
    assert status == 403
    assert err["message"] == (
        'configmaps "late" is forbidden: unable to create new content in namespace doomed '
        "because it is being terminated"
    )
    _, ns = await api.get("/api/v1/namespaces/doomed")
    assert ns["status"]["phase"] == "Terminating"

    async def content_condition() -> bool:
        _, ns = await api.get("/api/v1/namespaces/doomed")
        conds = {c["type"]: c for c in ns["status"].get("conditions", [])}
        remaining = conds.get("NamespaceFinalizersRemaining", {})
        return remaining.get("message") == (
            "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"
        )

    await wait_for(content_condition)
    _, ns = await api.get("/api/v1/namespaces/doomed")
    conds = {c["type"]: c for c in ns["status"]["conditions"]}
    assert conds["NamespaceContentRemaining"]["message"] == (
        "Some resources are remaining: configmaps. has 1 resource instances"
    )
    _, live = await api.get("/api/v1/namespaces/doomed/configmaps/held")
    live["metadata"]["finalizers"] = []
    await api.put("/api/v1/namespaces/doomed/configmaps/held", live)
    await wait_for(lambda: gone(api, "/api/v1/namespaces/doomed"))


async def test_new_namespace_gets_default_service_account(api: Api) -> None:
    await api.post("/api/v1/namespaces", {"metadata": {"name": "fresh"}})

    async def has_sa() -> bool:
        return (await api.get("/api/v1/namespaces/fresh/serviceaccounts/default"))[0] == 200

    await wait_for(has_sa)
