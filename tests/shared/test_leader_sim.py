"""Leader election between two electors on one kubesim Lease: hand-over on stop and on crash."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from shared.kube.client import KubeClient
from shared.kube.retry import RetryPolicy
from shared.runtime.leader import LeaderElector, LeadershipLost

WaitFor = Callable[..., Awaitable[None]]
SimFactory = Callable[..., Awaitable[Any]]
FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, jitter=0.1)


@pytest.fixture
async def api(sim_factory: SimFactory) -> AsyncIterator[KubeClient]:
    sim = await sim_factory("rt-leader")
    client = await KubeClient.from_kubeconfig(
        sim.kubeconfig_path, name="test", retry_policy=FAST, request_timeout=5.0
    )
    await client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "waybill-system"}})
    try:
        yield client
    finally:
        await client.close()


def _elector(api: KubeClient, identity: str, *, lease_duration: float = 1.0, **kwargs: Any) -> LeaderElector:
    return LeaderElector(
        api,
        name="hub",
        namespace="waybill-system",
        identity=identity,
        lease_duration=lease_duration,
        renew_deadline=lease_duration * 0.6,
        retry_period=0.1,
        **kwargs,
    )


async def _lead_forever(log: list[str], identity: str) -> None:
    log.append(identity)
    await asyncio.Event().wait()


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_standby_takes_over_when_the_leader_stops(api: KubeClient, wait_for: WaitFor) -> None:
    leaders: list[str] = []
    # a long lease: taking over well within it proves the lease was released, not expired
    first, second = _elector(api, "a", lease_duration=4.0), _elector(api, "b", lease_duration=4.0)
    task_a = asyncio.create_task(first.run(lambda: _lead_forever(leaders, "a")))
    await wait_for(lambda: leaders == ["a"], what="a leads")
    task_b = asyncio.create_task(second.run(lambda: _lead_forever(leaders, "b")))
    try:
        await asyncio.sleep(0.3)  # several retry periods: b must keep waiting while a renews
        assert leaders == ["a"] and not second.is_leader
        stopped = time.monotonic()
        await _stop(task_a)
        await wait_for(lambda: leaders == ["a", "b"], timeout=3, what="b takes over")
        assert time.monotonic() - stopped < 2.0, "a released the lease: faster than its duration"
        lease = await api.get("coordination.k8s.io/v1", "Lease", name="hub", namespace="waybill-system")
        assert lease["spec"]["holderIdentity"] == "b"
        assert lease["spec"]["leaseTransitions"] >= 1
    finally:
        await _stop(task_a)
        await _stop(task_b)


async def test_standby_takes_over_after_a_crash_once_the_lease_expires(
    api: KubeClient, wait_for: WaitFor
) -> None:
    leaders: list[str] = []
    first = _elector(api, "a", release_on_stop=False)
    second = _elector(api, "b")
    task_a = asyncio.create_task(first.run(lambda: _lead_forever(leaders, "a")))
    await wait_for(lambda: leaders == ["a"], what="a leads")
    task_b = asyncio.create_task(second.run(lambda: _lead_forever(leaders, "b")))
    try:
        await asyncio.sleep(1.5)  # longer than the lease: only a's renewals keep b out
        assert leaders == ["a"] and not second.is_leader
        crashed = time.monotonic()
        await _stop(task_a)  # no release: like a killed process
        await wait_for(lambda: leaders == ["a", "b"], timeout=5, what="b takes over")
        waited = time.monotonic() - crashed
        assert 0.7 <= waited < 4.0, f"took over after {waited:.2f}s; the lease lasts 1s"
    finally:
        await _stop(task_a)
        await _stop(task_b)


async def test_leadership_is_lost_when_renewal_keeps_failing(
    sim_factory: SimFactory, wait_for: WaitFor
) -> None:
    sim = await sim_factory("rt-leader-lost")
    client = await KubeClient.from_kubeconfig(
        sim.kubeconfig_path, name="test", retry_policy=FAST, request_timeout=2.0
    )
    await client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "waybill-system"}})
    leaders: list[str] = []
    lead_cancelled = asyncio.Event()

    async def lead() -> None:
        leaders.append("a")
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            lead_cancelled.set()
            raise

    elector = _elector(client, "a")
    try:
        task = asyncio.create_task(elector.run(lead))
        await wait_for(lambda: leaders == ["a"], what="a leads")
        sim.faults.error(500, path="/leases")
        with pytest.raises(LeadershipLost):
            await asyncio.wait_for(task, 5)
        assert lead_cancelled.is_set()
        assert not elector.is_leader
    finally:
        sim.faults.clear()
        await client.close()
