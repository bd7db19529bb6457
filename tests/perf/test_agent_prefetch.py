"""A Work's cache misses are LISTed without the agent's own objects.

Before, the one LIST that replaces many GETs (``WorkSyncer._prefetch``, ``list_threshold``
misses of a kind in a namespace) read every object of the namespace: in the benchmark's
namespace of 10,000 applied ConfigMaps, each new Work listed all of them (tens of MB decoded
per pass, the agent's RSS high-water mark). A synced informer holds every object carrying the
agent's work-namespace label, so a miss can only be an object without it: the LIST selects
those (``waybill.dev/work-namespace!=<namespace>``).
"""

from __future__ import annotations

from typing import Any

import pytest

from agent.member_cache import MemberCache
from tests.agent.fleet import Fleet, configmap, eventually
from tests.perf.passes import unchanged_passes


async def test_a_new_works_misses_list_only_objects_without_the_agents_label(
    ready_fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet = ready_fleet
    listed: list[int] = []
    original = MemberCache.list_names

    async def counting(cache: MemberCache, *args: Any, **kwargs: Any) -> dict[str, Any]:
        found = await original(cache, *args, **kwargs)
        listed.append(len(found))
        return found

    monkeypatch.setattr(MemberCache, "list_names", counting)
    await fleet.start_agent()
    await fleet.create_work("crowd", [configmap(f"old-{i}", namespace="crowd") for i in range(30)])
    await fleet.wait_work("crowd", "Applied")
    await fleet.member_admin.create(configmap("foreign", namespace="crowd"))  # no Waybill labels
    listed.clear()
    await fleet.create_work("newcomer", [configmap(f"new-{i}", namespace="crowd") for i in range(10)])
    await fleet.wait_work("newcomer", "Applied")
    assert listed, "10 misses in one namespace: one LIST expected"
    # the foreign ConfigMap (and kube-root-ca.crt where a member has it), never the 30 applied ones
    assert max(listed) < 30, f"the LIST read the agent's own objects: {listed}"


async def test_a_restart_lists_no_namespace_while_its_informer_syncs(
    ready_fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first pass of a kind starts its informer and waits for its first list; concurrent
    passes got the informer unsynced and LISTed the namespace, each (every object of it, the
    agent's own included: the benchmark's restart made 114 LISTs of 11,000 ConfigMaps)."""
    fleet = ready_fleet
    listed: list[int] = []
    original = MemberCache.list_names

    async def counting(cache: MemberCache, *args: Any, **kwargs: Any) -> dict[str, Any]:
        found = await original(cache, *args, **kwargs)
        listed.append(len(found))
        return found

    works = [f"w{i}" for i in range(4)]
    agent = await fleet.start_agent(workers=4)
    for name in works:
        await fleet.create_work(name, [configmap(f"{name}-{i}", namespace="crowd") for i in range(10)])
    for name in works:
        await fleet.wait_work(name, "Applied")
    await fleet.stop_agent(agent)
    monkeypatch.setattr(MemberCache, "list_names", counting)
    before = unchanged_passes()
    await fleet.start_agent(workers=4)

    async def resynced() -> bool:
        return unchanged_passes() >= before + len(works)

    await eventually(resynced, within=20)
    assert listed == [], f"LISTs by the restarted agent's passes (objects each): {listed}"
