"""Placement: which members get a template, and how many replicas each (pure).

``schedule(policy_spec=..., template=..., clusters=...)`` runs the filters in a fixed order and
returns a ``Decision`` that a user can read: the chosen clusters with their replicas, and for
every cluster left out a reason. Order of the filters:

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
from shared.api.policy import SpreadConstraint
from shared.api.quantity import QuantityError, parse_quantity
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


# ---------------------------------------------------------------- filters, one cluster at a time


def affinity_rejection(affinity: Mapping[str, Any] | None, cluster: ClusterView) -> Rejection | None:
    """Why ``cluster`` fails a ClusterAffinity, or None if it passes."""
    if not affinity:
        return None
    names = affinity.get("clusterNames") or []
    if names and cluster.name not in names:
        return Rejection(cluster.name, "NotInClusterNames", "not listed in clusterNames")
    if cluster.name in (affinity.get("exclude") or []):
        return Rejection(cluster.name, "Excluded", "listed in exclude")
    try:
        if not selectors.labels_match(affinity.get("labelSelector"), cluster.labels):
            return Rejection(cluster.name, "LabelSelectorMismatch", "labels do not match labelSelector")
        if not selectors.fields_match(affinity.get("fieldSelector"), cluster.fields):
            return Rejection(
                cluster.name, "FieldSelectorMismatch", "provider/region/zone do not match fieldSelector"
            )
    except selectors.SelectorError as exc:
        raise PlacementError(f"placement selector: {exc}") from exc
    return None


def tolerates(toleration: Mapping[str, Any], taint: Taint) -> bool:
    """core/v1 matching; Karmada's ``cluster.karmada.io/not-ready|unreachable`` keys mean Waybill's."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.effect:
        return False
    operator = toleration.get("operator") or "Equal"
    key = failover.canonical_key(toleration.get("key"))
    if key and key != failover.canonical_key(taint.key):
        return False
    # core/v1 ToleratesTaint: an empty key matches every key; Equal then compares the values
    return operator == "Exists" or str(toleration.get("value") or "") == (taint.value or "")


def toleration_deadline(tolerations: Sequence[Mapping[str, Any]], taint: Taint) -> datetime | None:
    """When a tolerated NoExecute taint stops being tolerated (``tolerationSeconds`` after it was
    added; the smallest when several match); None: tolerated for good."""
    matching = [t for t in tolerations if tolerates(t, taint)]
    if not matching or any(t.get("tolerationSeconds") is None for t in matching):
        return None
    added = _time(taint.time_added) or datetime.now(UTC)
    seconds = max(min(int(t.get("tolerationSeconds") or 0) for t in matching), 0)
    return added + timedelta(seconds=seconds)


