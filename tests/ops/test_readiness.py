"""Readiness is about serving, leadership is reported apart: ``/readyz`` vs ``/leaderz``."""

from __future__ import annotations

import asyncio

import aiohttp

from hub.crd_startup import prepare_crds
from hub.process import LEASE_NAME, HubOptions, HubProcess
from kubesim import SimServer
from shared.kube.client import KubeClient
from shared.kube.retry import RetryPolicy
from shared.ops.server import OpsServer
from tests.hub.fleet import eventually

FAST = RetryPolicy(attempts=1, base_delay=0.01, max_delay=0.05, jitter=0.1)


async def test_leaderz_reports_leadership_only() -> None:
    leading = False
    server = OpsServer(host="127.0.0.1", port=0)
    server.add_readiness_check("serving", lambda: True)
    server.add_leader_check("leading", lambda: leading)
    await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{server.url}/readyz") as resp:
                assert resp.status == 200
            async with session.get(f"{server.url}/leaderz") as resp:
                assert resp.status == 503 and "[-]leading failed" in await resp.text()
            leading = True
            async with session.get(f"{server.url}/leaderz") as resp:
                assert resp.status == 200
    finally:
        await server.stop()
    plain = OpsServer(host="127.0.0.1", port=0)
    await plain.start()
    try:
        async with aiohttp.ClientSession() as session, session.get(f"{plain.url}/leaderz") as resp:
            assert resp.status == 404, "no leader election: /leaderz says so instead of a false answer"
    finally:
        await plain.stop()


async def test_standby_is_ready_until_the_api_stops_answering(hub_sim: SimServer) -> None:
    kubeconfig = str(hub_sim.kubeconfig_path)
    admin = await KubeClient.from_kubeconfig(kubeconfig)
    await prepare_crds(admin, mode="create")
    await admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "waybill-system"}})
    clients = [
        await KubeClient.from_kubeconfig(kubeconfig, retry_policy=FAST, request_timeout=2.0) for _ in range(2)
    ]
    replicas = [
        HubProcess(
            c,
            HubOptions(
                identity=f"h{i}",
                lease_namespace="waybill-system",
                lease_duration=2.0,
                renew_deadline=1.2,
                retry_period=0.2,
            ),
        )
        for i, c in enumerate(clients)
    ]
    tasks = [asyncio.create_task(r.run()) for r in replicas]
    try:
        await eventually(lambda: _true(sum(r.is_leader for r in replicas) == 1), what="one leader")
        await eventually(lambda: _true(all(r.ready() for r in replicas)), what="both Ready")
        standby = next(r for r in replicas if not r.is_leader)
        rule = hub_sim.faults.error(503, path=f"/leases/{LEASE_NAME}", method="GET")
        await eventually(lambda: _true(not standby.ready()), within=5, what="standby not Ready: API refuses")
        hub_sim.faults.rules.remove(rule)
        await eventually(lambda: _true(standby.ready()), within=5, what="standby Ready again")
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for client in (*clients, admin):
            await client.close()


async def _true(value: bool) -> bool:
    return value


async def test_rolling_update_of_two_replicas_keeps_a_ready_leader(hub_sim: SimServer) -> None:
    """What a Deployment's RollingUpdate (maxSurge 1, maxUnavailable 0) does to two replicas: a new
    pod must be Ready before an old one stops. Standbys are Ready, so the rollout proceeds, and
    the Lease passes to a remaining replica each time the leader stops."""
    kubeconfig = str(hub_sim.kubeconfig_path)
    admin = await KubeClient.from_kubeconfig(kubeconfig)
    await prepare_crds(admin, mode="create")
    await admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "waybill-system"}})
    running: dict[str, tuple[HubProcess, asyncio.Task[None], KubeClient]] = {}

    async def start(name: str) -> None:
        client = await KubeClient.from_kubeconfig(kubeconfig, retry_policy=FAST, request_timeout=2.0)
        replica = HubProcess(
            client,
            HubOptions(
                identity=name,
                lease_namespace="waybill-system",
                lease_duration=2.0,
                renew_deadline=1.2,
                retry_period=0.2,
            ),
        )
        running[name] = (replica, asyncio.create_task(replica.run()), client)

    async def stop(name: str) -> None:
        _, task, client = running.pop(name)
        task.cancel()  # SIGTERM: the controllers stop and a leader releases the Lease
        await asyncio.gather(task, return_exceptions=True)
        await client.close()

    def leaders() -> list[str]:
        return [n for n, (r, _, _) in running.items() if r.is_leader]

    try:
        for name in ("old-1", "old-2"):
            await start(name)
        await eventually(lambda: _true(len(leaders()) == 1), what="one leader")
        for old, new in (("old-1", "new-1"), ("old-2", "new-2")):
            await start(new)
            await eventually(lambda: _true(running[new][0].ready()), what=f"{new} Ready")  # noqa: B023
            await stop(old)
            await eventually(
                lambda: _true(len(leaders()) == 1), within=5, what=f"a leader after {old} stopped"
            )
        assert set(running) == {"new-1", "new-2"}
        await eventually(lambda: _true(all(r.ready() for r, _, _ in running.values())), what="both new Ready")
    finally:
        for name in list(running):
            await stop(name)
        await admin.close()
