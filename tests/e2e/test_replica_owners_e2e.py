"""Replicas owned by the member (issue #10, deliverable 5), end to end on kubesim, pull and push.

An HPA created on the member for an applied Deployment owns its replicas: the agent stops
applying ``spec.replicas`` (handing the field over first, so it is not reset), does not undo what
the HPA controller writes through the scale subresource (kubesim records that manager as
kube-apiserver does: ``subresource: scale``), and the hub reports the member's actual replicas:
``replicasManagedBy`` and status feedback in the binding, the template's ``status.replicas``, and
``N (wants M)`` in ``waybill status``. A manager a template annotation lists is respected too
(before: the agent set ``spec.replicas`` back within 0.5 s).

kubesim has no HPA controller: the test writes the Deployment's ``/scale`` as it would (field
manager ``kube-controller-manager``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from kubesim.testing import Api
from shared.api import names
from shared.kube.client import KubeClient
from tests.e2e.e2e_fleet import E2EFleet, SimFactory, e2e_fleet
from tests.hub.fleet import eventually
from waybill import cli

MODES = [pytest.param([], id="pull"), pytest.param(["--mode", "push"], id="push")]
SHOP = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}
POLICY = {
    "apiVersion": names.POLICY_API_VERSION,
    "kind": "PropagationPolicy",
    "metadata": {"name": "shop", "namespace": "shop"},
    "spec": {
        "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}],
        "placement": {"replicaScheduling": {"replicaSchedulingType": "Duplicated"}},
    },
}
HPA = {
    "apiVersion": "autoscaling/v2",
    "kind": "HorizontalPodAutoscaler",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "minReplicas": 2,
        "maxReplicas": 10,
    },
}


def web(
    replicas: int, *, image: str = "nginx:1.25", annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "annotations": annotations or {}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image}]},
            },
        },
    }


async def on_member(api: KubeClient) -> dict[str, Any]:
    return await api.get("apps/v1", "Deployment", name="web", namespace="shop")  # type: ignore[no-any-return]


def replica_owners(obj: dict[str, Any]) -> set[str]:
    return {
        str(e["manager"])
        for e in obj["metadata"].get("managedFields") or []
        if "f:replicas" in ((e.get("fieldsV1") or {}).get("f:spec") or {})
    }


async def work_reports(fleet: E2EFleet, *, image: str, reason: str, runs: int) -> bool:
    """The agent applied the Work carrying ``image`` and reported who owns the replicas (a fence:
    the agent has seen the member's state that this describes)."""
    for work in (
        await fleet.hub_api.list(names.WORK_API_VERSION, names.KIND_WORK, namespace="member-a")
    ).items:
        manifests = work["spec"]["workload"]["manifests"]
        if not any(m.get("kind") == "Deployment" for m in manifests):
            continue
        deployment = next(m for m in manifests if m.get("kind") == "Deployment")
        if deployment["spec"]["template"]["spec"]["containers"][0]["image"] != image:
            return False
        status = work.get("status") or {}
        applied = next((c for c in status.get("conditions") or [] if c["type"] == "Applied"), {})
        if applied.get("observedGeneration") != work["metadata"]["generation"]:
            return False
        for entry in status.get("manifestConditions") or []:
            if entry["identifier"]["kind"] != "Deployment":
                continue
            for c in entry.get("conditions") or []:
                if c["type"] == names.CONDITION_REPLICAS_MANAGED and c["reason"] == reason:
                    return f"(the member runs {runs})" in c["message"]
    return False


async def scale_as_hpa_controller(fleet: E2EFleet, replicas: int) -> None:
    """What the HPA controller does: an update of the Deployment's /scale (kube-controller-manager)."""
    api = Api(fleet.members["a"])
    try:
        status, body = await api.patch(
            "/apis/apps/v1/namespaces/shop/deployments/web/scale",
            {"spec": {"replicas": replicas}},
            params={"fieldManager": "kube-controller-manager"},
        )
    finally:
        await api.close()
    assert status == 200, body


async def binding_entry(fleet: E2EFleet) -> dict[str, Any]:
    found = await fleet.hub_api.get(
        names.WORK_API_VERSION, names.KIND_RESOURCE_BINDING, name="web-deployment", namespace="shop"
    )
    return next(i for i in found["status"]["aggregatedStatus"] if i["clusterName"] == "a")  # type: ignore[no-any-return]


@pytest.mark.parametrize("mode", MODES)
async def test_hpa_on_the_member_owns_the_replicas(
    sim_factory: SimFactory, tmp_path: Path, mode: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    async with e2e_fleet(sim_factory, tmp_path, {"a": mode}) as fleet:
        member = fleet.member_apis["a"]
        await fleet.apply(SHOP, POLICY, web(2))
        await eventually(lambda: on_member(member), what="web on a")
        await member.create(HPA)
        await eventually(
            lambda: work_reports(fleet, image="nginx:1.25", reason="HorizontalPodAutoscaler", runs=2),
            within=15,
            what="the agent reports the HPA owns the replicas",
        )
        # the hub wants 4 now: the member keeps what its HPA decides (2, as it has not scaled yet)
        await fleet.apply(web(4, image="nginx:1.26"))
        await eventually(
            lambda: work_reports(fleet, image="nginx:1.26", reason="HorizontalPodAutoscaler", runs=2),
            within=15,
            what="the new Work applied with replicas left to the HPA",
        )
        live = await on_member(member)
        assert live["spec"]["replicas"] == 2
        assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.26"
        assert replica_owners(live) == {"waybill-replica-handover"}  # handed over, not reset
        # the HPA controller scales to 5 through /scale: not undone
        await scale_as_hpa_controller(fleet, 5)
        await eventually(
            lambda: work_reports(fleet, image="nginx:1.26", reason="HorizontalPodAutoscaler", runs=5),
            within=15,
            what="the agent saw the HPA's count",
        )
        # and a later change from the hub (a causal fence: applied after the scale) keeps it
        await fleet.apply(web(4, image="nginx:1.27"))
        await eventually(
            lambda: work_reports(fleet, image="nginx:1.27", reason="HorizontalPodAutoscaler", runs=5),
            within=15,
            what="nginx:1.27 applied",
        )
        live = await on_member(member)
        assert live["spec"]["replicas"] == 5
        assert replica_owners(live) == {"kube-controller-manager"}

        async def hub_shows_actual() -> bool:
            entry = await binding_entry(fleet)
            template = await fleet.hub_api.get("apps/v1", "Deployment", name="web", namespace="shop")
            return (entry.get("status") or {}).get("Replicas") == 5 and (template.get("status") or {}).get(
                "replicas"
            ) == 5

        await eventually(hub_shows_actual, within=15, what="the hub reports 5 replicas on a")
        entry = await binding_entry(fleet)
        assert entry["replicasManagedBy"] == "HorizontalPodAutoscaler shop/web"
        capsys.readouterr()
        argv = ["status", "deployment/web", "-n", "shop", "--kubeconfig", str(fleet.hub_sim.kubeconfig_path)]
        assert await asyncio.to_thread(cli.main, argv) == 0
        out = capsys.readouterr().out
        assert any(line.split()[:4] == ["a", "5", "(wants", "4)"] for line in out.splitlines()), out


@pytest.mark.parametrize("via", ["annotation", "policy"])
@pytest.mark.parametrize("mode", MODES)
async def test_a_listed_manager_keeps_its_replicas(
    sim_factory: SimFactory, tmp_path: Path, mode: list[str], via: str
) -> None:
    """Listed by the template's annotation, or by the policy's ``spec.replicaManagers``."""
    annotations = {"waybill.dev/replica-managers": "my-scaler"} if via == "annotation" else {}
    listing = (
        POLICY
        if via == "annotation"
        else {**POLICY, "spec": {**POLICY["spec"], "replicaManagers": ["my-scaler"]}}
    )
    async with e2e_fleet(sim_factory, tmp_path, {"a": mode}) as fleet:
        member = fleet.member_apis["a"]
        await fleet.apply(SHOP, listing, web(2, annotations=annotations))
        await eventually(lambda: on_member(member), what="web on a")
        # an ordinary update (not /scale) by a manager the template names
        await member.patch(
            "apps/v1", "Deployment", name="web", namespace="shop",
            patch={"spec": {"replicas": 7}}, field_manager="my-scaler",
        )  # fmt: skip
        # a change from the hub, seen applied on the member (the fence), leaves my-scaler's count
        await fleet.apply(web(3, image="nginx:1.26", annotations=annotations))

        async def new_image() -> dict[str, Any] | None:
            live = await on_member(member)
            return (
                live if live["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.26" else None
            )

        live = await eventually(new_image, within=15, what="nginx:1.26 applied on a")
        assert live["spec"]["replicas"] == 7
        await eventually(
            lambda: work_reports(fleet, image="nginx:1.26", reason="ReplicaManager", runs=7),
            within=15,
            what="the agent reports my-scaler owns the replicas",
        )
        assert (await on_member(member))["spec"]["replicas"] == 7
        assert "my-scaler" in replica_owners(await on_member(member))
