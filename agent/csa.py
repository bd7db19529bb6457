"""Client-side apply (``applyStrategy.type: ClientSideApply``), computed purely.

Like ``kubectl apply`` without server-side apply: the last applied manifest is kept in the
``kubectl.kubernetes.io/last-applied-configuration`` annotation, and the patch sent is a JSON
merge patch that sets every field of the new manifest and nulls the fields the previous one
set and the new one dropped (recursively through maps; lists are replaced whole).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def with_last_applied(desired: Mapping[str, Any]) -> dict[str, Any]:
    """``desired`` with its own JSON stored in the last-applied annotation."""
    out = copy.deepcopy(dict(desired))
    bare = copy.deepcopy(dict(desired))
    bare.get("metadata", {}).get("annotations", {}).pop(LAST_APPLIED, None)
    meta = out.setdefault("metadata", {})
    meta.setdefault("annotations", {})[LAST_APPLIED] = json.dumps(bare, sort_keys=True, separators=(",", ":"))
    return out


def last_applied(live: Mapping[str, Any]) -> dict[str, Any]:
    raw = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _removals(previous: Mapping[str, Any], desired: Mapping[str, Any]) -> dict[str, Any]:
    patch: dict[str, Any] = {}
    for key, old in previous.items():
        if key not in desired:
            patch[key] = None
        elif isinstance(old, Mapping) and isinstance(desired[key], Mapping):
            nested = _removals(old, desired[key])
            if nested:
                patch[key] = nested
    return patch


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def merge_patch(desired: Mapping[str, Any], live: Mapping[str, Any]) -> dict[str, Any]:
    """The merge patch that applies ``desired`` over ``live`` the way ``kubectl apply`` would."""
    target = with_last_applied(desired)
    for key in ("apiVersion", "kind"):
        target.pop(key, None)
    removals = _removals(last_applied(live), desired)
    for key in ("apiVersion", "kind"):
        removals.pop(key, None)
    return _merge(removals, target)
