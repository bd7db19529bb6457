"""The agent's first "applied, not available yet" report waits briefly for availability.

``AgentConfig.available_hold``: most workloads become available moments after the apply, so a
new generation's first clean report is held up to that long and Applied and Available reach the
hub in one Work status write (``docs/performance.md``). What must not be lost: a report that
stays "not available" is written once the hold runs out, and a failure is never held.
"""

from __future__ import annotations

import time

from tests.agent.fleet import Fleet, condition, deployment, eventually
from tests.perf.passes import unchanged_passes


def status_writes(fleet: Fleet) -> int:
    return sum(
        1
        for e in fleet.hub.audit.entries
        if e.resource == "works" and e.subresource == "status" and e.verb == "patch"
    )


async def test_applied_and_available_go_in_one_status_write(ready_fleet: Fleet) -> None:
    fleet = ready_fleet
    await fleet.start_agent(available_hold=3.0)
    fleet.hub.audit.enable()
    await fleet.create_work("web", [deployment("web")])
    work = await fleet.wait_work("web", "Available")
    assert condition(work, "Applied")["observedGeneration"] == 1  # type: ignore[index]
    assert status_writes(fleet) == 1, fleet.hub.audit.entries
    fleet.hub.audit.reset()
    await fleet.update_work_spec("web", workload={"manifests": [deployment("web", image="nginx:2")]})
    work = await fleet.wait_work("web", "Available")
    assert work["metadata"]["generation"] == 2
    # Nothing else is pending: a pass after this point decides "unchanged" (the causal fence: a
    # label another manager adds on the member object triggers a pass and changes no status).
    before = unchanged_passes()
    await fleet.member_admin.patch(
        "apps/v1", "Deployment", name="web", namespace="app", patch={"metadata": {"labels": {"fence": "1"}}}
    )

    async def passed_fence() -> bool:
        return unchanged_passes() > before

    await eventually(passed_fence, within=10)
    assert status_writes(fleet) == 1, [e for e in fleet.hub.audit.entries if e.resource == "works"]


async def test_a_workload_that_stays_unavailable_is_reported_once_the_hold_runs_out(
    stuck_fleet: Fleet,
) -> None:
    fleet = stuck_fleet
    hold = 1.0
    await fleet.start_agent(available_hold=hold, not_available_requeue=30.0)
    started = time.monotonic()
    await fleet.create_work("web", [deployment("web")])
    work = await fleet.wait_work("web", "Applied", within=10)
    assert time.monotonic() - started >= hold, "the clean report was not held"
    available = condition(work, "Available")
    assert available is not None and available["status"] == "False"
    assert available["reason"] == "ManifestsNotAvailableYet" and available["observedGeneration"] == 1


async def test_a_failure_is_reported_without_holding(stuck_fleet: Fleet) -> None:
    fleet = stuck_fleet
    await fleet.start_agent(available_hold=60.0)
    unserved = {"apiVersion": "example.com/v1", "kind": "Nope", "metadata": {"name": "n", "namespace": "app"}}
    await fleet.create_work("bad", [deployment("web"), unserved])
    # well before the hold would end (the test's own timeout is shorter than the hold)
    work = await fleet.wait_work("bad", "Applied", "False", within=15)
    assert condition(work, "Degraded")["status"] == "True"  # type: ignore[index]
