"""Differences between what the hub wants (a manifest) and what the member has (the live object).

Only fields the manifest sets are compared (a partial comparison: defaults the member's API
server or controllers add are not differences). ``metadata`` is compared for labels and
annotations only; ``status`` never. Lists of objects with a ``name`` are matched by name (like
containers), other lists by position. Secret values are never copied into a report: they show
as ``(redacted)``, and ``stringData`` is compared in its stored ``data`` (base64) form.

The same comparison serves two reports: **drift** (an object the agent applied has been
changed on the member) and **diff** (an object the agent does not own, or ReportDiff mode).
Fields owned by a manager the agent must not fight (an autoscaler writing ``spec.replicas``
through the scale subresource) are skipped; see ``respected_fields``. Pure functions only.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

REDACTED = "(redacted)"
MAX_DIFFS = 50

FieldPath = tuple[str, ...]  # managedFields style: ("f:spec", "f:replicas")


@dataclass(frozen=True)
class FieldDiff:
    path: str  # JSON pointer into the hub's manifest, e.g. /spec/replicas
    member_value: Any
    hub_value: Any
    # the same field in managedFields terms (("f:spec", "f:replicas")): who wrote it on the member
    field_path: FieldPath = field(default=(), compare=False)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path}
        if self.member_value is not None:
            out["memberValue"] = _render(self.member_value)
        if self.hub_value is not None:
            out["hubValue"] = _render(self.hub_value)
        return out


def _render(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))


def _pointer_escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b if isinstance(a, bool) and isinstance(b, bool) else False
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return bool(a == b)


def _is_secret(obj: Mapping[str, Any]) -> bool:
    return obj.get("kind") == "Secret" and obj.get("apiVersion") == "v1"


def normalize_secret(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A Secret with ``stringData`` folded into ``data`` (base64), as the API server stores it."""
    out = copy.deepcopy(dict(obj))
    string_data = out.pop("stringData", None)
    if isinstance(string_data, Mapping):
        data = dict(out.get("data") or {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        out["data"] = data
    return out


def _element_key(item: Any) -> str | None:
    if isinstance(item, Mapping) and isinstance(item.get("name"), str):
        return "k:" + json.dumps({"name": item["name"]}, separators=(",", ":"))
    return None


class _Walker:
    def __init__(self, *, skip: set[FieldPath], redact: bool, limit: int) -> None:
        self.skip = skip
        self.redact = redact
        self.limit = limit
        self.diffs: list[FieldDiff] = []

    def skipped(self, fpath: FieldPath) -> bool:
        return any(fpath[:n] in self.skip for n in range(1, len(fpath) + 1))

    def add(self, pointer: str, member: Any, hub: Any, fpath: FieldPath = ()) -> None:
        if len(self.diffs) >= self.limit:
            return
        if self.redact:
            member = REDACTED if member is not None else None
            hub = REDACTED if hub is not None else None
        self.diffs.append(FieldDiff(pointer or "/", member, hub, fpath))

    def walk(self, desired: Any, live: Any, pointer: str, fpath: FieldPath) -> None:
        if fpath and self.skipped(fpath):
            return
        if isinstance(desired, Mapping):
            if not isinstance(live, Mapping):
                self.add(pointer, live, desired, fpath)
                return
            for key, value in desired.items():
                child_ptr = f"{pointer}/{_pointer_escape(str(key))}"
                child_fpath = (*fpath, f"f:{key}")
                if key not in live:
                    if value is not None and not self.skipped(child_fpath):
                        self.add(child_ptr, None, value, child_fpath)
                    continue
                self.walk(value, live[key], child_ptr, child_fpath)
            return
        if isinstance(desired, list):
            self.walk_list(desired, live, pointer, fpath)
            return
        if not _equal(desired, live):
            self.add(pointer, live, desired, fpath)

    def walk_list(self, desired: list[Any], live: Any, pointer: str, fpath: FieldPath) -> None:
        if not isinstance(live, list):
            self.add(pointer, live, desired, fpath)
            return
        keys = [_element_key(item) for item in desired]
        if desired and all(keys):
            by_key = {_element_key(item): item for item in live}
            for index, (key, item) in enumerate(zip(keys, desired, strict=True)):
                child_ptr = f"{pointer}/{index}"
                if key not in by_key:
                    self.add(child_ptr, None, item, (*fpath, str(key)))
                    continue
                self.walk(item, by_key[key], child_ptr, (*fpath, str(key)))
            return
        if len(desired) != len(live) or not all(isinstance(i, Mapping) for i in desired):
            if len(desired) != len(live) or any(not _equal(a, b) for a, b in zip(desired, live, strict=True)):
                self.add(pointer, live, desired, fpath)
            return
        for index, (want, have) in enumerate(zip(desired, live, strict=True)):
            self.walk(want, have, f"{pointer}/{index}", (*fpath, f"i:{index}"))


def diff(
    desired: Mapping[str, Any],
    live: Mapping[str, Any],
    *,
    skip: Iterable[FieldPath] = (),
    limit: int = MAX_DIFFS,
) -> list[FieldDiff]:
    """Fields the manifest sets whose live value differs (at most ``limit``), in manifest order."""
    secret = _is_secret(desired)
    if secret:
        desired = normalize_secret(desired)
    walker = _Walker(skip=set(skip), redact=False, limit=limit)
    meta_want = desired.get("metadata") or {}
    meta_live = live.get("metadata") or {}
    for section in ("labels", "annotations"):
        want = meta_want.get(section)
        if isinstance(want, Mapping) and want:
            walker.walk(
                want, meta_live.get(section) or {}, f"/metadata/{section}", ("f:metadata", f"f:{section}")
            )
    for key, value in desired.items():
        if key in ("apiVersion", "kind", "metadata", "status"):
            continue
        walker.redact = secret and key in ("data", "stringData")
        ptr, fpath = f"/{_pointer_escape(key)}", (f"f:{key}",)
        if key not in live:
            if value is not None and not walker.skipped(fpath):
                walker.add(ptr, None, value, fpath)
            continue
        walker.walk(value, live[key], ptr, fpath)
    return walker.diffs


def _leaf_paths(fields: Mapping[str, Any], prefix: FieldPath) -> Iterable[FieldPath]:
    for key, child in fields.items():
        if key == ".":
            yield prefix
            continue
        path = (*prefix, key)
        if not isinstance(child, Mapping) or not child:
            yield path
        else:
            yield from _leaf_paths(child, path)


def respected_fields(
    live: Mapping[str, Any],
    *,
    field_manager: str,
    respected_managers: Iterable[str] = (),
) -> set[FieldPath]:
    """Leaf field paths owned by managers the agent must leave alone.

    Those are updates through the ``scale`` subresource (what an HPA, KEDA or VPA writes) and any
    manager named in ``respected_managers``; never the agent's own entries. A human's
    ``kubectl edit`` of a field the agent applies is drift, not one of these.
    """
    names = set(respected_managers)
    owned: set[FieldPath] = set()
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        if not isinstance(entry, Mapping) or entry.get("manager") == field_manager:
            continue
        if entry.get("subresource") == "scale" or entry.get("manager") in names:
            fields = entry.get("fieldsV1")
            if isinstance(fields, Mapping):
                owned.update(p for p in _leaf_paths(fields, ()) if p)
    return {p for p in owned if not p[0].startswith("f:status")} if owned else owned


def strip_fields(desired: Mapping[str, Any], paths: Iterable[FieldPath]) -> dict[str, Any]:
    """A copy of the manifest without the given fields (so applying it does not claim them)."""
    out = copy.deepcopy(dict(desired))
    for path in paths:
        _strip(out, list(path))
    return out


def _strip(node: Any, path: list[str]) -> None:
    if not path:
        return
    head, rest = path[0], path[1:]
    if head.startswith("f:") and isinstance(node, dict):
        key = head[2:]
        if key not in node:
            return
        if not rest:
            del node[key]
        else:
            _strip(node[key], rest)
    elif head.startswith("k:") and isinstance(node, list):
        for item in node:
            if _element_key(item) == head:
                if rest:
                    _strip(item, rest)
                else:
                    node.remove(item)
                return
