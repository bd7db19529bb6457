"""kubesim's request accounting (``server.audit``): what each user asked, by verb and resource."""

from __future__ import annotations

import asyncio
import json

import aiohttp

from kubesim.server import SimServer
from kubesim.testing import CM, Api, SimFactory, cm
from tests.agent.fleet import eventually


async def test_off_by_default_then_counts_each_verb(sim_factory: SimFactory) -> None:
    sim: SimServer = await sim_factory("audit")
    api = Api(sim)
    try:
        assert (await api.post(CM, cm("before")))[0] == 201
        assert sim.audit.entries == []  # nothing recorded until enabled
        sim.audit.enable()
        assert (await api.post(CM, cm("a", k="v")))[0] == 201
        assert (await api.get(f"{CM}/a"))[0] == 200
        assert (await api.get(CM))[0] == 200
        assert (await api.patch(f"{CM}/a", {"data": {"k": "w"}}))[0] == 200
        applied = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"x": "y"}}
        status, _ = await api.patch(
            f"{CM}/a",
            json.dumps(applied),
            content_type="application/apply-patch+yaml",
            params={"fieldManager": "test", "force": "true"},
        )
        assert status == 200
        assert (await api.get(f"{CM}/missing"))[0] == 404
        assert (await api.delete(f"{CM}/a"))[0] == 200
        counts = sim.audit.counts("verb", "resource")
        assert counts == {
            ("create", "configmaps"): 1,
            ("get", "configmaps"): 2,
            ("list", "configmaps"): 1,
            ("patch", "configmaps"): 1,
            ("apply", "configmaps"): 1,
            ("delete", "configmaps"): 1,
        }
        assert [e.code for e in sim.audit.entries if e.verb == "get"] == [200, 404]
        assert sim.audit.bytes_written() > 0
        assert {e.user for e in sim.audit.entries} == {"kubernetes-admin"}
        sim.audit.reset()
        assert sim.audit.entries == []
    finally:
        await api.close()


async def test_forbidden_requests_are_counted_for_their_user(sim_factory: SimFactory) -> None:
    sim: SimServer = await sim_factory("audit")
    token = sim.issue_token(user="nobody")
    api = Api(sim, token=token)
    try:
        sim.audit.enable()
        assert (await api.get(CM))[0] == 403
        assert sim.audit.counts("user", "verb", "resource") == {("nobody", "list", "configmaps"): 1}
        assert sim.audit.entries[0].code == 403
    finally:
        await api.close()


async def test_watch_events_count_for_streams_opened_before_enable(sim_factory: SimFactory) -> None:
    sim: SimServer = await sim_factory("audit")
    api = Api(sim)
    headers = {"Authorization": f"Bearer {sim.admin_token}"}
    try:
        _, listed = await api.get(CM)
        rv = listed["metadata"]["resourceVersion"]
        async with (
            aiohttp.ClientSession(base_url=sim.url, headers=headers) as session,
            session.get(CM, params={"watch": "1", "resourceVersion": rv}) as stream,
        ):
            assert stream.status == 200
            sim.audit.enable()
            assert (await api.post(CM, cm("w1")))[0] == 201
            line = await asyncio.wait_for(stream.content.readline(), timeout=5)
            assert json.loads(line)["object"]["metadata"]["name"] == "w1"

            async def delivered() -> bool:
                return sim.audit.watch_events["kubernetes-admin"] >= 1

            await eventually(delivered, within=5)
            sim.audit.disable()
            assert (await api.post(CM, cm("w2")))[0] == 201
            line = await asyncio.wait_for(stream.content.readline(), timeout=5)
            assert json.loads(line)["object"]["metadata"]["name"] == "w2"
        # the second event was delivered (the fence above) while the audit was off
        assert sim.audit.watch_events["kubernetes-admin"] == 1
    finally:
        await api.close()
