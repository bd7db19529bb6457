"""Hub + three agents on kubesim: kubectl apply on the hub, assertions on members and hub status."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.api import names
from shared.kube.errors import NotFound
from tests.crds import widget_crd
from tests.e2e.e2e_fleet import SimFactory, e2e_fleet, start_agent, stop_agent
from tests.hub.fleet import eventually

MEMBERS = {
    "eu1": ["--label", "geo=eu", "--region", "eu-west"],
    "eu2": ["--label", "geo=eu", "--region", "eu-central"],
    "us1": ["--label", "geo=us", "--region", "us-east"],
}


def web(replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]},
            },
        },
    }


SHOP = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}
CONFIG = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "settings", "namespace": "shop"},
    "data": {"color": "blue"},
}
POLICY = {
    "apiVersion": names.POLICY_API_VERSION,
    "kind": "PropagationPolicy",
    "metadata": {"name": "shop", "namespace": "shop"},
    "spec": {
        "resourceSelectors": [
            {"apiVersion": "apps/v1", "kind": "Deployment"},
            {"apiVersion": "v1", "kind": "ConfigMap"},
        ],
        "placement": {
            "clusterAffinity": {"labelSelector": {"matchLabels": {"geo": "eu"}}},
            "replicaScheduling": {
                "replicaSchedulingType": "Divided",
                "replicaDivisionPreference": "Weighted",
                "weightPreference": {
                    "staticWeightList": [
                        {"targetCluster": {"clusterNames": ["eu1"]}, "weight": 2},
                        {"targetCluster": {"clusterNames": ["eu2"]}, "weight": 1},
                    ]
                },
            },
        },
    },
}
OVERRIDE = {
    "apiVersion": names.POLICY_API_VERSION,
    "kind": "OverridePolicy",
    "metadata": {"name": "eu2-mirror", "namespace": "shop"},
    "spec": {
        "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}],
        "overrideRules": [
            {
                "targetCluster": {"clusterNames": ["eu2"]},
                "overriders": {
                    "imageOverrider": [
                        {"component": "Registry", "operator": "replace", "value": "mirror.eu"}
                    ],
                    "labelsOverrider": [{"operator": "add", "value": {"cluster": "${MEMBER_CLUSTER_NAME}"}}],
                },
            }
        ],
    },
}


async def test_divided_overridden_applied_and_aggregated(sim_factory: SimFactory, tmp_path: Path) -> None:
    async with e2e_fleet(sim_factory, tmp_path, MEMBERS) as fleet:
        await fleet.apply(SHOP, POLICY, OVERRIDE, CONFIG, web(3))
        eu1, eu2, us1 = (fleet.member_apis[n] for n in ("eu1", "eu2", "us1"))

        async def deployment_on(api: Any) -> dict[str, Any] | None:
            return await api.get("apps/v1", "Deployment", name="web", namespace="shop")  # type: ignore[no-any-return]

        on_eu1 = await eventually(lambda: deployment_on(eu1), what="web on eu1")
        on_eu2 = await eventually(lambda: deployment_on(eu2), what="web on eu2")
        assert (on_eu1["spec"]["replicas"], on_eu2["spec"]["replicas"]) == (2, 1)
        assert on_eu1["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"
        assert on_eu2["spec"]["template"]["spec"]["containers"][0]["image"] == "mirror.eu/nginx:1.25"
        assert on_eu2["metadata"]["labels"]["cluster"] == "eu2"
        await eventually(
            lambda: eu2.get("v1", "ConfigMap", name="settings", namespace="shop"), what="cm on eu2"
        )
        try:
            await us1.get("apps/v1", "Deployment", name="web", namespace="shop")
            raise AssertionError("us1 must not get the deployment")
        except NotFound:
            pass

        async def hub_template_ready(generation: int, ready: int) -> bool:
            template = await fleet.hub_api.get("apps/v1", "Deployment", name="web", namespace="shop")
            status = template.get("status") or {}
            return (
                template["metadata"]["generation"] == generation
                and status.get("readyReplicas") == ready
                and status.get("observedGeneration") == generation
            )

        await eventually(lambda: hub_template_ready(1, 3), within=20, what="template status aggregated")

        async def binding_available() -> bool:
            binding = await fleet.hub_api.get(
                names.WORK_API_VERSION, names.KIND_RESOURCE_BINDING, name="web-deployment", namespace="shop"
            )
            conds = {c["type"]: c["status"] for c in binding["status"]["conditions"]}
            return conds.get("Applied") == "True" and conds.get("Available") == "True"

        await eventually(binding_available, within=20, what="binding Applied and Available")

        # scale on the hub: the division follows; status catches up to the new generation
        await fleet.kubectl("scale", "deployment/web", "-n", "shop", "--replicas=6")

        async def replicas_on(api: Any, want: int) -> bool:
            return int((await deployment_on(api) or {})["spec"]["replicas"]) == want

        await eventually(lambda: replicas_on(eu1, 4), what="eu1 scaled to 4")
        await eventually(lambda: replicas_on(eu2, 2), what="eu2 scaled to 2")
        await eventually(lambda: hub_template_ready(2, 6), within=20, what="status at generation 2")

        # deleting the template removes it from every member
        await fleet.kubectl("delete", "deployment/web", "-n", "shop")

        async def gone(api: Any) -> bool:
            try:
                await api.get("apps/v1", "Deployment", name="web", namespace="shop")
            except NotFound:
                return True
            return False

        await eventually(lambda: gone(eu1), what="web gone from eu1")
        await eventually(lambda: gone(eu2), what="web gone from eu2")
        assert await eu1.get("v1", "ConfigMap", name="settings", namespace="shop")


async def test_lost_heartbeat_taints_and_recovers_without_moving(
    sim_factory: SimFactory, tmp_path: Path
) -> None:
    members = {"a": ["--label", "geo=eu"], "b": ["--label", "geo=eu"]}
    async with e2e_fleet(sim_factory, tmp_path, members, grace_seconds=1.5) as fleet:
        await fleet.apply(
            SHOP,
            POLICY
            | {
                "spec": {
                    **POLICY["spec"],
                    "placement": {"clusterAffinity": {"labelSelector": {"matchLabels": {"geo": "eu"}}}},
                }
            },
            CONFIG,
        )
        await eventually(
            lambda: fleet.member_apis["a"].get("v1", "ConfigMap", name="settings", namespace="shop"),
            what="cm on a",
        )

        async def member(name: str) -> dict[str, Any]:
            return await fleet.hub_api.get(
                names.CLUSTER_API_VERSION, names.KIND_MEMBER_CLUSTER, name=name, namespace=f"member-{name}"
            )  # type: ignore[no-any-return]

        async def unreachable(name: str, expected: bool) -> bool:
            found = await member(name)
            tainted = any(t["key"] == names.TAINT_UNREACHABLE for t in found["spec"].get("taints") or [])
            ready = {c["type"]: c["status"] for c in (found.get("status") or {}).get("conditions") or []}
            return tainted == expected and (ready.get("Ready") == "Unknown") == expected

        await eventually(lambda: unreachable("a", False), what="a ready")
        await stop_agent(fleet, "a")
        await eventually(lambda: unreachable("a", True), within=10, what="a marked unreachable")
        # NoSchedule keeps the existing placement: nothing is removed from a
        binding = await fleet.hub_api.get(
            names.WORK_API_VERSION, names.KIND_RESOURCE_BINDING, name="settings-configmap", namespace="shop"
        )
        assert sorted(c["name"] for c in binding["spec"]["clusters"]) == ["a", "b"]
        await start_agent(fleet, "a", tmp_path / "a-hub.kubeconfig")
        await eventually(lambda: unreachable("a", False), within=10, what="a ready again")
        assert await fleet.member_apis["a"].get("v1", "ConfigMap", name="settings", namespace="shop")


WIDGET_CRD = widget_crd(status=False)


async def test_members_that_do_not_serve_a_kind_are_skipped(sim_factory: SimFactory, tmp_path: Path) -> None:
    members = {"a": [], "b": []}
    async with e2e_fleet(sim_factory, tmp_path, members) as fleet:
        await fleet.hub_api.create(WIDGET_CRD)
        await eventually(lambda: _served(fleet.hub_api), what="Widget served on the hub")

        async def reported(name: str) -> bool:
            found = await fleet.hub_api.get(
                names.CLUSTER_API_VERSION, names.KIND_MEMBER_CLUSTER, name=name, namespace=f"member-{name}"
            )
            return bool((found.get("status") or {}).get("apiEnablements"))

        for name in members:
            await eventually(lambda n=name: reported(n), what=f"{name} reported its APIs")
        widget_policy = {
            "apiVersion": names.POLICY_API_VERSION,
            "kind": "PropagationPolicy",
            "metadata": {"name": "widgets", "namespace": "default"},
            "spec": {"resourceSelectors": [{"apiVersion": "example.com/v1", "kind": "Widget"}]},
        }
        await fleet.apply(
            widget_policy,
            {
                "apiVersion": "example.com/v1",
                "kind": "Widget",
                "metadata": {"name": "gizmo", "namespace": "default"},
                "spec": {"x": 1},
            },
        )

        async def decision() -> dict[str, Any] | None:
            binding = await fleet.hub_api.get(
                names.WORK_API_VERSION,
                names.KIND_RESOURCE_BINDING,
                name="gizmo-widget.example.com",
                namespace="default",
            )
            return (binding.get("status") or {}).get("schedulingDecision")

        async def rejected_everywhere() -> bool:
            found = await decision() or {}
            return {r["cluster"]: r["reason"] for r in found.get("rejected") or []} == {
                "a": "APINotServed",
                "b": "APINotServed",
            }

        await eventually(rejected_everywhere, what="both members rejected with APINotServed")
        await fleet.member_apis["b"].create(WIDGET_CRD)

        async def b_reports_widget() -> bool:
            found = await fleet.hub_api.get(
                names.CLUSTER_API_VERSION, names.KIND_MEMBER_CLUSTER, name="b", namespace="member-b"
            )
            served = (found.get("status") or {}).get("apiEnablements") or []
            return any(e["groupVersion"] == "example.com/v1" for e in served)

        # first the agent's report (member-side latency), then the hub's reaction to it
        await eventually(b_reports_widget, within=30, what="b reports that it serves Widget")

        async def placed_on_b() -> bool:
            found = await decision() or {}
            return [t["cluster"] for t in found.get("targets") or []] == ["b"]

        await eventually(placed_on_b, within=15, what="placed on b once it serves Widget")
        await eventually(
            lambda: fleet.member_apis["b"].get("example.com/v1", "Widget", name="gizmo", namespace="default"),
            what="gizmo on b",
        )


async def _served(hub_api: Any) -> bool:
    hub_api.invalidate_discovery()
    await hub_api.resource_info("example.com/v1", "Widget")
    return True
