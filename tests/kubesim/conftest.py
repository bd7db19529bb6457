"""Fixtures for the kubesim suites: a started server and a raw HTTP client on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from kubesim import SimServer
from kubesim.testing import Api, SimFactory


@pytest_asyncio.fixture
async def sim(sim_factory: SimFactory) -> SimServer:
    return await sim_factory("sim")


@pytest_asyncio.fixture
async def api(sim: SimServer) -> AsyncIterator[Api]:
    client = Api(sim)
    yield client
    await client.close()
