"""Hub behaviour on kubesim when things go wrong or are unusual: orphaned bindings, bad overrides,
invalid placements, custom kinds, cluster-scoped templates."""

from __future__ import annotations

from typing import Any

from hub.matching import TemplateRef
from kubesim import SimServer
from shared.api import names
from shared.kube.client import KubeClient
from tests.crds import widget_crd
from tests.hub.fleet import add_member, eventually, running_hub, settled
from tests.hub.helpers import configmap, deployment, policy

RB = (names.WORK_API_VERSION, names.KIND_RESOURCE_BINDING)
WORK = (names.WORK_API_VERSION, names.KIND_WORK)


async def binding_condition(
    hub_api: KubeClient, name: str, kind: str, namespace: str | None = "default"
) -> dict[str, Any] | None:
    binding_kind = names.KIND_RESOURCE_BINDING if namespace else names.KIND_CLUSTER_RESOURCE_BINDING
    found = await hub_api.get(names.WORK_API_VERSION, binding_kind, name=name, namespace=namespace)
    for condition in (found.get("status") or {}).get("conditions") or []:
        if condition["type"] == kind:
            return condition  # type: ignore[no-any-return]
    return None


async def manifests_in(hub_api: KubeClient, namespace: str) -> list[dict[str, Any]]:
    return [
        m
        for w in (await hub_api.list(*WORK, namespace=namespace)).items
        for m in w["spec"]["workload"]["manifests"]
    ]


async def test_policy_removed_orphans_binding_and_keeps_works(hub_sim: SimServer) -> None:
    async with running_hub(str(hub_sim.kubeconfig_path)) as (hub, hub_api):
        await add_member(hub_api, "a")
        await hub_api.create(policy("p", selectors=[{"apiVersion": "v1", "kind": "ConfigMap"}]))
        await hub_api.create(configmap("cfg"))
        await eventually(lambda: manifests_in(hub_api, "member-a"), what="work on a")
        await hub_api.delete(names.POLICY_API_VERSION, "PropagationPolicy", name="p", namespace="default")

        async def orphaned() -> bool:
            condition = await binding_condition(hub_api, "cfg-configmap", "Scheduled")
            return bool(condition and condition["reason"] == "PolicyRemoved")

        await eventually(orphaned, what="binding orphaned")
        # a later edit of the template is not propagated while orphaned; the Work stays as it was
        await hub_api.patch(
            "v1", "ConfigMap", name="cfg", namespace="default", patch={"data": {"k": "changed"}}
        )
        await hub_api.create(configmap("other"))

        async def cache_has_change() -> bool:
            cached = hub.state.template(TemplateRef("v1", "ConfigMap", "default", "cfg"))
            return bool(cached and cached["data"] == {"k": "changed"})

        await eventually(cache_has_change, what="hub saw the edit")
        await settled(hub)
        kept = await manifests_in(hub_api, "member-a")
        assert [m["data"] for m in kept] == [{"k": "v"}]
        # a new policy adopts it again and the change flows
        await hub_api.create(
            policy("q", selectors=[{"apiVersion": "v1", "kind": "ConfigMap", "name": "cfg"}])
        )

        async def adopted() -> bool:
            return [m["data"] for m in await manifests_in(hub_api, "member-a")] == [{"k": "changed"}]

        await eventually(adopted, what="adopted by q")


