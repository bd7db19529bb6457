"""Informer + controller + client together on kubesim: a level-triggered mirror controller.

For every ConfigMap labelled ``mirror=yes`` the controller keeps ``<name>-copy`` with the same
data (server-side apply), and deletes the copy when the source goes. Injected API failures are
retried until the copies converge.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from shared.kube.client import KubeClient
from shared.kube.errors import NotFound
from shared.kube.informer import Informer
from shared.kube.retry import RetryPolicy
from shared.runtime.controller import Controller, Result
from shared.runtime.ratelimit import RateLimiter

WaitFor = Callable[..., Awaitable[None]]
SimFactory = Callable[..., Awaitable[Any]]
NS = "mirror"
NO_RETRY = RetryPolicy(attempts=1)
FAST_BACKOFF = RetryPolicy(attempts=1_000_000, base_delay=0.01, max_delay=0.1, jitter=0.1)


@pytest.fixture
async def sim(sim_factory: SimFactory) -> Any:
    return await sim_factory("rt-mirror")


@pytest.fixture
async def api(sim: Any) -> AsyncIterator[KubeClient]:
    # no client retries: failures must reach the controller, which retries them itself
    client = await KubeClient.from_kubeconfig(
        sim.kubeconfig_path, name="mirror", retry_policy=NO_RETRY, request_timeout=5.0
    )
    await client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    try:
        yield client
    finally:
        await client.close()


async def test_mirror_controller_converges_through_failures(
    sim: Any, api: KubeClient, wait_for: WaitFor
) -> None:
    sources = Informer(
        api, "v1", "ConfigMap", namespace=NS, label_selector="mirror=yes", backoff=FAST_BACKOFF
    )

    async def reconcile(key: str) -> Result:
        source = sources.get(key)
        namespace, name = key.split("/")
        if source is None:
            with contextlib.suppress(NotFound):
                await api.delete("v1", "ConfigMap", name=f"{name}-copy", namespace=namespace)
            return Result()
        await api.apply(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"{name}-copy", "namespace": namespace},
                "data": dict(source.get("data") or {}),
            },
            field_manager="mirror",
            force=True,
        )
        return Result()

    controller = Controller(
        "mirror", reconcile, workers=2, rate_limiter=RateLimiter(base_delay=0.01, max_delay=0.2)
    )
    sources.add_handler(controller.enqueue)
    sources.start()
    runner = asyncio.create_task(controller.run())

    async def copy_data(name: str) -> dict[str, str] | None:
        try:
            copy = await api.get("v1", "ConfigMap", name=f"{name}-copy", namespace=NS)
        except NotFound:
            return None
        return dict(copy.get("data") or {})

    try:
        sim.faults.error(500, path="/configmaps/a-copy", method="PATCH", times=3)
        await api.create(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "a", "namespace": NS, "labels": {"mirror": "yes"}},
                "data": {"k": "1"},
            }
        )

        async def copied() -> bool:
            return await copy_data("a") == {"k": "1"}

        await wait_for(copied, what="copy after retries")
        assert sim.faults.injected >= 3

        await api.patch("v1", "ConfigMap", name="a", namespace=NS, patch={"data": {"k": "2"}})

        async def updated() -> bool:
            return await copy_data("a") == {"k": "2"}

        await wait_for(updated, what="copy follows the source")
        await api.delete("v1", "ConfigMap", name="a", namespace=NS)

        async def removed() -> bool:
            return await copy_data("a") is None

        await wait_for(removed, what="copy removed with the source")
    finally:
        controller.stop()
        await asyncio.wait_for(runner, 5)
        await sources.stop()
