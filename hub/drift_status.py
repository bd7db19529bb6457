"""A template's drift on one cluster, read from its Work's manifest condition (pure).

The agent keeps each manifest's last drift in the Work status (``lastDrift``: fields with values,
who changed them, when, corrected or not; kept until the next drift or a new manifest). The
binding's ``aggregatedStatus[]`` entry carries a short form of it (``drifted``, and ``lastDrift``
with the paths, not the values: those stay in the Work, on the member's side of the hub), which
``waybill status`` and the template's ``DriftDetected`` / ``DriftCorrected`` Events read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_FIELDS = 10


def cluster_drift(manifest_condition: Mapping[str, Any]) -> dict[str, Any]:
    """The ``drifted`` / ``lastDrift`` fields of an ``aggregatedStatus`` entry ({} when none)."""
    record = manifest_condition.get("lastDrift")
    if isinstance(record, Mapping) and record.get("observedTime"):
        fields = [
            str(f.get("path")) for f in record.get("fields") or [] if isinstance(f, Mapping) and f.get("path")
        ]
        count = record.get("fieldCount")
        return {
            "drifted": True,
            "lastDrift": {
                "observedTime": str(record["observedTime"]),
                "corrected": bool(record.get("corrected")),
                "fields": fields[:MAX_FIELDS],
                "fieldCount": count if isinstance(count, int) and count >= 0 else len(fields),
                "changedBy": [str(m) for m in record.get("changedBy") or []],
            },
        }
    if manifest_condition.get("drifts"):  # an agent that reports only the pass's drifts
        return {"drifted": True}
    return {}


def describe(cluster: str, drift: Mapping[str, Any]) -> str:
    """``eu1: /spec/replicas changed by kubectl-edit at T; corrected``."""
    fields = list(drift.get("fields") or [])
    outcome = "corrected" if drift.get("corrected") else "not corrected"
    if fields == ["/"]:  # the whole object: deleted on the member
        return f"{cluster}: the object was deleted on the member at {drift.get('observedTime')}; {outcome}"
    more = int(drift.get("fieldCount") or len(fields)) - len(fields)
    paths = ", ".join(fields) + (f" (and {more} more)" if more > 0 else "")
    who = ", ".join(drift.get("changedBy") or []) or "an unknown manager"
    return f"{cluster}: {paths or 'fields'} changed by {who} at {drift.get('observedTime')}; {outcome}"
