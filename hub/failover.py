"""Failover decisions (pure): taint keys, NoExecute eviction times, graceful purges, application failover.

Cluster failover, as Karmada does it with its ``Failover`` and ``GracefulEviction`` feature gates on:

* A member whose ``Ready`` is ``False`` is tainted ``not-ready``, one whose heartbeat stopped
  (``Unknown``) ``unreachable``, both ``NoSchedule`` at once. Karmada's keys
  (``cluster.karmada.io/not-ready``, ``cluster.karmada.io/unreachable``) mean Waybill's
  (``cluster.waybill.dev/...``): ``canonical_key`` maps them, so a policy written for Karmada
  tolerates the same taints here.
* A ``NoExecute`` taint evicts a workload from the member unless a toleration matches: at once
  with no matching toleration, never with one that has no ``tolerationSeconds``, otherwise
  ``tolerationSeconds`` after the taint's ``timeAdded`` (the smallest, when several match).
  Waybill adds the ``NoExecute`` taint itself once the member has been unhealthy for the hub's
  failover timeout (what Karmada's cluster controller did before ClusterTaintPolicy; there a
  user's ClusterTaintPolicy adds it).
* An eviction is graceful (``purgeMode: Gracefully``, the default): the old copy stays until
  the workload is healthy on the clusters that replace it, or the grace period ends.
  ``Directly`` removes it at once.

Application failover (``failover.application``): a workload that stays unhealthy on a member for
``decisionConditions.tolerationSeconds`` (default 300) is evicted from it; the old copy is purged
``Directly``, ``Gracefully`` (after ``gracePeriodSeconds``, default 600, or once healthy elsewhere)
or ``Never``. Karmada's older names ``Immediately`` and ``Graciously`` mean ``Directly`` and
``Gracefully``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from shared.api import names
from shared.api.meta import parse_time as _parse
from shared.api.policy import Toleration

KARMADA_NOT_READY = "cluster.karmada.io/not-ready"
KARMADA_UNREACHABLE = "cluster.karmada.io/unreachable"
TAINT_ALIASES: Mapping[str, str] = {
    KARMADA_NOT_READY: names.TAINT_NOT_READY,
    KARMADA_UNREACHABLE: names.TAINT_UNREACHABLE,
}
DEFAULT_APPLICATION_TOLERATION_SECONDS = 300
DEFAULT_GRACE_PERIOD_SECONDS = 600
PURGE_ALIASES: Mapping[str, str] = {"Immediately": "Directly", "Graciously": "Gracefully"}

PurgeMode = Literal["Directly", "Gracefully", "Never"]


def canonical_key(key: str | None) -> str:
    """A taint or toleration key with Karmada's cluster-health keys spelled as Waybill's."""
    return TAINT_ALIASES.get(key or "", key or "")


def purge_mode(value: str | None) -> PurgeMode:
    """A purgeMode in its current spelling; unset is Gracefully (Karmada's default)."""
    mode = PURGE_ALIASES.get(value or "", value or "Gracefully")
    if mode == "Directly":
        return "Directly"
    if mode == "Never":
        return "Never"
    return "Gracefully"


@dataclass(frozen=True)
class ClusterTaint:
    key: str
    effect: str
    value: str = ""
    time_added: datetime | None = None


def health_taints(
    *, ready: str, unhealthy_since: datetime | None, now: datetime, eviction_timeout: timedelta
) -> list[ClusterTaint]:
    """The health taints a member should carry: NoSchedule at once, NoExecute after ``eviction_timeout``."""
    if ready == "True":
        return []
    key = names.TAINT_NOT_READY if ready == "False" else names.TAINT_UNREACHABLE
    since = unhealthy_since or now
    taints = [ClusterTaint(key, "NoSchedule", time_added=since)]
    if now - since >= eviction_timeout:
        taints.append(ClusterTaint(key, "NoExecute", time_added=since + eviction_timeout))
    return taints


def tolerates(toleration: Toleration, taint: ClusterTaint) -> bool:
    """core/v1 toleration matching, with Karmada's health keys read as Waybill's."""
    if toleration.effect and toleration.effect != taint.effect:
        return False
    key = canonical_key(toleration.key)
    if key and key != canonical_key(taint.key):
        return False
    return (toleration.operator or "Equal") == "Exists" or (toleration.value or "") == taint.value


@dataclass(frozen=True)
class Eviction:
    """When a NoExecute taint evicts: ``at`` (None with ``never``)."""

    never: bool = False
    at: datetime | None = None

    def due(self, now: datetime) -> bool:
        return not self.never and self.at is not None and now >= self.at


def eviction(taint: ClusterTaint, tolerations: Iterable[Toleration], *, now: datetime) -> Eviction:
    """When ``taint`` (NoExecute) evicts a workload with these tolerations."""
    matching = [t for t in tolerations if tolerates(t, taint)]
    if not matching:
        return Eviction(at=taint.time_added or now)
    if any(t.toleration_seconds is None for t in matching):
        return Eviction(never=True)
    seconds = max(min(t.toleration_seconds or 0 for t in matching), 0)
    return Eviction(at=(taint.time_added or now) + timedelta(seconds=seconds))


def first_eviction(
    taints: Iterable[ClusterTaint], tolerations: Iterable[Toleration], *, now: datetime
) -> Eviction:
    """The earliest eviction any NoExecute taint of a member causes (never: none of them evicts)."""
    tolerations = list(tolerations)
    times = [
        e.at
        for taint in taints
        if taint.effect == "NoExecute"
        for e in (eviction(taint, tolerations, now=now),)
        if not e.never and e.at is not None
    ]
    return Eviction(at=min(times)) if times else Eviction(never=True)


@dataclass(frozen=True)
class GracefulEviction:
    """A member the workload was moved off, whose copy is kept until it may be purged."""

    cluster: str
    since: datetime
    mode: PurgeMode
    grace_seconds: int = DEFAULT_GRACE_PERIOD_SECONDS


def may_purge(task: GracefulEviction, *, replacements_healthy: bool, now: datetime) -> bool:
    """Whether the evicted member's copy can go now."""
    if task.mode == "Directly":
        return True
    if task.mode == "Never":
        return False
    return replacements_healthy or now >= task.since + timedelta(seconds=task.grace_seconds)


def application_failover_due(
    *, unhealthy_since: datetime | None, toleration_seconds: int | None, now: datetime
) -> bool:
    """Whether a workload unhealthy on a member since ``unhealthy_since`` should leave it now."""
    if unhealthy_since is None:
        return False
    seconds = DEFAULT_APPLICATION_TOLERATION_SECONDS if toleration_seconds is None else toleration_seconds
    return now >= unhealthy_since + timedelta(seconds=seconds)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class TaintPlan:
    """A member's ``spec.taints`` as they should be, and when to look again (a NoExecute falls due)."""

    taints: list[dict[str, Any]]
    recheck_after: float | None = None


def desired_health_taints(
    taints: Sequence[Mapping[str, Any]],
    *,
    unreachable: bool,
    now: datetime,
    eviction_seconds: float | None,
    not_ready: bool = False,
) -> TaintPlan:
    """``spec.taints`` with the health taints: ``unreachable`` while the heartbeat is lost, else
    ``not-ready`` while the agent reports ``Ready=False`` (Karmada's two keys); NoSchedule at once,
    NoExecute once the condition has lasted ``eviction_seconds`` (None: never). Other taints are
    kept, in order; the health taints go when the member is healthy again."""
    health_keys = (names.TAINT_UNREACHABLE, names.TAINT_NOT_READY)
    kept = [dict(t) for t in taints if t.get("key") not in health_keys]
    key = names.TAINT_UNREACHABLE if unreachable else names.TAINT_NOT_READY if not_ready else None
    if key is None:
        return TaintPlan(kept)
    existing = {(t.get("key"), t.get("effect") or "NoSchedule"): dict(t) for t in taints}
    no_schedule = existing.get((key, "NoSchedule")) or {
        "key": key,
        "effect": "NoSchedule",
        "timeAdded": _rfc3339(now),
    }
    kept.append(no_schedule)
    if eviction_seconds is None:
        return TaintPlan(kept)
    since = _parse(no_schedule.get("timeAdded")) or now
    due = since + timedelta(seconds=eviction_seconds)
    no_execute = existing.get((key, "NoExecute"))
    if no_execute is None and now < due:
        return TaintPlan(kept, recheck_after=(due - now).total_seconds() + 0.05)
    kept.append(no_execute or {"key": key, "effect": "NoExecute", "timeAdded": _rfc3339(now)})
    return TaintPlan(kept)


ANNOTATION_UNHEALTHY_SINCE = "policy.waybill.dev/unhealthy-since"
ANNOTATION_EVICTED = "policy.waybill.dev/application-evicted"
HOLD_RECHECK_SECONDS = 1.0


def evicted_clusters(annotations: Mapping[str, str]) -> set[str]:
    """The members a binding's application failover has evicted the workload from so far."""
    return set(_times(annotations.get(ANNOTATION_EVICTED)))


def _times(raw: Any) -> dict[str, datetime]:
    try:
        parsed = json.loads(raw) if raw else {}
    except (TypeError, ValueError):
        return {}
    out: dict[str, datetime] = {}
    for key, value in parsed.items() if isinstance(parsed, dict) else []:
        moment = _parse(value)
        if moment is not None:
            out[str(key)] = moment
    return out


@dataclass(frozen=True)
class ApplicationFailover:
    """Where a binding stands in application failover, and what to record on it."""

    evicted: dict[str, datetime]
    """Clusters the workload was moved off, and when (they are not scheduled to meanwhile)."""
    annotations: dict[str, str | None]
    """The binding annotations to write (None: remove)."""
    recheck_after: float | None
    """When a toleration time runs out (seconds from now)."""


def application_failover(
    *,
    spec: Mapping[str, Any],
    annotations: Mapping[str, str],
    placed: Iterable[str],
    health: Mapping[str, str],
    now: datetime,
    may_evict: Callable[[str], bool] | None = None,
) -> ApplicationFailover:
    """Track how long the workload has been Unhealthy on each member it is placed on, evict it from
    one after ``decisionConditions.tolerationSeconds``, and forget an eviction once the workload is
    Healthy on every member it is on now (purge done) — except with ``purgeMode: Never``.
    ``may_evict(cluster)`` False holds a due eviction back (statePreservation: the member has not
    reported the state to preserve yet); it is looked at again a second later."""
    app = ((spec.get("failover") or {}).get("application")) or {}
    placed_set = set(placed)
    since = _times(annotations.get(ANNOTATION_UNHEALTHY_SINCE))
    evicted = _times(annotations.get(ANNOTATION_EVICTED))
    if not app:
        clear: dict[str, str | None] = {
            k: None for k in (ANNOTATION_UNHEALTHY_SINCE, ANNOTATION_EVICTED) if k in annotations
        }
        return ApplicationFailover({}, clear, None)
    seconds = (app.get("decisionConditions") or {}).get("tolerationSeconds")
    toleration = DEFAULT_APPLICATION_TOLERATION_SECONDS if seconds is None else int(seconds)
    since = {c: t for c, t in since.items() if c in placed_set and health.get(c) == "Unhealthy"}
    for cluster in sorted(placed_set):
        if health.get(cluster) == "Unhealthy":
            since.setdefault(cluster, now)
    recheck: float | None = None
    for cluster, moment in since.items():
        if cluster in evicted:
            continue
        if application_failover_due(unhealthy_since=moment, toleration_seconds=toleration, now=now):
            if may_evict is None or may_evict(cluster):
                evicted[cluster] = now
            else:
                recheck = HOLD_RECHECK_SECONDS if recheck is None else min(recheck, HOLD_RECHECK_SECONDS)
        else:
            wait = (moment + timedelta(seconds=toleration) - now).total_seconds() + 0.05
            recheck = wait if recheck is None else min(recheck, wait)
    elsewhere = placed_set - set(evicted)
    if (
        purge_mode(app.get("purgeMode")) != "Never"
        and elsewhere
        and all(health.get(c) == "Healthy" for c in elsewhere)
    ):
        evicted = {c: t for c, t in evicted.items() if c in placed_set}  # purged ones are forgotten
    out = {
        ANNOTATION_UNHEALTHY_SINCE: json.dumps({c: _rfc3339(t) for c, t in sorted(since.items())})
        if since
        else None,
        ANNOTATION_EVICTED: json.dumps({c: _rfc3339(t) for c, t in sorted(evicted.items())})
        if evicted
        else None,
    }
    changed = {
        k: v for k, v in out.items() if annotations.get(k) != v and not (v is None and k not in annotations)
    }
    return ApplicationFailover(evicted, changed, recheck)