async def test_bad_override_is_a_condition_and_last_good_work_stays(hub_sim: SimServer) -> None:
    async with running_hub(str(hub_sim.kubeconfig_path)) as (_hub, hub_api):
        await add_member(hub_api, "a")
        await hub_api.create(policy("p", selectors=[{"apiVersion": "apps/v1", "kind": "Deployment"}]))
        await hub_api.create(deployment(replicas=2))
        await eventually(lambda: manifests_in(hub_api, "member-a"), what="work on a")
        await hub_api.create(
            {
                "apiVersion": names.POLICY_API_VERSION,
                "kind": "OverridePolicy",
                "metadata": {"name": "broken", "namespace": "default"},
                "spec": {
                    "overrideRules": [
                        {
                            "overriders": {
                                "plaintext": [
                                    {"path": "/spec/nothing/here", "operator": "replace", "value": 1}
                                ]
                            }
                        }
                    ]
                },
            }
        )
        await hub_api.patch(
            "apps/v1", "Deployment", name="web", namespace="default", patch={"spec": {"replicas": 4}}
        )

        async def failed() -> dict[str, Any] | None:
            condition = await binding_condition(hub_api, "web-deployment", "Rendered")
            return condition if condition and condition["status"] == "False" else None

        condition = await eventually(failed, what="Rendered=False")
        message = condition["message"]
        assert "OverridePolicy/default/broken" in message and "Deployment/default/web" in message
        assert "cluster a" in message and "plaintext[0]" in message
        shipped = await manifests_in(hub_api, "member-a")
        assert shipped[0]["spec"]["replicas"] == 2  # the last good manifest

        async def warned() -> bool:
            events = (await hub_api.list("v1", "Event", namespace="default")).items
            return any(
                e["reason"] == "OverrideFailed" and e["involvedObject"]["name"] == "web-deployment"
                for e in events
            )

        await eventually(warned, what="OverrideFailed event on the binding")
        await hub_api.delete(names.POLICY_API_VERSION, "OverridePolicy", name="broken", namespace="default")

        async def recovered() -> bool:
            return (await manifests_in(hub_api, "member-a"))[0]["spec"]["replicas"] == 4

        await eventually(recovered, what="rendered again after the fix")
        await eventually(
            lambda: _status(binding_condition(hub_api, "web-deployment", "Rendered"), "True"),
            what="Rendered=True",
        )


async def _status(condition: Any, expected: str) -> bool:
    found = await condition
    return bool(found and found["status"] == expected)


async def test_invalid_edit_of_a_policy_keeps_the_last_placement(hub_sim: SimServer) -> None:
    async with running_hub(str(hub_sim.kubeconfig_path)) as (_hub, hub_api):
        await add_member(hub_api, "a")
        good = policy("p", selectors=[{"apiVersion": "v1", "kind": "ConfigMap"}])
        await hub_api.create(good)
        await hub_api.create(configmap("cfg"))

        async def placed() -> bool:
            return len(await manifests_in(hub_api, "member-a")) == 1

        await eventually(placed, what="placed on a")
        await hub_api.patch(
            names.POLICY_API_VERSION,
            "PropagationPolicy",
            name="p",
            namespace="default",
            patch={
                "spec": {
                    "placement": {
                        "spreadConstraints": [{"spreadByLabel": "geo", "minGroups": 3, "maxGroups": 2}]
                    }
                }
            },
        )

        async def invalid() -> dict[str, Any] | None:
            condition = await binding_condition(hub_api, "cfg-configmap", "Scheduled")
            return condition if condition and condition["reason"] == "InvalidPolicy" else None

        condition = await eventually(invalid, what="InvalidPolicy on the binding")
        assert "PropagationPolicy/default/p" in condition["message"] and "minGroups" in condition["message"]

        async def policy_invalid() -> bool:
            found = await hub_api.get(
                names.POLICY_API_VERSION, "PropagationPolicy", name="p", namespace="default"
            )
            conds = {c["type"]: c for c in (found.get("status") or {}).get("conditions") or []}
            valid = conds.get("Valid") or {}
            return (
                valid.get("status") == "False"
                and "spec.placement.spreadConstraints[0].minGroups" in valid.get("message", "")
                and found["status"].get("claimedTemplates") == 1
            )

        await eventually(policy_invalid, what="policy Valid=False")
        assert len(await manifests_in(hub_api, "member-a")) == 1  # the last placement is kept


