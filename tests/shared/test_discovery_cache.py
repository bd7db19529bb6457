"""The discovery cache: one fetch per group/version, refetch on a miss, NotFound when unserved."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from shared.kube.discovery import DiscoveryCache
from shared.kube.errors import NotFound


class FakeServer:
    def __init__(self) -> None:
        self.lists: dict[str, list[dict[str, Any]]] = {
            "/api/v1": [{"name": "configmaps", "kind": "ConfigMap", "namespaced": True, "verbs": ["get"]}],
        }
        self.fetches: list[str] = []

    async def fetch(self, path: str) -> dict[str, Any] | None:
        self.fetches.append(path)
        await asyncio.sleep(0)
        resources = self.lists.get(path)
        return None if resources is None else {"resources": resources}


async def test_cached_after_the_first_fetch() -> None:
    server = FakeServer()
    cache = DiscoveryCache(server.fetch)
    assert (await cache.resource_info("v1", "ConfigMap")).plural == "configmaps"
    assert (await cache.resource_info("v1", "ConfigMap")).plural == "configmaps"
    assert server.fetches == ["/api/v1"]


async def test_a_miss_refetches_and_finds_a_kind_added_later() -> None:
    server = FakeServer()
    cache = DiscoveryCache(server.fetch)
    await cache.resource_info("v1", "ConfigMap")
    with pytest.raises(NotFound):
        await cache.resource_info("example.com/v1", "Widget")
    server.lists["/apis/example.com/v1"] = [{"name": "widgets", "kind": "Widget", "namespaced": False}]
    info = await cache.resource_info("example.com/v1", "Widget")
    assert (info.plural, info.namespaced, info.group) == ("widgets", False, "example.com")
    assert server.fetches == ["/api/v1", "/apis/example.com/v1", "/apis/example.com/v1"]


async def test_concurrent_misses_share_one_refresh() -> None:
    server = FakeServer()
    cache = DiscoveryCache(server.fetch)
    infos = await asyncio.gather(*(cache.resource_info("v1", "ConfigMap") for _ in range(10)))
    assert {info.kind for info in infos} == {"ConfigMap"}
    assert server.fetches == ["/api/v1"]


async def test_invalidate_forgets() -> None:
    server = FakeServer()
    cache = DiscoveryCache(server.fetch)
    await cache.resource_info("v1", "ConfigMap")
    cache.invalidate("v1")
    await cache.resource_info("v1", "ConfigMap")
    assert server.fetches == ["/api/v1", "/api/v1"]
