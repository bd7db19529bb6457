"""Fixtures for the agent-side perf tests: a hub and one pull-mode member on kubesim."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest_asyncio

from shared.kube.client import KubeClient
from tests.agent.fleet import FAST_RETRY, Fleet


async def _fleet(sim_factory: Callable[..., Awaitable[Any]], tmp_path: Path, *, workloads: bool) -> Fleet:
    hub = await sim_factory("hub")
    member = await sim_factory("eu1", workloads=workloads, workload_delay=0.1)
    fleet = Fleet(
        hub=hub,
        member=member,
        hub_admin=await KubeClient.from_kubeconfig(hub.kubeconfig_path, name="hub", retry_policy=FAST_RETRY),
        member_admin=await KubeClient.from_kubeconfig(
            member.kubeconfig_path, name="member", retry_policy=FAST_RETRY
        ),
        mode="pull",
        workdir=tmp_path,
    )
    await fleet.join()
    return fleet


@pytest_asyncio.fixture
async def ready_fleet(sim_factory: Callable[..., Awaitable[Any]], tmp_path: Path) -> AsyncIterator[Fleet]:
    """Workloads become available 0.1 s after each change."""
    fleet = await _fleet(sim_factory, tmp_path, workloads=True)
    yield fleet
    await fleet.close()


@pytest_asyncio.fixture
async def stuck_fleet(sim_factory: Callable[..., Awaitable[Any]], tmp_path: Path) -> AsyncIterator[Fleet]:
    """No workload controllers: a Deployment never becomes available."""
    fleet = await _fleet(sim_factory, tmp_path, workloads=False)
    yield fleet
    await fleet.close()
