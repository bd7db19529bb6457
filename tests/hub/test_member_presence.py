"""Table tests for hub.member_presence: absent members in status, held clusters, their Event."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from hub import failover, member_presence, reasons, template_events
from hub.conditions import WantedCondition
from hub.matching import TemplateRef
from hub.member_presence import Presence, PresenceState
from shared.api import names
from shared.kube.errors import AlreadyExists

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
LAST = "2026-01-01T11:58:00.000000Z"


def member(status: str, reason: str) -> dict[str, Any]:
    return {"status": {"conditions": [{"type": "Ready", "status": status, "reason": reason}]}}


LEASE = {"spec": {"renewTime": LAST, "leaseDurationSeconds": 40}}


@pytest.mark.parametrize(
    ("the_member", "the_lease", "expected"),
    [
        pytest.param(member("True", "AgentReady"), LEASE, Presence(PresenceState.REPORTING), id="ready"),
        pytest.param(
            member("False", "NodesNotReady"), LEASE, Presence(PresenceState.REPORTING), id="not-ready"
        ),
        pytest.param(
            member("Unknown", "LeaseExpired"), LEASE, Presence(PresenceState.UNREACHABLE, LAST), id="expired"
        ),
        pytest.param(
            member("Unknown", "LeaseExpired"),
            None,
            Presence(PresenceState.UNREACHABLE, None),
            id="lease-gone",
        ),
        pytest.param(
            member("Unknown", "AwaitingAgent"), None, Presence(PresenceState.AWAITING_AGENT), id="awaiting"
        ),
        pytest.param(None, None, Presence(PresenceState.REPORTING), id="no-member"),
    ],
)
def test_presence_of(
    the_member: dict[str, Any] | None, the_lease: dict[str, Any] | None, expected: Presence
) -> None:
    assert member_presence.presence_of(the_member, the_lease) == expected


def test_reachability_changed_only_on_presence() -> None:
    ready, expired = member("True", "AgentReady"), member("Unknown", "LeaseExpired")
    assert member_presence.reachability_changed(ready, expired)
    assert member_presence.reachability_changed(expired, member("True", "HeartbeatResumed"))
    assert not member_presence.reachability_changed(ready, member("True", "HeartbeatResumed"))


def test_not_ready_taint_is_what_karmada_calls_not_ready() -> None:
    taint = member_presence.not_ready_taint(NOW)
    assert taint == {
        "key": names.TAINT_NOT_READY,
        "effect": "NoSchedule",
        "timeAdded": "2026-01-01T12:00:00Z",
    }
    assert failover.canonical_key(failover.KARMADA_NOT_READY) == taint["key"]


HEALTHY = {
    "clusterName": "a",
    "applied": True,
    "available": True,
    "health": "Healthy",
    "status": {"Replicas": 3, "ReadyReplicas": 3},
    "upToDate": True,
}


def test_unreachable_entry_is_unknown_with_last_report_time() -> None:
    item = member_presence.mark_item(HEALTHY, Presence(PresenceState.UNREACHABLE, LAST), cluster="a")
    assert item["health"] == "Unknown" and "available" not in item
    assert item["lastReportTime"] == LAST and item["upToDate"] is False
    assert item["applied"] is True and item["status"] == HEALTHY["status"]  # as last reported
    assert item["errors"] == [f"member a is unreachable: no report from its agent since {LAST}"]
    assert member_presence.known_items([item, HEALTHY]) == [HEALTHY]
    assert "upToDate" not in member_presence.status_item(item)


def test_reporting_entry_is_unchanged_and_awaiting_says_so() -> None:
    assert member_presence.mark_item(HEALTHY, member_presence.REPORTING, cluster="a") == HEALTHY
    fresh = {"clusterName": "a", "applied": False, "health": "Unknown", "upToDate": False}
    waiting = member_presence.mark_item(fresh, Presence(PresenceState.AWAITING_AGENT), cluster="a")
    assert waiting["errors"] == ["the agent of member a has not connected yet"]


def test_held_cluster_is_not_applied() -> None:
    held = member_presence.mark_held(HEALTHY)
    assert (held["applied"], held["held"], held["health"], held["upToDate"]) == (
        False,
        True,
        "Unknown",
        False,
    )
    assert held["status"] == HEALTHY["status"]  # what it really runs
    never = {"clusterName": "a", "applied": False, "health": "Unknown", "upToDate": False}
    assert "held" not in member_presence.mark_held(never)  # nothing good to hold


def test_conditions_that_would_say_true_say_unknown() -> None:
    applied = WantedCondition(names.CONDITION_APPLIED, "True", reasons.APPLIED_EVERYWHERE, "applied on 2")
    available = WantedCondition(names.CONDITION_AVAILABLE, "False", reasons.NOT_AVAILABLE_EVERYWHERE, "b")
    unreachable = member_presence.mark_item(HEALTHY, Presence(PresenceState.UNREACHABLE, LAST), cluster="a")
    out = member_presence.adjust_conditions(
        [applied, available], [unreachable, {**HEALTHY, "clusterName": "b"}]
    )
    assert out[0] == WantedCondition(
        names.CONDITION_APPLIED, "Unknown", reasons.MEMBER_UNREACHABLE, f"no report from a since {LAST}"
    )
    assert out[1] == available  # False names what is wrong already
    assert member_presence.adjust_conditions([applied], [HEALTHY]) == [applied]


class FakeHubApi:
    """Records Event creates; a second create of one name is AlreadyExists, as the API server says."""

    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        if any(c["metadata"]["name"] == body["metadata"]["name"] for c in self.created):
            raise AlreadyExists("exists")
        self.created.append(body)
        return body


async def test_member_unreachable_event_once_per_outage() -> None:
    template = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "uid": "u1"},
    }
    ref = TemplateRef.of(template)
    api = FakeHubApi()
    recorder = template_events.TemplateEvents(api, lookup=lambda _ref: template)  # type: ignore[arg-type]
    events = member_presence.PresenceEvents(recorder)
    unreachable = member_presence.mark_item(HEALTHY, Presence(PresenceState.UNREACHABLE, LAST), cluster="a")
    await events.record(ref, [unreachable, HEALTHY])
    await events.record(ref, [unreachable, HEALTHY])
    assert [(e["reason"], e["message"], e["type"]) for e in api.created] == [
        (
            "MemberUnreachable",
            f"member a is unreachable: no report from its agent since {LAST}; "
            "its status here is its last report",
            "Warning",
        )
    ]
    later = {**unreachable, "lastReportTime": "2026-01-01T13:00:00Z"}
    await events.record(ref, [later])  # another outage: another Event
    assert len(api.created) == 2
    restarted = member_presence.PresenceEvents(
        template_events.TemplateEvents(api, lookup=lambda _ref: template)  # type: ignore[arg-type]
    )
    await restarted.record(ref, [later])  # a new hub meets the same outage: no duplicate
    assert len(api.created) == 2


def test_replicas_managed_by_comes_from_the_agents_condition() -> None:
    manifest = {
        "conditions": [
            {"type": "Applied", "status": "True"},
            {
                "type": names.CONDITION_REPLICAS_MANAGED,
                "status": "True",
                "reason": "HorizontalPodAutoscaler",
                "message": "spec.replicas is left to HorizontalPodAutoscaler shop/web on the member"
                " (the member runs 5)",
            },
        ]
    }
    marked = member_presence.mark_replicas(HEALTHY, manifest)
    assert marked["replicasManagedBy"] == "HorizontalPodAutoscaler shop/web"
    assert "replicasManagedBy" not in member_presence.mark_replicas(HEALTHY, {"conditions": []})
    assert "replicasManagedBy" not in member_presence.mark_replicas(HEALTHY, None)