def taint_rejection(
    tolerations: Sequence[Mapping[str, Any]],
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
    tolerations: Sequence[Mapping[str, Any]], clusters: Sequence[ClusterView], *, now: datetime
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


def _spread_constraints(constraints: Sequence[Mapping[str, Any]]) -> list[SpreadConstraint]:
    parsed = []
    for index, constraint in enumerate(constraints):
        by_field, by_label = constraint.get("spreadByField"), constraint.get("spreadByLabel")
        if by_field and by_label:
            raise PlacementError(f"spreadConstraints[{index}]: set spreadByField or spreadByLabel, not both")
        if by_field and by_field not in SPREAD_FIELDS:
            raise PlacementError(f"spreadByField {by_field!r} is not one of {', '.join(SPREAD_FIELDS)}")
        low, high = constraint.get("minGroups"), constraint.get("maxGroups")
        if low and high and int(low) > int(high):
            what = f"label {by_label}" if by_label else str(by_field or "cluster")
            raise PlacementError(f"spread by {what}: minGroups {low} > maxGroups {high}")
        try:
            parsed.append(SpreadConstraint.from_dict(constraint))
        except ValidationError as exc:
            raise PlacementError(f"spreadConstraints[{index}]: {exc.errors()[0]['msg']}") from exc
    return parsed


def apply_spread(
    constraints: Sequence[Mapping[str, Any]],
    candidates: list[_Candidate],
    *,
    replicas: int | None = None,
    divided: bool = False,
) -> tuple[list[_Candidate], list[Rejection], str | None]:
    """Keep the clusters ``hub.spread`` selects (Karmada's group selection); an error when none can be."""
    parsed = _spread_constraints(constraints)
    if not parsed:
        return list(candidates), [], None
    by_name = {c.cluster.name: c for c in candidates}
    result = spread.select(
        parsed,
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


def _static_weight(weight_list: Sequence[Mapping[str, Any]], cluster: ClusterView) -> int:
    weight = 0
    for rule in weight_list:
        if affinity_rejection(rule.get("targetCluster"), cluster) is None:
            weight = max(weight, int(rule.get("weight") or 0))
    return weight


def _limits(
    policy_spec: Mapping[str, Any], clusters: Sequence[ClusterView]
) -> tuple[dict[str, int], dict[str, int]]:
    """Per-cluster minReplicas/maxReplicas: the first ``clusterReplicaLimits`` entry selecting it."""
    scheduling = (policy_spec.get("placement") or {}).get("replicaScheduling") or {}
    minimums: dict[str, int] = {}
    maximums: dict[str, int] = {}
    for cluster in clusters:
        for rule in scheduling.get("clusterReplicaLimits") or []:
            if affinity_rejection(rule.get("targetCluster"), cluster) is not None:
                continue
            if rule.get("minReplicas") is not None:
                minimums[cluster.name] = int(rule["minReplicas"])
            if rule.get("maxReplicas") is not None:
                maximums[cluster.name] = int(rule["maxReplicas"])
            break
    return minimums, maximums


def divide(
    policy_spec: Mapping[str, Any], total: int, candidates: Sequence[_Candidate]
) -> replica_math.Division:
    """Replicas per chosen cluster for a Divided policy (or Duplicated: everyone gets total)."""
    scheduling = (policy_spec.get("placement") or {}).get("replicaScheduling")
    names = [c.cluster.name for c in candidates]
    # No replicaScheduling: every cluster runs all replicas; with it, the type defaults to Divided.
    if scheduling is None or scheduling.get("replicaSchedulingType", "Divided") != "Divided":
        return replica_math.Division(replicas=dict.fromkeys(names, total))
    views = [c.cluster for c in candidates]
    previous = {c.cluster.name: c.previous for c in candidates}
    minimums, maximums = _limits(policy_spec, views)
    preference = scheduling.get("replicaDivisionPreference") or "Weighted"
    if preference == "Aggregated":
        return replica_math.aggregate(
            total, {c.cluster.name: c.capacity for c in candidates}, previous=previous, maximums=maximums
        )
    if preference != "Weighted":
        raise PlacementError(f"replicaDivisionPreference {preference!r} is not Aggregated or Weighted")
    weight_preference = scheduling.get("weightPreference") or {}
    dynamic = weight_preference.get("dynamicWeight")
    if dynamic:
        if dynamic != "AvailableReplicas":
            raise PlacementError(f"dynamicWeight {dynamic!r} is not AvailableReplicas")
        known = [c.capacity for c in candidates if c.capacity is not None]
        fallback = max(known, default=1)
        weights = {c.cluster.name: fallback if c.capacity is None else c.capacity for c in candidates}
    elif weight_preference.get("staticWeightList"):
        weights = {v.name: _static_weight(weight_preference["staticWeightList"], v) for v in views}
        if not any(weights.values()):
            weights = dict.fromkeys(names, 1)
    else:
        weights = dict.fromkeys(names, 1)
    return replica_math.divide_by_weights(
        total, weights, minimums=minimums, maximums=maximums, previous=previous
    )


# ---------------------------------------------------------------- the whole decision


def _overflow_allowed(policy_spec: Mapping[str, Any]) -> bool:
    """Karmada: overflow groups need dynamic weights or Aggregated division."""
    scheduling = (policy_spec.get("placement") or {}).get("replicaScheduling") or {}
    if scheduling.get("replicaSchedulingType", "Divided") != "Divided":
        return False
    return scheduling.get("replicaDivisionPreference") == "Aggregated" or bool(
        (scheduling.get("weightPreference") or {}).get("dynamicWeight")
    )


def _overflow_order(
    affinity: Mapping[str, Any] | None, overflow: Sequence[Mapping[str, Any]], cluster: ClusterView
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


def _aggregated(policy_spec: Mapping[str, Any]) -> bool:
    scheduling = (policy_spec.get("placement") or {}).get("replicaScheduling") or {}
    return scheduling.get("replicaDivisionPreference") == "Aggregated"


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


def _divided(policy_spec: Mapping[str, Any]) -> bool:
    """Whether replicas are divided (so cluster room matters when choosing clusters, as in Karmada)."""
    scheduling = (policy_spec.get("placement") or {}).get("replicaScheduling")
    return scheduling is not None and scheduling.get("replicaSchedulingType", "Divided") == "Divided"


def _affinity_groups(
    placement: Mapping[str, Any], current: str | None = None
) -> list[tuple[str | None, Mapping[str, Any] | None]]:
    groups = placement.get("clusterAffinities")
    if groups:
        named: list[tuple[str | None, Mapping[str, Any] | None]] = [
            (str(g.get("affinityName") or f"group-{i}"), g) for i, g in enumerate(groups)
        ]
        # Karmada starts from the group the template is on and never goes back to an earlier one.
        start = next((i for i, (name, _) in enumerate(named) if name == current), 0)
        return named[start:]
    return [(None, placement.get("clusterAffinity"))]


def schedule(
    *,
    policy_spec: Mapping[str, Any],
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
    """Decide where ``template`` goes under a policy spec. Raises ``PlacementError`` on bad input.

    ``previous`` maps clusters that hold the template now to their replicas (None for kinds
    without replicas); it only breaks ties, so unchanged inputs keep their placement.
    ``interpreter``: the hub's ResourceInterpreterCustomizations (``hub.interpretation``: the
    replicas to divide and each one's requests); None: the built-in rules only.
    """
    placement = policy_spec.get("placement") or {}
    before = {name: (1 if count is None else max(count, 1)) for name, count in (previous or {}).items()}
    tolerations = placement.get("clusterTolerations") or []
    try:
        total, requests = interpretation.replicas(template, interpreter)
    except InterpreterError as exc:
        raise PlacementError(
            interpretation.describe(exc), reason=interpretation.REASON_INTERPRETATION_FAILED
        ) from exc
    ordered_clusters = sorted(clusters, key=lambda c: c.name)
    now = now or datetime.now(UTC)
    workload = placement.get("workloadAffinity") or {}
    restriction = workload_affinity.restriction(
        labels=(template.get("metadata") or {}).get("labels") or {},
        affinity_key=(workload.get("affinity") or {}).get("groupByLabelKey"),
        anti_affinity_key=(workload.get("antiAffinity") or {}).get("groupByLabelKey"),
        peers=peers,
    )
    decision = Decision(total_replicas=total)
    decision.recheck_at = next_toleration_deadline(tolerations, ordered_clusters, now=now)
    skipped: list[str] = []
    for affinity_name, affinity in _affinity_groups(placement, current_affinity):
        rejections: list[Rejection] = []
        candidates: list[_Candidate] = []
        overflow = list((affinity or {}).get("overflowAffinities") or [])
        if overflow and not _overflow_allowed(policy_spec):
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
            placement.get("spreadConstraints") or [],
            candidates,
            replicas=total,
            divided=_divided(policy_spec),
        )
        rejections.extend(spread_rejections)
        if spread_error is None and kept:
            decision.affinity_name = affinity_name
            decision.rejections = rejections
            _finish(
                decision,
                policy_spec=policy_spec,
                placement=placement,
                kept=kept,
                total=total,
                fill_order=(
                    [c.cluster.name for c in sorted(kept, key=lambda c: (orders[c.cluster.name], _rank(c)))]
                    if overflow and _aggregated(policy_spec)
                    else None
                ),
            )
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
            if skipped:
                decision.message = (
                    f"affinity groups {', '.join(skipped)} had no eligible cluster; " + decision.message
                ).rstrip("; ")
            return decision
        skipped.append(affinity_name or "clusterAffinity")
        decision.rejections = rejections
        decision.message = spread_error or "no cluster is eligible"
    decision.schedulable = False
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
    return decision


def eviction_moment(
    tolerations: Sequence[Mapping[str, Any]], cluster: ClusterView, *, now: datetime
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


def _keep_evicted(
    decision: Decision,
    *,
    previous: Mapping[str, int | None],
    clusters: Sequence[ClusterView],
    tolerations: Sequence[Mapping[str, Any]],
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
        decision.targets.append(Target(name, replicas, reason="GracefulEviction"))
        decision.targets.sort(key=lambda t: t.cluster)
        decision.rejections = [r for r in decision.rejections if r.cluster != name]
        # Look again soon for the replacement's health, and at the latest when the grace ends.
        soon = min(until, now + timedelta(seconds=2))
        decision.recheck_at = soon if decision.recheck_at is None else min(decision.recheck_at, soon)


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
        decision.targets.append(Target(name, previous[name], reason="GracefulEviction"))
        decision.targets.sort(key=lambda t: t.cluster)
        decision.rejections = [r for r in decision.rejections if r.cluster != name]
        if purge != "Never":
            soon = min(until, now + timedelta(seconds=2))
            decision.recheck_at = soon if decision.recheck_at is None else min(decision.recheck_at, soon)


def _finish(
    decision: Decision,
    *,
    policy_spec: Mapping[str, Any],
    placement: Mapping[str, Any],
    kept: list[_Candidate],
    total: int | None,
    fill_order: list[str] | None = None,
) -> None:
    max_clusters = int(placement.get("maxClusters") or 0)
    if max_clusters and len(kept) > max_clusters:
        decision.rejections.extend(
            Rejection(c.cluster.name, "MaxClusters", f"maxClusters {max_clusters} reached")
            for c in kept[max_clusters:]
        )
        kept = kept[:max_clusters]
    if total is None:
        decision.targets = sorted((Target(c.cluster.name) for c in kept), key=lambda t: t.cluster)
        return
    division = _fill(total, kept, fill_order) if fill_order else divide(policy_spec, total, kept)
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
