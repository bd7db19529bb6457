"""A silently stalled watch (connection open, no bytes) is noticed within 30 s with default settings.

The hub and the agent build their informers with the defaults (``watch_timeout=300``, no idle
timeout), so this test does too: kubesim's ``stall_watch`` fault freezes the open stream at its
next event, and the change must still reach the cache through a resumed watch (no relist).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from shared.kube.client import WATCH_STALL_SECONDS, KubeClient
from shared.kube.informer import Informer
from shared.kube.retry import RetryPolicy

SimFactory = Callable[..., Awaitable[Any]]
FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, jitter=0.1)


@pytest.fixture
async def sim(sim_factory: SimFactory) -> Any:
    return await sim_factory("stall")


@pytest.fixture
async def api(sim: Any) -> AsyncIterator[KubeClient]:
    client = await KubeClient.from_kubeconfig(sim.kubeconfig_path, name="stall", retry_policy=FAST)
    try:
        yield client
    finally:
        await client.close()


def _cm(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "default", "labels": {"suite": "stall"}},
        "data": {},
    }


async def test_default_informer_notices_a_stalled_stream_within_30s(sim: Any, api: KubeClient) -> None:
    assert WATCH_STALL_SECONDS < 30
    informer = Informer(api, "v1", "ConfigMap", namespace="default", label_selector="suite=stall")
    informer.start()
    try:
        assert await informer.wait_synced(5)
        await api.create(_cm("before"))
        deadline = time.monotonic() + 5
        while informer.get("default/before") is None:
            assert time.monotonic() < deadline, "the watch delivers events before the stall"
            await _tick()
        sim.faults.stall_watch(times=1)  # the open stream freezes at its next event
        started = time.monotonic()
        await api.create(_cm("after-stall"))
        while informer.get("default/after-stall") is None:
            assert time.monotonic() - started < 30, "stalled watch not noticed within 30 s"
            await _tick()
        took = time.monotonic() - started
        assert sim.faults.injected == 1, "the event really was held back by the stall"
        assert took >= 1.0, f"delivered after {took:.2f}s: the stall did not hold it back"
        assert informer.lists == 1, "resumed from the last resourceVersion, no relist"
    finally:
        await informer.stop()


async def _tick() -> None:
    await asyncio.sleep(0.05)
