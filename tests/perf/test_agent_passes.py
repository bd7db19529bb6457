"""Passes that decode a Work: one per change, none for an idle resync or the agent's own writes.

A pass decodes the Work's manifests, digests and compares each. Before, every pass did, also
those woken by the agent's own writes (its status write on the Work, its AppliedWork write, the
watch events of the objects it applied) and the periodic resync of an unchanged member: about
four full passes per change per member, and ~14 ms of CPU per 100-manifest Work per resync. A
pass over a Work whose generation, labels, annotations and status, record and member objects'
resourceVersions are those of its last converged pass now returns that outcome without
decoding (``WorkSyncer._unchanged``); an object edited on the member is compared again.
Counts, not times: decodes are counted where ``agent.work_sync`` calls them.
"""

from __future__ import annotations

from typing import Any

import pytest

import agent.work_sync as work_sync
from agent.runner import Agent
from tests.agent.fleet import AW_API, Fleet, configmap, eventually


class Counts:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.decodes = 0
        self.passes = 0
        decode = work_sync.decode_manifests
        sync = work_sync.WorkSyncer.sync

        def counting_decode(*args: Any, **kwargs: Any) -> Any:
            self.decodes += 1
            return decode(*args, **kwargs)

        async def counting_sync(syncer: Any, *args: Any, **kwargs: Any) -> Any:
            self.passes += 1
            return await sync(syncer, *args, **kwargs)

        monkeypatch.setattr(work_sync, "decode_manifests", counting_decode)
        monkeypatch.setattr(work_sync.WorkSyncer, "sync", counting_sync)


def _rv(obj: dict[str, Any] | None) -> str:
    return str(((obj or {}).get("metadata") or {}).get("resourceVersion") or "")


async def settled(fleet: Fleet, agent: Agent, work: str, objects: list[str]) -> bool:
    """Causal fence: the agent's informers hold what the servers hold, and no pass is queued or running.

    Nothing else writes, so every event (the agent's own writes included) was delivered and passed.
    """
    assert agent.works is not None and agent.applied_works is not None and agent.controller is not None
    key = f"{fleet.namespace}/{work}"
    if _rv(await fleet.get_work(work)) != _rv(agent.works.get(key)):
        return False
    record = f"{fleet.namespace}.{work}"
    if _rv(await fleet.member_get(AW_API, "AppliedWork", record)) != _rv(agent.applied_works.get(record)):
        return False
    assert agent.cache is not None
    configmaps = await agent.cache.watch_kind("v1", "ConfigMap")
    for name in objects:
        live = await fleet.member_get("v1", "ConfigMap", name, "app")
        if _rv(live) != _rv(configmaps.get(f"app/{name}")):
            return False
    queue = agent.controller.queue
    return len(queue) == 0 and not queue.is_processing(key)


async def test_one_change_decodes_the_work_once(ready_fleet: Fleet, monkeypatch: pytest.MonkeyPatch) -> None:
    fleet = ready_fleet
    counts = Counts(monkeypatch)
    agent = await fleet.start_agent(available_hold=0.0)
    objects = ["a", "b", "c"]
    await fleet.create_work("cfg", [configmap(n, k="1") for n in objects])
    await fleet.wait_work("cfg", "Applied")
    await eventually(lambda: settled(fleet, agent, "cfg", objects), within=15)
    decodes, passes = counts.decodes, counts.passes

    await fleet.update_work_spec("cfg", workload={"manifests": [configmap("a", k="2"), *[
        configmap(n, k="1") for n in objects[1:]
    ]]})
    work = await fleet.wait_work("cfg", "Applied")
    assert work["metadata"]["generation"] == 2
    await eventually(lambda: settled(fleet, agent, "cfg", objects), within=15)
    live = await fleet.member_get("v1", "ConfigMap", "a", "app")
    assert live is not None and live["data"] == {"k": "2"}
    # the Work event, then the agent's own: the object's watch event, the AppliedWork's, the status's
    assert counts.passes - passes >= 2, "the agent's own writes woke no pass (the fence is wrong)"
    assert counts.decodes - decodes == 1, (
        f"{counts.decodes - decodes} decoding passes for one change ({counts.passes - passes} passes)"
    )


async def test_an_idle_resync_decodes_nothing_and_drift_is_still_seen(
    ready_fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet = ready_fleet
    counts = Counts(monkeypatch)
    agent = await fleet.start_agent(available_hold=0.0, resync_interval=0.3, resync_jitter=0.0)
    objects = ["a", "b"]
    await fleet.create_work("cfg", [configmap(n, k="1") for n in objects])
    await fleet.wait_work("cfg", "Applied")
    await eventually(lambda: settled(fleet, agent, "cfg", objects), within=15)
    decodes, passes = counts.decodes, counts.passes

    async def resynced() -> bool:
        return counts.passes >= passes + 3

    await eventually(resynced, within=15)
    resyncs = counts.passes - passes
    assert counts.decodes == decodes, f"{counts.decodes - decodes} decodes in {resyncs} resyncs"

    # an edit on the member (kubectl edit): its resourceVersion moved, so it is compared and corrected
    edit = {"data": {"k": "edited"}}
    await fleet.member_admin.patch("v1", "ConfigMap", name="a", namespace="app", patch=edit)

    async def corrected() -> bool:
        live = await fleet.member_get("v1", "ConfigMap", "a", "app")
        return bool(live and live["data"] == {"k": "1"})

    await eventually(corrected, within=15)
    assert counts.decodes > decodes
