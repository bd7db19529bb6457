"""Member health from heartbeats (pure).

The agent renews a Lease in its member namespace. ``assess`` compares the Lease's ``renewTime``
plus its duration (at least the hub's grace period) with the current time:

* fresh Lease → Ready stays whatever the agent reported; if the hub had marked the member
  unreachable, Ready goes back to True (reason ``HeartbeatResumed``) and the
  ``cluster.waybill.dev/unreachable`` NoSchedule taint is removed;
* expired Lease → ``Ready=Unknown`` (reason ``LeaseExpired``) and the NoSchedule taint;
* no Lease yet → ``Ready=Unknown`` (reason ``AwaitingAgent``) and the
  ``cluster.waybill.dev/not-ready`` NoSchedule taint (Karmada's ``cluster.karmada.io/not-ready``
  means the same, see ``hub.failover``): a member whose agent never connected is not
  schedulable until its first heartbeat, as Karmada taints a cluster without a Ready condition.

NoSchedule only keeps new placements away: nothing is moved off a member because its heartbeat
stopped (see ``hub.scheduling``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hub import reasons
from shared.api import names
from shared.api.meta import parse_time

REASON_LEASE_EXPIRED = reasons.LEASE_EXPIRED
REASON_AWAITING_AGENT = reasons.AWAITING_AGENT
REASON_HEARTBEAT_RESUMED = reasons.HEARTBEAT_RESUMED
HUB_REASONS = (REASON_LEASE_EXPIRED, REASON_AWAITING_AGENT)


@dataclass(frozen=True)
class Health:
    """What the hub should write: the Ready condition (None: leave the agent's) and the taints."""

    ready_status: str | None
    reason: str
    message: str
    unreachable_taint: bool
    awaiting_agent: bool = False
    """No first heartbeat yet: the member carries the not-ready NoSchedule taint."""


def _ready(member: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for condition in (member.get("status") or {}).get("conditions") or []:
        if condition.get("type") == names.CONDITION_READY:
            return condition  # type: ignore[no-any-return]
    return None


def lease_expiry(lease: Mapping[str, Any], *, grace_seconds: float) -> datetime | None:
    spec = lease.get("spec") or {}
    renewed = parse_time(spec.get("renewTime")) or parse_time(spec.get("acquireTime"))
    if renewed is None:
        return None
    duration = max(float(spec.get("leaseDurationSeconds") or 0), grace_seconds)
    return datetime.fromtimestamp(renewed.timestamp() + duration, tz=UTC)


def assess(
    *, member: Mapping[str, Any], lease: Mapping[str, Any] | None, now: datetime, grace_seconds: float
) -> Health:
    """Decide the member's Ready condition and unreachable taint from its Lease."""
    if lease is None:
        return Health(
            "Unknown", REASON_AWAITING_AGENT, "no heartbeat from the agent yet", False, awaiting_agent=True
        )
    expiry = lease_expiry(lease, grace_seconds=grace_seconds)
    if expiry is None or now >= expiry:
        when = expiry.isoformat() if expiry else "never renewed"
        return Health(
            "Unknown",
            REASON_LEASE_EXPIRED,
            f"heartbeat lease expired ({when}); the agent is unreachable",
            True,
        )
    ready = _ready(member)
    if ready is None or ready.get("reason") in HUB_REASONS:
        return Health("True", REASON_HEARTBEAT_RESUMED, "the agent renews its heartbeat", False)
    return Health(None, str(ready.get("reason") or ""), str(ready.get("message") or ""), False)


def seconds_until_expiry(
    lease: Mapping[str, Any] | None, *, now: datetime, grace_seconds: float
) -> float | None:
    """When to look again: just after the Lease would expire (None: nothing to wait for)."""
    if lease is None:
        return None
    expiry = lease_expiry(lease, grace_seconds=grace_seconds)
    if expiry is None or expiry <= now:
        return None
    return (expiry - now).total_seconds() + 0.05


def desired_taints(taints: list[Mapping[str, Any]], *, unreachable: bool, now: str) -> list[dict[str, Any]]:
    """``spec.taints`` with the unreachable taint added or removed (others untouched, order kept)."""
    kept = [dict(t) for t in taints if t.get("key") != names.TAINT_UNREACHABLE]
    existing = next((dict(t) for t in taints if t.get("key") == names.TAINT_UNREACHABLE), None)
    if unreachable:
        kept.append(existing or {"key": names.TAINT_UNREACHABLE, "effect": "NoSchedule", "timeAdded": now})
    return kept


def member_name_of(namespace: Mapping[str, Any]) -> str | None:
    """The member a hub namespace registers (label ``waybill.dev/member``), or None."""
    value = ((namespace.get("metadata") or {}).get("labels") or {}).get(names.LABEL_MEMBER)
    return str(value) if value else None
