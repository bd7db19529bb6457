"""A gracefully stopped agent releases its heartbeat Lease, so its replacement starts at once.

Seen in ``benchmarks/agent_bench.py --scale``: after ``agent.stopped`` nothing reached the hub
and the restarted agent waited for the Lease to expire. The cause was the benchmark: it waited
for the agent process with a blocking ``Popen.wait`` in the event loop that serves the simulated
API servers, so the stopping agent's record flush and Lease release went unanswered until its
grace period ran out. This pins what the agent does (it passed before that fix too): one Lease
patch on the stop, and a replacement under another identity holds the Lease long before the
first one's 60 s duration would have run out.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from agent.runner import run_agent
from tests.agent.fleet import Fleet, RequestCount, eventually

LEASE = ("coordination.k8s.io/v1", "Lease")


async def _lease(fleet: Fleet) -> dict[str, Any] | None:
    with contextlib.suppress(Exception):
        return await fleet.hub_admin.get(*LEASE, name="waybill-agent", namespace=fleet.namespace)
    return None


def _start(fleet: Fleet, stop: asyncio.Event) -> asyncio.Task[int]:
    # a long Lease: a replacement that had to wait for its expiry would miss the deadline below
    config = fleet.config(heartbeat_interval=0.5, lease_duration_seconds=60, holder_identity="eu1-agent")
    return asyncio.create_task(
        run_agent(
            config=config,
            hub_kubeconfig=fleet.agent_hub_kubeconfig,
            member_kubeconfig=fleet.agent_member_kubeconfig,
            metrics_port=None,
            stop=stop,
        )
    )


async def test_a_graceful_stop_releases_the_lease_and_a_replacement_starts_at_once(
    ready_fleet: Fleet,
) -> None:
    fleet = ready_fleet
    stop = asyncio.Event()
    task = _start(fleet, stop)

    async def held() -> bool:
        lease = await _lease(fleet)
        return bool(lease and (lease.get("spec") or {}).get("holderIdentity") == "eu1-agent")

    try:
        await eventually(held, within=20)
        releases = RequestCount(fleet.hub, method="PATCH", path="/leases/waybill-agent")
        stop.set()
        assert await asyncio.wait_for(task, 20) == 0
    finally:
        stop.set()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    lease = await _lease(fleet)
    assert lease is not None
    assert not (lease.get("spec") or {}).get("holderIdentity"), f"not released: {lease.get('spec')}"
    assert releases.count == 1, f"{releases.count} Lease patches on the stop (the release: 1)"

    # the replacement (same identity would pass anyway: another name shows the wait is gone)
    again = asyncio.Event()
    config = fleet.config(heartbeat_interval=0.5, lease_duration_seconds=60, holder_identity="eu1-agent-2")
    second = asyncio.create_task(
        run_agent(
            config=config,
            hub_kubeconfig=fleet.agent_hub_kubeconfig,
            member_kubeconfig=fleet.agent_member_kubeconfig,
            metrics_port=None,
            stop=again,
        )
    )
    try:

        async def taken() -> bool:
            assert not second.done(), "the replacement ended"
            lease = await _lease(fleet)
            return bool(lease and (lease.get("spec") or {}).get("holderIdentity") == "eu1-agent-2")

        await eventually(taken, within=20)  # far less than the 60 s Lease of the first agent
    finally:
        again.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(second, 20)
