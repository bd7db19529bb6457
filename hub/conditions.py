"""metav1.Condition lists over plain dicts (pure): find one; set one (``shared.api.meta``); merge patches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.api import meta


@dataclass(frozen=True)
class WantedCondition:
    """A condition a decision asks for (``set_condition`` stamps the transition time)."""

    type: str
    status: str
    reason: str
    message: str = ""


# one condition rule and one time format for the whole project: shared.api.meta
now_rfc3339 = meta.now_rfc3339
set_condition = meta.set_wire_condition


def find(conditions: Sequence[Mapping[str, Any]] | None, type: str) -> Mapping[str, Any] | None:
    return next((c for c in conditions or [] if c.get("type") == type), None)


def merge_patch(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON merge patch (RFC 7386) that turns ``old`` into ``new`` (lists are replaced whole)."""
    patch: dict[str, Any] = {}
    for key in old:
        if key not in new:
            patch[key] = None
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, Mapping) and isinstance(before, Mapping):
            nested = merge_patch(before, value)
            if nested:
                patch[key] = nested
        elif key not in old or before != value:
            patch[key] = value
    return patch
