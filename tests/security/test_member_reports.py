"""Trust but verify member reports: implausible capacity is ignored with a condition, and an
agent cannot report for another member.

The defect seen in #17: an agent could write any figures into its MemberCluster status, and the
hub used them for capacity-based division — a member claiming a million idle cores drew every
replica. Now such figures are refused (``CapacityTrusted=False``) and the member counts as
having no spare capacity.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub import keys, member_reports
from kubesim import SimServer
from shared import membership_rbac
from shared.api import names
from shared.kube.client import KubeClient
from shared.kube.errors import Forbidden
from tests.agent.fleet import issue_agent_token
from tests.hub.fleet import add_member, eventually, running_hub
from tests.hub.helpers import deployment, policy

HONEST = {
    "nodeCount": 2,
    "resources": {"allocatable": {"cpu": "8", "memory": "16Gi"}, "available": {"cpu": "4", "memory": "8Gi"}},
}
LIAR = {
    "nodeCount": 1,
    "resources": {
        "allocatable": {"cpu": "1000000", "memory": "1Ei"},
        "available": {"cpu": "1000000", "memory": "1Ei"},
    },
}


@pytest.mark.parametrize(
    ("status", "problem"),
    [
        ({}, None),
        (HONEST, None),
        ({"available": {"cpu": "4"}}, None),  # the older top-level form
        (LIAR, "status.resources.allocatable.cpu is more than 1 node(s) can have"),
        ({**HONEST, "nodeCount": 10**9}, "status.nodeCount"),
        ({**HONEST, "nodeCount": -1}, "status.nodeCount"),
        (
            {"nodeCount": 2, "resources": {"allocatable": {"cpu": "2"}, "available": {"cpu": "3"}}},
            "available.cpu is more than allocatable",
        ),
        ({"nodeCount": 2, "resources": {"available": {"cpu": "-4"}}}, "negative"),
        ({"nodeCount": 2, "resources": {"available": {"cpu": "lots"}}}, "is not a quantity"),
        ({"nodeCount": 2, "resources": {"available": ["cpu"]}}, "is not a map"),
        ({"resources": "big"}, "status.resources is not an object"),
    ],
)
def test_capacity_bounds(status: dict[str, Any], problem: str | None) -> None:
    check = member_reports.check_capacity(status)
    if problem is None:
        assert check.problem is None
        assert check.available == (
            (status.get("resources") or {}).get("available") or status.get("available")
        )
    else:
        assert check.problem is not None and problem in check.problem
        assert check.available == member_reports.NO_CAPACITY  # none spare, not "unknown" (= unlimited)


async def agent_client(hub_sim: SimServer, hub_api: KubeClient, cluster: str, workdir: Path) -> KubeClient:
    namespace = f"{names.MEMBER_NAMESPACE_PREFIX}{cluster}"
    for obj in membership_rbac.agent_identity_objects(namespace=namespace, cluster=cluster):
        await hub_api.create(obj)
    token = await issue_agent_token(hub_api, namespace=namespace)
    path = hub_sim.write_kubeconfig(
        workdir / f"{cluster}-agent.kubeconfig",
        token=token,
        user=f"system:serviceaccount:{namespace}:waybill-agent",
    )
    return await KubeClient.from_kubeconfig(path, name=f"agent-{cluster}")


async def report(api: KubeClient, cluster: str, status: dict[str, Any]) -> None:
    await api.patch_status(
        names.CLUSTER_API_VERSION,
        names.KIND_MEMBER_CLUSTER,
        name=cluster,
        namespace=f"{names.MEMBER_NAMESPACE_PREFIX}{cluster}",
        patch={"status": status},
    )


async def capacity_condition(api: KubeClient, cluster: str) -> dict[str, Any] | None:
    member = await api.get(
        names.CLUSTER_API_VERSION, names.KIND_MEMBER_CLUSTER, name=cluster, namespace=f"member-{cluster}"
    )
    for condition in (member.get("status") or {}).get("conditions") or []:
        if condition["type"] == member_reports.CONDITION_CAPACITY_TRUSTED:
            return dict(condition)
    return None


async def test_implausible_capacity_is_ignored_and_other_members_are_off_limits(
    hub_sim: SimServer, tmp_path: Path
) -> None:
    async with running_hub(str(hub_sim.kubeconfig_path)) as (_hub, hub_api):
        await add_member(hub_api, "eu1")
        await add_member(hub_api, "eu2")
        honest = await agent_client(hub_sim, hub_api, "eu1", tmp_path)
        liar = await agent_client(hub_sim, hub_api, "eu2", tmp_path)
        try:
            await report(honest, "eu1", HONEST)
            await report(liar, "eu2", LIAR)  # its own MemberCluster: RBAC allows the write
            # the liar cannot speak for eu1 in any way
            with pytest.raises(Forbidden):
                await report(liar, "eu1", LIAR)
            with pytest.raises(Forbidden):
                await liar.create(
                    {
                        "apiVersion": "coordination.k8s.io/v1",
                        "kind": "Lease",
                        "metadata": {"name": names.HEARTBEAT_LEASE_NAME, "namespace": "member-eu1"},
                        "spec": {"holderIdentity": "eu1-agent", "leaseDurationSeconds": 40},
                    }
                )
            with pytest.raises(Forbidden):
                await liar.create(
                    {
                        "apiVersion": names.CLUSTER_API_VERSION,
                        "kind": names.KIND_MEMBER_CLUSTER,
                        "metadata": {"name": "eu1", "namespace": "member-eu2"},
                    }
                )
            with pytest.raises(Forbidden):
                await liar.list(names.WORK_API_VERSION, names.KIND_WORK, namespace="member-eu1")

            bad = await eventually(
                lambda: _status(capacity_condition(hub_api, "eu2"), "False"), what="eu2 CapacityTrusted=False"
            )
            assert (
                bad["reason"] == "ImplausibleCapacity"
                and "status.resources.allocatable.cpu" in bad["message"]
            )
            await eventually(lambda: _status(capacity_condition(hub_api, "eu1"), "True"), what="eu1 trusted")

            await hub_api.create(deployment(replicas=4, cpu="1"))
            placement = {
                "replicaScheduling": {
                    "replicaSchedulingType": "Divided",
                    "replicaDivisionPreference": "Aggregated",
                }
            }
            await hub_api.create(
                policy(
                    "web", selectors=[{"apiVersion": "apps/v1", "kind": "Deployment"}], placement=placement
                )
            )

            async def placed() -> dict[str, int | None] | None:
                binding = await hub_api.get(
                    names.WORK_API_VERSION,
                    names.KIND_RESOURCE_BINDING,
                    name="web-deployment",
                    namespace="default",
                )
                clusters = keys.binding_clusters(binding)
                return clusters if sum(r or 0 for r in clusters.values()) == 4 else None

            assert await eventually(placed, what="4 replicas placed") == {"eu1": 4}
        finally:
            await honest.close()
            await liar.close()


async def _status(probe: Any, wanted: str) -> dict[str, Any] | None:
    condition = await probe
    return condition if condition and condition["status"] == wanted else None