WIDGET_CRD = widget_crd(
    status=False,
    schema={
        "type": "object",
        "properties": {"spec": {"type": "object", "properties": {"size": {"type": "integer"}}}},
    },
)


async def test_custom_kinds_and_cluster_scoped_templates(hub_sim: SimServer) -> None:
    async with running_hub(
        str(hub_sim.kubeconfig_path), replica_paths={("example.com", "Widget"): "spec.size"}
    ) as (_hub, hub_api):
        await add_member(hub_api, "a")
        await add_member(hub_api, "b")
        await hub_api.create(WIDGET_CRD)

        async def served() -> bool:
            hub_api.invalidate_discovery()
            await hub_api.resource_info("example.com/v1", "Widget")
            return True

        await eventually(served, what="widget CRD served")
        await hub_api.create(
            policy(
                "w",
                selectors=[{"apiVersion": "example.com/v1", "kind": "Widget"}],
                placement={"replicaScheduling": {"replicaSchedulingType": "Divided"}},
            )
        )
        await hub_api.create(
            {
                "apiVersion": "example.com/v1",
                "kind": "Widget",
                "metadata": {"name": "gizmo", "namespace": "default"},
                "spec": {"size": 5},
            }
        )

        async def sizes() -> list[int] | None:
            found = [
                m["spec"]["size"] for ns in ("member-a", "member-b") for m in await manifests_in(hub_api, ns)
            ]
            return sorted(found) if len(found) == 2 else None

        assert await eventually(sizes, what="widgets divided") == [2, 3]
        await hub_api.create(
            policy(
                "roles",
                namespace=None,
                selectors=[
                    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "name": "viewer"}
                ],
                placement={"clusterAffinity": {"clusterNames": ["b"]}},
            )
        )
        await hub_api.create(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": "viewer"},
                "rules": [],
            }
        )

        async def cluster_binding() -> dict[str, Any] | None:
            return await hub_api.get(
                names.WORK_API_VERSION,
                names.KIND_CLUSTER_RESOURCE_BINDING,  # type: ignore[no-any-return]
                name="viewer-clusterrole.rbac.authorization.k8s.io",
            )

        found = await eventually(cluster_binding, what="ClusterResourceBinding")
        assert found["spec"]["resource"]["kind"] == "ClusterRole"

        async def role_on_b() -> bool:
            return any(m["kind"] == "ClusterRole" for m in await manifests_in(hub_api, "member-b"))

        await eventually(role_on_b, what="ClusterRole in b's Work")


async def test_system_and_member_namespaces_are_never_propagated(hub_sim: SimServer) -> None:
    async with running_hub(str(hub_sim.kubeconfig_path)) as (hub, hub_api):
        await add_member(hub_api, "a")
        await hub_api.create(
            policy(
                "all",
                namespace=None,
                selectors=[
                    {"apiVersion": "v1", "kind": "Namespace"},
                    {"apiVersion": "v1", "kind": "ConfigMap"},
                ],
            )
        )
        await hub_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
        await hub_api.create(configmap("cfg", namespace="shop"))

        async def shipped() -> set[str] | None:
            found = {
                f"{m['kind']}/{m['metadata'].get('namespace', '')}/{m['metadata']['name']}"
                for m in await manifests_in(hub_api, "member-a")
            }
            return found if "ConfigMap/shop/cfg" in found and "Namespace//shop" in found else None

        found = await eventually(shipped, what="shop and its ConfigMap shipped")
        await settled(hub)
        found = {
            f"{m['kind']}/{m['metadata'].get('namespace', '')}/{m['metadata']['name']}"
            for m in await manifests_in(hub_api, "member-a")
        }
        assert not any(name.startswith(("Namespace//kube-", "Namespace//member-")) for name in found)
        assert not any(
            "/member-a/" in name or "/kube-system/" in name or "kube-root-ca.crt" in name for name in found
        )
