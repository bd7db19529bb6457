"""Dividing a workload's replicas among clusters (pure).

Every function here is deterministic, returns counts that sum exactly to what could be placed,
and is stable: the same inputs (including the previous assignment) give the same answer.

* ``divide_by_weights`` — largest-remainder (Hamilton) division with per-cluster minimum and
  maximum (KubeFed ReplicaSchedulingPreference style, solved by water-filling). Remainder ties
  are broken by higher weight, then by the cluster's previous replica count (so nothing moves
  when nothing relevant changed), then by cluster name.
* ``aggregate`` — Karmada's ``Aggregated`` preference: as few clusters as possible, filling the
  clusters with the most available capacity first (clusters that already run replicas first).
* ``capacity_replicas`` — how many pods of a given request fit in a member's available
  resources (for ``dynamicWeight: AvailableReplicas`` and ``Aggregated``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.api.quantity import parse_quantity


@dataclass(frozen=True)
class Division:
    """Replicas per cluster, plus the replicas that could not be placed (max limits)."""

    replicas: dict[str, int]
    unplaced: int = 0
    notes: list[str] = field(default_factory=list)


def _largest_remainder(total: int, weights: Mapping[str, int], previous: Mapping[str, int]) -> dict[str, int]:
    names = sorted(weights)
    weight_sum = sum(weights[n] for n in names)
    if total <= 0 or not names:
        return dict.fromkeys(names, 0)
    if weight_sum <= 0:
        weights = dict.fromkeys(names, 1)
        weight_sum = len(names)
    shares = {n: total * weights[n] // weight_sum for n in names}
    remainders = {n: total * weights[n] % weight_sum for n in names}
    left = total - sum(shares.values())
    order = sorted(names, key=lambda n: (-remainders[n], -weights[n], -previous.get(n, 0), n))
    for name in order[:left]:
        shares[name] += 1
    return shares


def divide_by_weights(
    total: int,
    weights: Mapping[str, int],
    *,
    minimums: Mapping[str, int] | None = None,
    maximums: Mapping[str, int] | None = None,
    previous: Mapping[str, int] | None = None,
) -> Division:
    """Divide ``total`` replicas in proportion to ``weights`` within per-cluster min/max bounds.

    Minimums are granted first (if they exceed the total, in order of weight then name); the
    rest is divided by weight among clusters below their maximum, capping any that overflow and
    re-dividing what is left until nothing overflows. Replicas no cluster may take are reported
    as ``unplaced``.
    """
    previous = previous or {}
    minimums = {n: max(0, int((minimums or {}).get(n, 0))) for n in weights}
    maximums = {n: int(v) for n, v in (maximums or {}).items() if n in weights}
    notes: list[str] = []
    assigned = dict.fromkeys(weights, 0)
    remaining = total
    for name in sorted(weights, key=lambda n: (-weights[n], n)):
        grant = min(minimums[name], remaining, maximums.get(name, minimums[name]))
        assigned[name] = grant
        remaining -= grant
    if remaining <= 0 and sum(minimums.values()) > total:
        notes.append(f"minimum replicas ({sum(minimums.values())}) exceed the total ({total})")
    active = {n for n in weights if n not in maximums or assigned[n] < maximums[n]}
    while remaining > 0 and active:
        shares = _largest_remainder(remaining, {n: weights[n] for n in active}, previous)
        overflow = {n for n in active if n in maximums and assigned[n] + shares[n] > maximums[n]}
        if not overflow:
            for name in active:
                assigned[name] += shares[name]
            remaining = 0
            break
        for name in sorted(overflow):
            remaining -= maximums[name] - assigned[name]
            assigned[name] = maximums[name]
        active -= overflow
    if remaining > 0:
        notes.append(f"{remaining} replicas exceed the clusters' maxReplicas")
    return Division(replicas=assigned, unplaced=max(remaining, 0), notes=notes)


def aggregate(
    total: int,
    capacity: Mapping[str, int | None],
    *,
    previous: Mapping[str, int] | None = None,
    maximums: Mapping[str, int] | None = None,
) -> Division:
    """Place ``total`` replicas on as few clusters as possible.

    Clusters are filled in order: those that already run replicas, then most available
    capacity (unknown capacity counts as unlimited), then name. When capacity runs out, the
    rest is divided over the chosen clusters by their capacity.
    """
    previous = previous or {}
    maximums = maximums or {}

    def room(name: str) -> int:
        cap = capacity.get(name)
        limit = maximums.get(name)
        values = [v for v in (cap, limit) if v is not None]
        return min(values) if values else total

    order = sorted(capacity, key=lambda n: (0 if previous.get(n, 0) > 0 else 1, -room(n), n))
    assigned = dict.fromkeys(capacity, 0)
    remaining = total
    for name in order:
        if remaining <= 0:
            break
        take = min(room(name), remaining)
        assigned[name] = take
        remaining -= take
    if remaining > 0:
        # Not enough capacity anywhere: spread the excess over clusters by capacity, within max.
        weights = {n: max(room(n), 1) for n in order if maximums.get(n) is None or assigned[n] < maximums[n]}
        if weights:
            extra = divide_by_weights(
                remaining,
                weights,
                maximums={n: maximums[n] - assigned[n] for n in weights if n in maximums},
                previous=previous,
            )
            for name, count in extra.replicas.items():
                assigned[name] += count
            remaining = extra.unplaced
    notes = [f"{remaining} replicas exceed the clusters' maxReplicas"] if remaining else []
    return Division(replicas=assigned, unplaced=remaining, notes=notes)


def capacity_replicas(
    available: Mapping[str, str | int | float] | None, requests: Mapping[str, str | int | float] | None
) -> int | None:
    """How many pods with ``requests`` fit into ``available`` (None: unknown capacity).

    A pod without requests fits any number of times (None); a resource the member does not
    report is ignored.
    """
    if not available:
        return None
    fits: list[int] = []
    for resource, request in (requests or {}).items():
        need = parse_quantity(request)
        if need <= 0 or resource not in available:
            continue
        fits.append(max(0, int(parse_quantity(available[resource]) / need)))  # exact: Decimal
    return min(fits) if fits else None


def pod_requests(template: Mapping[str, object]) -> dict[str, float]:
    """Sum of container resource requests in a workload's pod template (``spec.template``)."""
    spec = template.get("spec")
    pod = spec.get("template") if isinstance(spec, dict) else None
    pod_spec = pod.get("spec") if isinstance(pod, dict) else None
    totals: dict[str, float] = {}
    if not isinstance(pod_spec, dict):
        return totals
    for container in pod_spec.get("containers") or []:
        requests = ((container or {}).get("resources") or {}).get("requests") or {}
        for resource, quantity in requests.items():
            totals[resource] = totals.get(resource, 0.0) + float(parse_quantity(quantity))
    return totals
