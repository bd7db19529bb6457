"""Policy-level checks of ``spec.rolloutStrategy`` that depend on the fleet (pure).

Rules a schema or the validation layer can state once (``staged`` only with type Staged, unique
stage names, ``maxConcurrency: 0``...) make the policy ``Valid=False``
(``shared.api.validation``). What depends on the members — a stage selector key no member
cluster carries, a stage that selects no member cluster — changes as members join, leave or are
relabelled: it is the policy's own condition ``RolloutStrategyValid`` (False, reason
``InvalidRolloutStrategy``, naming each field), set by the policy status controller and printed
by ``waybill plan``. The check is the rollout decision's own (``hub.rollout.stage_problems``),
so the policy, its bindings (``RolloutProgressing=False``) and the plan say the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hub import rollout, rollout_gate
from hub.rollout import RolloutInput
from shared.api import revision
from shared.api.policy import RolloutStage

CONDITION_ROLLOUT_STRATEGY_VALID = "RolloutStrategyValid"
REASON_VALID = "RolloutStrategyValid"
REASON_INVALID = rollout.REASON_INVALID  # InvalidRolloutStrategy, as on the bindings


def has_staged_strategy(policy: Mapping[str, Any]) -> bool:
    """Whether the policy's (readable) rolloutStrategy is Staged: the fleet matters to it."""
    strategy = rollout_gate.strategy_of(policy)
    return strategy is not None and strategy.type == "Staged" and strategy.staged is not None


def fleet_problems(policy: Mapping[str, Any], fleet_labels: Sequence[Mapping[str, str]]) -> list[str]:
    """The stage selectors of ``policy`` that no member cluster answers, each naming its field
    (``spec.rolloutStrategy.staged.stages[1] (early).labelSelector: selects no member cluster``);
    [] for other strategies, or when every stage selects a member."""
    strategy = rollout_gate.strategy_of(policy)
    if strategy is None or strategy.type != "Staged" or strategy.staged is None:
        return []
    return rollout.stage_problems(strategy.staged.stages, fleet_labels)


# ---- what a new generation would do, member by member (``waybill plan``) ----------------------
PLAN_GENERATION = 2
"""The generation the plan rolls out (any number other than the one members carry)."""
AT_ONCE = "atOnce"  # no staging: every member at once
FIRST = "first"  # released by the rollout's first decision
LATER = "later"  # released once earlier ones are Available (and the gates hold)
HELD = "held"  # the hub would release nothing new (InvalidRolloutStrategy)
PENDING = "pending"  # no new generation, but a new placement: it waits for the rollout to release it
REASON_NO_NEW_GENERATION = "NoNewGeneration"
NO_NEW_GENERATION = (
    "the template's generation does not change, so nothing is rolled out: what changes "
    "(labels, annotations, override policies, placement) reaches the members that run it at once"
)


