"""The hub process: two replicas with leader election; only the leader acts, the other takes over."""

from __future__ import annotations

import asyncio
import contextlib

from hub.process import LEASE_NAME, LEASE_NAMESPACE, HubOptions, run_hub
from kubesim import SimServer
from shared.kube.client import KubeClient
from tests.hub.fleet import add_member, eventually
from tests.hub.helpers import configmap, policy

WORK = ("work.waybill.dev/v1alpha1", "Work")


async def test_two_replicas_one_leader_and_failover(hub_sim: SimServer) -> None:
    kubeconfig = str(hub_sim.kubeconfig_path)
    stops = {name: asyncio.Event() for name in ("h1", "h2")}
    tasks = {}
    for name, stop in stops.items():
        options = HubOptions(
            kubeconfig=kubeconfig,
            identity=name,
            lease_duration=2.0,
            renew_deadline=1.5,
            retry_period=0.3,
            metrics_port=0,
        )
        tasks[name] = asyncio.create_task(run_hub(options, stop))
    async with await KubeClient.from_kubeconfig(kubeconfig) as hub_api:
        try:

            async def holder() -> str | None:
                lease = await hub_api.get(
                    "coordination.k8s.io/v1", "Lease", name=LEASE_NAME, namespace=LEASE_NAMESPACE
                )
                return (lease.get("spec") or {}).get("holderIdentity")

            leader = await eventually(holder, what="a leader")
            assert leader in stops
            await add_member(hub_api, "a")
            await hub_api.create(policy("p", selectors=[{"apiVersion": "v1", "kind": "ConfigMap"}]))
            await hub_api.create(configmap("one"))

            async def manifests() -> int:
                return sum(
                    len(w["spec"]["workload"]["manifests"])
                    for w in (await hub_api.list(*WORK, namespace="member-a")).items
                )

            await eventually(lambda: _is(manifests(), 1), what="work from the leader")
            stops[leader].set()
            assert await asyncio.wait_for(tasks[leader], 10) == 0
            follower = next(n for n in stops if n != leader)
            await eventually(lambda: _is(holder(), follower), within=10, what="follower takes over")
            await hub_api.create(configmap("two"))
            await eventually(lambda: _is(manifests(), 2), what="work from the new leader")
        finally:
            for stop in stops.values():
                stop.set()
            for task in tasks.values():
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(task, 10)


async def _is(value: object, expected: object) -> bool:
    return (await value) == expected  # type: ignore[misc]
