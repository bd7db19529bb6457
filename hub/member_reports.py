"""Trust but verify what an agent reports about its member (pure).

An agent writes its MemberCluster's status, and the hub uses its capacity figures for dynamic
weights and Aggregated division: a compromised member could report a million idle cores and
draw every replica of the fleet. ``check_capacity`` accepts figures only within plausible
bounds — parseable, non-negative, available ≤ allocatable, at most ``MAX_NODES`` nodes and
per-node CPU/memory no larger than the biggest machines sold — and otherwise says why.

Implausible figures are not used: the member counts as having **no** spare capacity (not
"unknown", which the scheduler treats as unlimited) until it reports plausible ones, and the
hub sets the MemberCluster condition ``CapacityTrusted=False`` (reason ``ImplausibleCapacity``)
naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.api.quantity import QuantityError, cpu_millis, memory_bytes

CONDITION_CAPACITY_TRUSTED = "CapacityTrusted"
REASON_IMPLAUSIBLE = "ImplausibleCapacity"
REASON_PLAUSIBLE = "PlausibleCapacity"
MAX_NODES = 15_000  # three times Kubernetes' supported cluster size
MAX_NODE_CPU_MILLIS = 2_048 * 1000  # cores in the largest single machines
MAX_NODE_MEMORY_BYTES = 64 * 2**40  # 64 TiB
NO_CAPACITY: Mapping[str, str] = {"cpu": "0", "memory": "0"}


@dataclass(frozen=True)
class CapacityCheck:
    """The figures to use (None: not reported) and, when they were refused, why."""

    available: Mapping[str, str] | None
    problem: str | None = None


def _amounts(figures: Any, field: str) -> tuple[dict[str, int], str | None]:
    if figures is None:
        return {}, None
    if not isinstance(figures, Mapping):
        return {}, f"{field} is not a map of quantities"
    out: dict[str, int] = {}
    for resource, parse in (("cpu", cpu_millis), ("memory", memory_bytes)):
        if resource not in figures:
            continue
        try:
            amount = parse(figures[resource])
        except (QuantityError, TypeError, ValueError):
            return {}, f"{field}.{resource} {figures[resource]!r} is not a quantity"
        if amount < 0:
            return {}, f"{field}.{resource} {figures[resource]!r} is negative"
        out[resource] = amount
    return out, None


def check_capacity(status: Mapping[str, Any]) -> CapacityCheck:
    """Whether the capacity in a MemberCluster ``status`` is believable, and what to use."""
    summary = status.get("resources")
    if summary is None:
        legacy = status.get("available")
        summary = {"available": legacy} if legacy is not None else None
    if summary is None:
        return CapacityCheck(available=None)
    if not isinstance(summary, Mapping):
        return CapacityCheck(NO_CAPACITY, "status.resources is not an object")
    allocatable, problem = _amounts(summary.get("allocatable"), "status.resources.allocatable")
    available, problem = (
        _amounts(summary.get("available"), "status.resources.available") if problem is None else ({}, problem)
    )
    nodes = status.get("nodeCount")
    if problem is None and nodes is not None and (not isinstance(nodes, int) or not 0 <= nodes <= MAX_NODES):
        problem = f"status.nodeCount {nodes!r} is not between 0 and {MAX_NODES}"
    if problem is None:
        problem = _bounds(allocatable=allocatable, available=available, nodes=nodes)
    if problem is not None:
        return CapacityCheck(NO_CAPACITY, problem)
    raw = summary.get("available")
    return CapacityCheck(dict(raw) if isinstance(raw, Mapping) else None)


def _bounds(*, allocatable: Mapping[str, int], available: Mapping[str, int], nodes: Any) -> str | None:
    machines = nodes if isinstance(nodes, int) else MAX_NODES
    limits = {"cpu": machines * MAX_NODE_CPU_MILLIS, "memory": machines * MAX_NODE_MEMORY_BYTES}
    for resource, amount in available.items():
        if resource in allocatable and amount > allocatable[resource]:
            return f"status.resources.available.{resource} is more than allocatable"
    for field, figures in (("allocatable", allocatable), ("available", available)):
        for resource, amount in figures.items():
            if amount > limits[resource]:
                return (
                    f"status.resources.{field}.{resource} is more than {machines} node(s) can have "
                    f"(at most {MAX_NODE_CPU_MILLIS // 1000} cores and 64Ti memory per node)"
                )
    return None


def capacity_condition(status: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """The ``CapacityTrusted`` condition (status, reason, message) the hub wants; None: no figures yet."""
    check = check_capacity(status)
    if check.problem is not None:
        return (
            "False",
            REASON_IMPLAUSIBLE,
            f"{check.problem}; the reported capacity is ignored (the member counts as having none spare)",
        )
    if check.available is None:
        return None
    return ("True", REASON_PLAUSIBLE, "the reported capacity is within plausible bounds")