def same_generation(live: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    """Whether ``new`` (the template as the API server would store it) leaves the generation the
    rollout goes by as ``live`` has it: the same ``metadata.generation``, or for a kind without
    one the same content (``shared.api.revision.content_digest``, what the hub numbers)."""
    if live is None:
        return False
    before = (live.get("metadata") or {}).get("generation")
    after = (new.get("metadata") or {}).get("generation")
    if isinstance(before, int) and isinstance(after, int):
        return before == after
    return revision.content_digest(live) == revision.content_digest(new)


@dataclass(frozen=True)
class MemberRollout:
    """When one member would get a new generation of the template."""

    strategy: str
    state: str
    """``atOnce``, ``first``, ``later`` or ``held``."""
    batch: int | None = None
    """Its place in the release order (1: released first), simulated through ``rollout.decide``."""
    batches: int | None = None
    stage: str | None = None
    stage_number: int | None = None
    """1-based, in the strategy's stage order."""
    stages: int | None = None
    after: str = ""
    """What must hold before it is released (``canary is Available + waitSeconds 60 + approval``)."""
    new_placement: bool = False
    """It has no version of the template yet (RollingUpdate: released within ``maxSurge``)."""
    reason: str = ""
    """``NotStaged`` or ``InvalidRolloutStrategy``."""
    message: str = ""

    @property
    def text(self) -> str:
        if self.state == AT_ONCE:
            why = f" ({self.reason}: {self.message})" if self.reason else ""
            return f"every member at once{why}"
        if self.state == HELD:
            return f"held: the hub would release nothing new ({self.reason}): {self.message}"
        if self.state == PENDING:
            return "a new placement: gets the current generation once the hub's rollout releases it"
        when = "released first" if self.state == FIRST else f"after {self.after}"
        if self.stage is not None:
            return f"stage {self.stage_number}/{self.stages} {self.stage}: {when}"
        new = " (new on this member: within maxSurge)" if self.new_placement else ""
        return f"batch {self.batch}/{self.batches}{new}: {when}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"strategy": self.strategy, "state": self.state}
        for key, value in (
            ("batch", self.batch),
            ("batches", self.batches),
            ("stage", self.stage),
            ("stageNumber", self.stage_number),
            ("stages", self.stages),
            ("after", self.after),
            ("newPlacement", self.new_placement),
            ("reason", self.reason),
            ("message", self.message),
        ):
            if value:
                out[key] = value
        out["text"] = self.text
        return out


@dataclass(frozen=True)
class RolloutPlan:
    """How a new generation of one template would reach its binding's clusters."""

    strategy: str
    summary: str
    members: dict[str, MemberRollout] = field(default_factory=dict)
    problem: str | None = None
    """Why the hub would release nothing new (the binding's ``InvalidRolloutStrategy`` message)."""
    new_generation: bool = True
    """Whether the change makes a new generation (else nothing is rolled out: ``NoNewGeneration``)."""

    @property
    def staged(self) -> bool:
        return self.strategy in ("RollingUpdate", "Staged")


@dataclass(frozen=True)
class PlannedCluster:
    name: str
    labels: Mapping[str, str]
    has_previous: bool = True
    """Whether it runs a version of the template now (False: a new placement)."""


def _after_text(stage: RolloutStage) -> str:
    parts = [f"{stage.name} is Available"]
    if stage.after is not None and stage.after.wait_seconds:
        parts.append(f"waitSeconds {stage.after.wait_seconds}")
    if stage.after is not None and stage.after.approval:
        parts.append("approval")
    return " + ".join(parts)


def _simulate(
    given: RolloutInput, max_rounds: int
) -> tuple[rollout.RolloutDecision, dict[str, int], dict[str, str]]:
    """Run the hub's decision until it is complete, every released cluster becoming Available at
    once, every approval given and every wait waited: the first decision, each cluster's batch
    (1-based release order) and its stage."""
    observations = {c.name: c for c in given.clusters}
    first: rollout.RolloutDecision | None = None
    batches: dict[str, int] = {}
    stage_of: dict[str, str] = {}
    previous: Mapping[str, Any] | None = None
    now = given.now
    approvals: dict[str, int] = {}
    for _ in range(max_rounds):
        decision = rollout.decide(
            replace(
                given, clusters=list(observations.values()), previous=previous, now=now, approvals=approvals
            )
        )
        if first is None:
            first = decision
        for entry in decision.status.get("clusters") or []:
            if entry.get("stage"):
                stage_of[str(entry["name"])] = str(entry["stage"])
        fresh = sorted(decision.released - set(batches))
        number = max(batches.values(), default=0) + 1
        for name in fresh:
            batches[name] = number
            observations[name] = replace(observations[name], revision=given.generation, health="Available")
        phase = decision.status.get("phase")
        if phase != "Waiting" and (phase != "Progressing" or not fresh):
            break
        if phase == "Waiting":
            stage = str(decision.status.get("stage"))
            if decision.conditions[0].reason == rollout.REASON_WAITING_APPROVAL:
                approvals[stage] = given.generation
            else:
                now += timedelta(seconds=(decision.requeue_after or 0.0) + 0.001)
        previous = decision.status
    assert first is not None
    return first, batches, stage_of


def plan_rollout(
    policy: Mapping[str, Any] | None,
    template: Mapping[str, Any],
    clusters: Sequence[PlannedCluster],
    fleet_labels: Sequence[Mapping[str, str]],
    *,
    new_generation: bool = True,
    now: datetime | None = None,
) -> RolloutPlan:
    """When each of ``clusters`` (the binding's) would get a new generation of ``template``
    under the policy's ``rolloutStrategy`` (pure). The order is the hub's own: ``rollout.decide``
    run until the rollout completes, assuming each released cluster becomes Available and each
    approval is given; a strategy the hub finds invalid holds every cluster, and a kind the hub
    does not stage (``rollout_gate.not_staged``: Secrets) goes everywhere at once. Without
    ``new_generation`` (the template's generation stays: ``same_generation``) nothing is rolled
    out: the members that run it get what changes at once, new placements wait for the rollout."""
    strategy = rollout_gate.strategy_of(policy)
    if strategy is None:
        every = MemberRollout(strategy="All", state=AT_ONCE)
        return RolloutPlan("All", "every member at once", {c.name: every for c in clusters})
    if not clusters:
        return RolloutPlan(strategy.type, "no member gets it")
    not_staged = rollout_gate.not_staged(str(template.get("apiVersion")), str(template.get("kind")))
    if not_staged is not None:
        every = MemberRollout(
            strategy=strategy.type, state=AT_ONCE, reason=rollout.REASON_NOT_ROLLED_OUT, message=not_staged
        )
        summary = f"every member at once ({rollout.REASON_NOT_ROLLED_OUT}: {not_staged})"
        return RolloutPlan(strategy.type, summary, {c.name: every for c in clusters})
    meta = template.get("metadata") or {}
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    observed = [
        rollout.ClusterObservation(
            name=c.name,
            labels=dict(c.labels),
            revision=PLAN_GENERATION - 1 if c.has_previous else None,
            health="Available" if c.has_previous else "Unknown",
            has_previous=c.has_previous,
        )
        for c in clusters
    ]
    given = RolloutInput(
        template=f"{template.get('kind')} {where}{meta.get('name')}",
        generation=PLAN_GENERATION,
        strategy=strategy,
        clusters=observed,
        previous=None,
        now=now or datetime(2026, 1, 1, tzinfo=UTC),
        fleet_labels=fleet_labels,
    )
    stages = strategy.staged.stages if strategy.type == "Staged" and strategy.staged is not None else []
    first, batches, stage_of = _simulate(given, max_rounds=2 * len(clusters) + 3 * len(stages) + 3)
    invalid = first.status.get("phase") == "Invalid"
    message = str(first.status.get("message") or "") if invalid else ""
    held = MemberRollout(strategy=strategy.type, state=HELD, reason=rollout.REASON_INVALID, message=message)
    if not new_generation:
        at_once = MemberRollout(
            strategy=strategy.type,
            state=AT_ONCE,
            reason=REASON_NO_NEW_GENERATION,
            message=NO_NEW_GENERATION,
        )
        waiting = held if invalid else MemberRollout(strategy=strategy.type, state=PENDING)
        return RolloutPlan(
            strategy.type,
            f"no new generation ({REASON_NO_NEW_GENERATION}): {NO_NEW_GENERATION}",
            {c.name: at_once if c.has_previous else waiting for c in clusters},
            problem=message or None,
            new_generation=False,
        )
    if invalid:
        return RolloutPlan(
            strategy.type,
            f"held on every member ({rollout.REASON_INVALID}): {message}",
            {c.name: held for c in clusters},
            problem=message,
        )
    total = max(batches.values(), default=0)
    members: dict[str, MemberRollout] = {}
    if strategy.type == "Staged":
        index = {stage.name: number for number, stage in enumerate(stages, start=1)}
        first_batch: dict[str, int] = {}
        for name, number in batches.items():
            stage_name = stage_of.get(name, "")
            first_batch[stage_name] = min(number, first_batch.get(stage_name, number))
        for c in clusters:
            batch = batches.get(c.name)
            stage_name = stage_of.get(c.name, "")
            number = index.get(stage_name, 0)
            after = ""
            if batch is not None and batch > 1 and batch == first_batch.get(stage_name):
                earlier = [s for s in stages[: number - 1] if s.name in first_batch]
                after = _after_text(earlier[-1]) if earlier else "the earlier clusters are Available"
            elif batch is not None and batch > 1:
                stage = stages[number - 1]
                limit = stage.max_concurrency
                after = f"the earlier clusters of stage {stage_name} are Available (maxConcurrency {limit})"
            members[c.name] = MemberRollout(
                strategy="Staged",
                state=FIRST if batch == 1 else LATER,
                batch=batch,
                batches=total,
                stage=stage_name,
                stage_number=number,
                stages=len(stages),
                after=after,
            )
        summary = (
            f"{len(stages)} stage(s), in order, assuming each released member becomes Available "
            "and each approval is given"
        )
        return RolloutPlan("Staged", summary, members)
    settings = strategy.rolling_update
    count = len(clusters)
    unavailable = None if settings is None else settings.max_unavailable
    surge = None if settings is None else settings.max_surge
    unavailable_raw = rollout.DEFAULT_MAX_UNAVAILABLE if unavailable is None else unavailable
    surge_raw = rollout.DEFAULT_MAX_SURGE if surge is None else surge
    max_unavailable = rollout.resolve(
        unavailable_raw, total=count, default=rollout.DEFAULT_MAX_UNAVAILABLE, round_up=False, at_least=1
    )
    max_surge = rollout.resolve(
        surge_raw, total=count, default=rollout.DEFAULT_MAX_SURGE, round_up=True, at_least=0
    )
    for c in clusters:
        place = batches.get(c.name)
        members[c.name] = MemberRollout(
            strategy="RollingUpdate",
            state=FIRST if place == 1 else LATER,
            batch=place,
            batches=total,
            after="" if place is None or place <= 1 else f"batch {place - 1} is Available",
            new_placement=not c.has_previous,
        )
    summary = (
        f"maxUnavailable {unavailable_raw} of {count} member(s) = {max_unavailable}, "
        f"maxSurge {surge_raw} = {max_surge}: {total} batch(es), assuming each released member "
        "becomes Available"
    )
    return RolloutPlan("RollingUpdate", summary, members)
