"""``waybill status`` cells that tell what a member really runs (pure).

* REPLICAS: ``N (wants M)`` when the member runs another count than the hub wants and says why:
  it is held at its last good manifest (``held``), or a manager on the member owns
  ``spec.replicas`` (``replicasManagedBy``, e.g. an HPA); N is its reported ``Replicas``.
* APPLIED: ``no (held)`` for a held member; ``unknown`` for an unreachable one (it last
  reported at ``lastReportTime``, shown in ERRORS).
* AVAILABLE: ``unknown`` for an unreachable member.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _unreachable(item: Mapping[str, Any]) -> bool:
    return bool(item.get("lastReportTime"))


def replicas_cell(wanted: int | None, item: Mapping[str, Any]) -> str:
    if wanted is None:
        return "-"
    actual = (item.get("status") or {}).get("Replicas")
    explained = item.get("held") or item.get("replicasManagedBy")
    if explained and isinstance(actual, int) and actual != wanted:
        return f"{actual} (wants {wanted})"
    return str(wanted)


def applied_cell(item: Mapping[str, Any]) -> str:
    if _unreachable(item):
        return "unknown"
    if item.get("held"):
        return "no (held)"
    return "yes" if item.get("applied") else "no"


def available_cell(item: Mapping[str, Any]) -> str:
    if _unreachable(item):
        return "unknown"
    available = item.get("available")
    return "-" if available is None else "yes" if available else "no"
