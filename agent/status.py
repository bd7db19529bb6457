"""Build a Work's status from per-manifest results, and decide whether it needs writing.

Each manifest gets a ``manifestConditions[]`` entry: its identifier, an ``Applied`` condition
(reason ``Applied``, ``ManifestApplyFailed``, ``NotTakenOver``, ``DecodingErred``,
``WaitingForCRD``...), an ``Available`` condition from the per-kind health rules, the status
feedback values, drift/diff details, and the manifest's ``lastDrift`` (kept until the next drift
or a new manifest: ``agent.drift_record``), with a ``driftSummary`` on the Work while any is on
record. ReportDiff manifests get a ``DiffReported`` condition instead. The Work gets ``Applied``,
``Available`` and ``Degraded``. ``lastTransitionTime`` is kept when a condition's status does
not change, and so are drift observation times while the drift stays the same, so an unchanged
world yields an identical status: ``status_changed`` then says no write is needed.
Statuses over the size budget are trimmed, with a ``StatusTrimmed`` condition saying so.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent import drift_record
from agent.availability import Availability
from agent.drift import FieldDiff
from agent.manifests import ManifestIdentifier
from shared.api.meta import stamp_wire_conditions

COND_APPLIED = "Applied"
COND_AVAILABLE = "Available"
COND_DEGRADED = "Degraded"
COND_DIFF_REPORTED = "DiffReported"
COND_TRIMMED = "StatusTrimmed"
COND_DRIFTED = drift_record.COND_DRIFTED

REASON_APPLIED = "Applied"
REASON_APPLY_FAILED = "ManifestApplyFailed"
REASON_DECODING_ERRED = "DecodingErred"
REASON_NOT_TAKEN_OVER = "NotTakenOver"
REASON_WAITING_FOR_CRD = "WaitingForCRD"
REASON_NOT_AVAILABLE_YET = "ManifestsNotAvailableYet"  # the Work's Available=False while workloads start

DEFAULT_STATUS_LIMIT = 600 * 1024
MESSAGE_LIMIT = 512


@dataclass
class ManifestResult:
    """What happened to one manifest in one pass."""

    identifier: ManifestIdentifier
    applied: bool
    reason: str
    message: str = ""
    availability: Availability | None = None
    feedback: list[dict[str, Any]] = field(default_factory=list)
    drifts: list[FieldDiff] = field(default_factory=list)
    diffs: list[FieldDiff] = field(default_factory=list)
    report_diff: bool = False
    observed_generation: int | None = None  # of the live object on the member
    # an interpreted kind (agent.interpretation): the reflected status (None: keep the last one)
    # and the StatusReflected condition
    reflected_status: dict[str, Any] | None = None
    reflection: dict[str, Any] | None = None
    drift: drift_record.DriftObservation | None = None  # this pass's drift, with who and whether corrected
    manifest_digest: str | None = None  # of the manifest as the agent would write it (None: unknown)
    remembered_drift: dict[str, Any] | None = None  # this agent's last lastDrift for it (DriftMemory)
    extra_conditions: list[dict[str, Any]] = field(default_factory=list)  # e.g. ReplicasManagedOnMember

    @property
    def failed(self) -> bool:
        if self.report_diff:
            return False
        return not self.applied or (self.availability is not None and self.availability.failed)


def condition(
    type_: str, status: bool, reason: str, message: str, *, generation: int | None = None
) -> dict[str, Any]:
    cond: dict[str, Any] = {
        "type": type_,
        "status": "True" if status else "False",
        "reason": reason,
        "message": message[:MESSAGE_LIMIT],
    }
    if generation is not None:
        cond["observedGeneration"] = generation
    return cond


# The one rule for lastTransitionTime (kept while the status stays, ``now`` when it moves), the
# hub's too: shared.api.meta. ``merge_conditions(new, old, now=...)`` stamps ``new``.
merge_conditions = stamp_wire_conditions


def _patch_details(diffs: list[FieldDiff]) -> list[dict[str, Any]]:
    return [d.to_dict() for d in diffs]


def manifest_condition(result: ManifestResult, old: Mapping[str, Any] | None, *, now: str) -> dict[str, Any]:
    """One ``manifestConditions[]`` entry (shape of ``shared.api.work.ManifestCondition``)."""
    old = old or {}
    old_conds = [c for c in old.get("conditions") or [] if isinstance(c, Mapping)]
    conds: list[dict[str, Any]] = []
    last_drift: dict[str, Any] | None = None
    if result.report_diff:
        found = bool(result.diffs)
        # NotTakenOver: an apply would leave the object alone (not Waybill's; whenToTakeOver)
        reason = REASON_NOT_TAKEN_OVER if result.reason == REASON_NOT_TAKEN_OVER else (
            "DiffFound" if found else "NoDiffFound"
        )
        conds.append(condition(COND_DIFF_REPORTED, True, reason, result.message))
    else:
        conds.append(condition(COND_APPLIED, result.applied, result.reason, result.message))
        if result.availability is not None:
            a = result.availability
            conds.append(condition(COND_AVAILABLE, a.available, a.reason, a.message))
        else:
            conds.append(condition(COND_AVAILABLE, False, "NotApplied", "the manifest is not applied"))
        last_drift = _last_drift(result, old, now=now)
        had_drift = any(c.get("type") == COND_DRIFTED for c in old_conds)
        drifted = drift_record.drift_condition(
            last_drift, drifting=bool(result.drifts), had_condition=had_drift
        )
        if drifted is not None:
            conds.append(condition(COND_DRIFTED, *drifted))
        if result.reflection is not None:
            conds.append(dict(result.reflection))
        conds.extend(result.extra_conditions)
    entry: dict[str, Any] = {
        "identifier": result.identifier.to_dict(),
        "conditions": merge_conditions(conds, old_conds, now=now),
    }
    if result.feedback:
        entry["statusFeedback"] = {"values": result.feedback}
    reflected = result.reflected_status
    if reflected is None and result.reflection is not None:
        reflected = old.get("reflectedStatus")  # reflection failed: the last one stays
    if reflected is not None:
        entry["reflectedStatus"] = reflected
    if result.drifts:
        drifts = _patch_details(result.drifts)
        entry["drifts"] = drifts
        same = old.get("drifts") == drifts and old.get("observedDriftTime")
        entry["observedDriftTime"] = old["observedDriftTime"] if same else now
    if result.diffs:
        entry["diffs"] = _patch_details(result.diffs)
    if last_drift is not None:
        entry["lastDrift"] = last_drift
    return entry


def _last_drift(result: ManifestResult, old: Mapping[str, Any], *, now: str) -> dict[str, Any] | None:
    """The manifest's ``lastDrift`` after this pass (see ``agent.drift_record.next_record``)."""
    observation = result.drift
    if observation is None and result.drifts:
        observation = drift_record.DriftObservation(
            diffs=tuple(result.drifts),
            corrected=result.applied,
            changed_by=(),
            manifest_digest=result.manifest_digest or "",
        )
    previous = drift_record.newest(old.get("lastDrift"), result.remembered_drift)
    return drift_record.next_record(observation, previous, manifest_digest=result.manifest_digest, now=now)


