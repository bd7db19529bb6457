"""Table tests for hub.membership: Lease expiry → Ready=Unknown and the unreachable taint."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from hub import membership
from shared.api import names

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def lease(renewed: str | None, duration: int = 40) -> dict[str, Any]:
    spec: dict[str, Any] = {"leaseDurationSeconds": duration}
    if renewed:
        spec["renewTime"] = renewed
    return {"spec": spec}


def member(reason: str | None = None) -> dict[str, Any]:
    if reason is None:
        return {"status": {}}
    return {"status": {"conditions": [{"type": "Ready", "status": "True", "reason": reason}]}}


@pytest.mark.parametrize(
    ("the_member", "the_lease", "ready", "reason", "taint"),
    [
        pytest.param(member(), None, "Unknown", "AwaitingAgent", False, id="no-lease"),
        pytest.param(
            member("AgentReady"), lease("2026-01-01T11:59:50Z"), None, "AgentReady", False, id="fresh"
        ),
        pytest.param(
            member(),
            lease("2026-01-01T11:59:50Z"),
            "True",
            "HeartbeatResumed",
            False,
            id="fresh-no-condition",
        ),
        pytest.param(
            member("LeaseExpired"),
            lease("2026-01-01T11:59:59Z"),
            "True",
            "HeartbeatResumed",
            False,
            id="renewed-after-expiry",
        ),
        pytest.param(
            member("AgentReady"), lease("2026-01-01T11:59:00Z"), "Unknown", "LeaseExpired", True, id="expired"
        ),
        pytest.param(
            member("AgentReady"),
            lease("2026-01-01T11:59:30Z", duration=5),
            None,
            "AgentReady",
            False,
            id="grace-longer-than-lease",
        ),
        pytest.param(member("AgentReady"), lease(None), "Unknown", "LeaseExpired", True, id="never-renewed"),
    ],
)
def test_assess(
    the_member: dict[str, Any], the_lease: dict[str, Any] | None, ready: str | None, reason: str, taint: bool
) -> None:
    health = membership.assess(member=the_member, lease=the_lease, now=NOW, grace_seconds=40)
    assert (health.ready_status, health.reason, health.unreachable_taint) == (ready, reason, taint)
    assert health.awaiting_agent == (the_lease is None)


def test_taints_added_once_and_removed_keeping_others() -> None:
    other = {"key": "gpu", "effect": "NoSchedule"}
    tainted = membership.desired_taints([other], unreachable=True, now="t")
    assert [t["key"] for t in tainted] == ["gpu", names.TAINT_UNREACHABLE]
    assert membership.desired_taints(tainted, unreachable=True, now="later") == tainted
    assert membership.desired_taints(tainted, unreachable=False, now="t") == [other]


def test_requeue_just_after_expiry() -> None:
    wait = membership.seconds_until_expiry(lease("2026-01-01T11:59:50Z"), now=NOW, grace_seconds=40)
    assert wait is not None and 30 < wait < 31
    assert membership.seconds_until_expiry(None, now=NOW, grace_seconds=40) is None
