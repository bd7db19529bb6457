"""A member registered by labelling a namespace, whose agent never connected, on a running hub:
the hub creates its MemberCluster with the not-ready NoSchedule taint, nothing is scheduled to
it, and its (stand-in) agent's first heartbeat makes it schedulable."""

from __future__ import annotations

from typing import Any

from kubesim import SimServer
from shared.api import names
from tests.hub.fleet import add_member, eventually, heartbeat, running_hub
from tests.hub.helpers import deployment, policy


async def test_labelled_namespace_without_agent_is_not_schedulable(hub_sim: SimServer) -> None:
    async with running_hub(str(hub_sim.kubeconfig_path), grace_seconds=5.0) as (_hub, hub_api):
        await add_member(hub_api, "eu1")
        await hub_api.create(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": "member-late", "labels": {names.LABEL_MEMBER: "late"}},
            }
        )

        async def late() -> dict[str, Any]:
            return await hub_api.get(  # type: ignore[no-any-return]
                names.CLUSTER_API_VERSION, names.KIND_MEMBER_CLUSTER, name="late", namespace="member-late"
            )

        created = await eventually(late, what="the hub creates late's MemberCluster")
        assert [t["key"] for t in created["spec"]["taints"]] == [names.TAINT_NOT_READY]
        await hub_api.create(
            policy(
                "web",
                selectors=[{"apiVersion": "apps/v1", "kind": "Deployment"}],
                placement={"replicaScheduling": {"replicaSchedulingType": "Divided"}},
            )
        )
        await hub_api.create(deployment(replicas=4))

        async def binding() -> dict[str, Any]:
            return await hub_api.get(  # type: ignore[no-any-return]
                names.WORK_API_VERSION,
                names.KIND_RESOURCE_BINDING,
                name="web-deployment",
                namespace="default",
            )

        async def placed(wanted: dict[str, int]) -> bool:
            found = await binding()
            return {c["name"]: c.get("replicas") for c in found["spec"].get("clusters") or []} == wanted

        await eventually(lambda: placed({"eu1": 4}), what="all 4 replicas on eu1")
        rejected = {r["cluster"]: r for r in (await binding())["status"]["schedulingDecision"]["rejected"]}
        assert rejected["late"]["reason"] == "TaintNotTolerated", rejected
        ready = next(c for c in (await late())["status"]["conditions"] if c["type"] == names.CONDITION_READY)
        assert (ready["status"], ready["reason"]) == ("Unknown", "AwaitingAgent")

        await heartbeat(hub_api, "member-late")

        async def untainted() -> bool:
            return not (await late())["spec"].get("taints")

        await eventually(untainted, what="the first heartbeat removes the not-ready taint")
        await eventually(
            lambda: placed({"eu1": 2, "late": 2}), what="late scheduled after its first heartbeat"
        )
