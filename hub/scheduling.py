"""Placement: which members get a template, and how many replicas each (pure).

``schedule(policy_spec=..., template=..., clusters=...)`` runs the filters in a fixed order and
returns a ``Decision`` that a user can read: the chosen clusters with their replicas, and for
every cluster left out a reason. Order of the filters:

1. affinity (``clusterNames``, ``exclude``, ``labelSelector``, ``fieldSelector``), taken from
   ``placement.clusterAffinity`` or, with ``placement.clusterAffinities``, from the first group
   (in order) that yields at least one cluster;
2. taints vs ``clusterTolerations`` (NoSchedule and NoExecute; a NoSchedule taint never evicts a
   cluster that already holds the template, so a network blip moves nothing);
3. the member must serve the template's API (when it has reported what it serves);
4. ``spreadConstraints`` (region/zone/provider/label groups first, then the cluster count) and
   ``maxClusters``, picking clusters that already hold the template first, then most capacity,
   then name;
5. replicas (see ``hub.replicas``): Duplicated, or Divided by static weights, by available
   capacity (``dynamicWeight: AvailableReplicas``) or Aggregated, within per-cluster min/max.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hub import replicas as replica_math
from hub import selectors
from hub.clusters import ClusterView, Taint
from hub.replica_paths import DEFAULT_REPLICA_PATHS, template_replicas
from shared.api.quantity import QuantityError, parse_quantity

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

    @property
    def cluster_names(self) -> list[str]:
        return [t.cluster for t in self.targets]

    def replicas_by_cluster(self) -> dict[str, int | None]:
        return {t.cluster: t.replicas for t in self.targets}


class PlacementError(ValueError):
    """The policy's placement cannot be evaluated (a bad selector, a bad spread constraint)."""


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
    effect = toleration.get("effect") or ""
    if effect and effect != taint.effect:
        return False
    operator = toleration.get("operator") or "Equal"
    key = toleration.get("key") or ""
    if operator == "Exists":
        return not key or key == taint.key
    return key == taint.key and str(toleration.get("value") or "") == (taint.value or "")


def taint_rejection(
    tolerations: Sequence[Mapping[str, Any]], cluster: ClusterView, *, already_placed: bool
) -> Rejection | None:
    for taint in cluster.taints:
        if taint.effect not in ("NoSchedule", "NoExecute"):
            continue
        if any(tolerates(t, taint) for t in tolerations):
            continue
        if taint.effect == "NoSchedule" and already_placed:
            continue  # NoSchedule keeps what is already there
        value = f"={taint.value}" if taint.value else ""
        return Rejection(
            cluster.name, "TaintNotTolerated", f"taint {taint.key}{value}:{taint.effect} is not tolerated"
        )
    return None


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


def _group_value(constraint: Mapping[str, Any], cluster: ClusterView) -> str | None:
    label = constraint.get("spreadByLabel")
    if label:
        return cluster.labels.get(str(label))
    by_field = constraint.get("spreadByField")
    if by_field == "cluster":
        return cluster.name
    return cluster.fields.get(str(by_field))


