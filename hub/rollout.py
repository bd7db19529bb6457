"""Rollout decisions: which clusters get a template's new generation now (pure).

``decide(RolloutInput) -> RolloutDecision`` is the whole policy of ``rolloutStrategy`` types
``RollingUpdate`` and ``Staged`` (type ``All`` never gets here: every cluster is released at
once). It reads the binding's clusters as the agents report them (``ClusterObservation``: which
generation the cluster's Work carries, and whether the template is Available there for it), the
previous ``status.rollout`` (what was released, and when), the strategy, pause and approvals,
and the clock; it returns the clusters released for the generation, the new ``status.rollout``,
the ``RolloutProgressing`` / ``RolloutHalted`` conditions, and when to look again.

Rules (docs/rollouts.md says the same for users):

* The generation is the template's ``metadata.generation``, or for a kind without one (ConfigMap,
  Service, ...) the number the hub's revisions give its content (``hub.controller_rollout``).
* A cluster is *released* once its Work carries the generation, or once a previous decision
  released it for this generation. A new generation (an edit, or an undo) starts over: nothing
  is released for it yet, and a Staged rollout starts again at its first stage.
* A released cluster is ``Available`` when its agent reports the manifest Available for the
  generation (kinds without a health rule, reason ``NotTracked``: once ``unavailablePeriodSeconds``
  have passed since its release, RollingUpdate only), ``Failed`` when the agent reports the apply
  failed or the workload failed, or when it is not available ``progressDeadlineSeconds`` after
  its release; else ``Progressing``.
* More than ``maxFailures`` failed clusters halt the rollout for this generation: nothing more
  is released until the template changes again (an edit or ``waybill rollout undo``).
* RollingUpdate: clusters that already run the template are released in name order while fewer
  than ``maxUnavailable`` of them are unavailable (a released cluster counts as unavailable until
  it is Available; so does one whose current version is not Available); clusters that never had
  the template are released while fewer than ``maxSurge`` of those are in flight.
* Staged: a cluster belongs to the first stage whose selector picks it. Within a stage at most
  ``maxConcurrency`` clusters are in flight; when every cluster of the stage is Available (or
  failed within ``maxFailures``), the stage's ``after`` must hold — ``waitSeconds`` since the
  stage completed and, with ``approval``, an approval of the stage for this generation — before
  the next stage starts. A stage selecting none of the binding's clusters is skipped.
* Bad input stops the rollout before it releases anything new (phase ``Invalid``): a selector
  key no member cluster carries, a stage that selects no member cluster at all, a binding cluster
  that no stage selects.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from hub.conditions import WantedCondition
from hub.selectors import SelectorError, labels_match
from shared.api import names
from shared.api.meta import parse_time
from shared.api.policy import IntOrPercent, RolloutStage, RolloutStrategy

Health = Literal["Available", "Progressing", "Failed", "NotTracked", "Unknown"]

DEFAULT_MAX_UNAVAILABLE = "25%"
DEFAULT_MAX_SURGE = "25%"
DEFAULT_UNAVAILABLE_PERIOD = 60
DEFAULT_PROGRESS_DEADLINE = 600
DEFAULT_MAX_FAILURES = 0

REASON_PROGRESSING = "RolloutProgressing"
REASON_COMPLETE = "RolloutComplete"
REASON_WAITING_APPROVAL = "WaitingForApproval"
REASON_WAITING_TIME = "WaitingForTime"
REASON_PAUSED = "RolloutPaused"
REASON_HALTED = "RolloutHalted"
REASON_INVALID = "InvalidRolloutStrategy"
REASON_NOT_HALTED = "NotHalted"
REASON_NOT_ROLLED_OUT = "NotStaged"  # Secrets (hub.rollout_gate.NOT_STAGED)


@dataclass(frozen=True)
class ClusterObservation:
    """One of the binding's clusters, as its Work and MemberCluster say."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    revision: int | None = None
    """The template generation the cluster's Work carries (None: none, or not stamped)."""
    health: Health = "Unknown"
    """How the agent reports the manifest for ``revision``."""
    message: str = ""
    """The agent's message for the manifest (why it is not available, or failed)."""
    has_previous: bool = False
    """Whether the cluster carries any version of the template (False: a new placement)."""


