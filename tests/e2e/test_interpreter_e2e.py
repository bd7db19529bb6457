"""The resource interpreter end to end (issue #10, deliverable 2), on kubesim, pull and push.

A realistic custom workload written for the test: a ``Widget`` CRD (``spec.replicas``, a pod
template, ``status.readyReplicas`` and a ``Ready`` condition) and a ResourceInterpreterCustomization
in Lua for it. Nothing in Waybill knows the kind otherwise, so every step below goes through the
interpreter: the hub divides its replicas 2/4 by weight (InterpretReplica) and writes each share
(ReviseReplica); the agents judge its health (InterpretHealth: a Widget whose Ready condition is
False is not Available) and reflect its status (ReflectStatus), which the hub aggregates onto the
template (AggregateStatus). The test plays the Widget controller on the members (it writes their
status). Then a Widget fails and recovers, and broken scripts give conditions naming the
customization and the operation while the last good Works stay.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

from hub import keys
from hub.matching import TemplateRef
from shared.api import names
from shared.kube.client import KubeClient
from shared.kube.errors import NotFound
from tests.crds import WIDGET_API, WIDGET_CRD
from tests.e2e.e2e_fleet import E2EFleet, SimFactory, e2e_fleet
from tests.hub.fleet import eventually

MEMBERS: dict[str, list[str]] = {"eu1": [], "us1": ["--mode", "push"]}


GET_REPLICAS = """
local kube = require("kube")
function GetReplicas(obj)
  return obj.spec.replicas or 1, kube.accuratePodRequirements(obj.spec.template)
end
"""
REVISE_REPLICA = """
function ReviseReplica(obj, desiredReplica)
  obj.spec.replicas = desiredReplica
  return obj
end
"""
REFLECT_STATUS = """
function ReflectStatus(observedObj)
  local status = {}
  if observedObj.status == nil then return status end
  status.readyReplicas = observedObj.status.readyReplicas
  status.phase = observedObj.status.phase
  status.conditions = observedObj.status.conditions
  return status
