"""Fixtures for the agent's integration tests: a hub and a member on kubesim, pull and push."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from shared.kube.client import KubeClient
from tests.agent.fleet import FAST_RETRY, Fleet


@pytest_asyncio.fixture(params=["pull", "push"])
async def fleet(
    request: pytest.FixtureRequest, sim_factory: Callable[..., Awaitable[Any]], tmp_path: Path
) -> AsyncIterator[Fleet]:
    hub = await sim_factory("hub")
    member = await sim_factory("eu1", workloads=True, workload_delay=0.1)
    hub_admin = await KubeClient.from_kubeconfig(
        hub.kubeconfig_path, name="hub-admin", retry_policy=FAST_RETRY
    )
    member_admin = await KubeClient.from_kubeconfig(
        member.kubeconfig_path, name="member-admin", retry_policy=FAST_RETRY
    )
    fleet = Fleet(
        hub=hub,
        member=member,
        hub_admin=hub_admin,
        member_admin=member_admin,
        mode=request.param,
        workdir=tmp_path,
    )
    await fleet.join()
    yield fleet
    await fleet.close()
