"""hub.failover: Karmada's taint keys, NoExecute eviction times, graceful purges, application failover."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub import failover
from hub.failover import ClusterTaint, GracefulEviction
from shared.api import names
from shared.api.policy import Toleration

T0 = datetime(2026, 1, 1, tzinfo=UTC)
UNREACHABLE = ClusterTaint(names.TAINT_UNREACHABLE, "NoExecute", time_added=T0)


def tol(**wire: Any) -> Toleration:
    return Toleration.from_dict(wire)


def test_karmada_keys_mean_waybills() -> None:
    assert failover.canonical_key("cluster.karmada.io/unreachable") == names.TAINT_UNREACHABLE
    assert failover.canonical_key("cluster.karmada.io/not-ready") == names.TAINT_NOT_READY
    assert failover.canonical_key("example.com/other") == "example.com/other"
    karmada = tol(key="cluster.karmada.io/unreachable", operator="Exists", effect="NoExecute")
    assert failover.tolerates(karmada, UNREACHABLE)
    assert not failover.tolerates(tol(key="cluster.karmada.io/not-ready", operator="Exists"), UNREACHABLE)


@pytest.mark.parametrize(
    ("ready", "unhealthy_for", "expected"),
    [
        ("True", 999, []),
        ("Unknown", 10, [(names.TAINT_UNREACHABLE, "NoSchedule")]),
        ("False", 10, [(names.TAINT_NOT_READY, "NoSchedule")]),
        ("Unknown", 60, [(names.TAINT_UNREACHABLE, "NoSchedule"), (names.TAINT_UNREACHABLE, "NoExecute")]),
    ],
)
def test_health_taints(ready: str, unhealthy_for: int, expected: list[tuple[str, str]]) -> None:
    taints = failover.health_taints(
        ready=ready,
        unhealthy_since=T0,
        now=T0 + timedelta(seconds=unhealthy_for),
        eviction_timeout=timedelta(seconds=60),
    )
    assert [(t.key, t.effect) for t in taints] == expected
    no_execute = [t for t in taints if t.effect == "NoExecute"]
    assert all(t.time_added == T0 + timedelta(seconds=60) for t in no_execute)


EVICTIONS: list[tuple[str, list[dict[str, Any]], int | None]] = [
    ("no toleration: at once", [], 0),
    ("another key: at once", [{"key": "x", "operator": "Exists"}], 0),
    (
        "tolerated forever",
        [{"key": names.TAINT_UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}],
        None,
    ),
    ("empty key Exists tolerates everything", [{"operator": "Exists"}], None),
    (
        "after tolerationSeconds",
        [{"key": names.TAINT_UNREACHABLE, "operator": "Exists", "tolerationSeconds": 30}],
        30,
    ),
    (
        "Karmada key, tolerationSeconds",
        [
            {
                "key": failover.KARMADA_UNREACHABLE,
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 45,
            }
        ],
        45,
    ),
    (
        "smallest of several",
        [
            {"key": names.TAINT_UNREACHABLE, "operator": "Exists", "tolerationSeconds": 90},
            {"key": failover.KARMADA_UNREACHABLE, "operator": "Exists", "tolerationSeconds": 20},
        ],
        20,
    ),
    (
        "a NoSchedule toleration does not tolerate NoExecute",
        [{"key": names.TAINT_UNREACHABLE, "operator": "Exists", "effect": "NoSchedule"}],
        0,
    ),
]


@pytest.mark.parametrize(("tolerations", "after"), [c[1:] for c in EVICTIONS], ids=[c[0] for c in EVICTIONS])
def test_eviction_time(tolerations: list[dict[str, Any]], after: int | None) -> None:
    result = failover.eviction(UNREACHABLE, [tol(**t) for t in tolerations], now=T0 + timedelta(seconds=5))
    if after is None:
        assert result.never and not result.due(T0 + timedelta(days=1))
    else:
        assert result.at == T0 + timedelta(seconds=after)
        assert result.due(T0 + timedelta(seconds=after))
        assert not result.due(T0 + timedelta(seconds=after) - timedelta(microseconds=1))


def test_first_eviction_ignores_noschedule() -> None:
    taints = [ClusterTaint(names.TAINT_UNREACHABLE, "NoSchedule", time_added=T0)]
    assert failover.first_eviction(taints, [], now=T0).never
    taints.append(UNREACHABLE)
    assert failover.first_eviction(taints, [], now=T0).at == T0


@pytest.mark.parametrize(
    ("mode", "healthy", "elapsed", "purge"),
    [
        ("Directly", False, 0, True),
        ("Gracefully", False, 10, False),
        ("Gracefully", True, 10, True),
        ("Gracefully", False, 600, True),
        ("Never", True, 10_000, False),
    ],
)
def test_graceful_purge(mode: failover.PurgeMode, healthy: bool, elapsed: int, purge: bool) -> None:
    task = GracefulEviction("m1", since=T0, mode=mode)
    assert (
        failover.may_purge(task, replacements_healthy=healthy, now=T0 + timedelta(seconds=elapsed)) is purge
    )


def test_purge_mode_spellings() -> None:
    assert failover.purge_mode("Immediately") == "Directly"
    assert failover.purge_mode("Graciously") == "Gracefully"
    assert failover.purge_mode(None) == "Gracefully"
    assert failover.purge_mode("Never") == "Never"


def test_application_failover_due() -> None:
    assert not failover.application_failover_due(unhealthy_since=None, toleration_seconds=0, now=T0)
    assert failover.application_failover_due(unhealthy_since=T0, toleration_seconds=0, now=T0)
    assert not failover.application_failover_due(
        unhealthy_since=T0, toleration_seconds=None, now=T0 + timedelta(seconds=299)
    )
    assert failover.application_failover_due(
        unhealthy_since=T0, toleration_seconds=None, now=T0 + timedelta(seconds=300)
    )


def _keys(plan: failover.TaintPlan) -> list[tuple[str, str]]:
    return [(t["key"], t["effect"]) for t in plan.taints]


def test_desired_health_taints_no_schedule_then_no_execute() -> None:
    other = {"key": "dedicated", "effect": "NoSchedule", "value": "gpu"}
    first = failover.desired_health_taints([other], unreachable=True, now=T0, eviction_seconds=60)
    assert _keys(first) == [("dedicated", "NoSchedule"), (names.TAINT_UNREACHABLE, "NoSchedule")]
    assert first.recheck_after == pytest.approx(60.05)
    later = failover.desired_health_taints(
        first.taints, unreachable=True, now=T0 + timedelta(seconds=61), eviction_seconds=60
    )
    assert _keys(later)[-1] == (names.TAINT_UNREACHABLE, "NoExecute")
    assert later.recheck_after is None
    # Stable: the same taints (with their timeAdded) on the next pass, so nothing is rewritten.
    again = failover.desired_health_taints(
        later.taints, unreachable=True, now=T0 + timedelta(seconds=99), eviction_seconds=60
    )
    assert again.taints == later.taints
    back = failover.desired_health_taints(again.taints, unreachable=False, now=T0, eviction_seconds=60)
    assert back.taints == [other]


def test_desired_health_taints_without_eviction() -> None:
    plan = failover.desired_health_taints(
        [], unreachable=True, now=T0 + timedelta(days=1), eviction_seconds=None
    )
    assert _keys(plan) == [(names.TAINT_UNREACHABLE, "NoSchedule")]


def _app(**application: Any) -> dict[str, Any]:
    return {"failover": {"application": {"decisionConditions": {"tolerationSeconds": 60}, **application}}}


def test_application_failover_tracks_unhealthy_then_evicts() -> None:
    first = failover.application_failover(
        spec=_app(), annotations={}, placed=["m1"], health={"m1": "Unhealthy"}, now=T0
    )
    assert first.evicted == {} and first.recheck_after == pytest.approx(60.05)
    noted = {k: v for k, v in first.annotations.items() if v is not None}
    later = failover.application_failover(
        spec=_app(),
        annotations=noted,
        placed=["m1"],
        health={"m1": "Unhealthy"},
        now=T0 + timedelta(seconds=60),
    )
    assert set(later.evicted) == {"m1"}
    recovered = failover.application_failover(
        spec=_app(),
        annotations=noted,
        placed=["m1"],
        health={"m1": "Healthy"},
        now=T0 + timedelta(seconds=30),
    )
    assert recovered.evicted == {} and recovered.annotations[failover.ANNOTATION_UNHEALTHY_SINCE] is None


def test_eviction_is_forgotten_once_healthy_elsewhere_unless_never() -> None:
    evicted = {failover.ANNOTATION_EVICTED: '{"m1": "2026-01-01T00:00:00Z"}'}
    moved = failover.application_failover(
        spec=_app(), annotations=evicted, placed=["m2"], health={"m2": "Healthy"}, now=T0
    )
    assert moved.evicted == {} and moved.annotations[failover.ANNOTATION_EVICTED] is None
    kept = failover.application_failover(
        spec=_app(purgeMode="Never"),
        annotations=evicted,
        placed=["m1", "m2"],
        health={"m2": "Healthy"},
        now=T0,
    )
    assert set(kept.evicted) == {"m1"}


def test_without_application_failover_the_annotations_go() -> None:
    result = failover.application_failover(
        spec={}, annotations={failover.ANNOTATION_EVICTED: "{}"}, placed=["m1"], health={}, now=T0
    )
    assert result.annotations == {failover.ANNOTATION_EVICTED: None} and result.evicted == {}


def test_a_member_reporting_not_ready_gets_the_not_ready_taint() -> None:
    plan = failover.desired_health_taints([], unreachable=False, not_ready=True, now=T0, eviction_seconds=60)
    assert _keys(plan) == [(names.TAINT_NOT_READY, "NoSchedule")]
    later = failover.desired_health_taints(
        plan.taints, unreachable=False, not_ready=True, now=T0 + timedelta(seconds=60), eviction_seconds=60
    )
    assert _keys(later)[-1] == (names.TAINT_NOT_READY, "NoExecute")
    # a lost heartbeat wins: unreachable replaces not-ready
    lost = failover.desired_health_taints(
        later.taints, unreachable=True, not_ready=True, now=T0, eviction_seconds=60
    )
    assert _keys(lost) == [(names.TAINT_UNREACHABLE, "NoSchedule")]
    assert (
        failover.desired_health_taints(later.taints, unreachable=False, now=T0, eviction_seconds=60).taints
        == []
    )
