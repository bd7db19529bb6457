"""hub.status_hold: which binding status waits, and until when (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from hub import status_hold
from hub.aggregation import NO_WORK_YET, NOT_APPLIED_YET
from hub.status_hold import Hold, Pending


def entry(cluster: str, **fields: Any) -> dict[str, Any]:
    return {"clusterName": cluster, "applied": False, "health": "Unknown", **fields}


HEALTHY = {"applied": True, "available": True, "health": "Healthy"}


def status(*entries: dict[str, Any], **conditions: str) -> dict[str, Any]:
    return {
        "aggregatedStatus": list(entries),
        "conditions": [{"type": kind, "status": value} for kind, value in conditions.items()],
    }


def test_complete_when_every_member_reported_or_none_is_placed() -> None:
    assert status_hold.complete([])
    assert status_hold.complete([{"upToDate": True}, {"upToDate": True}])
    assert not status_hold.complete([{"upToDate": True}, {"upToDate": False}])


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([entry("a", errors=[NO_WORK_YET], upToDate=False)], False),
        ([entry("a", errors=[NOT_APPLIED_YET], upToDate=False), entry("b", upToDate=False)], False),
        ([entry("a", upToDate=True), entry("b", errors=[NOT_APPLIED_YET], upToDate=False)], True),
        # a member's own failure is a report too
        ([entry("a", errors=["Applied: ManifestApplyFailed: boom"], upToDate=False)], True),
    ],
)
def test_reported(items: list[dict[str, Any]], expected: bool) -> None:
    assert status_hold.reported(items) is expected


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # nothing written yet, members not reporting: not bad news
        ({}, status(entry("a", errors=[NO_WORK_YET]), Applied="False"), False),
        (status(entry("a", errors=[NO_WORK_YET])), status(entry("a", errors=[NOT_APPLIED_YET])), False),
        # better news is not worse
        (status(entry("a"), Applied="False"), status(entry("a", **HEALTHY), Applied="True"), False),
        # a condition leaves True (to False or Unknown)
        (status(entry("a", **HEALTHY), Applied="True"), status(entry("a", **HEALTHY), Applied="False"), True),
        (status(Available="True"), status(Available="Unknown"), True),
        (status(Rendered="True"), status(Rendered="False"), True),
        ({}, status(Rendered="False"), True),
        # an entry gets worse
        (status(entry("a", **HEALTHY)), status(entry("a", **{**HEALTHY, "applied": False})), True),
        (status(entry("a", **HEALTHY)), status(entry("a", **{**HEALTHY, "available": False})), True),
        (status(entry("a", **HEALTHY)), status(entry("a", **{**HEALTHY, "health": "Unhealthy"})), True),
        (status(entry("a")), status(entry("a", errors=["Applied: Forbidden: no"])), True),
        # a new member with an error of its own; a new member not reporting yet is not bad news
        (status(entry("a", **HEALTHY)), status(entry("a", **HEALTHY), entry("b", errors=["x"])), True),
        (
            status(entry("a", **HEALTHY)),
            status(entry("a", **HEALTHY), entry("b", errors=[NO_WORK_YET])),
            False,
        ),
        # the same error again is not news
        (status(entry("a", errors=["x"])), status(entry("a", errors=["x"])), False),
    ],
)
def test_worse(old: dict[str, Any], new: dict[str, Any], expected: bool) -> None:
    assert status_hold.worse(old, new) is expected


def test_deadline_waits_for_a_first_report_then_hold_seconds() -> None:
    hold = Hold(hold=0.5, report_wait=5.0)
    pending = Pending(since=10.0)
    pending.observe(now=10.0, reported=False, worse=False)
    assert pending.deadline(hold) == 15.0  # nobody reported: report_wait
    pending.observe(now=12.0, reported=True, worse=False)
    assert pending.deadline(hold) == 12.5  # hold after the first report
    pending.observe(now=12.4, reported=True, worse=False)
    assert pending.deadline(hold) == 12.5  # later reports do not push it back


def test_bad_news_waits_at_most_hold_seconds() -> None:
    hold = Hold(hold=0.5, report_wait=5.0)
    pending = Pending(since=10.0)
    pending.observe(now=11.0, reported=False, worse=True)
    assert pending.deadline(hold) == 11.5
    pending.observe(now=11.2, reported=True, worse=True)
    assert pending.deadline(hold) == 11.5


def test_no_hold_writes_at_once() -> None:
    pending = Pending(since=10.0)
    pending.observe(now=10.0, reported=False, worse=False)
    assert pending.deadline(Hold(hold=0.0, report_wait=0.0)) == 10.0


def test_the_command_line_hold_scales_the_wait_for_a_first_report() -> None:
    assert Hold.of(0.5) == Hold()
    assert Hold.of(0.0) == Hold(hold=0.0, report_wait=0.0)
    assert Hold.of(1.0) == Hold(hold=1.0, report_wait=10.0)
    with pytest.raises(ValueError, match="negative"):
        Hold.of(-1.0)
