"""Fault injection and stop/restart with state kept."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest

from kubesim import SimServer
from kubesim.testing import CM, Api, cm


async def test_throttle_with_retry_after_limited_times(sim: SimServer, api: Api) -> None:
    sim.faults.throttle(retry_after=2, path="/configmaps", times=2)
    for _ in range(2):
        async with api.session.get(CM) as resp:
            assert resp.status == 429
            assert resp.headers["Retry-After"] == "2"
            body = await resp.json()
            assert body["reason"] == "TooManyRequests" and body["details"]["retryAfterSeconds"] == 2
    assert (await api.get(CM))[0] == 200
    assert (await api.get("/api/v1/namespaces"))[0] == 200


@pytest.mark.parametrize(("code", "reason"), [(500, "InternalError"), (503, "ServiceUnavailable")])
async def test_server_errors(sim: SimServer, api: Api, code: int, reason: str) -> None:
    sim.faults.error(code, times=1, method="POST")
    assert (await api.get(CM))[0] == 200  # method does not match
    status, body = await api.post(CM, cm("a"))
    assert status == code and body["reason"] == reason
    assert (await api.post(CM, cm("a")))[0] == 201


async def test_latency(sim: SimServer, api: Api) -> None:
    sim.faults.latency(0.3, path="/configmaps", times=1)
    start = time.monotonic()
    await api.get(CM)
    assert time.monotonic() - start >= 0.3
    start = time.monotonic()
    await api.get(CM)
    assert time.monotonic() - start < 0.3


async def test_connection_reset(sim: SimServer, api: Api) -> None:
    sim.faults.reset(times=1, method="POST")  # POST: aiohttp does not retry it by itself
    with pytest.raises(aiohttp.ClientError):
        await api.post(CM, cm("a"))
    assert (await api.post(CM, cm("a")))[0] == 201
    assert sim.faults.injected == 1


async def _first_event(api: Api, **params: str) -> bytes:
    async with api.session.get(CM, params={"watch": "1", **params}) as resp:
        return await asyncio.wait_for(resp.content.readline(), 5)


async def test_forced_410_on_watch(sim: SimServer, api: Api) -> None:
    sim.faults.expire_watch(times=1)
    _, lst = await api.get(CM)
    line = await _first_event(api, resourceVersion=lst["metadata"]["resourceVersion"])
    event = json.loads(line)
    assert event["type"] == "ERROR" and event["object"]["code"] == 410


async def test_dropped_watch(sim: SimServer, api: Api) -> None:
    sim.faults.drop_watch(times=1)
    _, lst = await api.get(CM)
    assert await _first_event(api, resourceVersion=lst["metadata"]["resourceVersion"]) == b""


async def test_stalled_watch_sends_nothing(sim: SimServer, api: Api) -> None:
    sim.faults.stall_watch(times=1)
    _, lst = await api.get(CM)
    async with api.session.get(
        CM, params={"watch": "1", "resourceVersion": lst["metadata"]["resourceVersion"]}
    ) as r:
        await api.post(CM, cm("a"))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(r.content.readline(), 0.3)


async def test_clear(sim: SimServer, api: Api) -> None:
    sim.faults.error(500)
    assert (await api.get(CM))[0] == 500
    sim.faults.clear()
    assert (await api.get(CM))[0] == 200


async def test_restart_keeps_state_and_port(sim: SimServer, api: Api) -> None:
    _, a = await api.post(CM, cm("a"))
    url = sim.url
    await sim.stop()
    with pytest.raises(aiohttp.ClientError):
        await api.get(CM)
    await sim.start()
    assert sim.url == url
    status, live = await api.get(f"{CM}/a")
    assert status == 200 and live["metadata"]["uid"] == a["metadata"]["uid"]
    await sim.restart()
    _, b = await api.post(CM, cm("b"))
    assert int(b["metadata"]["resourceVersion"]) > int(a["metadata"]["resourceVersion"])


async def test_async_context_manager(tmp_path: object) -> None:
    async with SimServer("ctx") as server:
        api = Api(server)
        try:
            assert (await api.get(CM))[0] == 200
        finally:
            await api.close()
    assert not server.running


async def test_aborted_watch_is_a_broken_stream(sim: SimServer, api: Api) -> None:
    sim.faults.drop_watch(times=1, abort=True)
    _, lst = await api.get(CM)
    with pytest.raises(aiohttp.ClientError):
        async with api.session.get(
            CM, params={"watch": "1", "resourceVersion": lst["metadata"]["resourceVersion"]}
        ) as r:
            await asyncio.wait_for(r.content.read(), 5)