end
"""
AGGREGATE_STATUS = """
function AggregateStatus(desiredObj, statusItems)
  local ready, healthy = 0, 0
  for i = 1, #statusItems do
    local status = statusItems[i].status or {}
    ready = ready + (status.readyReplicas or 0)
    if statusItems[i].health == "Healthy" then healthy = healthy + 1 end
  end
  desiredObj.status = {readyReplicas = ready, healthyClusters = healthy, clusters = #statusItems}
  return desiredObj
end
"""
INTERPRET_HEALTH = """
function InterpretHealth(observedObj)
  local status = observedObj.status or {}
  for _, condition in ipairs(status.conditions or {}) do
    if condition.type == "Ready" then return condition.status == "True" end
  end
  return false
end
"""
BROKEN = """
function %s(obj)
  return obj.status.nothing.here
end
"""


def customization(**overrides: str) -> dict[str, Any]:
    scripts = {
        "replicaResource": GET_REPLICAS,
        "replicaRevision": REVISE_REPLICA,
        "statusReflection": REFLECT_STATUS,
        "statusAggregation": AGGREGATE_STATUS,
        "healthInterpretation": INTERPRET_HEALTH,
        **overrides,
    }
    return {
        "apiVersion": names.CONFIG_API_VERSION,
        "kind": names.KIND_RESOURCE_INTERPRETER_CUSTOMIZATION,
        "metadata": {"name": "widgets"},
        "spec": {
            "target": {"apiVersion": WIDGET_API, "kind": "Widget"},
            "customizations": {field: {"luaScript": script} for field, script in scripts.items()},
        },
    }


WIDGET: dict[str, Any] = {
    "apiVersion": WIDGET_API,
    "kind": "Widget",
    "metadata": {"name": "shop", "namespace": "default"},
    "spec": {
        "replicas": 6,
        "template": {
            "spec": {
                "containers": [{"name": "app", "image": "shop:1", "resources": {"requests": {"cpu": "100m"}}}]
            }
        },
    },
}
POLICY: dict[str, Any] = {
    "apiVersion": names.POLICY_API_VERSION,
    "kind": names.KIND_PROPAGATION_POLICY,
    "metadata": {"name": "widgets", "namespace": "default"},
    "spec": {
        "resourceSelectors": [{"apiVersion": WIDGET_API, "kind": "Widget"}],
        "placement": {
            "replicaScheduling": {
                "replicaSchedulingType": "Divided",
                "replicaDivisionPreference": "Weighted",
                "weightPreference": {
                    "staticWeightList": [
                        {"targetCluster": {"clusterNames": ["eu1"]}, "weight": 1},
                        {"targetCluster": {"clusterNames": ["us1"]}, "weight": 2},
                    ]
                },
            }
        },
    },
}
REF = TemplateRef(WIDGET_API, "Widget", "default", "shop")


def _condition(conditions: list[dict[str, Any]] | None, type_: str) -> dict[str, Any] | None:
    return next((c for c in conditions or [] if c.get("type") == type_), None)


async def _established(api: KubeClient) -> bool:
    crd = await api.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name="widgets.example.com")
    return _condition((crd.get("status") or {}).get("conditions"), "Established") is not None


async def _install_crd(fleet: E2EFleet) -> None:
    for api in (fleet.hub_api, *fleet.member_apis.values()):
        await api.create(copy.deepcopy(WIDGET_CRD))
    for api in (fleet.hub_api, *fleet.member_apis.values()):
        await eventually(lambda a=api: _established(a), what="Widget CRD Established")

    async def served_everywhere() -> bool:
        fleet.hub_api.invalidate_discovery()
        await fleet.hub_api.resource_info(WIDGET_API, "Widget")
        for name in MEMBERS:
            member = await fleet.hub_api.get(
                names.CLUSTER_API_VERSION, names.KIND_MEMBER_CLUSTER, name=name, namespace=f"member-{name}"
            )
            served = {e["groupVersion"] for e in (member.get("status") or {}).get("apiEnablements") or []}
            if WIDGET_API not in served:
                return False
        return True

    await eventually(served_everywhere, what="Widget served on the hub and reported by both members")


async def _member_widget(fleet: E2EFleet, cluster: str) -> dict[str, Any] | None:
    try:
        return await fleet.member_apis[cluster].get(WIDGET_API, "Widget", name="shop", namespace="default")
    except NotFound:
        return None


async def _binding(fleet: E2EFleet) -> dict[str, Any]:
    return await fleet.hub_api.get(
        names.WORK_API_VERSION, names.KIND_RESOURCE_BINDING, name=keys.binding_name(REF), namespace="default"
    )


async def _items(fleet: E2EFleet) -> dict[str, dict[str, Any]]:
    binding = await _binding(fleet)
    return {i["clusterName"]: i for i in (binding.get("status") or {}).get("aggregatedStatus") or []}


async def _manifest_condition(fleet: E2EFleet, cluster: str) -> dict[str, Any] | None:
    works = await fleet.hub_api.list(names.WORK_API_VERSION, names.KIND_WORK, namespace=f"member-{cluster}")
    for work in works.items:
        for entry in (work.get("status") or {}).get("manifestConditions") or []:
            if entry["identifier"].get("kind") == "Widget":
                return dict(entry)
    return None


async def _set_widget_status(fleet: E2EFleet, cluster: str, *, ready: bool) -> None:
    """What a Widget controller on the member would write."""
    widget = await _member_widget(fleet, cluster)
    assert widget is not None
    replicas = widget["spec"]["replicas"]
    status = {
        "readyReplicas": replicas if ready else 0,
        "phase": "Running" if ready else "Failed",
        "conditions": [{"type": "Ready", "status": "True" if ready else "False", "reason": "Test"}],
    }
    await fleet.member_apis[cluster].patch_status(
        WIDGET_API, "Widget", name="shop", namespace="default", patch={"status": status}
    )


async def test_widget_through_placement_division_health_status_and_failures(
    sim_factory: SimFactory, tmp_path: Path
) -> None:
    async with e2e_fleet(sim_factory, tmp_path, MEMBERS) as fleet:
        await _install_crd(fleet)
        await fleet.hub_api.create(customization())
        await fleet.apply(POLICY, WIDGET)
        applied_at = time.monotonic()

        # placement and division: 6 replicas, weights 1:2 → 2 on eu1, 4 on us1 (ReviseReplica)
        for cluster, share in (("eu1", 2), ("us1", 4)):
            widget = await eventually(
                lambda c=cluster, s=share: _has_replicas(fleet, c, s), within=20, what=f"{share} on {cluster}"
            )
            assert widget["spec"]["template"] == WIDGET["spec"]["template"]
        divided = time.monotonic() - applied_at
        binding = await _binding(fleet)
        assert binding["spec"]["replicas"] == 6
        assert {c["name"]: c["replicas"] for c in binding["spec"]["clusters"]} == {"eu1": 2, "us1": 4}
        # the agent's scripts ride along in the Work (agents cannot read the customization)
        works = await fleet.hub_api.list(names.WORK_API_VERSION, names.KIND_WORK, namespace="member-eu1")
        carried = works.items[0]["spec"]["interpreterCustomizations"]
        assert [c["name"] for c in carried] == ["widgets"]
        assert set(carried[0]["customizations"]) == {"statusReflection", "healthInterpretation"}

        # health: a Widget without a Ready condition is not Available (no NotTracked)
        for cluster in MEMBERS:
            entry = await eventually(
                lambda c=cluster: _manifest_condition(fleet, c), what=f"{cluster} status"
            )
            available = _condition(entry["conditions"], "Available")
            assert available is not None and available["status"] == "False", available
            assert available["reason"] == "Unhealthy" and "'widgets'" in available["message"]

        # the members' Widgets become Ready: Available, reflected, aggregated onto the template
        for cluster in MEMBERS:
            await _set_widget_status(fleet, cluster, ready=True)
        ready_at = time.monotonic()

        async def template_status(expected: dict[str, Any]) -> dict[str, Any] | None:
            template = await fleet.hub_api.get(WIDGET_API, "Widget", name="shop", namespace="default")
            status = template.get("status") or {}
            return status if status == expected else None

        await eventually(
            lambda: template_status({"readyReplicas": 6, "healthyClusters": 2, "clusters": 2}),
            within=20,
            what="aggregated template status",
        )
        aggregated_after = time.monotonic() - ready_at
        print(
            f"\nWidget divided 2/4 on the members {divided:.2f}s after kubectl apply; members' Ready"
            f" status aggregated onto the template {aggregated_after:.2f}s after it was written"
        )
        items = await _items(fleet)
        assert {name: item["health"] for name, item in items.items()} == {"eu1": "Healthy", "us1": "Healthy"}
        assert items["us1"]["status"]["readyReplicas"] == 4  # the reflected status, by ReflectStatus
        entry = await _manifest_condition(fleet, "us1")
        assert entry is not None and entry["reflectedStatus"]["phase"] == "Running"
        reflected = _condition(entry["conditions"], "StatusReflected")
        assert reflected is not None and reflected["status"] == "True"
        aggregated = _condition((await _binding(fleet))["status"]["conditions"], "StatusAggregated")
        assert aggregated is not None and aggregated["status"] == "True"

        # a failure on eu1 (Ready=False): not Available there, counted out of the template status
        await _set_widget_status(fleet, "eu1", ready=False)
        await eventually(
            lambda: template_status({"readyReplicas": 4, "healthyClusters": 1, "clusters": 2}),
            within=20,
            what="the failure reaches the template status",
        )
        available = _condition((await _binding(fleet))["status"]["conditions"], "Available")
        assert available is not None and available["status"] == "False" and "eu1" in available["message"]
        # ... and its recovery
        await _set_widget_status(fleet, "eu1", ready=True)
        await eventually(
            lambda: template_status({"readyReplicas": 6, "healthyClusters": 2, "clusters": 2}),
            within=20,
            what="the recovery reaches the template status",
        )

        # a broken health script: Available=False naming the customization and the operation
        await _replace_customization(fleet, customization(healthInterpretation=BROKEN % "InterpretHealth"))

        async def health_failed() -> dict[str, Any] | None:
            entry = await _manifest_condition(fleet, "eu1")
            available = _condition((entry or {}).get("conditions"), "Available")
            return available if available and available["reason"] == "InterpretationFailed" else None

        failed = await eventually(health_failed, within=20, what="Available=False from the broken script")
        assert "'widgets'" in failed["message"] and "InterpretHealth" in failed["message"]
        assert failed["status"] == "False"

        # a broken replica script: Scheduled=False naming InterpretReplica; the Works stay as they were
        await _replace_customization(fleet, customization(replicaResource=BROKEN % "GetReplicas"))

        async def not_scheduled() -> dict[str, Any] | None:
            scheduled = _condition((await _binding(fleet)).get("status", {}).get("conditions"), "Scheduled")
            return scheduled if scheduled and scheduled["status"] == "False" else None

        scheduled = await eventually(not_scheduled, within=20, what="Scheduled=False from the broken script")
        assert scheduled["reason"] == "InterpretationFailed"
        assert "'widgets'" in scheduled["message"] and "InterpretReplica" in scheduled["message"]
        # the last good placement and Works stay: the members keep their shares
        assert {c["name"]: c["replicas"] for c in (await _binding(fleet))["spec"]["clusters"]} == {
            "eu1": 2,
            "us1": 4,
        }
        for cluster, share in (("eu1", 2), ("us1", 4)):
            widget = await _member_widget(fleet, cluster)
            assert widget is not None and widget["spec"]["replicas"] == share

        # a broken aggregation script: StatusAggregated=False; the last template status stays
        # (health is whole again since the customization above left InterpretHealth good)
        await eventually(
            lambda: template_status({"readyReplicas": 6, "healthyClusters": 2, "clusters": 2}),
            within=20,
            what="health whole again",
        )
        await _replace_customization(fleet, customization(statusAggregation=BROKEN % "AggregateStatus"))

        async def aggregation_failed() -> dict[str, Any] | None:
            cond = _condition((await _binding(fleet)).get("status", {}).get("conditions"), "StatusAggregated")
            return cond if cond and cond["status"] == "False" else None

        cond = await eventually(aggregation_failed, within=20, what="StatusAggregated=False")
        assert "AggregateStatus" in cond["message"] and "'widgets'" in cond["message"]
        assert await template_status({"readyReplicas": 6, "healthyClusters": 2, "clusters": 2})

        # fixed: scheduled again, with a new replica count divided by the same weights
        await _replace_customization(fleet, customization())
        await fleet.hub_api.patch(
            WIDGET_API, "Widget", name="shop", namespace="default", patch={"spec": {"replicas": 9}}
        )
        for cluster, share in (("eu1", 3), ("us1", 6)):
            await eventually(
                lambda c=cluster, s=share: _has_replicas(fleet, c, s), within=20, what=f"{share} on {cluster}"
            )
        scheduled_again = _condition((await _binding(fleet))["status"]["conditions"], "Scheduled")
        assert scheduled_again is not None and scheduled_again["status"] == "True"


async def _has_replicas(fleet: E2EFleet, cluster: str, replicas: int) -> dict[str, Any] | None:
    widget = await _member_widget(fleet, cluster)
    return widget if widget is not None and widget["spec"].get("replicas") == replicas else None


async def _replace_customization(fleet: E2EFleet, wanted: dict[str, Any]) -> None:
    await fleet.hub_api.patch(
        names.CONFIG_API_VERSION,
        names.KIND_RESOURCE_INTERPRETER_CUSTOMIZATION,
        name="widgets",
        patch={"spec": wanted["spec"]},
    )
