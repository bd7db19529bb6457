"""Two Works' first passes over one new namespace: only the Work that created it records it.

Seen (``benchmarks/agent_bench.py --scale``, a restart's cold resync): one AppliedWork write for
a Work whose record lacked the shared namespace its pass had created. The agent cached, per
namespace, "the namespace if *the asking Work* created it": whichever Work's pass stored its
answer last, every later pass got it — so either every Work recorded the namespace as its own,
or none did, and the creator added it after a restart (a write). Now the cache holds the
namespace and each Work reads from its annotation whether it created it.
"""

from __future__ import annotations

from typing import Any

from tests.agent.fleet import AW_API, Fleet, RequestCount, configmap, eventually
from tests.perf.passes import unchanged_passes

NAMESPACE = "shared-ns"


def _namespace_entries(record: dict[str, Any] | None) -> list[dict[str, Any]]:
    entries = ((record or {}).get("status") or {}).get("appliedResources") or []
    return [e for e in entries if e.get("kind") == "Namespace"]


async def test_only_the_creator_records_a_shared_namespace_and_a_restart_writes_nothing(
    ready_fleet: Fleet,
) -> None:
    fleet = ready_fleet
    works = [f"w{i}" for i in range(4)]
    for name in works:  # before the agent starts: their first passes run at once
        await fleet.create_work(name, [configmap(f"{name}-{k}", namespace=NAMESPACE) for k in range(3)])
    agent = await fleet.start_agent(workers=4)
    for name in works:
        await fleet.wait_work(name, "Applied")
    ns = await fleet.member_get("v1", "Namespace", NAMESPACE)
    assert ns is not None
    creator = ns["metadata"]["annotations"]["waybill.dev/created-namespace"].partition("/")[2]
    assert creator in works

    async def records() -> dict[str, dict[str, Any] | None]:
        return {n: await fleet.member_get(AW_API, "AppliedWork", f"{fleet.namespace}.{n}") for n in works}

    async def creator_recorded() -> bool:
        entries = _namespace_entries((await records())[creator])
        return bool(entries and entries[0].get("uid") == ns["metadata"]["uid"])

    await eventually(creator_recorded, within=15)
    held = {n: _namespace_entries(r) for n, r in (await records()).items()}
    assert all(not entries for n, entries in held.items() if n != creator), held

    await fleet.stop_agent(agent)
    writes = RequestCount(fleet.member, method="PUT", path="/appliedworks/")
    before = unchanged_passes()
    await fleet.start_agent(workers=4)

    async def resynced() -> bool:
        return unchanged_passes() >= before + len(works)  # every Work passed, its status unchanged

    await eventually(resynced, within=20)
    assert writes.count == 0, f"{writes.count} AppliedWork writes in the restart's cold resync"
