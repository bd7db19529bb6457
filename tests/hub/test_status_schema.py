"""Every status the hub writes fits the generated CRD schema (typed, no field the schema lacks).

A hub on kubesim goes through the situations that produce each kind of status write (placement,
orphaning, an invalid policy, an override that fails, clusterNames that are not members, member
health); every ``/status`` write it sends is recorded and checked against ``shared.api.crdgen``'s
schema: ``kubesim.schema.validate`` finds no error and pruning removes nothing (an unknown field
would be silently dropped by a real API server).
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from hub import status_writes
from kubesim import SimServer
from kubesim import schema as sim_schema
from shared.api import crdgen, meta, names
from shared.kube.client import KubeClient
from tests.hub.fleet import add_member, eventually, running_hub, settled
from tests.hub.helpers import configmap, policy

WAYBILL_SCHEMAS = {
    (crd["spec"]["group"], crd["spec"]["names"]["kind"]): crd["spec"]["versions"][0]["schema"][
        "openAPIV3Schema"
    ]
    for crd in crdgen.all_crds()
}


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def check_status(kind_key: tuple[str, str], status: Any) -> list[str]:
    schema = WAYBILL_SCHEMAS[kind_key]["properties"]["status"]
    status = _drop_nulls(status)  # (a merge patch's null deletes a field)
    problems = [str(e) for e in sim_schema.validate(status, schema, path="status")]
    if sim_schema.prune(status, schema, is_root=False) != status:
        problems.append(f"status has fields the schema does not describe: {status}")
    return problems


async def test_every_hub_status_write_fits_the_crd_schema(
    hub_sim: SimServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[tuple[tuple[str, str], Any]] = []
    original_patch = KubeClient.patch_status
    original_apply = KubeClient.apply_status

    async def patch_status(self: KubeClient, api_version: str, kind: str, **kwargs: Any) -> Any:
        writes.append(((api_version.rpartition("/")[0], kind), (kwargs["patch"] or {}).get("status")))
        return await original_patch(self, api_version, kind, **kwargs)

    async def apply_status(self: KubeClient, obj: dict[str, Any], **kwargs: Any) -> Any:
        writes.append(((str(obj["apiVersion"]).rpartition("/")[0], str(obj["kind"])), obj.get("status")))
        return await original_apply(self, obj, **kwargs)

    monkeypatch.setattr(KubeClient, "patch_status", patch_status)
    monkeypatch.setattr(KubeClient, "apply_status", apply_status)
    async with running_hub(str(hub_sim.kubeconfig_path)) as (hub, hub_api):
        await add_member(hub_api, "a")
        await hub_api.create(
            policy(
                "p",
                selectors=[{"apiVersion": "v1", "kind": "ConfigMap"}],
                placement={"clusterAffinity": {"clusterNames": ["a", "typo"]}},
            )
        )
        await hub_api.create(
            policy(
                "bad",
                selectors=[{"apiVersion": "v1", "kind": "Secret"}],
                placement={"clusterAffinity": {"clusterNames": ["a"], "exclude": ["a"]}},
            )
        )
        await hub_api.create(
            {
                "apiVersion": names.POLICY_API_VERSION,
                "kind": names.KIND_OVERRIDE_POLICY,
                "metadata": {"name": "o", "namespace": "default"},
                "spec": {
                    "resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "broken"}],
                    "overrideRules": [
                        {"overriders": {"plaintext": [{"path": "/nope/x", "operator": "remove"}]}}
                    ],
                },
            }
        )
        await hub_api.create(configmap("cfg"))
        await hub_api.create(configmap("broken"))
        # the cluster-scoped twins: a ClusterPropagationPolicy placing a cluster-scoped template
        # (a ClusterResourceBinding) and a ClusterOverridePolicy
        await hub_api.create(
            policy(
                "roles",
                namespace=None,
                selectors=[{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole"}],
                placement={"clusterAffinity": {"clusterNames": ["a"]}},
            )
        )
        await hub_api.create(
            {
                "apiVersion": names.POLICY_API_VERSION,
                "kind": names.KIND_CLUSTER_OVERRIDE_POLICY,
                "metadata": {"name": "co"},
                "spec": {
                    "resourceSelectors": [
                        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole"}
                    ],
                    "overrideRules": [
                        {"overriders": {"labelsOverrider": [{"operator": "add", "value": {"from": "co"}}]}}
                    ],
                },
            }
        )
        await hub_api.create(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": "viewer"},
                "rules": [],
            }
        )

        async def cluster_binding_scheduled() -> bool:
            binding = await hub_api.get(
                names.WORK_API_VERSION,
                names.KIND_CLUSTER_RESOURCE_BINDING,
                name="viewer-clusterrole.rbac.authorization.k8s.io",
            )
            return any(
                c["type"] == "Scheduled" and c["status"] == "True"
                for c in (binding.get("status") or {}).get("conditions") or []
            )

        await eventually(cluster_binding_scheduled, what="ClusterResourceBinding Scheduled=True")

        async def rendered_false() -> bool:
            binding = await hub_api.get(
                names.WORK_API_VERSION,
                names.KIND_RESOURCE_BINDING,
                name="broken-configmap",
                namespace="default",
            )
            return any(
                c["type"] == "Rendered" and c["status"] == "False"
                for c in (binding.get("status") or {}).get("conditions") or []
            )

        await eventually(rendered_false, what="Rendered=False")
        await hub_api.delete(names.POLICY_API_VERSION, "PropagationPolicy", name="p", namespace="default")

        async def orphaned() -> bool:
            binding = await hub_api.get(
                names.WORK_API_VERSION, names.KIND_RESOURCE_BINDING, name="cfg-configmap", namespace="default"
            )
            return any(c.get("reason") == "PolicyRemoved" for c in binding["status"]["conditions"])

        await eventually(orphaned, what="orphaned binding")
        await settled(hub)
    kinds = {kind for kind, _ in writes}
    for wanted in (
        (names.WORK_GROUP, names.KIND_RESOURCE_BINDING),
        (names.WORK_GROUP, names.KIND_CLUSTER_RESOURCE_BINDING),
        (names.POLICY_GROUP, names.KIND_PROPAGATION_POLICY),
        (names.POLICY_GROUP, names.KIND_CLUSTER_PROPAGATION_POLICY),
        (names.POLICY_GROUP, names.KIND_OVERRIDE_POLICY),
        (names.POLICY_GROUP, names.KIND_CLUSTER_OVERRIDE_POLICY),
        (names.CLUSTER_GROUP, names.KIND_MEMBER_CLUSTER),
    ):
        assert wanted in kinds, f"no {wanted} status write seen: {sorted(kinds)}"
    problems = [
        f"{kind[1]}: {problem}"
        for kind, status in writes
        if kind in WAYBILL_SCHEMAS
        for problem in check_status(kind, status)
    ]
    assert problems == []


NOW = "2026-12-06T22:00:00Z"


def test_binding_status_is_validated_by_its_model_before_it_is_applied() -> None:
    good = {
        "schedulingDecision": {"result": "Scheduled", "targets": [{"cluster": "a", "reason": "Scheduled"}]}
    }
    assert status_writes.SCHEDULER.owned(good)["schedulingDecision"] == good["schedulingDecision"]
    bad = {"schedulingDecision": {"result": "Scheduled", "targets": [{"cluster": "a", "replicas": -1}]}}
    with pytest.raises(ValidationError, match=r"schedulingDecision\.targets\.0\.(reason|replicas)"):
        status_writes.SCHEDULER.owned(bad)
    with pytest.raises(ValidationError, match="conditions"):
        status_writes.AGGREGATOR.owned({"conditions": [{"type": "Applied", "status": "Maybe"}]})


def test_policy_status_is_read_and_written_through_the_model() -> None:
    written = {
        "observedGeneration": 2,
        "claimedTemplates": 3,
        "conditions": [
            {"type": "Valid", "status": "True", "reason": "Valid", "message": "", "lastTransitionTime": NOW},
            {"type": "Odd", "status": "Perhaps"},  # not a condition the model accepts: rewritten away
        ],
    }
    status = status_writes.read_policy_status({"status": written})
    assert [c.type for c in status.conditions] == ["Valid"]
    status.conditions = meta.set_condition(status.conditions, type="Valid", status="True", reason="Valid")
    wire = status_writes.from_model(status)
    assert wire["conditions"][0]["lastTransitionTime"] == NOW, "unchanged status keeps its time"
    assert check_status((names.POLICY_GROUP, names.KIND_CLUSTER_PROPAGATION_POLICY), wire) == []


def test_member_conditions_go_through_the_model() -> None:
    ready = meta.set_wire_condition([], type="Ready", status="Unknown", reason="LeaseExpired", now=NOW)
    agents = [{"type": "AgentThing", "status": "True", "reason": "", "lastTransitionTime": NOW}]
    out = status_writes.member_conditions([*agents, *ready], own=("Ready",))
    assert out[0] == agents[0], "the agent's own condition is kept as it is"
    assert out[1]["reason"] == "LeaseExpired"
    bad = meta.set_wire_condition([], type="Ready", status="Unknown", reason="not a reason!", now=NOW)
    with pytest.raises(ValidationError, match="reason"):
        status_writes.member_conditions(bad, own=("Ready",))