def apply_spread(
    constraints: Sequence[Mapping[str, Any]], candidates: list[_Candidate]
) -> tuple[list[_Candidate], list[Rejection], str | None]:
    """Keep the clusters of the best groups for each constraint; an error when minGroups fails."""
    rejections: list[Rejection] = []
    kept = list(candidates)
    ordered = sorted(constraints, key=lambda c: 1 if c.get("spreadByField") == "cluster" else 0)
    for constraint in ordered:
        by_field, by_label = constraint.get("spreadByField"), constraint.get("spreadByLabel")
        if bool(by_field) == bool(by_label):
            raise PlacementError("a spread constraint needs exactly one of spreadByField, spreadByLabel")
        if by_field and by_field not in SPREAD_FIELDS:
            raise PlacementError(f"spreadByField {by_field!r} is not one of {', '.join(SPREAD_FIELDS)}")
        what = f"label {by_label}" if by_label else str(by_field)
        min_groups = int(constraint.get("minGroups") or 1)
        max_groups = int(constraint.get("maxGroups") or 0)
        if max_groups and min_groups > max_groups:
            raise PlacementError(f"spread by {what}: minGroups {min_groups} > maxGroups {max_groups}")
        groups: dict[str, list[_Candidate]] = {}
        for candidate in kept:
            value = _group_value(constraint, candidate.cluster)
            if value is None:
                rejections.append(
                    Rejection(candidate.cluster.name, "SpreadFieldMissing", f"has no {what} to spread by")
                )
                continue
            groups.setdefault(value, []).append(candidate)
        if len(groups) < min_groups:
            return [], rejections, f"spread by {what} needs {min_groups} groups, only {len(groups)} eligible"

        def group_rank(item: tuple[str, list[_Candidate]]) -> tuple[int, float, float, int, str]:
            members = item[1]
            placed = sum(1 for m in members if m.previous > 0)
            capacity = sum(float("inf") if m.capacity is None else m.capacity for m in members)
            cpu = sum(m.cpu for m in members)
            return (-placed, -capacity, -cpu, -len(members), item[0])

        chosen = sorted(groups.items(), key=group_rank)
        if max_groups:
            for _, members in chosen[max_groups:]:
                rejections.extend(
                    Rejection(
                        m.cluster.name,
                        "SpreadConstraint",
                        f"its {what} group was not among the {max_groups} chosen",
                    )
                    for m in members
                )
            chosen = chosen[:max_groups]
        kept = sorted((m for _, members in chosen for m in members), key=_rank)
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


def _affinity_groups(placement: Mapping[str, Any]) -> list[tuple[str | None, Mapping[str, Any] | None]]:
    groups = placement.get("clusterAffinities")
    if groups:
        return [(str(g.get("affinityName") or f"group-{i}"), g) for i, g in enumerate(groups)]
    return [(None, placement.get("clusterAffinity"))]


def schedule(
    *,
    policy_spec: Mapping[str, Any],
    template: Mapping[str, Any],
    clusters: Sequence[ClusterView],
    previous: Mapping[str, int | None] | None = None,
    replica_paths: Mapping[tuple[str, str], str] = DEFAULT_REPLICA_PATHS,
) -> Decision:
    """Decide where ``template`` goes under a policy spec. Raises ``PlacementError`` on bad input.

    ``previous`` maps clusters that hold the template now to their replicas (None for kinds
    without replicas); it only breaks ties, so unchanged inputs keep their placement.
    """
    placement = policy_spec.get("placement") or {}
    before = {name: (1 if count is None else max(count, 1)) for name, count in (previous or {}).items()}
    tolerations = placement.get("clusterTolerations") or []
    total = template_replicas(template, replica_paths)
    requests = replica_math.pod_requests(template) if total is not None else {}
    ordered_clusters = sorted(clusters, key=lambda c: c.name)
    decision = Decision(total_replicas=total)
    skipped: list[str] = []
    for affinity_name, affinity in _affinity_groups(placement):
        rejections: list[Rejection] = []
        candidates: list[_Candidate] = []
        for cluster in ordered_clusters:
            rejection = (
                affinity_rejection(affinity, cluster)
                or taint_rejection(tolerations, cluster, already_placed=cluster.name in before)
                or api_rejection(template, cluster)
            )
            if rejection:
                rejections.append(rejection)
                continue
            capacity = replica_math.capacity_replicas(cluster.available, requests) if requests else None
            candidates.append(_Candidate(cluster, before.get(cluster.name, 0), capacity))
        candidates.sort(key=_rank)
        kept, spread_rejections, spread_error = apply_spread(
            placement.get("spreadConstraints") or [], candidates
        )
        rejections.extend(spread_rejections)
        if spread_error is None and kept:
            decision.affinity_name = affinity_name
            decision.rejections = rejections
            _finish(decision, policy_spec=policy_spec, placement=placement, kept=kept, total=total)
            if skipped:
                decision.message = (
                    f"affinity groups {', '.join(skipped)} had no eligible cluster; " + decision.message
                ).rstrip("; ")
            return decision
        skipped.append(affinity_name or "clusterAffinity")
        decision.rejections = rejections
        decision.message = spread_error or "no cluster is eligible"
    decision.schedulable = False
    return decision


def _finish(
    decision: Decision,
    *,
    policy_spec: Mapping[str, Any],
    placement: Mapping[str, Any],
    kept: list[_Candidate],
    total: int | None,
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
    division = divide(policy_spec, total, kept)
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
