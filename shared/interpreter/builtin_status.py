"""Built-in status reflection and aggregation (``InterpretStatus``, ``AggregateStatus``), pure.

Reflection picks what a member reports, as Karmada's built-in rules do: a Deployment's,
StatefulSet's and DaemonSet's replica counters (Waybill adds ``observedGeneration`` and the member
object's ``generation``, so aggregation can tell a settled sum), a Job's counters, conditions and
times, a PodDisruptionBudget's health counters and disrupted pods, a Service's ``loadBalancer``, a
HorizontalPodAutoscaler's current and desired replicas; any other kind (an Ingress too) reports
its whole ``status``.

Aggregation writes the template's status from the members' items (``{clusterName, status}``):
counters are summed; ``observedGeneration`` becomes the template's generation once every member
reports that its controller observed its object (otherwise it is left out, so a reader does not
take the sum for settled); a Job is Complete once every member's is, Failed once any is, its
``startTime`` the earliest and ``completionTime`` the latest; a Service's and Ingress's
load-balancer ingress entries are listed once each; a Pod's phase is the worst any member
reports (Failed, Unknown, Pending, Running; Succeeded only once it succeeded everywhere), a PVC's
Lost or Pending unless Bound everywhere, a PV's likewise; a CronJob lists every member's active
Jobs and its latest schedule and success times. Other kinds: no rule (None).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from shared.interpreter.rules import KindKey, Obj, deep_copy, integer, section

_DEPLOYMENT = ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas")
_STATEFULSET = ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "currentReplicas")
_DAEMONSET = (
    "currentNumberScheduled",
    "desiredNumberScheduled",
    "numberAvailable",
    "numberMisscheduled",
    "numberReady",
    "updatedNumberScheduled",
    "numberUnavailable",
)
_JOB = ("active", "succeeded", "failed")
_PDB = ("currentHealthy", "desiredHealthy", "disruptionsAllowed", "expectedPods")
_COUNTERS: dict[KindKey, tuple[str, ...]] = {
    KindKey("apps", "Deployment"): _DEPLOYMENT,
    KindKey("apps", "StatefulSet"): _STATEFULSET,
    KindKey("apps", "DaemonSet"): _DAEMONSET,
    KindKey("batch", "Job"): _JOB,
    KindKey("policy", "PodDisruptionBudget"): _PDB,
}
_GENERATIONAL = {KindKey("apps", "Deployment"), KindKey("apps", "StatefulSet"), KindKey("apps", "DaemonSet")}
_LOAD_BALANCED = {KindKey("", "Service"), KindKey("networking.k8s.io", "Ingress")}
_JOB_KEY = KindKey("batch", "Job")
_SERVICE = KindKey("", "Service")
# Reflected beside the counters (not summed): a Job's conditions and times, a PDB's disrupted pods.
_EXTRA = {
    _JOB_KEY: ("conditions", "startTime", "completionTime"),
    KindKey("policy", "PodDisruptionBudget"): ("disruptedPods",),
}
_HPA = KindKey("autoscaling", "HorizontalPodAutoscaler")


def reflect_status(obj: Mapping[str, Any]) -> Obj | None:
    """The status a member reports for ``obj``; None when the object has no status at all."""
    key = KindKey.of(obj)
    status = obj.get("status")
    if not isinstance(status, Mapping):
        return None
    if key == _SERVICE:
        return {"loadBalancer": deep_copy(section(status, "loadBalancer"))}
    if key == _HPA:
        return {name: status[name] for name in ("currentReplicas", "desiredReplicas") if name in status}
    counters = _COUNTERS.get(key)
    if counters is None:
        return deep_copy(status)  # the whole status (an Ingress's too)
    out: Obj = {name: status[name] for name in counters if name in status}
    for extra in _EXTRA.get(key, ()):
        if extra in status:
            out[extra] = copy.deepcopy(status[extra])
    if key in _GENERATIONAL:
        if "observedGeneration" in status:
            out["observedGeneration"] = status["observedGeneration"]
        generation = section(obj, "metadata").get("generation")
        if generation is not None:
            out["generation"] = generation
    return out


def _sum(items: Sequence[Mapping[str, Any]], counters: tuple[str, ...]) -> Obj:
    statuses = [section(item, "status") for item in items]
    return {name: sum(integer(s.get(name)) for s in statuses) for name in counters}


def _all_observed(items: Sequence[Mapping[str, Any]]) -> bool:
    statuses = [section(item, "status") for item in items]
    return bool(statuses) and all(
        "generation" in s and integer(s.get("observedGeneration"), -1) == integer(s.get("generation"), -2)
        for s in statuses
    )


def _condition(status: Mapping[str, Any], kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True" for c in status.get("conditions") or [])


def _true(kind: str, reason: str, message: str) -> Obj:
    return {"type": kind, "status": "True", "reason": reason, "message": message}


def _job(desired: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> Obj:
    status = _sum(items, _JOB)
    statuses = [section(item, "status") for item in items]
    starts = sorted(str(s["startTime"]) for s in statuses if s.get("startTime"))
    ends = sorted(str(s["completionTime"]) for s in statuses if s.get("completionTime"))
    if starts:
        status["startTime"] = starts[0]
    failed = [
        str(item.get("clusterName"))
        for item, s in zip(items, statuses, strict=True)
        if _condition(s, "Failed")
    ]
    if failed:
        message = "Job failed in " + ", ".join(failed)
        status["conditions"] = [_true("Failed", "JobFailed", message)]
    elif statuses and all(_condition(s, "Complete") for s in statuses):
        status["conditions"] = [_true("Complete", "Completed", "Job completed in every cluster")]
        if ends:
            status["completionTime"] = ends[-1]
    return status


def _load_balancer(items: Sequence[Mapping[str, Any]]) -> Obj:
    seen: list[Obj] = []
    for item in items:
        for entry in section(item, "status", "loadBalancer").get("ingress") or []:
            if isinstance(entry, Mapping) and dict(entry) not in seen:
                seen.append(deep_copy(entry))
    return {"loadBalancer": {"ingress": seen} if seen else {}}


def _phase(items: Sequence[Mapping[str, Any]], order: tuple[str, ...], *, unanimous: tuple[str, ...]) -> Obj:
    """The first phase of ``order`` any member reports, except that a ``unanimous`` one counts
    only when every member reports it (a Pod is Succeeded only once it succeeded everywhere)."""
    phases = [str(section(item, "status").get("phase") or "") for item in items]
    for phase in order:
        if phase in unanimous:
            if phases and all(p == phase for p in phases):
                return {"phase": phase}
        elif phase in phases:
            return {"phase": phase}
    return {}


def _cron_job(items: Sequence[Mapping[str, Any]]) -> Obj:
    statuses = [section(item, "status") for item in items]
    status: Obj = {}
    active = [copy.deepcopy(ref) for s in statuses for ref in s.get("active") or []]
    if active:
        status["active"] = active
    for field in ("lastScheduleTime", "lastSuccessfulTime"):
        times = sorted(str(s[field]) for s in statuses if s.get(field))
        if times:
            status[field] = times[-1]
    return status


_PHASED: dict[KindKey, tuple[tuple[str, ...], tuple[str, ...]]] = {
    KindKey("", "Pod"): (("Failed", "Unknown", "Pending", "Running", "Succeeded"), ("Succeeded",)),
    KindKey("", "PersistentVolumeClaim"): (("Lost", "Pending", "Bound"), ("Bound",)),
    KindKey("", "PersistentVolume"): (
        ("Failed", "Pending", "Released", "Available", "Bound"),
        ("Available", "Bound"),
    ),
}


def aggregate_status(desired: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> Obj | None:
    """``desired`` with its status aggregated from the members' items; None for kinds without a rule."""
    key = KindKey.of(desired)
    if key in _LOAD_BALANCED:
        status = _load_balancer(items)
    elif key == _JOB_KEY:
        status = _job(desired, items)
    elif key in _PHASED:
        order, unanimous = _PHASED[key]
        status = _phase(items, order, unanimous=unanimous)
    elif key == KindKey("batch", "CronJob"):
        status = _cron_job(items)
    elif key in _COUNTERS:
        status = _sum(items, _COUNTERS[key])
        if key in _GENERATIONAL and _all_observed(items):
            status["observedGeneration"] = section(desired, "metadata").get("generation", 0)
    else:
        return None
    out = deep_copy(desired)
    out["status"] = status
    return out


AggregateRule = Callable[[Mapping[str, Any], Sequence[Mapping[str, Any]]], Obj | None]