def _summary(results: Sequence[ManifestResult], limit: int = 3) -> str:
    parts = [f"{r.identifier.describe()}: {r.reason}: {r.message}" for r in results[:limit]]
    more = f" (and {len(results) - limit} more)" if len(results) > limit else ""
    return "; ".join(parts) + more


def work_conditions(results: Sequence[ManifestResult], *, generation: int | None) -> list[dict[str, Any]]:
    """The Work-level Applied/Available/Degraded (or DiffReported) conditions."""
    if results and all(r.report_diff for r in results):
        with_diff = [r for r in results if r.diffs]
        msg = f"{len(with_diff)} of {len(results)} manifests differ from the member"
        return [condition(COND_DIFF_REPORTED, True, "DiffReported", msg, generation=generation)]
    tracked = [r for r in results if not r.report_diff]
    not_applied = [r for r in tracked if not r.applied]
    applied = not not_applied
    out = [
        condition(
            COND_APPLIED,
            True,
            "AllManifestsApplied",
            f"{len(tracked)} manifests applied",
            generation=generation,
        )
        if applied
        else condition(
            COND_APPLIED,
            False,
            REASON_APPLY_FAILED,
            f"{len(not_applied)} of {len(tracked)} manifests not applied: {_summary(not_applied)}",
            generation=generation,
        )
    ]
    unavailable = [
        r for r in tracked if r.applied and (r.availability is None or not r.availability.available)
    ]
    if not applied:
        out.append(
            condition(
                COND_AVAILABLE,
                False,
                "NotAllManifestsApplied",
                "some manifests are not applied",
                generation=generation,
            )
        )
    elif unavailable:
        msg = f"{len(unavailable)} of {len(tracked)} manifests not available yet: " + "; ".join(
            f"{r.identifier.describe()}: {r.availability.message if r.availability else ''}"
            for r in unavailable[:3]
        )
        out.append(condition(COND_AVAILABLE, False, REASON_NOT_AVAILABLE_YET, msg, generation=generation))
    else:
        out.append(
            condition(
                COND_AVAILABLE,
                True,
                "AllManifestsAvailable",
                f"{len(tracked)} manifests available",
                generation=generation,
            )
        )
    failed = [r for r in tracked if r.failed]
    if failed:
        out.append(condition(COND_DEGRADED, True, "ManifestsFailed", _summary(failed), generation=generation))
    else:
        out.append(
            condition(COND_DEGRADED, False, "AsExpected", "no manifest has failed", generation=generation)
        )
    return out


