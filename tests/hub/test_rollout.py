"""Table tests for hub.rollout: which clusters get a new generation, and the rollout's phase."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub import rollout
from hub.rollout import ClusterObservation, RolloutInput
from shared.api import names
from shared.api.policy import RolloutStrategy
from shared.api.validation import validate_object

T0 = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)
GEN = 5


def strategy(raw: Mapping[str, Any]) -> RolloutStrategy:
    return RolloutStrategy.from_dict(raw)


STAGED = {
    "type": "Staged",
    "staged": {
        "stages": [
            {"name": "canary", "labelSelector": {"matchLabels": {"ring": "0"}}, "after": {"waitSeconds": 30}},
            {"name": "early", "labelSelector": {"matchLabels": {"ring": "1"}}, "after": {"approval": True}},
            {"name": "rest", "maxConcurrency": 1},
        ]
    },
}
RINGS = {"a": "0", "b": "1", "c": "1", "d": "2", "e": "2"}


def old(name: str, health: str = "Available", **kw: Any) -> ClusterObservation:
    """A cluster on the previous generation."""
    ring = {"ring": RINGS.get(name, "2")}
    return ClusterObservation(
        name=name, labels=ring, revision=GEN - 1, health=health, has_previous=True, **kw
    )


def new(name: str, health: str = "Available", **kw: Any) -> ClusterObservation:
    """A cluster whose Work carries the generation being rolled out."""
    ring = {"ring": RINGS.get(name, "2")}
    return ClusterObservation(name=name, labels=ring, revision=GEN, health=health, has_previous=True, **kw)


def run(
    raw: Mapping[str, Any],
    clusters: Sequence[ClusterObservation],
    *,
    previous: Mapping[str, Any] | None = None,
    now: datetime = T0,
    **kw: Any,
) -> rollout.RolloutDecision:
    labels = [dict(c.labels) for c in clusters]
    return rollout.decide(
        RolloutInput(
            template="Deployment default/web",
            generation=GEN,
            strategy=strategy(raw),
            clusters=clusters,
            previous=previous,
            now=now,
            fleet_labels=kw.pop("fleet_labels", labels),
            **kw,
        )
    )


def condition(decision: rollout.RolloutDecision, kind: str) -> Any:
    return next(c for c in decision.conditions if c.type == kind)


# --- defaults and parsing ----------------------------------------------------------------------------
def test_all_releases_everything_and_writes_nothing() -> None:
    decision = run({"type": "All"}, [old("a"), old("b")])
    assert decision.released == {"a", "b"}
    assert decision.status == {} and decision.conditions == ()


@pytest.mark.parametrize(
    ("value", "total", "round_up", "expected"),
    [
        (None, 8, False, 2),  # 25% of 8
        (None, 3, False, 1),  # 25% of 3 rounds down to 0, at least 1
        ("50%", 5, False, 2),
        ("50%", 5, True, 3),
        (2, 10, False, 2),
        ("3", 10, False, 3),
        ("100%", 6, False, 6),
    ],
)
def test_resolve_counts_and_percentages(value: Any, total: int, round_up: bool, expected: int) -> None:
    assert rollout.resolve(value, total=total, default="25%", round_up=round_up, at_least=1) == expected


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"type": "Staged"}, "spec.rolloutStrategy.staged"),
        ({"type": "All", "staged": {"stages": [{"name": "x"}]}}, "spec.rolloutStrategy.staged"),
        ({"type": "Staged", "rollingUpdate": {}, "staged": {"stages": [{"name": "x"}]}},
         "spec.rolloutStrategy.rollingUpdate"),
        ({"type": "Staged", "staged": {"stages": [{"name": "x"}, {"name": "x"}]}},
         "spec.rolloutStrategy.staged.stages[1].name"),
        ({"type": "Staged", "staged": {"stages": [{"name": "x", "labelSelector": {"matchExpressions": [
            {"key": "ring", "operator": "In"}]}}]}},
         "spec.rolloutStrategy.staged.stages[0].labelSelector.matchExpressions[0].values"),
        ({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "ten"}},
         "spec.rolloutStrategy.rollingUpdate.maxUnavailable"),
        ({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": -1}},
         "spec.rolloutStrategy.rollingUpdate.maxSurge"),
        ({"type": "Sometimes"}, "spec.rolloutStrategy.type"),
    ],
)  # fmt: skip
def test_bad_strategies_name_the_field(raw: dict[str, Any], field: str) -> None:
    policy = {
        "apiVersion": names.POLICY_API_VERSION,
        "kind": names.KIND_PROPAGATION_POLICY,
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {"resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap"}], "rolloutStrategy": raw},
    }
    paths = [p.path for p in validate_object(policy)]
    assert field in paths, paths


# --- staged -----------------------------------------------------------------------------------------
def test_staged_first_pass_releases_only_the_first_stage() -> None:
    decision = run(STAGED, [old(n) for n in "abcde"])
    assert decision.released == {"a"}
    assert decision.status["phase"] == "Progressing" and decision.status["stage"] == "canary"
    states = {c["name"]: (c.get("stage"), c["state"]) for c in decision.status["clusters"]}
    assert states == {
        "a": ("canary", "Progressing"),
        "b": ("early", "Pending"),
        "c": ("early", "Pending"),
        "d": ("rest", "Pending"),
        "e": ("rest", "Pending"),
    }
    assert condition(decision, names.CONDITION_ROLLOUT_PROGRESSING).status == "True"
    assert condition(decision, names.CONDITION_ROLLOUT_HALTED).status == "False"
    assert decision.requeue_after == 600  # the progress deadline of the release


def test_staged_waits_after_a_stage_then_needs_approval_then_limits_concurrency() -> None:
    clusters = [new("a"), old("b"), old("c"), old("d"), old("e")]
    first = run(STAGED, clusters, previous=run(STAGED, [old(n) for n in "abcde"]).status)
    assert first.released == {"a"}
    assert first.status["phase"] == "Waiting" and first.status["stage"] == "canary"
    assert condition(first, names.CONDITION_ROLLOUT_PROGRESSING).reason == rollout.REASON_WAITING_TIME
    assert first.requeue_after == 30
    # still waiting 10 s later: the wait counts from the stage's completion, not from each pass
    ten = run(STAGED, clusters, previous=first.status, now=T0 + timedelta(seconds=10))
    assert ten.released == {"a"} and ten.requeue_after == 20
    after_wait = run(STAGED, clusters, previous=ten.status, now=T0 + timedelta(seconds=30))
    assert after_wait.released == {"a", "b", "c"}
    assert after_wait.status["stage"] == "early"
    done_early = [new("a"), new("b"), new("c"), old("d"), old("e")]
    waiting = run(STAGED, done_early, previous=after_wait.status, now=T0 + timedelta(seconds=40))
    assert waiting.released == {"a", "b", "c"}
    assert condition(waiting, names.CONDITION_ROLLOUT_PROGRESSING).reason == rollout.REASON_WAITING_APPROVAL
    # an approval for another generation does not count
    stale = run(STAGED, done_early, previous=waiting.status, approvals={"early": GEN - 1})
    assert stale.released == {"a", "b", "c"}
    approved = run(STAGED, done_early, previous=waiting.status, approvals={"early": GEN})
    assert approved.released == {"a", "b", "c", "d"}  # maxConcurrency 1 in the last stage
    # the canary wait is not waited for again once the rollout moved past it
    assert approved.status["stage"] == "rest"
    last = [new("a"), new("b"), new("c"), new("d"), old("e")]
    step = run(STAGED, last, previous=approved.status, approvals={"early": GEN})
    assert step.released == {"a", "b", "c", "d", "e"}
    finished = run(STAGED, [new(n) for n in "abcde"], previous=step.status, approvals={"early": GEN})
    assert finished.status["phase"] == "Complete"
    assert condition(finished, names.CONDITION_ROLLOUT_PROGRESSING).reason == rollout.REASON_COMPLETE
    assert finished.requeue_after is None


def test_a_stage_that_selects_none_of_the_binding_is_skipped() -> None:
    # b and c (ring 1) are fleet members, but this template is only on a, d, e
    fleet = [{"ring": r} for r in RINGS.values()]
    clusters = [new("a"), old("d"), old("e")]
    previous = {"strategy": "Staged", "revision": GEN, "phase": "Waiting", "stage": "canary",
                "stageCompleted": rollout.timestamp(T0 - timedelta(seconds=60)), "clusters": []}  # fmt: skip
    decision = run(STAGED, clusters, previous=previous, fleet_labels=fleet)
    assert decision.released == {"a", "d"}  # early skipped (no approval needed), rest one at a time


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        ([{"name": "x", "labelSelector": {"matchLabels": {"rnig": "0"}}}, {"name": "y"}],
         "stages[0] (x).labelSelector: no member cluster has the label rnig"),
        ([{"name": "x", "labelSelector": {"matchLabels": {"ring": "9"}}}, {"name": "y"}],
         "stages[0] (x).labelSelector: selects no member cluster"),
        ([{"name": "x", "labelSelector": {"matchLabels": {"ring": "0"}}}],
         "no stage selects cluster(s) b, c"),
    ],
)  # fmt: skip
def test_bad_stages_stop_the_rollout_naming_the_field(stages: list[dict[str, Any]], message: str) -> None:
    raw = {"type": "Staged", "staged": {"stages": stages}}
    decision = run(raw, [old("a"), old("b"), old("c")])
    assert decision.released == frozenset()
    assert decision.status["phase"] == "Invalid"
    progressing = condition(decision, names.CONDITION_ROLLOUT_PROGRESSING)
    assert progressing.status == "False" and progressing.reason == rollout.REASON_INVALID
    assert message in progressing.message


def test_staged_without_stages_is_invalid_not_a_crash() -> None:
    decision = run({"type": "Staged"}, [new("a"), old("b")])
    assert decision.status["phase"] == "Invalid" and decision.released == {"a"}
    assert (
        "spec.rolloutStrategy.staged: required"
        in condition(decision, names.CONDITION_ROLLOUT_PROGRESSING).message
    )


def test_bad_stages_never_take_back_what_was_released() -> None:
    stage = {"name": "x", "labelSelector": {"matchLabels": {"k": "v"}}}
    raw = {"type": "Staged", "staged": {"stages": [stage]}}
    decision = run(raw, [new("a"), old("b")])
    assert decision.released == {"a"}


def test_paused_releases_nothing_new() -> None:
    decision = run(STAGED, [new("a"), old("b"), old("c")], paused=True)
    assert decision.released == {"a"}
    assert decision.status["phase"] == "Paused"
    assert condition(decision, names.CONDITION_ROLLOUT_PROGRESSING).status == "Unknown"


# --- failures and halts ---------------------------------------------------------------------------
def test_deadline_exceeded_halts_naming_cluster_and_manifest() -> None:
    raw = {**STAGED, "progressDeadlineSeconds": 60}
    start = run(raw, [old(n) for n in "abcde"])
    stuck = [new("a", "Progressing", message="0/3 replicas available"), *[old(n) for n in "bcde"]]
    before = run(raw, stuck, previous=start.status, now=T0 + timedelta(seconds=59))
    assert before.status["phase"] == "Progressing" and before.requeue_after == pytest.approx(1)
    halted = run(raw, stuck, previous=before.status, now=T0 + timedelta(seconds=61))
    assert halted.halted and halted.released == {"a"}
    assert halted.status["phase"] == "Halted"
    cond = condition(halted, names.CONDITION_ROLLOUT_HALTED)
    assert cond.status == "True"
    assert "a (not available within progressDeadlineSeconds (60s): 0/3 replicas available)" in cond.message
    assert "Deployment default/web" in cond.message
    assert condition(halted, names.CONDITION_ROLLOUT_PROGRESSING).status == "False"
    # sticky for the generation, even if the cluster recovers later
    recovered = [new("a"), *[old(n) for n in "bcde"]]
    still = run(raw, recovered, previous=halted.status, now=T0 + timedelta(seconds=300))
    assert still.halted and still.released == {"a"}


def test_a_new_generation_restarts_from_the_first_stage() -> None:
    halted = {"strategy": "Staged", "revision": GEN - 1, "phase": "Halted", "stage": "early",
              "clusters": [{"name": "a", "revision": GEN - 1, "state": "Available"}]}  # fmt: skip
    decision = run(STAGED, [old(n) for n in "abcde"], previous=halted)
    assert decision.released == {"a"} and decision.status["stage"] == "canary"
    assert decision.status["phase"] == "Progressing"


def test_failures_within_max_failures_let_the_rollout_go_on() -> None:
    raw = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2}, "maxFailures": 1}
    clusters = [new("a", "Failed", message="Applied: ManifestApplyFailed"), old("b"), old("c")]
    decision = run(raw, clusters)
    assert not decision.halted
    # a failed cluster is unavailable: it keeps using maxUnavailable's budget
    assert decision.released == {"a", "b"}
    two = [new("a", "Failed"), new("b", "Failed"), old("c")]
    assert run(raw, two).halted


# --- rolling update --------------------------------------------------------------------------------
def test_rolling_update_respects_max_unavailable() -> None:
    raw = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2}}
    assert run(raw, [old(n) for n in "abcdef"]).released == {"a", "b"}
    # one released cluster became available: one more may go
    step = run(raw, [new("a"), new("b", "Progressing"), *[old(n) for n in "cdef"]])
    assert step.released == {"a", "b", "c"}
    # a cluster that is down anyway uses the budget too
    down = run(raw, [old("a", "Progressing"), *[old(n) for n in "bcdef"]])
    assert down.released == {"a", "b"}


def test_rolling_update_new_clusters_use_max_surge() -> None:
    raw = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 2}}
    fresh = [ClusterObservation(name=n, health="Unknown") for n in "xyz"]
    decision = run(raw, [old("a"), *fresh])
    assert decision.released == {"a", "x", "y"}


def test_rolling_update_not_tracked_kinds_wait_the_unavailable_period() -> None:
    raw = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "unavailablePeriodSeconds": 10}}
    start = run(raw, [old("a", "NotTracked"), old("b", "NotTracked")])
    assert start.released == {"a"}
    applied = [new("a", "NotTracked"), old("b", "NotTracked")]
    early = run(raw, applied, previous=start.status, now=T0 + timedelta(seconds=5))
    assert early.released == {"a"} and early.requeue_after == pytest.approx(5)
    later = run(raw, applied, previous=early.status, now=T0 + timedelta(seconds=10))
    assert later.released == {"a", "b"}


def test_status_is_valid_against_the_binding_model() -> None:
    from shared.api.binding import RolloutStatus

    decision = run(STAGED, [old(n) for n in "abcde"])
    assert RolloutStatus.from_dict(decision.status).to_dict() == decision.status
