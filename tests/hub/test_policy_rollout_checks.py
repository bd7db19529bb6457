"""Rollout strategy problems on the policy itself (kubesim hub, no agents): a stage selector no
member answers makes the PropagationPolicy and its ClusterPropagationPolicy twin say
``RolloutStrategyValid=False`` naming the field, with a Warning Event, and True once a member
that answers joins; static problems (``maxConcurrency: 0`` or over 100%) are
``Valid=False`` naming the field; a policy without a Staged strategy carries no such condition."""

from __future__ import annotations

from typing import Any

import pytest

from kubesim import SimServer
from shared.api import names
from shared.kube.client import KubeClient
from shared.kube.errors import Invalid
from tests.hub.fleet import add_member, eventually, running_hub
from tests.hub.helpers import configmap, policy

ROLLOUT_VALID = "RolloutStrategyValid"
STAGES = [
    {"name": "canary", "labelSelector": {"matchLabels": {"ring": "0"}}},
    {"name": "early", "labelSelector": {"matchLabels": {"ring": "1"}}},
]


def staged_policy(name: str, *, namespace: str | None, stages: list[dict[str, Any]]) -> dict[str, Any]:
    found = policy(
        name, namespace=namespace, selectors=[{"apiVersion": "v1", "kind": "ConfigMap", "name": name}]
    )
    found["spec"]["rolloutStrategy"] = {"type": "Staged", "staged": {"stages": stages}}
    return found


async def condition(hub_api: KubeClient, kind: str, name: str, type_: str, *, namespace: str | None) -> Any:
    found = await hub_api.get(names.POLICY_API_VERSION, kind, name=name, namespace=namespace)
    conds = {c["type"]: c for c in (found.get("status") or {}).get("conditions") or []}
    return conds.get(type_)


async def warning_events(hub_api: KubeClient, name: str, reason: str) -> list[dict[str, Any]]:
    return [
        e
        for e in (await hub_api.list("v1", "Event", namespace="default")).items
        if (e.get("involvedObject") or {}).get("name") == name and e.get("reason") == reason
    ]


async def test_a_stage_no_member_answers_is_named_on_the_policy_until_one_joins(hub_sim: SimServer) -> None:
    async with running_hub(str(hub_sim.kubeconfig_path)) as (_hub, hub_api):
        await add_member(hub_api, "a", labels={"ring": "0"})
        plain = policy("plain", selectors=[{"apiVersion": "v1", "kind": "ConfigMap", "name": "plain"}])
        twins = [
            (
                names.KIND_PROPAGATION_POLICY,
                "default",
                staged_policy("rolled", namespace="default", stages=STAGES),
            ),
            (
                names.KIND_CLUSTER_PROPAGATION_POLICY,
                None,
                staged_policy("rolled-all", namespace=None, stages=STAGES),
            ),
        ]
        for obj in (plain, configmap("plain"), *(p for _, _, p in twins)):
            await hub_api.create(obj)
        field = "spec.rolloutStrategy.staged.stages[1] (early).labelSelector"
        for kind, namespace, obj in twins:
            name = obj["metadata"]["name"]

            async def invalid(kind: str = kind, name: str = name, namespace: str | None = namespace) -> Any:
                found = await condition(hub_api, kind, name, ROLLOUT_VALID, namespace=namespace)
                return found if found and found["status"] == "False" else None

            cond = await eventually(invalid, what=f"{kind} {name}: RolloutStrategyValid=False")
            assert cond["reason"] == "InvalidRolloutStrategy"
            assert f"{field}: selects no member cluster" in cond["message"], cond
            valid = await condition(hub_api, kind, name, names.CONDITION_VALID, namespace=namespace)
            assert valid["status"] == "True"  # fleet-dependent: not a validation problem

            async def event(name: str = name) -> list[dict[str, Any]] | None:
                return await warning_events(hub_api, name, "InvalidRolloutStrategy") or None

            events = await eventually(event, what="the InvalidRolloutStrategy Event")
            assert field in events[0]["message"]
        # the Valid condition is written in the same status write: the fence for "no condition"
        await eventually(
            lambda: condition(
                hub_api, names.KIND_PROPAGATION_POLICY, "plain", names.CONDITION_VALID, namespace="default"
            ),
            what="plain's Valid condition",
        )
        assert (
            await condition(
                hub_api, names.KIND_PROPAGATION_POLICY, "plain", ROLLOUT_VALID, namespace="default"
            )
            is None
        )
        await add_member(hub_api, "b", labels={"ring": "1"})
        for kind, namespace, obj in twins:
            name = obj["metadata"]["name"]

            async def answered(kind: str = kind, name: str = name, namespace: str | None = namespace) -> Any:
                found = await condition(hub_api, kind, name, ROLLOUT_VALID, namespace=namespace)
                return found if found and found["status"] == "True" else None

            await eventually(answered, what=f"{kind} {name}: RolloutStrategyValid=True once b joined")


async def test_static_strategy_problems_are_valid_false_naming_the_field(hub_sim: SimServer) -> None:
    async with running_hub(str(hub_sim.kubeconfig_path)) as (_hub, hub_api):
        await add_member(hub_api, "a", labels={"ring": "0"})
        # duplicate stage names never get this far: the CRD's list-map key refuses them
        twice = staged_policy("twice", namespace="default", stages=[STAGES[0], {"name": "canary"}])
        with pytest.raises(Invalid, match=r"stages\[1\]: Duplicate value"):
            await hub_api.create(twice)
        over = staged_policy("over", namespace="default", stages=[{"name": "all", "maxConcurrency": "150%"}])
        zero = staged_policy("zero", namespace="default", stages=[{"name": "all", "maxConcurrency": 0}])
        for obj in (over, zero):
            await hub_api.create(obj)
        expected = {
            "over": "spec.rolloutStrategy.staged.stages[0].maxConcurrency: 150% is more than 100%",
            "zero": "spec.rolloutStrategy.staged.stages[0].maxConcurrency: 0 would release no cluster",
        }
        for name, message in expected.items():

            async def invalid(name: str = name) -> Any:
                found = await condition(
                    hub_api, names.KIND_PROPAGATION_POLICY, name, names.CONDITION_VALID, namespace="default"
                )
                return found if found and found["status"] == "False" else None

            cond = await eventually(invalid, what=f"{name}: Valid=False")
            assert message in cond["message"], cond
            # an invalid policy is not checked against the fleet as well
            assert (
                await condition(
                    hub_api, names.KIND_PROPAGATION_POLICY, name, ROLLOUT_VALID, namespace="default"
                )
                is None
            )
