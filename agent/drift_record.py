"""A manifest's last drift, kept in the Work status as a fact (pure).

``agent.drift`` finds the fields that differ; this module turns one pass's findings into the
manifest's ``lastDrift`` record (``shared.api.work.LastDrift``): the drifted fields with the
member's and the hub's values (Secret values already redacted by ``drift.diff``), who changed
them (the ``managedFields`` managers that own those fields on the member), when the agent saw
it, and whether it wrote the hub's values back. The record stays until the next drift or until
the manifest changes (its digest), so a drift corrected at once is still there for the hub,
``waybill status`` and the Events to read.

* ``observe`` — what this pass saw for one manifest (None: no drift);
* ``next_record`` — the ``lastDrift`` after this pass, from what was on record;
* ``drift_condition`` — the ``Drifted`` condition that goes with it;
* ``work_summary`` — the Work-level ``driftSummary``;
* ``DriftMemory`` — the agent's own copy of the records it wrote, for when the Work it reads is
  older than its last status write (the informer has not delivered it yet, or the write failed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agent.drift import FieldDiff, FieldPath
from shared.api.meta import parse_time

COND_DRIFTED = "Drifted"
REASON_DRIFT_CORRECTED = "DriftCorrected"
REASON_DRIFT_DETECTED = "DriftDetected"
REASON_NO_DRIFT = "NoDrift"
# whenToApply IfNotDrifted: the manifest's Applied condition while the member keeps its edit
REASON_FOUND_DRIFTS = "FoundDrifts"
MAX_RECORDED_FIELDS = 20
MAX_MANAGERS = 5

Record = dict[str, Any]


@dataclass(frozen=True)
class DriftObservation:
    """The drift one pass saw on one owned object whose manifest had not changed."""

    diffs: tuple[FieldDiff, ...]
    corrected: bool
    changed_by: tuple[str, ...]
    manifest_digest: str
    observed_generation: int | None = None


def _owns(fields: Any, path: FieldPath) -> bool:
    """Whether a ``fieldsV1`` tree names ``path`` (or a parent of it that it owns whole)."""
    node = fields
    for token in path:
        if not isinstance(node, Mapping):
            return False
        if token not in node:
            return "." in node and len(node) == 1  # an atomic parent owned as a whole
        node = node[token]
    return True


def changed_by(live: Mapping[str, Any], diffs: Iterable[FieldDiff], *, field_manager: str) -> tuple[str, ...]:
    """The managers (never the agent) whose ``managedFields`` own a drifted field on ``live``.

    A field someone removed is owned by nobody any more: then the managers of the most recent
    ``Update`` entries are named (the likeliest writers), else nothing.
    """
    entries = [
        e
        for e in (live.get("metadata") or {}).get("managedFields") or []
        if isinstance(e, Mapping)
        and e.get("manager")
        and e.get("manager") != field_manager
        and e.get("subresource") != "status"  # controllers reporting status do not edit the spec
    ]
    paths = [d.field_path for d in diffs if d.field_path]
    owners: list[str] = []
    for entry in entries:
        name = str(entry["manager"])
        if name not in owners and any(_owns(entry.get("fieldsV1") or {}, p) for p in paths):
            owners.append(name)
    if not owners:
        updates = [e for e in entries if e.get("operation") == "Update" and e.get("time")]
        latest = max((str(e["time"]) for e in updates), default=None)
        owners = sorted({str(e["manager"]) for e in updates if str(e["time"]) == latest})
    return tuple(owners[:MAX_MANAGERS])


def observe(
    live: Mapping[str, Any] | None,
    diffs: Sequence[FieldDiff],
    *,
    corrected: bool,
    field_manager: str,
    manifest_digest: str,
) -> DriftObservation | None:
    """This pass's drift for one manifest (None when nothing drifted); ``live`` None: the
    object was deleted on the member (``deleted()``)."""
    if not diffs:
        return None
    if live is None:  # deleted on the member: nobody to name
        return DriftObservation(tuple(diffs), corrected, (), manifest_digest)
    generation = (live.get("metadata") or {}).get("generation")
    return DriftObservation(
        diffs=tuple(diffs),
        corrected=corrected,
        changed_by=changed_by(live, diffs, field_manager=field_manager),
        manifest_digest=manifest_digest,
        observed_generation=generation if isinstance(generation, int) else None,
    )


def _record(observation: DriftObservation, *, now: str) -> Record:
    out: Record = {
        "observedTime": now,
        "corrected": observation.corrected,
        "fields": [d.to_dict() for d in observation.diffs[:MAX_RECORDED_FIELDS]],
        "fieldCount": len(observation.diffs),
        "changedBy": list(observation.changed_by),
        "manifestDigest": observation.manifest_digest,
    }
    if observation.observed_generation is not None:
        out["observedGeneration"] = observation.observed_generation
    return out


def next_record(
    observation: DriftObservation | None,
    previous: Mapping[str, Any] | None,
    *,
    manifest_digest: str | None,
    now: str,
) -> Record | None:
    """The manifest's ``lastDrift`` after this pass.

    A drift seen now is a new record, except the drift already on record that is still there
    uncorrected (whenToApply IfNotDrifted: the member keeps the edit; it is one drift, observed
    once). Without a drift now, the previous record stays while it is about the same manifest
    (``manifest_digest`` None: unknown this pass, e.g. the member could not be read: kept too).
    """
    if observation is not None:
        fresh = _record(observation, now=now)
        if (
            previous
            and not observation.corrected
            and previous.get("corrected") is False
            and previous.get("fields") == fresh["fields"]
            and previous.get("manifestDigest") == fresh["manifestDigest"]
        ):
            return dict(previous)
        return fresh
    if not previous:
        return None
    if manifest_digest is not None and previous.get("manifestDigest") != manifest_digest:
        return None  # the manifest changed since: its last drift is history
    return dict(previous)


def newest(*records: Mapping[str, Any] | None) -> Record | None:
    """The most recently observed of ``records`` (None when there are none)."""
    best: Mapping[str, Any] | None = None
    best_time = None
    for record in records:
        if not record:
            continue
        when = parse_time(record.get("observedTime"))
        if best is None or (when is not None and (best_time is None or when > best_time)):
            best, best_time = record, when
    return dict(best) if best is not None else None


def _paths(record: Mapping[str, Any], limit: int = 5) -> str:
    paths = [str(f.get("path")) for f in record.get("fields") or [] if isinstance(f, Mapping)]
    more = int(record.get("fieldCount") or len(paths)) - min(len(paths), limit)
    return ", ".join(paths[:limit]) + (f" (and {more} more)" if more > 0 else "")


def describe(record: Mapping[str, Any]) -> str:
    """One line: which fields, by whom, when, corrected or not."""
    done = "corrected" if record.get("corrected") else "not corrected"
    if _paths(record) == "/":
        return f"the object was deleted on the member at {record.get('observedTime')}; {done}"
    who = ", ".join(record.get("changedBy") or []) or "an unknown manager"
    return f"{_paths(record)} changed on the member by {who} at {record.get('observedTime')}; {done}"


def deleted() -> FieldDiff:
    """The drift of an applied object someone deleted on the member (its manifest unchanged)."""
    return FieldDiff("/", None, "(object)")


def drift_condition(
    record: Mapping[str, Any] | None, *, drifting: bool, had_condition: bool
) -> tuple[bool, str, str] | None:
    """The ``Drifted`` condition as (status, reason, message); None: none to report.

    True only while the member differs (a drift not corrected); a corrected drift is
    ``False/DriftCorrected`` (the record says what it was); ``False/NoDrift`` once nothing is
    on record for a manifest that had drifted.
    """
    if record:
        if drifting and not record.get("corrected"):
            return True, REASON_DRIFT_DETECTED, describe(record)
        if record.get("corrected"):
            return False, REASON_DRIFT_CORRECTED, describe(record)
        return False, REASON_NO_DRIFT, "the member matches the hub again; last drift: " + describe(record)
    if had_condition:
        return False, REASON_NO_DRIFT, "the member matches the hub"
    return None


def work_summary(entries: Sequence[Mapping[str, Any]]) -> Record | None:
    """The Work's ``driftSummary`` over its manifests' ``lastDrift`` records (None: no record)."""
    records = [e["lastDrift"] for e in entries if isinstance(e.get("lastDrift"), Mapping)]
    if not records:
        return None
    latest = newest(*records) or {}
    return {
        "driftedManifests": len(records),
        "driftedFieldCount": sum(int(r.get("fieldCount") or 0) for r in records),
        "driftCorrected": all(bool(r.get("corrected")) for r in records),
        "lastObservedTime": latest.get("observedTime"),
    }


def fresh_records(
    before: Mapping[int, Mapping[str, Any]], entries: Sequence[Mapping[str, Any]], *, now: str
) -> list[Record]:
    """The ``lastDrift`` records in ``entries`` observed ``now`` and not on record ``before``:
    the drifts this pass saw first (a drift kept from earlier passes, or from before a restart,
    is not new)."""
    out = []
    for entry in entries:
        record = entry.get("lastDrift")
        ordinal = int((entry.get("identifier") or {}).get("ordinal") or 0)
        if not isinstance(record, Mapping) or record.get("observedTime") != now:
            continue
        if before.get(ordinal) != record:
            out.append(dict(record))
    return out


class DriftMemory:
    """The last ``lastDrift`` per manifest of each Work, as this agent last computed it."""

    def __init__(self) -> None:
        # work key -> ordinal -> (the manifest's identifier, its record)
        self._records: dict[str, dict[int, tuple[Record, Record]]] = {}

    def recall(self, work_key: str, identifier: Mapping[str, Any]) -> Record | None:
        """The record of the manifest ``identifier`` names (None if another one is at its ordinal)."""
        found = (self._records.get(work_key) or {}).get(int(identifier.get("ordinal") or 0))
        return dict(found[1]) if found is not None and found[0] == dict(identifier) else None

    def recall_all(self, work_key: str) -> dict[int, Record]:
        return {o: dict(r) for o, (_, r) in (self._records.get(work_key) or {}).items()}

    def remember(self, work_key: str, entries: Sequence[Mapping[str, Any]]) -> None:
        kept = {
            int(entry["identifier"]["ordinal"]): (dict(entry["identifier"]), dict(entry["lastDrift"]))
            for entry in entries
            if isinstance(entry.get("lastDrift"), Mapping)
        }
        if kept:
            self._records[work_key] = kept
        else:
            self._records.pop(work_key, None)

    def forget(self, work_key: str) -> None:
        self._records.pop(work_key, None)
