"""Placement: which members get a template, and how many replicas each (pure).

``schedule(placement=..., template=..., clusters=...)`` runs the filters in a fixed order and
returns a ``Decision`` that a user can read: the chosen clusters with their replicas, and for
every cluster left out a reason. ``placement`` is the typed ``shared.api.policy.Placement`` (a
``PolicyView``'s, parsed once per policy version); ``parse_placement`` / ``parse_affinity`` turn
wire dicts into it, and a placement that does not parse is a ``PlacementError`` naming the field
(the scheduler reports it as ``InvalidPlacement``). Order of the filters:

1. affinity (``clusterNames``, ``exclude``, ``labelSelector``, ``fieldSelector``), taken from
   ``placement.clusterAffinity`` or, with ``placement.clusterAffinities``, from the first group
   (in order) that yields at least one cluster, starting from the group the template is on
   (``current_affinity``: as Karmada, a template does not move back to an earlier group when it
   recovers);
2. taints vs ``clusterTolerations`` (NoSchedule and NoExecute; a NoSchedule taint never evicts a
   cluster that already holds the template, so a network blip moves nothing; a NoExecute taint
   tolerated with ``tolerationSeconds`` evicts that long after its ``timeAdded``; Karmada's
   ``cluster.karmada.io/not-ready|unreachable`` keys mean Waybill's);
3. the member must serve the template's API (when it has reported what it serves), and
   ``workloadAffinity`` (``hub.workload_affinity``: peers of the same label value);
4. ``spreadConstraints``, selected as Karmada's scheduler does (``hub.spread``: region, zone,
   provider and label groups, then the cluster count; clusters that already hold the template
   first, then most room), and ``maxClusters``;
5. replicas (see ``hub.replicas``): Duplicated, or Divided by static weights, by available
   capacity (``dynamicWeight: AvailableReplicas``) or Aggregated, within per-cluster min/max.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from hub import failover, interpretation, selectors, spread, workload_affinity
from hub import replicas as replica_math
from hub.clusters import ClusterView, Taint
from shared.api.meta import parse_time as _time
from shared.api.policy import (
    ClusterAffinity,
    ClusterAffinityTerm,
    OverflowClusterAffinity,
    Placement,
    SpreadConstraint,
    StaticClusterWeight,
    Toleration,
)
from shared.api.quantity import QuantityError, parse_quantity
from shared.api.validation import problems_from_error
from shared.interpreter import Interpreter, InterpreterError

SPREAD_FIELDS = ("cluster", "region", "zone", "provider")


@dataclass(frozen=True)
class Rejection:
    cluster: str
    reason: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"cluster": self.cluster, "reason": self.reason, "message": self.message}


@dataclass(frozen=True)
class Target:
    cluster: str
    replicas: int | None = None
    reason: str = "Scheduled"  # or GracefulEviction: an evicted copy kept until its replacement is healthy

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.cluster}
        if self.replicas is not None:
            out["replicas"] = self.replicas
        return out


@dataclass
class Decision:
    """The result of scheduling one template."""

    targets: list[Target] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    schedulable: bool = True
    message: str = ""
    affinity_name: str | None = None
    total_replicas: int | None = None
    unplaced_replicas: int = 0
    recheck_at: datetime | None = None
    """When a NoExecute toleration runs out: the decision may change then without any event."""

    @property
    def cluster_names(self) -> list[str]:
        return [t.cluster for t in self.targets]

    def replicas_by_cluster(self) -> dict[str, int | None]:
        return {t.cluster: t.replicas for t in self.targets}


class PlacementError(ValueError):
    """The policy's placement cannot be evaluated (a bad selector, a bad spread constraint, or
    the template's replicas: a ResourceInterpreterCustomization's InterpretReplica failed).

    ``reason``: a condition reason for the binding's Scheduled=False (None: InvalidPlacement).
    """

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason


# ---------------------------------------------------------------- parsing (wire dicts -> models)


def _first_problem(exc: ValidationError, root: str) -> str:
    problems = problems_from_error(exc, root=root)
    return "; ".join(str(p) for p in problems) or f"{root}: does not parse"


def parse_placement(policy_spec: Mapping[str, Any] | None) -> Placement:
    """The typed placement of a policy spec (wire form); ``PlacementError`` naming the field
    (``placement.clusterAffinity.labelSelector.matchExpressions[0].operator: ...``)."""
    raw = (policy_spec or {}).get("placement") or {}
    if not isinstance(raw, Mapping):
        raise PlacementError("placement: must be an object")
    try:
        return Placement.from_dict(raw)
    except ValidationError as exc:
        raise PlacementError(_first_problem(exc, "placement")) from exc


def parse_affinity(
    affinity: Mapping[str, Any] | None, *, field: str = "clusterAffinity"
) -> ClusterAffinity | None:
    """A ClusterAffinity from its wire form (None stays None); ``PlacementError`` naming the field."""
    if affinity is None:
        return None
    if not isinstance(affinity, Mapping):
        raise PlacementError(f"{field}: must be an object")
    try:
        return ClusterAffinity.from_dict(affinity)
    except ValidationError as exc:
        raise PlacementError(_first_problem(exc, field)) from exc


def _toleration(toleration: Toleration | Mapping[str, Any]) -> Toleration:
    if isinstance(toleration, Toleration):
        return toleration
    try:
        return Toleration.from_dict(toleration)
    except ValidationError as exc:
        raise PlacementError(_first_problem(exc, "clusterTolerations")) from exc


# ---------------------------------------------------------------- filters, one cluster at a time


def affinity_rejection(
    affinity: ClusterAffinity | Mapping[str, Any] | None, cluster: ClusterView
) -> Rejection | None:
    """Why ``cluster`` fails a ClusterAffinity (a wire dict is parsed first), or None if it passes."""
    if affinity is not None and not isinstance(affinity, ClusterAffinity):
        affinity = parse_affinity(affinity)
    if affinity is None:
        return None
    if affinity.cluster_names and cluster.name not in affinity.cluster_names:
        return Rejection(cluster.name, "NotInClusterNames", "not listed in clusterNames")
    if cluster.name in affinity.exclude:
        return Rejection(cluster.name, "Excluded", "listed in exclude")
    try:
        if not selectors.labels_match(affinity.label_selector, cluster.labels):
            return Rejection(cluster.name, "LabelSelectorMismatch", "labels do not match labelSelector")
        if not selectors.fields_match(affinity.field_selector, cluster.fields):
            return Rejection(
                cluster.name, "FieldSelectorMismatch", "provider/region/zone do not match fieldSelector"
            )
    except selectors.SelectorError as exc:
        raise PlacementError(f"placement selector: {exc}") from exc
    return None


def tolerates(toleration: Toleration | Mapping[str, Any], taint: Taint) -> bool:
    """core/v1 matching; Karmada's ``cluster.karmada.io/not-ready|unreachable`` keys mean Waybill's."""
    parsed = _toleration(toleration)
    if parsed.effect and parsed.effect != taint.effect:
        return False
    key = failover.canonical_key(parsed.key)
    if key and key != failover.canonical_key(taint.key):
        return False
    # core/v1 ToleratesTaint: an empty key matches every key; Equal then compares the values
    return parsed.operator == "Exists" or (parsed.value or "") == (taint.value or "")


def toleration_deadline(tolerations: Sequence[Toleration], taint: Taint) -> datetime | None:
    """When a tolerated NoExecute taint stops being tolerated (``tolerationSeconds`` after it was
    added; the smallest when several match); None: tolerated for good."""
    matching = [t for t in tolerations if tolerates(t, taint)]
    if not matching or any(t.toleration_seconds is None for t in matching):
        return None
    added = _time(taint.time_added) or datetime.now(UTC)
    seconds = max(min(t.toleration_seconds or 0 for t in matching), 0)
    return added + timedelta(seconds=seconds)


def taint_rejection(
    tolerations: Sequence[Toleration],
    cluster: ClusterView,
    *,
    already_placed: bool,
    now: datetime | None = None,
) -> Rejection | None:
    now = now or datetime.now(UTC)
    for taint in cluster.taints:
        if taint.effect not in ("NoSchedule", "NoExecute"):
            continue
        value = f"={taint.value}" if taint.value else ""
        if any(tolerates(t, taint) for t in tolerations):
            deadline = toleration_deadline(tolerations, taint) if taint.effect == "NoExecute" else None
            if deadline is not None and now >= deadline:
                return Rejection(
                    cluster.name,
                    "TolerationExpired",
                    f"taint {taint.key}{value}:NoExecute was tolerated until {deadline.isoformat()}",
                )
            continue
        if taint.effect == "NoSchedule" and already_placed:
            continue  # NoSchedule keeps what is already there
        return Rejection(
            cluster.name, "TaintNotTolerated", f"taint {taint.key}{value}:{taint.effect} is not tolerated"
        )
    return None


def next_toleration_deadline(
    tolerations: Sequence[Toleration], clusters: Sequence[ClusterView], *, now: datetime
) -> datetime | None:
    """The earliest future moment a NoExecute toleration of these clusters runs out (to look again)."""
    deadlines = [
        deadline
        for cluster in clusters
        for taint in cluster.taints
        if taint.effect == "NoExecute"
        for deadline in (toleration_deadline(tolerations, taint),)
        if deadline is not None and deadline > now
    ]
    return min(deadlines, default=None)


def _workload_rejection(restriction: workload_affinity.Restriction, cluster: ClusterView) -> Rejection | None:
    reason = restriction.rejects(cluster.name)
    if reason is None:
        return None
    what = (
        "no workload of its affinity group runs there"
        if reason == "WorkloadAffinity"
        else ("a workload of its anti-affinity group runs there")
    )
    return Rejection(cluster.name, reason, what)


def api_rejection(template: Mapping[str, Any], cluster: ClusterView) -> Rejection | None:
    api_version, kind = str(template.get("apiVersion", "")), str(template.get("kind", ""))
    if cluster.serves(api_version, kind):
        return None
    return Rejection(cluster.name, "APINotServed", f"the member does not serve {api_version} {kind}")


# ---------------------------------------------------------------- ranking and spreading


@dataclass(frozen=True)
class _Candidate:
    cluster: ClusterView
    previous: int  # replicas (or 1 for a non-workload) it holds now; 0 if none
    capacity: int | None  # how many replicas of this template fit; None: unknown/unlimited

    @property
    def cpu(self) -> float:
        available = self.cluster.available or {}
        try:
            return float(parse_quantity(available.get("cpu", 0)))
        except QuantityError:
            return 0.0


def _rank(candidate: _Candidate) -> tuple[int, float, float, str]:
    capacity = float("inf") if candidate.capacity is None else float(candidate.capacity)
    return (0 if candidate.previous > 0 else 1, -capacity, -candidate.cpu, candidate.cluster.name)


def _check_spread(constraints: Sequence[SpreadConstraint]) -> None:
    """What the model alone does not refuse: both fields set, minGroups above maxGroups."""
    for index, constraint in enumerate(constraints):
        by_field, by_label = constraint.spread_by_field, constraint.spread_by_label
        if by_field and by_label:
            raise PlacementError(
                f"placement.spreadConstraints[{index}]: set spreadByField or spreadByLabel, not both"
            )
        low, high = constraint.min_groups, constraint.max_groups
        if low and high and low > high:
            what = f"label {by_label}" if by_label else str(by_field or "cluster")
            raise PlacementError(
                f"placement.spreadConstraints[{index}]: spread by {what}: minGroups {low} > maxGroups {high}"
            )


def apply_spread(
    constraints: Sequence[SpreadConstraint],
    candidates: list[_Candidate],
    *,
    replicas: int | None = None,
    divided: bool = False,
) -> tuple[list[_Candidate], list[Rejection], str | None]:
    """Keep the clusters ``hub.spread`` selects (Karmada's group selection); an error when none can be."""
    _check_spread(constraints)
    if not constraints:
        return list(candidates), [], None
    by_name = {c.cluster.name: c for c in candidates}
    result = spread.select(
        list(constraints),
        [
            spread.SpreadCandidate(
                name=c.cluster.name,
                score=spread.LOCALITY_SCORE if c.previous > 0 else 0,
                # Karmada counts the replicas a cluster runs now as room it has.
                available=None if c.capacity is None else c.capacity + c.previous,
                fields={k: v for k, v in c.cluster.fields.items() if v},
                labels=c.cluster.labels,
            )
            for c in candidates
        ],
        replicas=replicas or 0,
        divided=divided,
    )
    rejections = [Rejection(x.cluster, x.reason, x.message) for x in result.left_out]
    if result.error is not None:
        return [], rejections, result.error
    kept = sorted((by_name[name] for name in result.chosen), key=_rank)
    return kept, rejections, None


# ---------------------------------------------------------------- replicas


def _static_weight(weight_list: Sequence[StaticClusterWeight], cluster: ClusterView) -> int:
    weight = 0
    for rule in weight_list:
        if affinity_rejection(rule.target_cluster, cluster) is None:
            weight = max(weight, rule.weight)
    return weight


def _limits(placement: Placement, clusters: Sequence[ClusterView]) -> tuple[dict[str, int], dict[str, int]]:
    """Per-cluster minReplicas/maxReplicas: the first ``clusterReplicaLimits`` entry selecting it."""
    rules = placement.replica_scheduling.cluster_replica_limits if placement.replica_scheduling else []
    minimums: dict[str, int] = {}
    maximums: dict[str, int] = {}
    for cluster in clusters:
        for rule in rules:
            if affinity_rejection(rule.target_cluster, cluster) is not None:
                continue
            if rule.min_replicas is not None:
                minimums[cluster.name] = rule.min_replicas
            if rule.max_replicas is not None:
                maximums[cluster.name] = rule.max_replicas
            break
    return minimums, maximums


def divide(placement: Placement, total: int, candidates: Sequence[_Candidate]) -> replica_math.Division:
    """Replicas per chosen cluster for a Divided policy (or Duplicated: everyone gets total)."""
    scheduling = placement.replica_scheduling
    names = [c.cluster.name for c in candidates]
    # No replicaScheduling: every cluster runs all replicas; with it, the type defaults to Divided.
    if scheduling is None or scheduling.replica_scheduling_type != "Divided":
        return replica_math.Division(replicas=dict.fromkeys(names, total))
    views = [c.cluster for c in candidates]
    previous = {c.cluster.name: c.previous for c in candidates}
    minimums, maximums = _limits(placement, views)
    if scheduling.replica_division_preference == "Aggregated":
        return replica_math.aggregate(
            total, {c.cluster.name: c.capacity for c in candidates}, previous=previous, maximums=maximums
        )
    # Weighted (the default); the model admits no other preference or dynamic weight factor
    weight_preference = scheduling.weight_preference
    if weight_preference is not None and weight_preference.dynamic_weight:
        known = [c.capacity for c in candidates if c.capacity is not None]
        fallback = max(known, default=1)
        weights = {c.cluster.name: fallback if c.capacity is None else c.capacity for c in candidates}
    elif weight_preference is not None and weight_preference.static_weight_list:
        weights = {v.name: _static_weight(weight_preference.static_weight_list, v) for v in views}
        if not any(weights.values()):
            weights = dict.fromkeys(names, 1)
    else:
        weights = dict.fromkeys(names, 1)
    return replica_math.divide_by_weights(
        total, weights, minimums=minimums, maximums=maximums, previous=previous
    )


# ---------------------------------------------------------------- the whole decision


def _overflow_allowed(placement: Placement) -> bool:
    """Karmada: overflow groups need dynamic weights or Aggregated division."""
    scheduling = placement.replica_scheduling
    if scheduling is None or scheduling.replica_scheduling_type != "Divided":
        return False
    return scheduling.replica_division_preference == "Aggregated" or bool(
        scheduling.weight_preference is not None and scheduling.weight_preference.dynamic_weight
    )


def _overflow_order(
    affinity: ClusterAffinity | None, overflow: Sequence[OverflowClusterAffinity], cluster: ClusterView
) -> int | None:
    """0 for a cluster of the primary group, i for the i-th overflow group (its first), None: neither."""
    if affinity_rejection(affinity, cluster) is None:
        return 0
    for index, group in enumerate(overflow, start=1):
        if affinity_rejection(group, cluster) is None:
            return index
    return None


def _expand_overflow(
    candidates: list[_Candidate], orders: Mapping[str, int], *, total: int | None
) -> tuple[list[_Candidate], list[Rejection]]:
    """Karmada's overflowAffinities: the primary group, then overflow groups in order, only as far as
    needed for the replicas to fit (so a scale-down contracts them in reverse)."""
    kept: list[_Candidate] = []
    room = 0.0
    levels = sorted({orders[c.cluster.name] for c in candidates})
    for level in levels:
        if kept and total is not None and room >= total:
            break
        if kept and total is None:
            break
        group = [c for c in candidates if orders[c.cluster.name] == level]
        kept += group
        room += sum(float("inf") if c.capacity is None else c.capacity + c.previous for c in group)
    names = {c.cluster.name for c in kept}
    rejections = [
        Rejection(c.cluster.name, "OverflowNotNeeded", "its overflow group is not needed for the replicas")
        for c in candidates
        if c.cluster.name not in names
    ]
    return sorted(kept, key=lambda c: (orders[c.cluster.name], _rank(c))), rejections


def _aggregated(placement: Placement) -> bool:
    scheduling = placement.replica_scheduling
    return scheduling is not None and scheduling.replica_division_preference == "Aggregated"


def _fill(total: int, kept: Sequence[_Candidate], order: Sequence[str]) -> replica_math.Division:
    """Aggregated over overflow groups: fill clusters in order (primary group first) up to their room."""
    by_name = {c.cluster.name: c for c in kept}
    replicas: dict[str, int] = {}
    left = total
    for name in order:
        candidate = by_name[name]
        room = left if candidate.capacity is None else min(left, candidate.capacity + candidate.previous)
        if room > 0:
            replicas[name] = room
            left -= room
    return replica_math.Division(replicas=replicas, unplaced=left)


def capacity_sensitive(placement: Placement) -> bool:
    """Whether decisions read members' available capacity (Aggregated division or dynamic weights):
    a change of a member's room reschedules such a policy's templates."""
    scheduling = placement.replica_scheduling
    if scheduling is None:
        return False
    return scheduling.replica_division_preference == "Aggregated" or bool(
        scheduling.weight_preference is not None and scheduling.weight_preference.dynamic_weight
    )


def _divided(placement: Placement) -> bool:
    """Whether replicas are divided (so cluster room matters when choosing clusters, as in Karmada)."""
    scheduling = placement.replica_scheduling
    return scheduling is not None and scheduling.replica_scheduling_type == "Divided"


def _affinity_groups(
    placement: Placement, current: str | None = None
) -> list[tuple[str | None, ClusterAffinity | None, list[OverflowClusterAffinity]]]:
    if placement.cluster_affinities:
        terms: list[ClusterAffinityTerm] = placement.cluster_affinities
        # Karmada starts from the group the template is on and never goes back to an earlier one.
        start = next((i for i, term in enumerate(terms) if term.affinity_name == current), 0)
        return [(t.affinity_name, t, t.overflow_affinities) for t in terms[start:]]
    return [(None, placement.cluster_affinity, [])]


def schedule(
    *,
    placement: Placement | None = None,
    policy_spec: Mapping[str, Any] | None = None,
    template: Mapping[str, Any],
    clusters: Sequence[ClusterView],
    previous: Mapping[str, int | None] | None = None,
    interpreter: Interpreter | None = None,
    now: datetime | None = None,
    current_affinity: str | None = None,
    peers: Sequence[workload_affinity.Peer] = (),
    health: Mapping[str, str] | None = None,
    graceful_seconds: float | None = None,
    app_evicted: Mapping[str, datetime] | None = None,
    app_purge: str = "Gracefully",
    app_grace_seconds: float = 600.0,
) -> Decision:
    """Decide where ``template`` goes under a typed ``placement`` (or, for callers holding a wire
    policy spec, ``policy_spec``, parsed here). Raises ``PlacementError`` on bad input.

    ``previous`` maps clusters that hold the template now to their replicas (None for kinds
    without replicas); it only breaks ties, so unchanged inputs keep their placement.
    ``interpreter``: the hub's ResourceInterpreterCustomizations (``hub.interpretation``: the
    replicas to divide and each one's requests); None: the built-in rules only.
    """
    if placement is None:
        placement = parse_placement(policy_spec)
    before = {name: (1 if count is None else max(count, 1)) for name, count in (previous or {}).items()}
    tolerations = placement.cluster_tolerations
    try:
        total, requests = interpretation.replicas(template, interpreter)
    except InterpreterError as exc:
        raise PlacementError(
            interpretation.describe(exc), reason=interpretation.REASON_INTERPRETATION_FAILED
        ) from exc
    ordered_clusters = sorted(clusters, key=lambda c: c.name)
    now = now or datetime.now(UTC)
    workload = placement.workload_affinity
    restriction = workload_affinity.restriction(
        labels=(template.get("metadata") or {}).get("labels") or {},
        affinity_key=workload.affinity.group_by_label_key if workload and workload.affinity else None,
        anti_affinity_key=(
            workload.anti_affinity.group_by_label_key if workload and workload.anti_affinity else None
        ),
        peers=peers,
    )
    decision = Decision(total_replicas=total)
    decision.recheck_at = next_toleration_deadline(tolerations, ordered_clusters, now=now)

    def keep_old_copies(decision: Decision) -> None:
        """Evicted copies that wait for their replacements (cluster, then application failover)."""
        _keep_evicted(
            decision,
            previous=previous or {},
            clusters=ordered_clusters,
            tolerations=tolerations,
            health=health or {},
            now=now,
            grace=graceful_seconds,
        )
        _keep_app_evicted(
            decision,
            previous=previous or {},
            evicted=app_evicted or {},
            health=health or {},
            now=now,
            purge=app_purge,
            grace=app_grace_seconds,
        )

    skipped: list[str] = []
    for affinity_name, affinity, overflow in _affinity_groups(placement, current_affinity):
        rejections: list[Rejection] = []
        candidates: list[_Candidate] = []
        if overflow and not _overflow_allowed(placement):
            raise PlacementError(
                "overflowAffinities can only be used with dynamicWeight or Aggregated replica scheduling"
            )
        orders: dict[str, int] = {}
        for cluster in ordered_clusters:
            order = _overflow_order(affinity, overflow, cluster) if overflow else None
            if order is not None:
                orders[cluster.name] = order
            rejection = (
                (None if order is not None else affinity_rejection(affinity, cluster))
                or taint_rejection(tolerations, cluster, already_placed=cluster.name in before, now=now)
                or api_rejection(template, cluster)
                or _workload_rejection(restriction, cluster)
                or (
                    Rejection(
                        cluster.name,
                        "ApplicationFailover",
                        "the workload stayed unhealthy here and was moved off (failover.application)",
                    )
                    if cluster.name in (app_evicted or {})
                    else None
                )
            )
            if rejection:
                rejections.append(rejection)
                continue
            capacity = replica_math.capacity_replicas(cluster.available, requests) if requests else None
            candidates.append(_Candidate(cluster, before.get(cluster.name, 0), capacity))
        candidates.sort(key=_rank)
        if overflow:
            candidates, overflow_rejections = _expand_overflow(candidates, orders, total=total)
            rejections.extend(overflow_rejections)
        kept, spread_rejections, spread_error = apply_spread(
            placement.spread_constraints,
            candidates,
            replicas=total,
            divided=_divided(placement),
        )
        rejections.extend(spread_rejections)
        if spread_error is None and kept:
            decision.affinity_name = affinity_name
            decision.rejections = rejections
            _finish(
                decision,
                placement=placement,
                kept=kept,
                total=total,
                fill_order=(
                    [c.cluster.name for c in sorted(kept, key=lambda c: (orders[c.cluster.name], _rank(c)))]
                    if overflow and _aggregated(placement)
                    else None
                ),
            )
            keep_old_copies(decision)
            if skipped:
                decision.message = (
                    f"affinity groups {', '.join(skipped)} had no eligible cluster; " + decision.message
                ).rstrip("; ")
            return decision
        skipped.append(affinity_name or "clusterAffinity")
        decision.rejections = rejections
        decision.message = spread_error or "no cluster is eligible"
    decision.schedulable = False
    keep_old_copies(decision)  # also when nothing else is eligible: the old copies stay
    return decision


def eviction_moment(
    tolerations: Sequence[Toleration], cluster: ClusterView, *, now: datetime
) -> datetime | None:
    """When a NoExecute taint evicted (or evicts) workloads with these tolerations from ``cluster``."""
    moments = []
    for taint in cluster.taints:
        if taint.effect != "NoExecute":
            continue
        if not any(tolerates(t, taint) for t in tolerations):
            moments.append(_time(taint.time_added) or now)
            continue
        deadline = toleration_deadline(tolerations, taint)
        if deadline is not None and deadline <= now:
            moments.append(deadline)
    return min(moments, default=None)


def _keep(
    decision: Decision, name: str, replicas: int | None, *, now: datetime, until: datetime | None
) -> None:
    """Keep an evicted copy on ``name`` (not reported as rejected); with ``until``, look again
    soon for the replacement's health, and at the latest when the grace ends."""
    decision.targets.append(Target(name, replicas, reason="GracefulEviction"))
    decision.targets.sort(key=lambda t: t.cluster)
    decision.rejections = [r for r in decision.rejections if r.cluster != name]
    if until is not None:
        soon = min(until, now + timedelta(seconds=2))
        decision.recheck_at = soon if decision.recheck_at is None else min(decision.recheck_at, soon)


def _keep_evicted(
    decision: Decision,
    *,
    previous: Mapping[str, int | None],
    clusters: Sequence[ClusterView],
    tolerations: Sequence[Toleration],
    health: Mapping[str, str],
    now: datetime,
    grace: float | None,
) -> None:
    """Graceful eviction (Karmada's default purge mode): a copy evicted by a NoExecute taint stays
    until every replacing cluster is Healthy or ``grace`` seconds have passed since the eviction."""
    if grace is None:
        return
    chosen = {t.cluster for t in decision.targets}
    replaced = bool(chosen) and all(health.get(name) == "Healthy" for name in chosen)
    views = {c.name: c for c in clusters}
    for name, replicas in sorted(previous.items()):
        view = views.get(name)
        if name in chosen or view is None:
            continue
        moment = eviction_moment(tolerations, view, now=now)
        if moment is None:
            continue
        until = moment + timedelta(seconds=grace)
        if replaced or now >= until:
            continue
        _keep(decision, name, replicas, now=now, until=until)


def _keep_app_evicted(
    decision: Decision,
    *,
    previous: Mapping[str, int | None],
    evicted: Mapping[str, datetime],
    health: Mapping[str, str],
    now: datetime,
    purge: str,
    grace: float,
) -> None:
    """Application failover's purge: Directly drops the old copy, Gracefully keeps it until the
    replacements are Healthy or ``grace`` seconds passed, Never keeps it (a person cleans up)."""
    if purge == "Directly":
        return
    chosen = {t.cluster for t in decision.targets}
    replaced = bool(chosen) and all(health.get(name) == "Healthy" for name in chosen)
    for name, since in sorted(evicted.items()):
        if name in chosen or name not in previous:
            continue
        until = since + timedelta(seconds=grace)
        if purge != "Never" and (replaced or now >= until):
            continue
        _keep(decision, name, previous[name], now=now, until=None if purge == "Never" else until)


def _finish(
    decision: Decision,
    *,
    placement: Placement,
    kept: list[_Candidate],
    total: int | None,
    fill_order: list[str] | None = None,
) -> None:
    max_clusters = placement.max_clusters or 0
    if max_clusters and len(kept) > max_clusters:
        decision.rejections.extend(
            Rejection(c.cluster.name, "MaxClusters", f"maxClusters {max_clusters} reached")
            for c in kept[max_clusters:]
        )
        kept = kept[:max_clusters]
    if total is None:
        decision.targets = sorted((Target(c.cluster.name) for c in kept), key=lambda t: t.cluster)
        return
    division = _fill(total, kept, fill_order) if fill_order else divide(placement, total, kept)
    decision.unplaced_replicas = division.unplaced
    decision.message = "; ".join(division.notes)
    targets: list[Target] = []
    for candidate in kept:
        count = division.replicas.get(candidate.cluster.name, 0)
        if count == 0 and total > 0:
            decision.rejections.append(
                Rejection(
                    candidate.cluster.name,
                    "NoReplicasAssigned",
                    "eligible, but the division gave it 0 replicas",
                )
            )
            continue
        targets.append(Target(candidate.cluster.name, count))
    decision.targets = sorted(targets, key=lambda t: t.cluster)
    decision.rejections.sort(key=lambda r: r.cluster)
