"""Adding a member that a policy does not select moves nothing: the same decision (pure), and
on a running hub the binding's placement and the Works are not even rewritten."""

from __future__ import annotations

from typing import Any

import pytest

from hub import scheduling
from hub.clusters import ClusterView
from kubesim import SimServer
from shared.api import names
from tests.hub.fleet import add_member, eventually, running_hub
from tests.hub.helpers import configmap, deployment, policy

PROD = [
    ClusterView("eu1", labels={"env": "prod"}, region="eu", available={"cpu": "4", "memory": "8Gi"}),
    ClusterView("eu2", labels={"env": "prod"}, region="eu", available={"cpu": "2", "memory": "4Gi"}),
    ClusterView("us1", labels={"env": "prod"}, region="us", available={"cpu": "8", "memory": "16Gi"}),
]
NEWCOMER = ClusterView("big", labels={"env": "dev"}, region="eu", available={"cpu": "64", "memory": "256Gi"})
PROD_ONLY = {"clusterAffinity": {"labelSelector": {"matchLabels": {"env": "prod"}}}}


@pytest.mark.parametrize(
    "scheduling_",
    [
        pytest.param({"replicaSchedulingType": "Duplicated"}, id="duplicated"),
        pytest.param(
            {
                "replicaSchedulingType": "Divided",
                "replicaDivisionPreference": "Weighted",
                "weightPreference": {
                    "staticWeightList": [
                        {"targetCluster": {"clusterNames": ["eu1"]}, "weight": 1},
                        {"targetCluster": {"clusterNames": ["eu2"]}, "weight": 2},
                        {"targetCluster": {"clusterNames": ["us1", "big"]}, "weight": 3},
                    ]
                },
            },
            id="static-weights",
        ),
        pytest.param(
            {
                "replicaSchedulingType": "Divided",
                "replicaDivisionPreference": "Weighted",
                "weightPreference": {"dynamicWeight": "AvailableReplicas"},
            },
            id="available-capacity",
        ),
        pytest.param(
            {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Aggregated"}, id="aggregated"
        ),
    ],
)
def test_an_unselected_newcomer_changes_no_decision(scheduling_: dict[str, Any]) -> None:
    spec = {"placement": {**PROD_ONLY, "replicaScheduling": scheduling_}}
    template = deployment(replicas=7)
    before = scheduling.schedule(policy_spec=spec, template=template, clusters=PROD)
    after = scheduling.schedule(
        policy_spec=spec, template=template, clusters=[*PROD, NEWCOMER], previous=before.replicas_by_cluster()
    )
    assert after.replicas_by_cluster() == before.replicas_by_cluster()
    assert sum(r or 0 for r in before.replicas_by_cluster().values()) in (7, 21)
    assert {r.cluster: r.reason for r in after.rejections}["big"] == "LabelSelectorMismatch"


async def test_joining_an_unselected_member_rewrites_no_binding_or_work(hub_sim: SimServer) -> None:
    async with running_hub(str(hub_sim.kubeconfig_path)) as (_hub, hub_api):
        for name in ("eu1", "eu2"):
            await add_member(hub_api, name, labels={"env": "prod"})
        await hub_api.create(
            policy(
                "web",
                selectors=[{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}],
                placement={**PROD_ONLY, "replicaScheduling": {"replicaSchedulingType": "Divided"}},
            )
        )
        await hub_api.create(deployment(name="web", replicas=4))

        async def settled() -> dict[str, str] | None:
            binding = await hub_api.get(
                names.WORK_API_VERSION,
                names.KIND_RESOURCE_BINDING,
                name="web-deployment",
                namespace="default",
            )
            works = [
                work
                for work in (await hub_api.list(names.WORK_API_VERSION, names.KIND_WORK)).items
                if work["metadata"]["namespace"] in ("member-eu1", "member-eu2")
            ]
            if len(works) != 2 or sum(c.get("replicas") or 0 for c in binding["spec"]["clusters"]) != 4:
                return None
            # The binding's placement (spec) and the Works must stay as they were; its status may
            # gain a line saying why dev1 was left out — that is the point of the binding.
            versions = {
                "placement": repr(binding["spec"]["clusters"]),
                "binding-generation": str(binding["metadata"]["generation"]),
            }
            versions.update({w["metadata"]["namespace"]: w["metadata"]["resourceVersion"] for w in works})
            return versions

        before = await eventually(settled, what="web divided over eu1 and eu2")

        await add_member(hub_api, "dev1", labels={"env": "dev"})
        # A fence: something the hub can only do after it has taken dev1 into its fleet — place a
        # ConfigMap on dev1 by name. Once that Work exists, dev1's arrival has been handled.
        await hub_api.create(
            policy(
                "fence",
                selectors=[{"apiVersion": "v1", "kind": "ConfigMap", "name": "fence"}],
                placement={"clusterAffinity": {"clusterNames": ["dev1"]}},
            )
        )
        await hub_api.create(configmap("fence"))
        await eventually(lambda: _works_in(hub_api, "member-dev1"), what="the fence Work on dev1")

        after = await settled()
        assert after == before, "joining an unselected member rewrote the binding or a Work"


async def _works_in(hub_api: Any, namespace: str) -> int:
    return len((await hub_api.list(names.WORK_API_VERSION, names.KIND_WORK, namespace=namespace)).items)
