"""Members that are not there are not healthy: presence in status (pure) and its Event.

The membership controller (``hub.membership``) decides from the heartbeat Lease whether a member
is reporting; this module makes what the hub *shows* agree with that verdict:

* a member whose agent never connected (``Ready=Unknown``, ``AwaitingAgent``) is created with,
  and keeps, the ``cluster.waybill.dev/not-ready`` NoSchedule taint (``not_ready_taint``) until
  its first heartbeat, so nothing is scheduled to it meanwhile (Karmada taints a cluster with no
  Ready condition ``cluster.karmada.io/not-ready``, which ``hub.failover`` reads as Waybill's);
* an unreachable member (``Ready=Unknown``, ``LeaseExpired``) has its binding
  ``aggregatedStatus`` entries marked ``health: Unknown`` with ``lastReportTime`` (the agent's
  last heartbeat); ``available`` is dropped (not known), ``applied`` and the status feedback stay
  as last reported (a disconnected agent keeps everything applied). The binding's Applied and
  Available conditions that would say True say ``Unknown`` (``MemberUnreachable``), and the
  template's own status counts only the members that report (``known_items``);
* a member held at its last good manifest (the current one failed to render for it) shows what
  it really runs: ``applied: false``, ``held: true``, its real status feedback (``mark_held``);
* a ``MemberUnreachable`` Warning Event goes on each template placed on an unreachable member,
  once per outage (``PresenceEvents``).

Everything here is pure except ``PresenceEvents``, which records through ``hub.template_events``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from hub import reasons, template_events
from hub.conditions import WantedCondition
from hub.matching import TemplateRef
from shared.api import names

REASON_MEMBER_UNREACHABLE = reasons.MEMBER_UNREACHABLE


def not_ready_taint(now: datetime) -> dict[str, Any]:
    """The NoSchedule taint a member carries until its agent's first heartbeat."""
    return {
        "key": names.TAINT_NOT_READY,
        "effect": "NoSchedule",
        "timeAdded": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


class PresenceState(StrEnum):
    REPORTING = "Reporting"
    UNREACHABLE = "Unreachable"
    AWAITING_AGENT = "AwaitingAgent"


@dataclass(frozen=True)
class Presence:
    """Whether a member's agent reports, and when it last did (its Lease's renewTime)."""

    state: PresenceState
    last_report_time: str | None = None

    @property
    def unreachable(self) -> bool:
        return self.state == PresenceState.UNREACHABLE


REPORTING = Presence(PresenceState.REPORTING)


def _state(member: Mapping[str, Any] | None) -> PresenceState:
    for condition in ((member or {}).get("status") or {}).get("conditions") or []:
        if condition.get("type") != names.CONDITION_READY or condition.get("status") != "Unknown":
            continue
        if condition.get("reason") == reasons.LEASE_EXPIRED:
            return PresenceState.UNREACHABLE
        if condition.get("reason") == reasons.AWAITING_AGENT:
            return PresenceState.AWAITING_AGENT
    return PresenceState.REPORTING


def presence_of(member: Mapping[str, Any] | None, lease: Mapping[str, Any] | None) -> Presence:
    """The member's presence as the membership controller last judged it (its Ready condition),
    with the last report time from its heartbeat Lease."""
    state = _state(member)
    if state != PresenceState.UNREACHABLE:
        return Presence(state)
    spec = (lease or {}).get("spec") or {}
    last = spec.get("renewTime") or spec.get("acquireTime")
    return Presence(state, str(last) if last else None)


def reachability_changed(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> bool:
    """Whether a MemberCluster update changed its presence (its bindings' status must follow)."""
    return _state(old) != _state(new)


def unreachable_message(cluster: str, presence: Presence) -> str:
    since = presence.last_report_time or "never"
    return f"member {cluster} is unreachable: no report from its agent since {since}"


def mark_item(item: Mapping[str, Any], presence: Presence, *, cluster: str) -> dict[str, Any]:
    """An ``aggregatedStatus`` entry (with ``upToDate``) as the member's presence allows it."""
    out = dict(item)
    if presence.state == PresenceState.UNREACHABLE:
        out["health"] = "Unknown"
        out.pop("available", None)
        out["lastReportTime"] = presence.last_report_time
        out["errors"] = [*out.get("errors", []), unreachable_message(cluster, presence)]
        out["upToDate"] = False
    elif presence.state == PresenceState.AWAITING_AGENT:
        out["health"] = "Unknown"
        out["errors"] = [*out.get("errors", []), f"the agent of member {cluster} has not connected yet"]
        out["upToDate"] = False
    return out


def mark_held(item: Mapping[str, Any]) -> dict[str, Any]:
    """A member whose current manifest failed to render keeps its last good one: say so.

    It is not applied (what it runs is not the current template), ``held`` says why, and its
    status feedback (what it really runs, e.g. its replicas) stays.
    """
    out = dict(item)
    if out.get("applied"):
        out["applied"] = False
        out["held"] = True
        if out.get("health") == "Healthy":
            out["health"] = "Unknown"
    out["upToDate"] = False
    return out


CONDITION_REPLICAS_MANAGED = names.CONDITION_REPLICAS_MANAGED  # written by the agent
_LEFT_TO = "spec.replicas is left to "
_ON_MEMBER = " on the member"


def mark_replicas(item: Mapping[str, Any], manifest: Mapping[str, Any] | None) -> dict[str, Any]:
    """``replicasManagedBy``: the agent reports that a manager on the member (an HPA, a
    scale-subresource writer, a listed manager) owns ``spec.replicas``; the entry's status
    feedback then has the member's actual replicas."""
    out = dict(item)
    for condition in (manifest or {}).get("conditions") or []:
        if condition.get("type") == CONDITION_REPLICAS_MANAGED and condition.get("status") == "True":
            message = str(condition.get("message") or "")
            owner = message.removeprefix(_LEFT_TO).split(_ON_MEMBER, 1)[0]
            out["replicasManagedBy"] = owner or str(condition.get("reason") or "")
    return out


def known_items(items: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The entries whose member reports: what the template's own status may count."""
    return [i for i in items if "lastReportTime" not in i]


def adjust_conditions(
    wanted: Sequence[WantedCondition], items: Sequence[Mapping[str, Any]]
) -> list[WantedCondition]:
    """Applied / Available that would say True say Unknown while a chosen member is unreachable."""
    unreachable = [i for i in items if "lastReportTime" in i]
    if not unreachable:
        return list(wanted)
    message = "; ".join(
        f"no report from {i['clusterName']} since {i.get('lastReportTime') or 'never'}"
        for i in sorted(unreachable, key=lambda i: str(i["clusterName"]))
    )
    out = []
    for condition in wanted:
        if (
            condition.type in (names.CONDITION_APPLIED, names.CONDITION_AVAILABLE)
            and condition.status == "True"
        ):
            condition = replace(
                condition, status="Unknown", reason=REASON_MEMBER_UNREACHABLE, message=message
            )
        out.append(condition)
    return out


def status_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """The entry as written to the binding (``lastReportTime`` None is left out)."""
    return {k: v for k, v in item.items() if k != "upToDate" and not (k == "lastReportTime" and v is None)}


class PresenceEvents:
    """``MemberUnreachable`` on the templates of an unreachable member, once per outage: keyed by
    the member and its last report time, through ``hub.template_events`` (which writes a key once,
    survives a hub restart by the Event's name, and keeps a bounded memory)."""

    def __init__(self, events: template_events.TemplateEvents | None) -> None:
        self.events = events

    async def record(self, ref: TemplateRef, items: Sequence[Mapping[str, Any]]) -> None:
        if self.events is None:
            return
        for item in items:
            if "lastReportTime" not in item:
                continue
            cluster, last = str(item["clusterName"]), item.get("lastReportTime")
            presence = Presence(PresenceState.UNREACHABLE, last)
            message = f"{unreachable_message(cluster, presence)}; its status here is its last report"
            await self.events.record_template_event(
                ref, REASON_MEMBER_UNREACHABLE, message, key=f"{cluster}@{last or 'never'}"
            )