@dataclass(frozen=True)
class RolloutInput:
    template: str
    """The template, as ``Kind namespace/name`` (for messages)."""
    generation: int
    strategy: RolloutStrategy
    clusters: Sequence[ClusterObservation]
    previous: Mapping[str, Any] | None
    """The binding's current ``status.rollout`` (wire form), if any."""
    now: datetime
    fleet_labels: Sequence[Mapping[str, str]] = ()
    """Labels of every member cluster of the fleet (for checking stage selectors)."""
    paused: bool = False
    approvals: Mapping[str, int] = field(default_factory=dict)
    """Approved stages: stage name → the generation it was approved for."""
    content_digest: str | None = None
    """For a kind without ``metadata.generation``: the digest of the content ``generation``
    numbers (written as ``status.rollout.contentDigest``; the works controller's gate reads it)."""


@dataclass(frozen=True)
class RolloutDecision:
    released: frozenset[str]
    status: dict[str, Any]
    conditions: tuple[WantedCondition, ...]
    requeue_after: float | None = None
    halted: bool = False
    """Whether the rollout is halted (the controller records an Event when it becomes so)."""


def timestamp(moment: datetime) -> str:
    """RFC 3339 with milliseconds (waits of a few seconds must not round away)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def resolve(value: IntOrPercent | None, *, total: int, default: str, round_up: bool, at_least: int) -> int:
    """A count or percentage of ``total`` clusters, as apps/v1 intstr fields are resolved."""
    raw = default if value is None else value
    text = str(raw)
    if text.endswith("%"):
        share = int(text[:-1]) * total / 100
        count = math.ceil(share) if round_up else math.floor(share)
    else:
        count = int(text)
    return max(count, at_least)


def selector_keys(selector: Mapping[str, Any] | None) -> set[str]:
    if not selector:
        return set()
    keys = {str(k) for k in (selector.get("matchLabels") or {})}
    keys.update(str(e.get("key")) for e in selector.get("matchExpressions") or [])
    return keys


def stage_problems(stages: Sequence[RolloutStage], fleet_labels: Sequence[Mapping[str, str]]) -> list[str]:
    """Bad stage selectors, each naming the field: a key no member carries, or no member selected."""
    problems: list[str] = []
    known = {key for labels in fleet_labels for key in labels}
    for index, stage in enumerate(stages):
        where = f"spec.rolloutStrategy.staged.stages[{index}] ({stage.name})"
        selector = stage.label_selector
        unknown = sorted(selector_keys(selector.to_dict() if selector is not None else None) - known)
        if unknown:
            problems.append(f"{where}.labelSelector: no member cluster has the label {', '.join(unknown)}")
            continue
        try:
            if not any(labels_match(selector, labels) for labels in fleet_labels):
                problems.append(f"{where}.labelSelector: selects no member cluster")
        except SelectorError as exc:
            problems.append(f"{where}.labelSelector: {exc}")
    return problems


def assign_stages(
    stages: Sequence[RolloutStage], clusters: Sequence[ClusterObservation]
) -> tuple[dict[str, list[str]], list[str]]:
    """Stage name → its clusters (name order); and the clusters no stage selects."""
    out: dict[str, list[str]] = {stage.name: [] for stage in stages}
    unassigned: list[str] = []
    for cluster in sorted(clusters, key=lambda c: c.name):
        for stage in stages:
            try:
                matched = labels_match(stage.label_selector, cluster.labels)
            except SelectorError:
                matched = False
            if matched:
                out[stage.name].append(cluster.name)
                break
        else:
            unassigned.append(cluster.name)
    return out, unassigned


@dataclass
class _Cluster:
    obs: ClusterObservation
    released: bool
    since: datetime | None  # when released (or when the state last changed, for Pending)
    state: str = "Pending"
    message: str = ""
    stage: str | None = None


class _Run:
    """One decision in progress (mutable scratch; ``decide`` returns only frozen results)."""

    def __init__(self, given: RolloutInput) -> None:
        self.given = given
        self.strategy = given.strategy
        self.now = given.now
        previous = given.previous or {}
        same = previous.get("revision") == given.generation and previous.get("strategy") == self.strategy.type
        self.previous = previous if same else {}
        self.started = parse_time(self.previous.get("started")) or self.now
        before = {
            str(c.get("name")): c for c in self.previous.get("clusters") or [] if isinstance(c, Mapping)
        }
        self.deadline = self.strategy.progress_deadline_seconds or DEFAULT_PROGRESS_DEADLINE
        self.max_failures = (
            DEFAULT_MAX_FAILURES if self.strategy.max_failures is None else self.strategy.max_failures
        )
        self.wake: list[float] = []
        self.clusters: dict[str, _Cluster] = {}
        for obs in sorted(given.clusters, key=lambda c: c.name):
            old = before.get(obs.name) or {}
            released = obs.revision == given.generation or old.get("revision") == given.generation
            since = parse_time(old.get("since")) if old.get("revision") == given.generation else None
            cluster = _Cluster(obs=obs, released=released, since=since or (self.now if released else None))
            self.clusters[obs.name] = cluster
            self._assess(cluster)

    # ---- per-cluster state -------------------------------------------------------------------
    def _assess(self, cluster: _Cluster) -> None:
        if not cluster.released:
            cluster.state, cluster.message = "Pending", ""
            return
        obs, since = cluster.obs, cluster.since or self.now
        age = (self.now - since).total_seconds()
        current = obs.revision == self.given.generation
        if current and obs.health == "Available":
            cluster.state, cluster.message = "Available", ""
            return
        if current and obs.health == "NotTracked":
            period = DEFAULT_UNAVAILABLE_PERIOD
            if self.strategy.type == "RollingUpdate" and self.strategy.rolling_update is not None:
                configured = self.strategy.rolling_update.unavailable_period_seconds
                period = DEFAULT_UNAVAILABLE_PERIOD if configured is None else configured
            if self.strategy.type != "RollingUpdate" or age >= period:
                cluster.state, cluster.message = "Available", ""
                return
            self.wake.append(period - age)
            cluster.state, cluster.message = "Progressing", f"health not tracked: waiting {period}s"
            return
        if current and obs.health == "Failed":
            cluster.state, cluster.message = "Failed", obs.message or "failed"
            return
        if age >= self.deadline:
            detail = f": {obs.message}" if obs.message else ""
            cluster.state = "Failed"
            cluster.message = f"not available within progressDeadlineSeconds ({self.deadline}s){detail}"
            return
        self.wake.append(self.deadline - age)
        cluster.state, cluster.message = "Progressing", obs.message

    def release(self, cluster: _Cluster) -> None:
        cluster.released, cluster.since = True, self.now
        self._assess(cluster)

    def in_flight(self, cluster: _Cluster) -> bool:
        return cluster.released and cluster.state == "Progressing"

    def failed(self) -> list[_Cluster]:
        return [c for c in self.clusters.values() if c.state == "Failed"]

    # ---- strategies ----------------------------------------------------------------------------
    def rolling(self) -> None:
        total = len(self.clusters)
        settings = self.strategy.rolling_update
        max_unavailable = resolve(
            settings.max_unavailable if settings else None,
            total=total,
            default=DEFAULT_MAX_UNAVAILABLE,
            round_up=False,
            at_least=1,
        )
        max_surge = resolve(
            settings.max_surge if settings else None,
            total=total,
            default=DEFAULT_MAX_SURGE,
            round_up=True,
            at_least=0,
        )
        existing = [c for c in self.clusters.values() if c.obs.has_previous]
        fresh = [c for c in self.clusters.values() if not c.obs.has_previous]
        unavailable = sum(1 for c in existing if not self._serving(c))
        for cluster in existing:
            if not cluster.released and unavailable < max_unavailable:
                serving = self._serving(cluster)
                self.release(cluster)
                if serving:
                    unavailable += 1  # it stops counting as available until it reports the new one
        surging = sum(1 for c in fresh if c.released and c.state != "Available")
        budget = max_surge if max_surge > 0 else max(max_unavailable - unavailable, 0)
        for cluster in fresh:
            if not cluster.released and surging < budget:
                self.release(cluster)
                surging += 1

    def _serving(self, cluster: _Cluster) -> bool:
        """Whether the cluster counts as available right now (any version)."""
        if cluster.released:
            return cluster.state == "Available"
        return cluster.obs.health in ("Available", "NotTracked")

    def staged(self) -> tuple[str | None, str | None, str | None]:
        """Release within the current stage; (stage, stage completed time, waiting reason)."""
        assert self.strategy.staged is not None
        stages = self.strategy.staged.stages
        assignment, _ = assign_stages(stages, [c.obs for c in self.clusters.values()])
        for name, stage_clusters in assignment.items():
            for member in stage_clusters:
                self.clusters[member].stage = name
        previous_stage = self.previous.get("stage")
        previous_completed = parse_time(self.previous.get("stageCompleted"))
        order = [stage.name for stage in stages]
        # stages before the one recorded have passed their gates already (not waited for again)
        passed = order.index(previous_stage) if previous_stage in order else 0
        last: str | None = None
        for index, stage in enumerate(stages):
            members = [self.clusters[m] for m in assignment[stage.name]]
            if not members:
                continue
            last = stage.name
            limit = resolve(
                stage.max_concurrency, total=len(members), default="100%", round_up=False, at_least=1
            )
            flying = sum(1 for c in members if self.in_flight(c))
            for cluster in members:
                if not cluster.released and flying < limit:
                    self.release(cluster)
                    flying += 1
            if not all(c.released and c.state in ("Available", "Failed") for c in members):
                return stage.name, None, None
            if index < passed:
                continue
            completed = (
                previous_completed if previous_stage == stage.name and previous_completed else self.now
            )
            waiting = self._gate(stage, completed)
            if waiting is not None:
                return stage.name, timestamp(completed), waiting
        return last, None, None

    def _gate(self, stage: RolloutStage, completed: datetime) -> str | None:
        after = stage.after
        if after is None:
            return None
        if after.wait_seconds:
            remaining = after.wait_seconds - (self.now - completed).total_seconds()
            if remaining > 0:
                self.wake.append(remaining)
                return REASON_WAITING_TIME
        if after.approval and self.given.approvals.get(stage.name) != self.given.generation:
            return REASON_WAITING_APPROVAL
        return None


def _cluster_status(cluster: _Cluster, generation: int) -> dict[str, Any]:
    out: dict[str, Any] = {"name": cluster.obs.name, "state": cluster.state}
    if cluster.stage is not None:
        out["stage"] = cluster.stage
    if cluster.released:
        out["revision"] = generation
        if cluster.since is not None:
            out["since"] = timestamp(cluster.since)
    if cluster.message:
        out["message"] = cluster.message[:1024]
    return out


def _halt_message(template: str, failed: Sequence[_Cluster], tolerated: int) -> str:
    parts = [f"{c.obs.name} ({c.message})" for c in failed]
    return (
        f"{len(failed)} cluster(s) failed (maxFailures {tolerated}) for {template}: "
        + "; ".join(parts)
        + "; the clusters not yet released keep the previous version"
    )


def decide(given: RolloutInput) -> RolloutDecision:
    """The rollout's next step for ``given.generation`` (see the module docstring)."""
    strategy = given.strategy
    if strategy.type == "All":
        return RolloutDecision(released=frozenset(c.name for c in given.clusters), status={}, conditions=())
    run = _Run(given)
    halted_before = run.previous.get("phase") == "Halted"
    problems: list[str] = []
    if strategy.type == "Staged" and strategy.staged is None:
        problems.append("spec.rolloutStrategy.staged: required when type is Staged")
    if strategy.type == "Staged" and strategy.staged is not None:
        problems = stage_problems(strategy.staged.stages, given.fleet_labels)
        _, unassigned = assign_stages(strategy.staged.stages, list(given.clusters))
        if unassigned:
            problems.append(
                "spec.rolloutStrategy.staged.stages: no stage selects cluster(s) " + ", ".join(unassigned)
            )
    stage: str | None = None
    stage_completed: str | None = None
    waiting: str | None = None
    failed = run.failed()
    halted = halted_before or len(failed) > run.max_failures
    if not problems and not halted and not given.paused:
        if strategy.type == "RollingUpdate":
            run.rolling()
        else:
            stage, stage_completed, waiting = run.staged()
        failed = run.failed()
        halted = len(failed) > run.max_failures
    elif strategy.type == "Staged" and strategy.staged is not None:
        assignment, _ = assign_stages(strategy.staged.stages, list(given.clusters))
        for name, members in assignment.items():
            for member in members:
                run.clusters[member].stage = name
        stage = run.previous.get("stage")
    clusters = list(run.clusters.values())
    complete = bool(clusters) and all(c.released and c.state in ("Available", "Failed") for c in clusters)
    if problems:
        phase, reason, message = "Invalid", REASON_INVALID, "; ".join(problems)
    elif halted:
        phase, reason = "Halted", REASON_HALTED
        message = _halt_message(given.template, run.failed(), run.max_failures)
    elif given.paused:
        phase, reason, message = (
            "Paused",
            REASON_PAUSED,
            "paused: no cluster gets the new revision until resumed",
        )
    elif waiting is not None:
        phase, reason = "Waiting", waiting
        message = (
            f"stage {stage} is available; waiting for `waybill rollout approve --stage {stage}`"
            if waiting == REASON_WAITING_APPROVAL
            else f"stage {stage} is available; waiting before the next stage"
        )
    elif complete:
        phase, reason, message = (
            "Complete",
            REASON_COMPLETE,
            f"revision {given.generation} is on every cluster",
        )
    else:
        phase, reason = "Progressing", REASON_PROGRESSING
        released = sum(1 for c in clusters if c.released)
        message = f"revision {given.generation} released to {released} of {len(clusters)} cluster(s)"
    status: dict[str, Any] = {
        "strategy": strategy.type,
        "revision": given.generation,
        "phase": phase,
        "started": timestamp(run.started),
        "clusters": [_cluster_status(c, given.generation) for c in clusters],
        "message": message[:4096],
    }
    if given.content_digest is not None:
        status["contentDigest"] = given.content_digest
    if stage is not None:
        status["stage"] = stage
    if stage_completed is not None:
        status["stageCompleted"] = stage_completed
    progressing_status = {"Invalid": "False", "Halted": "False", "Paused": "Unknown"}.get(phase, "True")
    conds = (
        WantedCondition(
            type=names.CONDITION_ROLLOUT_PROGRESSING,
            status=progressing_status,
            reason=reason,
            message=message,
        ),
        WantedCondition(
            type=names.CONDITION_ROLLOUT_HALTED,
            status="True" if phase == "Halted" else "False",
            reason=REASON_HALTED if phase == "Halted" else REASON_NOT_HALTED,
            message=message if phase == "Halted" else "",
        ),
    )
    wake = [w for w in run.wake if w > 0] if phase in ("Progressing", "Waiting", "Paused") else []
    return RolloutDecision(
        released=frozenset(c.obs.name for c in clusters if c.released),
        status=status,
        conditions=conds,
        requeue_after=min(wake) if wake else None,
        halted=phase == "Halted",
    )
