"""Table tests for plan_apply: create / apply / take over / NotTakenOver / ReportDiff."""

from __future__ import annotations

from typing import Any

import pytest

from agent.takeover import ActionType, Strategy, is_owned, plan_apply

CM: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "c", "namespace": "a"},
    "data": {"k": "v"},
}


def live(data: dict[str, str], **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "a", "uid": "u1", **meta},
        "data": data,
    }


SAME, OTHER = live({"k": "v"}), live({"k": "changed"})


@pytest.mark.parametrize(
    ("live_obj", "owned", "strategy", "action", "reason", "n_drift", "n_diff"),
    [
        (None, False, Strategy(), ActionType.CREATE, "Creating", 0, 0),
        (SAME, True, Strategy(), ActionType.APPLY, "Owned", 0, 0),
        (OTHER, True, Strategy(), ActionType.APPLY, "Owned", 1, 0),
        (OTHER, False, Strategy(when_to_take_over="Always"), ActionType.APPLY, "TakingOver", 0, 1),
        (SAME, False, Strategy(when_to_take_over="IfNoDiff"), ActionType.APPLY, "TakingOver", 0, 0),
        (OTHER, False, Strategy(when_to_take_over="IfNoDiff"), ActionType.SKIP, "NotTakenOver", 0, 1),
        (SAME, False, Strategy(when_to_take_over="Never"), ActionType.SKIP, "NotTakenOver", 0, 0),
        (OTHER, False, Strategy(when_to_take_over="Never"), ActionType.SKIP, "NotTakenOver", 0, 1),
        (None, False, Strategy(type="ReportDiff"), ActionType.REPORT_DIFF, "NotFoundOnMember", 0, 1),
        (OTHER, True, Strategy(type="ReportDiff"), ActionType.REPORT_DIFF, "DiffReported", 0, 1),
        (SAME, False, Strategy(type="ReportDiff"), ActionType.REPORT_DIFF, "DiffReported", 0, 0),
        (OTHER, True, Strategy(type="ClientSideApply"), ActionType.APPLY, "Owned", 1, 0),
    ],
)
def test_plan_apply(
    live_obj: dict[str, Any] | None,
    owned: bool,
    strategy: Strategy,
    action: ActionType,
    reason: str,
    n_drift: int,
    n_diff: int,
) -> None:
    got = plan_apply(CM, live_obj, owned=owned, strategy=strategy, field_manager="waybill-agent")
    assert (got.type, got.reason, len(got.drifts), len(got.diffs)) == (action, reason, n_drift, n_diff)
    assert got.writes == (action in (ActionType.CREATE, ActionType.APPLY))
    assert got.take_over == (reason == "TakingOver")


def test_strategy_from_spec_defaults_follow_the_api() -> None:
    assert Strategy.from_spec(None) == Strategy("ServerSideApply", "IfNoDiff", None)
    assert Strategy.from_spec({"type": "ReportDiff", "whenToTakeOver": "Never", "force": True}) == Strategy(
        "ReportDiff", "Never", True
    )


@pytest.mark.parametrize(
    ("meta", "uids", "owned"),
    [
        ({"uid": "u1"}, {"u1"}, True),
        ({"uid": "u2"}, {"u1"}, False),
        (
            {"uid": "u2", "ownerReferences": [{"kind": "AppliedWork", "name": "ns.w", "uid": "x"}]},
            set(),
            True,
        ),
        (
            {"uid": "u2", "ownerReferences": [{"kind": "AppliedWork", "name": "ns.other", "uid": "x"}]},
            set(),
            False,
        ),
    ],
)
def test_is_owned(meta: dict[str, Any], uids: set[str], owned: bool) -> None:
    assert is_owned({"metadata": meta}, applied_uids=uids, applied_work_name="ns.w") is owned
