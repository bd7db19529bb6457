"""Conformance: WATCH streams (initial events, resourceVersion, selectors, bookmarks, 410, timeout)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from kubesim import SimServer
from kubesim.testing import CM, Api, cm


class Stream:
    def __init__(self, resp: Any) -> None:
        self.resp = resp

    async def next(self, wait: float = 5.0) -> dict[str, Any]:
        line = await asyncio.wait_for(self.resp.content.readline(), wait)
        assert line, "stream ended"
        return json.loads(line)

    async def ended(self, wait: float = 5.0) -> bool:
        line = await asyncio.wait_for(self.resp.content.readline(), wait)
        return line == b""


@asynccontextmanager
async def watch(api: Api, path: str = CM, **params: str) -> AsyncIterator[Stream]:
    params = {"watch": "1", **params}
    async with api.session.get(path, params=params, timeout=None) as resp:
        assert resp.status == 200
        yield Stream(resp)


async def test_watch_without_rv_replays_current_state(api: Api) -> None:
    await api.post(CM, cm("a"))
    async with watch(api) as stream:
        seen = {(await stream.next())["object"]["metadata"]["name"] for _ in range(2)}
        assert seen == {"a", "kube-root-ca.crt"}
        await api.post(CM, cm("b"))
        event = await stream.next()
        assert event["type"] == "ADDED" and event["object"]["metadata"]["name"] == "b"


async def test_watch_from_rv_sees_modified_and_deleted(api: Api) -> None:
    _, a = await api.post(CM, cm("a"))
    rv = a["metadata"]["resourceVersion"]
    async with watch(api, resourceVersion=rv) as stream:
        _, a2 = await api.put(f"{CM}/a", {**a, "data": {"k": "v"}})
        await api.delete(f"{CM}/a")
        modified = await stream.next()
        deleted = await stream.next()
    assert modified["type"] == "MODIFIED" and modified["object"]["data"] == {"k": "v"}
    assert deleted["type"] == "DELETED"
    assert int(deleted["object"]["metadata"]["resourceVersion"]) > int(a2["metadata"]["resourceVersion"])


async def test_watch_replays_history_after_rv(api: Api) -> None:
    _, a = await api.post(CM, cm("a"))
    await api.post(CM, cm("b"))
    await api.post(CM, cm("c"))
    async with watch(api, resourceVersion=a["metadata"]["resourceVersion"]) as stream:
        names = [(await stream.next())["object"]["metadata"]["name"] for _ in range(2)]
    assert names == ["b", "c"]


async def test_selector_exit_is_deleted_and_entry_is_added(api: Api) -> None:
    body = cm("a")
    body["metadata"]["labels"] = {"app": "web"}
    _, a = await api.post(CM, body)
    async with watch(
        api, labelSelector="app=web", resourceVersion=a["metadata"]["resourceVersion"]
    ) as stream:
        a["metadata"]["labels"] = {"app": "other"}
        _, a = await api.put(f"{CM}/a", a)
        left = await stream.next()
        assert left["type"] == "DELETED" and left["object"]["metadata"]["labels"] == {"app": "other"}
        a["metadata"]["labels"] = {"app": "web"}
        await api.put(f"{CM}/a", a)
        back = await stream.next()
        assert back["type"] == "ADDED"


async def test_namespace_scoped_watch_ignores_other_namespaces(api: Api) -> None:
    await api.post("/api/v1/namespaces", {"metadata": {"name": "other"}})
    _, marker = await api.get(CM)
    async with watch(api, resourceVersion=marker["metadata"]["resourceVersion"]) as stream:
        await api.post("/api/v1/namespaces/other/configmaps", cm("x"))
        await api.post(CM, cm("y"))
        event = await stream.next()
    assert event["object"]["metadata"]["name"] == "y"


async def test_too_old_rv_gets_410_error_event(sim_factory: Any) -> None:
    server: SimServer = await sim_factory("small", history=5)
    api = Api(server)
    try:
        _, first = await api.post(CM, cm("first"))
        for i in range(10):
            await api.post(CM, cm(f"c{i}"))
        async with watch(api, resourceVersion=first["metadata"]["resourceVersion"]) as stream:
            event = await stream.next()
            assert event["type"] == "ERROR"
            assert event["object"]["code"] == 410 and event["object"]["reason"] == "Expired"
            assert event["object"]["message"].startswith("too old resource version:")
            assert await stream.ended()
    finally:
        await api.close()


async def test_bookmarks(sim_factory: Any) -> None:
    server: SimServer = await sim_factory("bm", bookmark_interval=0.1)
    api = Api(server)
    try:
        _, lst = await api.get(CM)
        async with watch(
            api, resourceVersion=lst["metadata"]["resourceVersion"], allowWatchBookmarks="true"
        ) as s:
            event = await s.next()
        assert event["type"] == "BOOKMARK"
        assert event["object"]["kind"] == "ConfigMap"
        assert event["object"]["metadata"]["resourceVersion"] == lst["metadata"]["resourceVersion"]
    finally:
        await api.close()


async def test_send_initial_events_ends_with_bookmark(api: Api) -> None:
    await api.post(CM, cm("a"))
    async with watch(
        api, sendInitialEvents="true", allowWatchBookmarks="true", resourceVersionMatch="NotOlderThan"
    ) as stream:
        events = [await stream.next() for _ in range(3)]
    assert [e["type"] for e in events] == ["ADDED", "ADDED", "BOOKMARK"]
    assert events[2]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


async def test_timeout_seconds_ends_stream(api: Api) -> None:
    _, lst = await api.get(CM)
    async with watch(api, resourceVersion=lst["metadata"]["resourceVersion"], timeoutSeconds="1") as stream:
        assert await stream.ended(wait=5)


async def test_watch_single_object_by_field_selector(api: Api) -> None:
    _, a = await api.post(CM, cm("a"))
    rv = a["metadata"]["resourceVersion"]
    async with watch(api, fieldSelector="metadata.name=b", resourceVersion=rv) as stream:
        await api.put(f"{CM}/a", {**a, "data": {"x": "1"}})
        await api.post(CM, cm("b"))
        event = await stream.next()
    assert event["type"] == "ADDED" and event["object"]["metadata"]["name"] == "b"


async def test_watch_as_table(api: Api) -> None:
    _, lst = await api.get(CM)
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io"
    async with api.session.get(
        CM,
        params={"watch": "1", "resourceVersion": lst["metadata"]["resourceVersion"]},
        headers={"Accept": accept},
    ) as resp:
        await api.post(CM, cm("t", k="v"))
        event = await Stream(resp).next()
    assert event["object"]["kind"] == "Table"
    assert event["object"]["rows"][0]["cells"][:2] == ["t", 1]


async def test_stop_ends_watch_streams(sim: SimServer, api: Api) -> None:
    _, lst = await api.get(CM)
    async with watch(api, resourceVersion=lst["metadata"]["resourceVersion"]) as stream:
        await sim.stop()
        try:
            ended = await stream.ended()
        except aiohttp.ClientError:  # a reset connection is an ended stream too
            ended = True
        assert ended
    await sim.start()
    assert (await api.get(CM))[0] == 200


async def test_history_is_per_resource(sim_factory: Any) -> None:
    server: SimServer = await sim_factory("perres", history=5)
    api = Api(server)
    try:
        _, lst = await api.get(CM)
        for i in range(10):  # churn on another resource does not expire configmap watches
            await api.post("/api/v1/namespaces/default/secrets", {"metadata": {"name": f"s{i}"}})
        async with watch(api, resourceVersion=lst["metadata"]["resourceVersion"]) as stream:
            await api.post(CM, cm("after"))
            event = await stream.next()
        assert event["type"] == "ADDED" and event["object"]["metadata"]["name"] == "after"
    finally:
        await api.close()


async def test_removing_last_finalizer_is_one_deleted_event(api: Api) -> None:
    body = cm("held")
    body["metadata"]["finalizers"] = ["example.com/hold"]
    await api.post(CM, body)
    _, deleting = await api.delete(f"{CM}/held")
    async with watch(api, resourceVersion=deleting["metadata"]["resourceVersion"]) as stream:
        deleting["metadata"]["finalizers"] = []
        status, _ = await api.put(f"{CM}/held", deleting)
        assert status == 200
        await api.post(CM, cm("marker"))
        first = await stream.next()
        second = await stream.next()
    assert first["type"] == "DELETED" and first["object"]["metadata"]["name"] == "held"
    assert first["object"]["metadata"].get("finalizers") in (None, [])
    assert second["object"]["metadata"]["name"] == "marker"


async def test_watch_named_object_and_legacy_watch_path(api: Api) -> None:
    _, a = await api.post(CM, cm("a"))
    rv = a["metadata"]["resourceVersion"]
    async with watch(api, f"{CM}/a", resourceVersion=rv) as stream:
        await api.post(CM, cm("other"))
        await api.put(f"{CM}/a", {**a, "data": {"x": "1"}})
        event = await stream.next()
    assert event["type"] == "MODIFIED" and event["object"]["metadata"]["name"] == "a"
    async with api.session.get(
        "/api/v1/watch/namespaces/default/configmaps", params={"resourceVersion": rv}
    ) as resp:
        assert resp.status == 200
        first = json.loads(await asyncio.wait_for(resp.content.readline(), 5))
    assert first["object"]["metadata"]["name"] == "other"
