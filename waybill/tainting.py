"""Taints on members as ``kubectl taint`` / ``cordon`` spell them. Pure.

``key=value:Effect`` adds, ``key:Effect-`` removes that taint, ``key-`` removes every taint of the
key. Cordon is the taint ``cluster.waybill.dev/unschedulable:NoSchedule`` (Karmada's
``karmadactl cordon`` does the same with its own key): no new placements, nothing evicted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from waybill.errors import UsageError

TAINT_UNSCHEDULABLE = "cluster.waybill.dev/unschedulable"
EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


@dataclass(frozen=True)
class TaintChange:
    key: str
    value: str | None
    effect: str | None  # None only for a removal of every effect
    remove: bool


def parse(spec: str) -> TaintChange:
    """One ``key[=value]:Effect[-]`` or ``key-`` argument."""
    remove = spec.endswith("-")
    body = spec[:-1] if remove else spec
    key_value, sep, effect = body.partition(":")
    key, has_value, value = key_value.partition("=")
    if not sep and not remove:
        raise UsageError(f"taint {spec!r} needs an effect: KEY[=VALUE]:{'|'.join(EFFECTS)}")
    if sep and effect not in EFFECTS:
        raise UsageError(f"taint {spec!r}: effect {effect!r} is not one of {', '.join(EFFECTS)}")
    if not _KEY.match(key) or len(key) > 316:
        raise UsageError(f"taint {spec!r}: {key!r} is not a valid taint key")
    if has_value and (not _VALUE.match(value) or len(value) > 63):
        raise UsageError(f"taint {spec!r}: {value!r} is not a valid taint value")
    return TaintChange(key=key, value=value if has_value else None, effect=effect or None, remove=remove)


def apply(
    taints: Sequence[Mapping[str, Any]],
    changes: Sequence[TaintChange],
    *,
    overwrite: bool,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """``taints`` after ``changes``; usage errors like kubectl's (existing taint, missing taint)."""
    result = [dict(t) for t in taints]
    stamp = (now or datetime.now(tz=UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for change in changes:
        same = [
            t
            for t in result
            if t.get("key") == change.key and (change.effect is None or t.get("effect") == change.effect)
        ]
        if change.remove:
            if not same:
                what = f"{change.key}:{change.effect}" if change.effect else change.key
                raise UsageError(f"taint {what!r} not found")
            result = [t for t in result if t not in same]
            continue
        body: dict[str, Any] = {"key": change.key, "effect": change.effect}
        if change.value:
            body["value"] = change.value
        if change.effect == "NoExecute":
            body["timeAdded"] = stamp
        if same:
            if not overwrite:
                raise UsageError(f"taint {change.key}:{change.effect} already exists (pass --overwrite)")
            result = [body if t in same else t for t in result]
        else:
            result.append(body)
    return result


def cordoned(taints: Sequence[Mapping[str, Any]]) -> bool:
    return any(t.get("key") == TAINT_UNSCHEDULABLE and t.get("effect") == "NoSchedule" for t in taints)
