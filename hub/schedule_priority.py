"""``schedulerName`` and ``schedulePriority``: which scheduler places a template, and in what order (pure).

Karmada, with its PriorityBasedScheduling feature gate on:

* ``schedulePriority{priorityClassSource: KubePriorityClass, priorityClassName}`` gives the
  bindings of a policy the ``value`` of that scheduling.k8s.io PriorityClass on the hub (written
  to the binding as ``spec.schedulePriority.priority``); without it the priority is 0. The
  scheduler takes waiting bindings highest priority first, in arrival order among equals. The
  priority changes only the order, never where a template goes, and preempts nothing. A
  PriorityClass that does not exist makes the binding fail (Karmada's detector does not create
  it); here the binding says ``Scheduled=False``, reason ``PriorityClassNotFound``, naming the
  field, and keeps its last placement.
* ``schedulerName`` (default ``default-scheduler``) names the scheduler that places the
  template's binding (``spec.schedulerName``). A hub schedules only the names it serves
  (``--scheduler-name``, by default ``default-scheduler``); a binding naming another one is
  created and left to that scheduler: the hub never writes its ``spec.clusters`` (the Works
  follow whatever is there) and says ``Scheduled=False``, reason ``SchedulerNotServed``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_SCHEDULER = "default-scheduler"
DEFAULT_PRIORITY = 0
PRIORITY_CLASS_API_VERSION = "scheduling.k8s.io/v1"
PRIORITY_CLASS_KIND = "PriorityClass"
FIELD_PRIORITY_CLASS = "spec.schedulePriority.priorityClassName"
FIELD_SCHEDULER_NAME = "spec.schedulerName"


def scheduler_name(spec: Mapping[str, Any]) -> str:
    """The scheduler a policy asks for (unset or empty: ``default-scheduler``)."""
    name = spec.get("schedulerName")
    return str(name) if isinstance(name, str) and name else DEFAULT_SCHEDULER


def served(spec: Mapping[str, Any], scheduler_names: Iterable[str]) -> bool:
    """Whether this hub's scheduler places the templates of a policy with this spec."""
    return scheduler_name(spec) in set(scheduler_names)


def not_served_message(spec: Mapping[str, Any], scheduler_names: Iterable[str]) -> str:
    serving = ", ".join(sorted(set(scheduler_names))) or "none"
    return (
        f"{FIELD_SCHEDULER_NAME} {scheduler_name(spec)!r} is not a scheduler this hub runs "
        f"({serving}): left to that scheduler"
    )


def priority_class_name(spec: Mapping[str, Any]) -> str | None:
    """The PriorityClass a policy names (None: it sets no schedulePriority)."""
    wanted = spec.get("schedulePriority")
    if not isinstance(wanted, Mapping):
        return None
    name = wanted.get("priorityClassName")
    return str(name) if name else None


def uses_priority(policies: Iterable[Mapping[str, Any]]) -> bool:
    """Whether any policy sets ``schedulePriority`` (else every priority is 0: no lookups)."""
    return any(priority_class_name(p.get("spec") or {}) is not None for p in policies)


@dataclass(frozen=True)
class Priority:
    """A policy's scheduling priority, or why it has none (``problem``)."""

    value: int = DEFAULT_PRIORITY
    problem: str | None = None


def priority_of(
    spec: Mapping[str, Any], priority_class: Callable[[str], Mapping[str, Any] | None]
) -> Priority:
    """The priority of a policy's bindings: its PriorityClass's ``value``, 0 without one."""
    name = priority_class_name(spec)
    if name is None:
        return Priority()
    found = priority_class(name)
    if found is None:
        return Priority(
            problem=f"{FIELD_PRIORITY_CLASS}: PriorityClass {name!r} not found "
            f"({PRIORITY_CLASS_API_VERSION} on the hub)"
        )
    value = found.get("value")
    if isinstance(value, bool) or not isinstance(value, int):
        return Priority(problem=f"{FIELD_PRIORITY_CLASS}: PriorityClass {name!r} has no integer value")
    return Priority(value=value)


def binding_fields(spec: Mapping[str, Any], priority: Priority | None) -> dict[str, Any]:
    """What a binding's spec records of these: ``schedulerName`` when the policy sets one,
    ``schedulePriority.priority`` when it sets a schedulePriority (Karmada's binding fields)."""
    out: dict[str, Any] = {}
    if spec.get("schedulerName"):
        out["schedulerName"] = scheduler_name(spec)
    if priority is not None and priority.problem is None and priority_class_name(spec) is not None:
        out["schedulePriority"] = {"priority": priority.value}
    return out
