"""Spread constraints, selected the way Karmada's scheduler selects groups (pure).

``select(constraints, candidates, replicas=..., divided=...)`` takes the clusters that passed
the filters (affinity, taints, API) and returns the ones to use. The steps are Karmada's
(pkg/scheduler/core/spreadconstraint), restated:

* **Defaults.** A constraint with neither ``spreadByField`` nor ``spreadByLabel`` spreads by
  ``cluster`` (done by the model, as Karmada's defaulting webhook does); ``minGroups`` defaults
  to 1. An unset ``maxGroups`` means no upper bound (Karmada has no such default; a Karmada
  policy always sets it).
* **Cluster order.** Clusters are ranked by score (100 for a cluster that already holds the
  template, 0 otherwise: Karmada's ClusterLocality), then by available replicas, then in the
  order given (the hub passes most free CPU first, then name; Karmada: name).
* **Cluster constraint alone.** At least ``minGroups`` clusters must qualify; the best
  ``min(count, maxGroups)`` are taken. For a Divided workload the last of them are swapped for
  clusters with more room until the taken ones can hold every replica (or it fails).
* **Group constraints** (region, and, beyond what Karmada's scheduler does today, zone,
  provider and spreadByLabel, in that order). Clusters without the field are left out. Groups
  are scored as Karmada scores them (enough room for the replicas first, then the clusters'
  scores) and a depth-first search over groups, smallest first, finds every combination of
  ``minGroups``..``maxGroups`` groups that holds at least the cluster constraint's ``minGroups``
  clusters; the combination with the highest total score wins (ties: more clusters, then the
  first found, then a shorter prefix of it). Then the best cluster of every chosen group is taken
  (so each group gets one even when that exceeds the cluster constraint's ``maxGroups``, as in
  Karmada), and the rest, by rank, up to the cluster constraint's ``maxGroups``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from shared.api.policy import SpreadConstraint

LOCALITY_SCORE = 100
"""Score of a cluster that already holds the template (Karmada's ClusterLocality plugin)."""
UNLIMITED = 2**31 - 1
"""Available replicas of a cluster whose capacity is unknown (Karmada's estimator uses MaxInt32)."""
_WEIGHT_UNIT = 1000
_GROUP_FIELDS = ("region", "zone", "provider")


@dataclass(frozen=True)
class SpreadCandidate:
    """A cluster that passed the filters, as the spread step sees it."""

    name: str
    score: int = 0
    """LOCALITY_SCORE if the cluster already holds the template, else 0."""
    available: int | None = None
    """Replicas of the template it can hold, counting those it runs now; None: unknown (unlimited)."""
    fields: Mapping[str, str] = field(default_factory=dict)
    """region / zone / provider."""
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def room(self) -> int:
        return UNLIMITED if self.available is None else self.available


@dataclass(frozen=True)
class LeftOut:
    cluster: str
    reason: str
    message: str


@dataclass(frozen=True)
class SpreadResult:
    """The clusters to use, in rank order; those left out with a reason; or why none can be chosen."""

    chosen: tuple[str, ...] = ()
    left_out: tuple[LeftOut, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class _Group:
    name: str
    clusters: tuple[SpreadCandidate, ...]
    weight: int

    @property
    def value(self) -> int:
        return len(self.clusters)


def _ranked(candidates: Sequence[SpreadCandidate]) -> list[SpreadCandidate]:
    # Stable: among equals the caller's order decides (Waybill passes most free CPU first, then name).
    return sorted(candidates, key=lambda c: (-c.score, -c.room))


def _bounds(constraint: SpreadConstraint, *, count: int) -> tuple[int, int]:
    low = constraint.min_groups or 1
    high = constraint.max_groups if constraint.max_groups is not None else max(count, low)
    return low, high


def _what(constraint: SpreadConstraint) -> str:
    return (
        f"label {constraint.spread_by_label}"
        if constraint.spread_by_label
        else str(constraint.spread_by_field)
    )


def _group_value(constraint: SpreadConstraint, candidate: SpreadCandidate) -> str | None:
    if constraint.spread_by_label:
        return candidate.labels.get(constraint.spread_by_label)
    return candidate.fields.get(str(constraint.spread_by_field))


def group_score(
    clusters: Sequence[SpreadCandidate], *, replicas: int, divided: bool, min_groups: int, cluster_min: int
) -> int:
    """Karmada's group score: first whether the group has room for its share, then the clusters' scores."""
    if not clusters:
        return 0
    if not divided:
        valid = [c for c in clusters if c.room >= replicas]
        if not valid:
            return 0
        return len(valid) * _WEIGHT_UNIT + sum(c.score for c in valid) // len(valid)
    target = math.ceil(replicas / max(min_groups, 1))
    needed = max(cluster_min, min_groups)
    total = score = taken = 0
    for cluster in clusters:
        total += cluster.room
        score += cluster.score
        taken += 1
        if taken >= needed and total >= target:
            break
    if total < target:
        return total * _WEIGHT_UNIT + score // len(clusters)
    return target * _WEIGHT_UNIT + score // taken


@dataclass
class _Path:
    groups: list[_Group]
    order: int

    @property
    def weight(self) -> int:
        return sum(g.weight for g in self.groups)

    @property
    def value(self) -> int:
        return sum(g.value for g in self.groups)


def select_groups(groups: Sequence[_Group], *, low: int, high: int, target: int) -> list[_Group]:
    """Karmada's group selection: the best-scored combination of low..high groups with >= target clusters."""
    ordered = sorted(groups, key=lambda g: (g.value, -g.weight, g.name))
    paths: list[_Path] = []
    current: list[_Group] = []

    def search(total: int, begin: int) -> None:
        if total >= target and low <= len(current) <= high:
            chosen = sorted(current, key=lambda g: (-g.weight, g.name))
            paths.append(_Path(chosen, len(paths)))
            return
        if len(current) >= high:
            return
        for index in range(begin, len(ordered)):
            current.append(ordered[index])
            search(total + ordered[index].value, index + 1)
            current.pop()
            if len(ordered) == low:
                break  # every group is needed: the first combination is the only one

    search(0, 0)
    if not paths:
        return []
    paths.sort(key=lambda p: (-p.weight, -p.value, p.order))
    best = paths[0]
    for other in paths[1:]:
        # A shorter path that is a prefix of the best one uses fewer groups for the same clusters.
        if len(other.groups) < len(best.groups) and [g.name for g in best.groups[: len(other.groups)]] == [
            g.name for g in other.groups
        ]:
            best = other
    return best.groups


def _by_cluster(
    constraint: SpreadConstraint, ranked: list[SpreadCandidate], *, replicas: int, divided: bool
) -> tuple[list[SpreadCandidate], str | None]:
    low, high = _bounds(constraint, count=len(ranked))
    if len(ranked) < low:
        return [], f"spread by cluster needs {low} clusters, only {len(ranked)} eligible"
    count = min(len(ranked), high)
    taken, rest = list(ranked[:count]), list(ranked[count:])
    if not divided:
        return taken, None
    # Karmada: swap the lowest-ranked taken clusters for roomier ones until the replicas fit.
    index = len(taken) - 1
    while sum(c.room for c in taken) < replicas and index >= 0:
        roomiest = max(
            (i for i, c in enumerate(rest) if c.room > taken[index].room),
            key=lambda i: rest[i].room,
            default=None,
        )
        if roomiest is not None:
            taken[index], rest[roomiest] = rest[roomiest], taken[index]
        index -= 1
    if sum(c.room for c in taken) < replicas:
        return [], f"spread by cluster: not enough room for {replicas} replicas in {count} clusters"
    return taken, None


def select(
    constraints: Sequence[SpreadConstraint],
    candidates: Sequence[SpreadCandidate],
    *,
    replicas: int = 0,
    divided: bool = False,
) -> SpreadResult:
    """The clusters to use under ``constraints`` (all of them when there are none)."""
    ranked = _ranked(candidates)
    if not constraints:
        return SpreadResult(chosen=tuple(c.name for c in ranked))
    cluster_constraint = next(
        (c for c in constraints if c.spread_by_field == "cluster"),
        SpreadConstraint(spread_by_field="cluster"),
    )
    group_constraints = sorted(
        (c for c in constraints if c.spread_by_field != "cluster"),
        key=lambda c: (
            _GROUP_FIELDS.index(str(c.spread_by_field)) if c.spread_by_field else len(_GROUP_FIELDS)
        ),
    )
    left_out: list[LeftOut] = []
    if not group_constraints:
        picked, error = _by_cluster(cluster_constraint, ranked, replicas=replicas, divided=divided)
        if error:
            return SpreadResult(left_out=tuple(left_out), error=error)
        names = {c.name for c in picked}
        left_out += [
            LeftOut(
                c.name,
                "SpreadConstraint",
                f"spread by cluster: maxGroups {cluster_constraint.max_groups} reached",
            )
            for c in ranked
            if c.name not in names
        ]
        return SpreadResult(chosen=tuple(c.name for c in picked), left_out=tuple(left_out))

    cluster_low, cluster_high = _bounds(cluster_constraint, count=len(ranked))
    kept = ranked
    leaders: list[SpreadCandidate] = []
    for constraint in group_constraints:
        what = _what(constraint)
        groups: dict[str, list[SpreadCandidate]] = {}
        for candidate in kept:
            value = _group_value(constraint, candidate)
            if value is None:
                left_out.append(LeftOut(candidate.name, "SpreadFieldMissing", f"has no {what} to spread by"))
                continue
            groups.setdefault(value, []).append(candidate)
        low, high = _bounds(constraint, count=len(groups))
        if len(groups) < low:
            return SpreadResult(
                left_out=tuple(left_out),
                error=f"spread by {what} needs {low} groups, only {len(groups)} eligible",
            )
        scored = [
            _Group(
                name,
                tuple(members),
                group_score(
                    members, replicas=replicas, divided=divided, min_groups=low, cluster_min=cluster_low
                ),
            )
            for name, members in groups.items()
        ]
        chosen = select_groups(scored, low=low, high=high, target=cluster_low)
        if not chosen:
            return SpreadResult(
                left_out=tuple(left_out),
                error=(
                    f"spread by {what}: no {low}..{high} groups hold the {cluster_low} clusters"
                    " spread by cluster needs"
                ),
            )
        chosen_names = {g.name for g in chosen}
        for group in scored:
            if group.name not in chosen_names:
                left_out += [
                    LeftOut(c.name, "SpreadConstraint", f"its {what} group {group.name!r} was not chosen")
                    for c in group.clusters
                ]
        leaders += [g.clusters[0] for g in chosen]
        kept = [c for g in chosen for c in g.clusters]
    kept_names = {c.name for c in kept}
    taken: list[SpreadCandidate] = []
    for leader in leaders:
        if leader.name in kept_names and leader not in taken:
            taken.append(leader)
    rest = _ranked([c for c in kept if c not in taken])
    wanted = min(len(kept), cluster_high)
    taken += rest[: max(wanted - len(taken), 0)]
    taken_names = {c.name for c in taken}
    left_out += [
        LeftOut(
            c.name,
            "SpreadConstraint",
            f"spread by cluster: maxGroups {cluster_constraint.max_groups} reached",
        )
        for c in kept
        if c.name not in taken_names
    ]
    return SpreadResult(chosen=tuple(c.name for c in _ranked(taken)), left_out=tuple(left_out))