def build_work_status(
    results: Sequence[ManifestResult],
    *,
    generation: int | None,
    existing: Mapping[str, Any] | None,
    now: str,
    limit_bytes: int = DEFAULT_STATUS_LIMIT,
) -> dict[str, Any]:
    """The Work's new ``status``, stable for an unchanged world (see ``status_changed``)."""
    existing = existing or {}
    old_manifests = {
        (m.get("identifier") or {}).get("ordinal"): m
        for m in existing.get("manifestConditions") or []
        if isinstance(m, Mapping)
    }
    manifests = []
    for r in sorted(results, key=lambda r: r.identifier.ordinal):
        old = old_manifests.get(r.identifier.ordinal)
        if old is not None and (old.get("identifier") or {}) != r.identifier.to_dict():
            old = None
        manifests.append(manifest_condition(r, old, now=now))
    conds = work_conditions(results, generation=generation)
    status: dict[str, Any] = {"conditions": conds, "manifestConditions": manifests}
    summary = drift_record.work_summary(manifests)
    if summary is not None:
        status["driftSummary"] = summary
    status = trim(status, limit_bytes=limit_bytes)
    status["conditions"] = merge_conditions(status["conditions"], existing.get("conditions") or [], now=now)
    return status


def _size(obj: Any) -> int:
    return len(json.dumps(obj, separators=(",", ":")))


def trim(status: dict[str, Any], *, limit_bytes: int) -> dict[str, Any]:
    """Shrink a status over ``limit_bytes``: raw feedback, then details, then messages, then entries."""
    if _size(status) <= limit_bytes:
        return status
    out = copy.deepcopy(status)
    steps: list[str] = []

    def drop_raw_feedback() -> None:
        for m in out["manifestConditions"]:
            values = (m.get("statusFeedback") or {}).get("values")
            if values:
                m["statusFeedback"]["values"] = [
                    v for v in values if v["fieldValue"].get("type") != "JsonRaw"
                ]
        steps.append("raw feedback values")

    def drop_details() -> None:
        for m in out["manifestConditions"]:
            for key in ("drifts", "diffs"):
                if key in m:
                    m[key] = m[key][:1]
            if "lastDrift" in m:
                m["lastDrift"]["fields"] = m["lastDrift"]["fields"][:1]
        steps.append("drift and diff details")

    def shorten_messages() -> None:
        for m in out["manifestConditions"]:
            for c in m["conditions"]:
                c["message"] = c["message"][:64]
        steps.append("condition messages")

    def drop_healthy_entries() -> None:
        kept = [m for m in out["manifestConditions"] if any(c["status"] != "True" for c in m["conditions"])]
        steps.append(f"{len(out['manifestConditions']) - len(kept)} healthy manifest entries")
        out["manifestConditions"] = kept

    for step in (drop_raw_feedback, drop_details, shorten_messages, drop_healthy_entries):
        step()
        if _size(out) <= limit_bytes:
            break
    if _size(out) > limit_bytes:
        out["manifestConditions"] = out["manifestConditions"][: max(1, len(out["manifestConditions"]) // 4)]
        steps.append("most remaining entries")
    out["conditions"] = [
        *out["conditions"],
        condition(
            COND_TRIMMED,
            True,
            "StatusTooLarge",
            "status trimmed to stay under the size limit: dropped " + ", ".join(steps),
        ),
    ]
    return out


def status_changed(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    """Whether writing ``new`` would change anything."""
    return _canonical(old or {}) != _canonical(new)


def _canonical(status: Mapping[str, Any]) -> str:
    return json.dumps(status, sort_keys=True, separators=(",", ":"), default=str)
