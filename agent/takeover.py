"""Decide what to do with one manifest: create, apply, leave alone, or only report a diff.

``plan_apply`` is the agent's central decision, a pure function of the manifest, the live
object on the member (or None), whether this agent already owns that object, and the Work's
``applyStrategy``:

- ``type: ReportDiff`` never writes; it reports how the member differs from the hub.
- An object the agent does not own (it existed before, created by someone else) is taken over
  only as ``whenToTakeOver`` allows: ``Always``, ``IfNoDiff`` (the API's default: only when the
  fields the manifest sets already match), ``Never``. Otherwise the manifest fails
  with reason ``NotTakenOver`` and the differences are reported.
- Fields owned by managers the agent respects (see ``drift.respected_fields``) are stripped
  from what is applied and left out of drift, so an HPA and the agent never fight.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from agent import drift

STRATEGY_SSA = "ServerSideApply"
STRATEGY_CSA = "ClientSideApply"
STRATEGY_REPORT_DIFF = "ReportDiff"
TAKEOVER_ALWAYS = "Always"
TAKEOVER_IF_NO_DIFF = "IfNoDiff"
TAKEOVER_NEVER = "Never"
WHEN_TO_APPLY_ALWAYS = "Always"
WHEN_TO_APPLY_IF_NOT_DRIFTED = "IfNotDrifted"  # KubeFleet's name: report drift, do not correct it

REASON_NOT_TAKEN_OVER = "NotTakenOver"
APPLIED_WORK_KIND = "AppliedWork"


class ActionType(StrEnum):
    CREATE = "Create"
    APPLY = "Apply"
    SKIP = "Skip"
    REPORT_DIFF = "ReportDiff"


@dataclass(frozen=True)
class Action:
    type: ActionType
    reason: str = ""
    message: str = ""
    drifts: list[drift.FieldDiff] = field(default_factory=list)  # owned object changed on the member
    diffs: list[drift.FieldDiff] = field(default_factory=list)  # not owned / ReportDiff
    take_over: bool = False
    respected: frozenset[drift.FieldPath] = frozenset()

    @property
    def writes(self) -> bool:
        return self.type in (ActionType.CREATE, ActionType.APPLY)


@dataclass(frozen=True)
class Strategy:
    type: str = STRATEGY_SSA
    when_to_take_over: str = TAKEOVER_IF_NO_DIFF
    force: bool | None = None  # None: force only over drift (fields not respected), see applier
    # IfNotDrifted: an owned object edited on the member keeps the edit (reported, not corrected)
    # until its manifest changes; not part of ``describe``: it never changes what is written
    when_to_apply: str = WHEN_TO_APPLY_ALWAYS

    def describe(self) -> str:
        """What of the strategy changes what is written (part of a manifest's digest)."""
        return f"{self.type}/{self.force}"

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any] | None) -> Strategy:
        spec = spec or {}
        return cls(
            type=str(spec.get("type") or STRATEGY_SSA),
            when_to_take_over=str(spec.get("whenToTakeOver") or TAKEOVER_IF_NO_DIFF),
            force=spec.get("force") if isinstance(spec.get("force"), bool) else None,
            when_to_apply=str(spec.get("whenToApply") or WHEN_TO_APPLY_ALWAYS),
        )


def is_owned(
    live: Mapping[str, Any],
    *,
    applied_uids: Collection[str],
    applied_work_name: str,
) -> bool:
    """Did this agent apply ``live``? Its UID is recorded, or it points at our AppliedWork."""
    meta = live.get("metadata") or {}
    uid = meta.get("uid")
    if uid and uid in applied_uids:
        return True
    for ref in meta.get("ownerReferences") or []:
        if ref.get("kind") == APPLIED_WORK_KIND and ref.get("name") == applied_work_name:
            return True
    return False


def plan_apply(
    manifest: Mapping[str, Any],
    live: Mapping[str, Any] | None,
    *,
    owned: bool,
    strategy: Strategy,
    field_manager: str,
    respected_managers: Iterable[str] = (),
    original: Mapping[str, Any] | None = None,
    left_alone: Iterable[drift.FieldPath] = (),
) -> Action:
    """What to do with ``manifest`` given the member's ``live`` object.

    ``manifest`` is what the agent would write (with Waybill's labels); ``original`` the hub's
    manifest as given: an object the agent does not own is compared with that, so Waybill's
    own bookkeeping labels are not differences that block a takeover.
    """
    if live is None:
        if strategy.type == STRATEGY_REPORT_DIFF:
            missing = drift.FieldDiff("/", None, "(object)")
            return Action(
                ActionType.REPORT_DIFF,
                "NotFoundOnMember",
                "the object does not exist on the member",
                diffs=[missing],
            )
        return Action(ActionType.CREATE, "Creating", "the object does not exist on the member yet")
    respected = frozenset(
        drift.respected_fields(live, field_manager=field_manager, respected_managers=respected_managers)
    ) | frozenset(left_alone)  # e.g. spec.replicas that a member-side HPA owns (agent.replica_owners)
    compared = manifest if owned or original is None else original
    differences = drift.diff(compared, live, skip=respected)
    if strategy.type == STRATEGY_REPORT_DIFF:
        message = f"{len(differences)} field(s) differ" if differences else "no differences"
        return Action(ActionType.REPORT_DIFF, "DiffReported", message, diffs=differences, respected=respected)
    if owned:
        message = f"correcting {len(differences)} drifted field(s)" if differences else "up to date"
        return Action(ActionType.APPLY, "Owned", message, drifts=differences, respected=respected)
    when = strategy.when_to_take_over
    if when == TAKEOVER_ALWAYS:
        return Action(
            ActionType.APPLY,
            "TakingOver",
            "taking over an existing object",
            diffs=differences,
            take_over=True,
            respected=respected,
        )
    if when == TAKEOVER_IF_NO_DIFF and not differences:
        return Action(
            ActionType.APPLY,
            "TakingOver",
            "taking over an existing object with no differences",
            take_over=True,
            respected=respected,
        )
    if when == TAKEOVER_IF_NO_DIFF:
        count = len(differences)
        message = f"the object exists on the member and {count} field(s) differ (whenToTakeOver=IfNoDiff)"
    else:
        message = f"the object exists on the member and was not created by Waybill (whenToTakeOver={when})"
    return Action(ActionType.SKIP, REASON_NOT_TAKEN_OVER, message, diffs=differences, respected=respected)
