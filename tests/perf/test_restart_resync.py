"""A gracefully restarted agent's first passes write nothing on an unchanged member.

The resourceVersion a write leaves is carried into the AppliedWork by the next record write, so
after a change the record misses it until then. Seen (``benchmarks/agent_bench.py --scale``):
an agent restarted after a change applied the changed object again and rewrote its record.
A graceful stop now writes those resourceVersions (``WorkSyncer.flush``).
"""

from __future__ import annotations

from tests.agent.fleet import AW_API, Fleet, configmap, eventually
from tests.perf.passes import unchanged_passes


async def test_a_restart_after_a_change_rewrites_nothing(ready_fleet: Fleet) -> None:
    fleet = ready_fleet
    agent = await fleet.start_agent()
    await fleet.create_work("cfg", [configmap("a", k="1"), configmap("b", k="1")])
    await fleet.wait_work("cfg", "Applied")
    changed = [configmap("a", k="2"), configmap("b", k="1")]
    await fleet.update_work_spec("cfg", workload={"manifests": changed})
    work = await fleet.wait_work("cfg", "Applied")
    assert work["metadata"]["generation"] == 2
    await fleet.stop_agent(agent)
    record_name = f"{fleet.namespace}.cfg"
    record = await fleet.member_get(AW_API, "AppliedWork", record_name)
    live = await fleet.member_get("v1", "ConfigMap", "a", "app")
    assert record is not None and live is not None and live["data"] == {"k": "2"}
    entry = next(r for r in record["status"]["appliedResources"] if r["name"] == "a")
    assert entry["resourceVersion"] == live["metadata"]["resourceVersion"], "the stop did not record it"

    before = unchanged_passes()
    await fleet.start_agent()

    async def passed() -> bool:
        return unchanged_passes() > before  # a pass over the Work that decided "nothing to write"

    await eventually(passed, within=15)
    again = await fleet.member_get(AW_API, "AppliedWork", record_name)
    again_live = await fleet.member_get("v1", "ConfigMap", "a", "app")
    assert again is not None and again_live is not None
    assert again["metadata"]["resourceVersion"] == record["metadata"]["resourceVersion"], "record rewritten"
    assert again_live["metadata"]["resourceVersion"] == live["metadata"]["resourceVersion"], "object written"
