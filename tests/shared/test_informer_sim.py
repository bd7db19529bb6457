"""The informer against kubesim: sync, key handlers, selectors, resume after a dropped stream,
relist on a forced 410."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from shared.kube.client import KubeClient
from shared.kube.informer import Informer, Views, strip_managed_fields
from shared.kube.retry import RetryPolicy

WaitFor = Callable[..., Awaitable[None]]
SimFactory = Callable[..., Awaitable[Any]]
FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, jitter=0.1)
NS = "rt"
FAST_BACKOFF = RetryPolicy(attempts=1_000_000, base_delay=0.01, max_delay=0.1, jitter=0.1)


@pytest.fixture
async def sim(sim_factory: SimFactory) -> Any:
    return await sim_factory("rt-informer")


@pytest.fixture
async def api(sim: Any) -> AsyncIterator[KubeClient]:
    client = await KubeClient.from_kubeconfig(
        sim.kubeconfig_path, name="test", retry_policy=FAST, request_timeout=5.0
    )
    await client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    try:
        yield client
    finally:
        await client.close()


def _cm(name: str, *, labels: dict[str, str] | None = None, value: str = "") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": NS, "labels": {"suite": "rt", **(labels or {})}},
        "data": {"v": value},
    }


def _informer(api: KubeClient, *, label_selector: str = "suite=rt") -> Informer:
    # the selector leaves out the kube-root-ca.crt ConfigMap every namespace gets
    return Informer(
        api,
        "v1",
        "ConfigMap",
        namespace=NS,
        label_selector=label_selector,
        watch_timeout=30,
        backoff=FAST_BACKOFF,
    )


async def test_sync_then_events_reach_handlers_as_keys(api: KubeClient, wait_for: WaitFor) -> None:
    await api.create(_cm("before", labels={"team": "a"}))
    await api.create(_cm("elsewhere", labels={"team": "b"}))
    informer = _informer(api, label_selector="team=a")
    keys: list[str] = []
    informer.add_handler(keys.append)
    informer.start()
    try:
        assert await informer.wait_synced(5)
        assert informer.keys() == ["rt/before"]
        assert keys == ["rt/before"]

        await api.create(_cm("later", labels={"team": "a"}))
        await wait_for(lambda: informer.get("rt/later") is not None, what="ADDED in cache")
        await api.patch("v1", "ConfigMap", name="later", namespace=NS, patch={"data": {"v": "2"}})
        await wait_for(lambda: (informer.get("rt/later") or {}).get("data") == {"v": "2"}, what="MODIFIED")
        await api.delete("v1", "ConfigMap", name="before", namespace=NS)
        await wait_for(lambda: informer.get("rt/before") is None, what="DELETED")
        assert keys == ["rt/before", "rt/later", "rt/later", "rt/before"]
        assert "rt/elsewhere" not in informer
    finally:
        await informer.stop()


async def test_map_keys_and_late_handlers(api: KubeClient, wait_for: WaitFor) -> None:
    await api.create(_cm("child", labels={"owner": "parent-1"}))
    informer = _informer(api)
    informer.start()
    try:
        assert await informer.wait_synced(5)
        owners: list[str] = []
        informer.add_handler(owners.append, map_keys=lambda obj: [obj["metadata"]["labels"]["owner"]])
        assert owners == ["parent-1"], "a late handler hears about every cached object"
        await api.delete("v1", "ConfigMap", name="child", namespace=NS)
        await wait_for(lambda: owners == ["parent-1", "parent-1"], what="deletion mapped to the owner")
    finally:
        await informer.stop()


async def test_resumes_after_a_dropped_stream_without_relisting(
    sim: Any, api: KubeClient, wait_for: WaitFor
) -> None:
    informer = _informer(api)
    informer.start()
    try:
        assert await informer.wait_synced(5)
        sim.faults.drop_watch(times=1)
        await api.create(_cm("first"))
        await wait_for(lambda: informer.get("rt/first") is not None, what="first object")
        await api.create(_cm("second"))
        await wait_for(lambda: informer.get("rt/second") is not None, what="second object")
        assert informer.lists == 1
    finally:
        await informer.stop()


async def test_relists_on_forced_410(sim: Any, api: KubeClient, wait_for: WaitFor) -> None:
    await api.create(_cm("kept"))
    await api.create(_cm("doomed"))
    sim.faults.expire_watch(times=1)
    informer = _informer(api)
    keys: list[str] = []
    informer.add_handler(keys.append)
    informer.start()
    try:
        await wait_for(lambda: informer.lists >= 2, what="relist after 410")
        await api.delete("v1", "ConfigMap", name="doomed", namespace=NS)
        await api.create(_cm("new"))
        await wait_for(lambda: sorted(informer.keys()) == ["rt/kept", "rt/new"], what="cache converged")
        assert "rt/new" in keys
    finally:
        await informer.stop()


async def test_waits_for_a_kind_that_is_not_served_yet(api: KubeClient) -> None:
    informer = Informer(api, "example.com/v1", "Widget", backoff=FAST_BACKOFF)
    informer.start()
    try:
        assert not await informer.wait_synced(0.3)
        assert not informer.has_synced
    finally:
        await informer.stop()


async def test_a_stalled_stream_is_abandoned_and_resumed(
    sim: Any, api: KubeClient, wait_for: WaitFor
) -> None:
    informer = Informer(
        api,
        "v1",
        "ConfigMap",
        namespace=NS,
        label_selector="suite=rt",
        watch_timeout=30,
        watch_idle_timeout=0.5,
        backoff=FAST_BACKOFF,
    )
    informer.start()
    try:
        assert await informer.wait_synced(5)
        sim.faults.stall_watch(times=1)
        await api.create(_cm("after-stall"))
        await wait_for(lambda: informer.get("rt/after-stall") is not None, what="event after the stall")
        assert informer.lists == 1, "resumed from the last resourceVersion, no relist"
    finally:
        await informer.stop()


async def test_survives_a_server_restart(sim: Any, api: KubeClient, wait_for: WaitFor) -> None:
    informer = _informer(api)
    informer.start()
    try:
        assert await informer.wait_synced(5)
        await sim.restart()
        await api.create(_cm("after-restart"))
        await wait_for(lambda: informer.get("rt/after-restart") is not None, what="event after restart")
    finally:
        await informer.stop()


async def test_transform_trims_cached_objects(api: KubeClient, wait_for: WaitFor) -> None:
    await api.apply(_cm("listed"), field_manager="t")
    informer = Informer(
        api,
        "v1",
        "ConfigMap",
        namespace=NS,
        label_selector="suite=rt",
        backoff=FAST_BACKOFF,
        transform=strip_managed_fields,
    )
    informer.start()
    try:
        assert await informer.wait_synced(5)
        await api.apply(_cm("watched"), field_manager="t")
        await wait_for(lambda: informer.get("rt/watched") is not None, what="watched object")
        for key in ("rt/listed", "rt/watched"):
            cached = informer.get(key)
            assert cached is not None
            assert "managedFields" not in cached["metadata"]
            assert cached["metadata"]["name"] == key.split("/")[1]
        live = await api.get("v1", "ConfigMap", name="watched", namespace=NS)
        assert live["metadata"]["managedFields"], "the server still has them"
    finally:
        await informer.stop()


async def test_indexes_update_handlers_and_views_follow_the_cache(api: KubeClient, wait_for: WaitFor) -> None:
    await api.create(_cm("a", labels={"team": "x"}, value="1"))
    informer = _informer(api)
    informer.add_indexer("team", lambda obj: [obj["metadata"]["labels"]["team"]]
                         if "team" in obj["metadata"]["labels"] else [])
    parsed: list[str] = []

    def parse(obj: dict[str, Any]) -> str:
        parsed.append(obj["metadata"]["resourceVersion"])
        return str(obj["data"]["v"])

    views = Views(informer, parse)
    changes: list[tuple[str, str | None, str | None]] = []
    seen_in_index: list[list[str]] = []

    def on_update(key: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        # the index is current before any handler runs, and the old version's view is still there
        seen_in_index.append(informer.index_keys("team", "x"))
        changes.append((key, views.of(key, old) if old else None, views.of(key, new) if new else None))

    informer.add_update_handler(on_update)
    informer.start()
    try:
        assert await informer.wait_synced(5)
        assert [o["metadata"]["name"] for o in informer.by_index("team", "x")] == ["a"]
        await api.create(_cm("b", labels={"team": "x"}, value="2"))
        await wait_for(lambda: len(informer.index_keys("team", "x")) == 2, what="b indexed")
        assert seen_in_index[-1] == ["rt/a", "rt/b"]
        await api.patch("v1", "ConfigMap", name="a", namespace=NS,
                        patch={"metadata": {"labels": {"team": "y"}}, "data": {"v": "3"}})
        await wait_for(lambda: informer.index_keys("team", "y") == ["rt/a"], what="a moved to y")
        assert informer.index_keys("team", "x") == ["rt/b"]
        await api.delete("v1", "ConfigMap", name="b", namespace=NS)
        await wait_for(lambda: informer.index_values("team") == ["y"], what="b gone from the index")
        assert changes == [("rt/a", None, "1"), ("rt/b", None, "2"), ("rt/a", "1", "3"), ("rt/b", "2", None)]
        assert views.get("rt/a") == "3" and views.get("rt/b") is None
        assert len(parsed) == 3  # one parse per object version (a@1, b@2, a@3), reused later
    finally:
        await informer.stop()
