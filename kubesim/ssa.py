"""Server-side apply and ``metadata.managedFields`` (FieldsV1), as pure functions.

Field ownership is tracked as sets of paths. A path is a tuple of FieldsV1 elements
(``"f:spec"``, ``"k:{\\"name\\":\\"web\\"}"``, ``"v:\\"a\\""``, ``"i:0"``); a set serialises to the
nested ``fieldsV1`` form with ``"."`` marking a member that also has members below it.

- ``apply(live, applied, manager=..., force=..., now=...)`` merges an apply configuration into the
  live object (``None`` to create), raising ``ApplyConflict`` when it would change a field another
  manager owns (unless ``force``), and removing fields this manager applied before and no longer
  applies when nobody else owns them;
- ``record_update(old, new, manager=..., now=...)`` returns the managedFields for an ordinary
  create/update/patch: the writer takes the fields it changed, other managers lose them.

Lists are associative (keyed by their merge key, ``k:``), sets (``v:``) or atomic. Built-in types
use the strategic-merge keys from ``kubesim.patching``; custom resources pass their OpenAPI
``schema`` and follow ``x-kubernetes-list-type`` / ``x-kubernetes-list-map-keys`` (default atomic).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from kubesim import patching

__all__ = [
    "ApplyConflict",
    "apply",
    "fields_of",
    "fieldset_from_v1",
    "fieldset_to_v1",
    "path_string",
    "record_update",
]

JSON = Any
Path = tuple[str, ...]
FieldSet = set[Path]

_UNMANAGED_METADATA = frozenset(
    {
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "managedFields",
        "selfLink",
    }
)
_MAP_FIELDS = frozenset(
    {
        "labels",
        "annotations",
        "matchLabels",
        "nodeSelector",
        "data",
        "binaryData",
        "stringData",
        "limits",
        "requests",
        "capacity",
        "allocatable",
        "hard",
        "used",
    }
)
_SET_LISTS = frozenset({"finalizers"})


class ApplyConflict(Exception):
    """An apply would change fields owned by other managers; ``conflicts`` is [(manager, path)]."""

    def __init__(self, conflicts: list[tuple[str, str]], message: str, causes: list[dict[str, str]]) -> None:
        super().__init__(message)
        self.conflicts = conflicts
        self.message = message
        self.causes = causes


# --------------------------------------------------------------------------------- list typing


@dataclass(frozen=True)
class _ListType:
    kind: str  # "map" | "set" | "atomic"
    keys: tuple[str, ...] = ()


def _child_schema(schema: JSON, field: str) -> JSON:
    if not isinstance(schema, dict):
        return None
    props = schema.get("properties") or {}
    if field in props:
        return props[field]
    additional = schema.get("additionalProperties")
    return additional if isinstance(additional, dict) else None


def _list_type(names: tuple[str, ...], field: str, schema: JSON, typed: bool) -> _ListType:
    if typed:
        if isinstance(schema, dict):
            list_type = schema.get("x-kubernetes-list-type")
            if list_type == "map":
                return _ListType("map", tuple(schema.get("x-kubernetes-list-map-keys") or ()))
            if list_type == "set":
                return _ListType("set")
        return _ListType("atomic")
    if field in _SET_LISTS:
        return _ListType("set")
    key = patching.merge_key_for(names, field)
    if key and field == "ports":  # built-in port lists are keyed by port and protocol
        return _ListType("map", (key, "protocol"))
    return _ListType("map", (key,)) if key else _ListType("atomic")


def _is_map(field: str, value: dict[str, JSON], schema: JSON, typed: bool) -> bool:
    if typed:
        return isinstance(schema, dict) and isinstance(schema.get("additionalProperties"), dict)
    if field == "selector":
        return not ({"matchLabels", "matchExpressions"} & set(value))
    return field in _MAP_FIELDS


# ---------------------------------------------------------------------------- path elements


# what json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False) builds on each call
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _canon(raw: JSON) -> str:
    return _CANONICAL.encode(raw)


def _differs(a: JSON, b: JSON) -> bool:
    """``a`` and ``b`` are different JSON values (``1``, ``1.0`` and ``true`` all differ).

    Python's ``!=`` settles most cases without encoding anything: values it tells apart are
    different JSON too; only values it finds equal are compared by their canonical text.
    """
    if a is b:
        return False
    if a != b:
        return True
    return _canon(a) != _canon(b)


# Key fields with a schema default count with that value when absent (``protocol: TCP``).
_KEY_DEFAULTS: dict[str, JSON] = {"protocol": "TCP"}


def _key_value(item: dict[str, JSON], key: str) -> JSON:
    return item.get(key, _KEY_DEFAULTS.get(key))


def _key_element(item: dict[str, JSON], keys: tuple[str, ...]) -> str:
    return "k:" + _canon({k: _key_value(item, k) for k in keys if k in item or k in _KEY_DEFAULTS})


def path_string(path: Path) -> str:
    """Render a path the way the apiserver does in conflicts: ``.spec.containers[name="web"].image``."""
    out = ""
    for element in path:
        kind, rest = element[:1], element[2:]
        if kind == "f":
            out += "." + rest
        elif kind == "k":
            parts = [f"{k}={json.dumps(v)}" for k, v in json.loads(rest).items()]
            out += "[" + ",".join(parts) + "]"
        elif kind == "v":
            out += "[=" + rest + "]"
        else:
            out += "[" + rest + "]"
    return out


# ------------------------------------------------------------------------------- field sets


def fields_of(obj: JSON, *, schema: JSON = None) -> FieldSet:
    """All managed paths of an object (apiVersion, kind and server-owned metadata excluded)."""
    result: FieldSet = set()
    if not isinstance(obj, dict):
        return result
    typed = schema is not None
    for key, value in obj.items():
        if key in ("apiVersion", "kind") or value is None:
            continue
        if key == "metadata" and isinstance(value, dict):
            for meta_key, meta_value in value.items():
                if meta_key in _UNMANAGED_METADATA or meta_value is None:
                    continue
                _walk(
                    meta_value, ("f:metadata", "f:" + meta_key), ("metadata", meta_key), None, False, result
                )
            continue
        _walk(value, ("f:" + key,), (key,), _child_schema(schema, key), typed, result)
    return result


def _walk(value: JSON, path: Path, names: tuple[str, ...], schema: JSON, typed: bool, out: FieldSet) -> None:
    field = names[-1]
    if isinstance(value, dict):
        if not value or _is_map(field, value, schema, typed):
            out.add(path)
        for key, child in value.items():
            if child is not None:
                _walk(child, (*path, "f:" + key), (*names, key), _child_schema(schema, key), typed, out)
        return
    if isinstance(value, list):
        list_type = _list_type(names[:-1], field, schema, typed)
        if list_type.kind == "atomic" or not value:
            out.add(path)
            return
        item_schema = schema.get("items") if isinstance(schema, dict) else None
        for item in value:
            if list_type.kind == "set" or not isinstance(item, dict):
                out.add((*path, "v:" + _canon(item)))
                continue
            item_path = (*path, _key_element(item, list_type.keys))
            out.add(item_path)
            for key, child in item.items():
                if child is not None:
                    _walk(
                        child,
                        (*item_path, "f:" + key),
                        (*names, key),
                        _child_schema(item_schema, key),
                        typed,
                        out,
                    )
        return
    out.add(path)


def _changed_fields(new: dict[str, JSON], old: JSON, schema: JSON) -> tuple[FieldSet, FieldSet]:
    """``fields_of(new)`` and ``fields_of(old)`` without the subtrees the two share.

    A field both objects hold as the very same value object (reached through fields only, as
    the store's copy-on-write writes leave the parts they did not change) has the same paths
    on both sides and the same value under every one of them: it can be neither changed nor
    removed, so ``record_update`` need not list or compare it. Everything else is walked as
    ``fields_of`` walks it.
    """
    new_out: FieldSet = set()
    old_out: FieldSet = set()
    if not isinstance(old, dict):
        return fields_of(new, schema=schema), old_out
    typed = schema is not None
    _metadata_pair(new.get("metadata"), old.get("metadata"), schema, typed, new_out, old_out)
    for key, value in new.items():
        if key in ("apiVersion", "kind", "metadata") or value is None:
            continue
        child_schema = _child_schema(schema, key)
        _walk_pair(value, old.get(key), ("f:" + key,), (key,), child_schema, typed, new_out, old_out)
    for key, value in old.items():
        if key in ("apiVersion", "kind", "metadata") or value is None or new.get(key) is not None:
            continue
        _walk(value, ("f:" + key,), (key,), _child_schema(schema, key), typed, old_out)
    return new_out, old_out


def _metadata_pair(
    new: JSON, old: JSON, schema: JSON, typed: bool, new_out: FieldSet, old_out: FieldSet
) -> None:
    """``fields_of``'s paths of each side's ``metadata`` (None: absent), in step where both are objects."""
    if isinstance(new, dict) and isinstance(old, dict):
        for key, value in new.items():
            if key not in _UNMANAGED_METADATA and value is not None:
                _walk_pair(
                    value, old.get(key), ("f:metadata", "f:" + key), ("metadata", key), None, False,
                    new_out, old_out,
                )
        for key, value in old.items():
            if key not in _UNMANAGED_METADATA and value is not None and new.get(key) is None:
                _walk(value, ("f:metadata", "f:" + key), ("metadata", key), None, False, old_out)
        return
    for side, out in ((new, new_out), (old, old_out)):
        if isinstance(side, dict):
            for key, value in side.items():
                if key not in _UNMANAGED_METADATA and value is not None:
                    _walk(value, ("f:metadata", "f:" + key), ("metadata", key), None, False, out)
        elif side is not None:
            _walk(side, ("f:metadata",), ("metadata",), _child_schema(schema, "metadata"), typed, out)


def _walk_pair(
    new: JSON, old: JSON, path: Path, names: tuple[str, ...], schema: JSON, typed: bool,
    new_out: FieldSet, old_out: FieldSet,
) -> None:
    """``_walk`` of ``new`` into ``new_out`` and of ``old`` (None: absent) into ``old_out``,
    leaving out what both hold as the same object; descends in step through objects only."""
    if new is old:
        return
    if old is None:
        _walk(new, path, names, schema, typed, new_out)
        return
    if not (isinstance(new, dict) and isinstance(old, dict)):
        _walk(new, path, names, schema, typed, new_out)
        _walk(old, path, names, schema, typed, old_out)
        return
    field = names[-1]
    if not new or _is_map(field, new, schema, typed):
        new_out.add(path)
    if not old or _is_map(field, old, schema, typed):
        old_out.add(path)
    for key, child in new.items():
        if child is not None:
            _walk_pair(
                child, old.get(key), (*path, "f:" + key), (*names, key), _child_schema(schema, key), typed,
                new_out, old_out,
            )
    for key, child in old.items():
        if child is not None and new.get(key) is None:
            _walk(child, (*path, "f:" + key), (*names, key), _child_schema(schema, key), typed, old_out)


def fieldset_to_v1(fields: Iterable[Path]) -> dict[str, JSON]:
    """Serialise a set of paths to the nested ``fieldsV1`` form."""
    tree: dict[str, JSON] = {}
    members: set[Path] = set(fields)
    for path in sorted(members):
        node = tree
        for element in path:
            node = node.setdefault(element, {})
    _mark(tree, (), members)
    return tree


def _mark(node: dict[str, JSON], path: Path, members: set[Path]) -> None:
    for element, child in list(node.items()):
        child_path = (*path, element)
        if child:
            _mark(child, child_path, members)
            if child_path in members:
                child["."] = {}


def fieldset_from_v1(tree: JSON, prefix: Path = ()) -> FieldSet:
    """Parse a ``fieldsV1`` tree back into a set of paths."""
    result: FieldSet = set()
    if not isinstance(tree, dict):
        return result
    for element, child in tree.items():
        if element == ".":
            result.add(prefix)
            continue
        path = (*prefix, _canon_element(element))
        if isinstance(child, dict) and child:
            result |= fieldset_from_v1(child, path)
        else:
            result.add(path)
    return result


@functools.lru_cache(maxsize=16384)
def _canon_element(element: str) -> str:
    """An element of a fieldsV1 tree in canonical form (a pure function of the text: cached)."""
    if element[:2] in ("k:", "v:"):
        try:
            return element[:2] + _canon(json.loads(element[2:]))
        except ValueError:
            return element
    return element


# ------------------------------------------------------------------------ values along paths

_MISSING = object()


def _step(node: JSON, element: str) -> JSON:
    kind, rest = element[:1], element[2:]
    if kind == "f":
        return node.get(rest, _MISSING) if isinstance(node, dict) else _MISSING
    if not isinstance(node, list):
        return _MISSING
    if kind == "k":
        keys = json.loads(rest)
        for item in node:
            if isinstance(item, dict) and all(_key_value(item, k) == v for k, v in keys.items()):
                return item
        return _MISSING
    if kind == "v":
        wanted = json.loads(rest)
        return wanted if wanted in node else _MISSING
    index = int(rest) if rest.isdigit() else -1
    return node[index] if 0 <= index < len(node) else _MISSING


def _value_at(obj: JSON, path: Path) -> JSON:
    node = obj
    for element in path:
        node = _step(node, element)
        if node is _MISSING:
            return _MISSING
    return node


class _Resolver:
    """``_value_at(obj, path)`` for many paths of one object: each prefix is resolved once, and
    an associative list is indexed once per key set (its first item per key, as ``_step``
    finds it), so resolving every path of an object is linear in its size."""

    __slots__ = ("_indexes", "_memo")

    def __init__(self, obj: JSON) -> None:
        self._memo: dict[Path, JSON] = {(): obj}
        self._indexes: dict[tuple[int, tuple[str, ...]], dict[tuple[JSON, ...], JSON] | None] = {}

    def __call__(self, path: Path) -> JSON:
        memo = self._memo
        node = memo.get(path, memo)  # the memo itself: not resolved yet
        if node is not memo:
            return node
        parent = self(path[:-1])
        element = path[-1]
        if parent is _MISSING:
            node = _MISSING
        elif element[:1] == "k" and isinstance(parent, list):
            node = self._keyed(parent, element)
        else:
            node = _step(parent, element)
        memo[path] = node
        return node

    def _keyed(self, node: list[JSON], element: str) -> JSON:
        keys: dict[str, JSON] = json.loads(element[2:])
        names = tuple(keys)
        wanted = tuple(keys.values())
        if any(isinstance(v, float | dict | list) for v in wanted):
            return _step(node, element)  # NaN, unhashable: the plain scan decides
        slot = (id(node), names)
        if slot not in self._indexes:
            built: dict[tuple[JSON, ...], JSON] = {}
            for item in node:
                if not isinstance(item, dict):
                    continue
                values = tuple(_key_value(item, k) for k in names)
                if any(isinstance(v, float | dict | list) for v in values):
                    break  # == on these is not what a dict lookup does: scan instead
                built.setdefault(values, item)  # the first match, as the scan finds it
            else:
                self._indexes[slot] = built
            if slot not in self._indexes:
                self._indexes[slot] = None
        index = self._indexes[slot]
        if index is None:
            return _step(node, element)
        return index.get(wanted, _MISSING)


def _without(node: JSON, path: Path) -> JSON:
    """``node`` without the value at ``path``: copies only the containers along the path."""
    element = path[0]
    if len(path) == 1:
        kind, rest = element[:1], element[2:]
        if kind == "f" and isinstance(node, dict) and rest in node:
            return {k: v for k, v in node.items() if k != rest}
        if kind in ("k", "v") and isinstance(node, list):
            target = _step(node, element)
            if target is not _MISSING:
                shorter = list(node)
                shorter.remove(target)
                return shorter
        return node
    child = _step(node, element)
    if child is _MISSING:
        return node
    new_child = _without(child, path[1:])
    if new_child is child:
        return node
    if isinstance(node, dict):
        return {k: new_child if v is child else v for k, v in node.items()}
    assert isinstance(node, list)
    return [new_child if v is child else v for v in node]


def _remove_path(obj: JSON, path: Path) -> None:
    parent = _value_at(obj, path[:-1])
    element = path[-1]
    kind, rest = element[:1], element[2:]
    if kind == "f" and isinstance(parent, dict):
        parent.pop(rest, None)
    elif kind in ("k", "v") and isinstance(parent, list):
        target = _step(parent, element)
        if target is not _MISSING:
            parent.remove(target)


def _is_leafish(value: JSON) -> bool:
    return value is not _MISSING and not isinstance(value, dict)


# ------------------------------------------------------------------------------------- merge


def _merge(
    live: JSON, applied: JSON, names: tuple[str, ...], schema: JSON, typed: bool, own: bool = False
) -> JSON:
    """``applied`` over ``live``; ``own``: ``applied``'s values may be used as they are."""
    take = _same_value if own else patching.clone
    if isinstance(applied, dict) and isinstance(live, dict):
        result = dict(live)
        for key, value in applied.items():
            if value is None:
                continue
            if key in live:
                child_typed = typed and not (not names and key == "metadata")
                result[key] = _merge(
                    live[key], value, (*names, key), _child_schema(schema, key), child_typed, own
                )
            else:
                result[key] = take(value)
        return result
    if isinstance(applied, list) and isinstance(live, list) and names:
        list_type = _list_type(names[:-1], names[-1], schema, typed)
        if list_type.kind == "set":
            live_ids = [_canon(i) for i in live]
            applied_ids = [_canon(i) for i in applied]
            by_id = dict(zip(live_ids, live, strict=True))
            return [
                by_id[ident] if side == "live" else take(applied[index])
                for side, index, ident in _merged_order(live_ids, applied_ids)
            ]
        if list_type.kind == "map":
            item_schema = schema.get("items") if isinstance(schema, dict) else None
            live_ids = [_key_element(i, list_type.keys) if isinstance(i, dict) else _canon(i) for i in live]
            applied_ids = [
                _key_element(i, list_type.keys) if isinstance(i, dict) else _canon(i) for i in applied
            ]
            live_by_id = dict(zip(live_ids, live, strict=False))
            out: list[JSON] = []
            for side, index, ident in _merged_order(live_ids, applied_ids):
                if side == "live":
                    out.append(live[index])
                elif ident in live_by_id:
                    out.append(_merge(live_by_id[ident], applied[index], names, item_schema, typed, own))
                else:
                    out.append(take(applied[index]))
            return out
    return take(applied)


def _merged_order(live: list[str], applied: list[str]) -> list[tuple[str, int, str]]:
    """The item order of an associative list after apply, as structured-merge-diff's merge walker
    builds it: items both lists have follow the applied order, items only the live list has keep
    their place among them, new items come where the applied list has them.

    Returns ``(side, index, id)``: ``("live", i, id)`` for a live-only item, ``("applied", j, id)``
    for an applied item (merged with its live counterpart when there is one).
    """
    live_set, applied_set = set(live), set(applied)
    shared = [ident for ident in applied if ident in live_set]
    next_shared = iter(shared)
    want = next(next_shared, None)
    out: list[tuple[str, int, str]] = []
    merged: set[str] = set()
    li = ri = 0
    while li < len(live) or ri < len(applied):
        if li < len(live) and ri < len(applied):
            ident = live[li]
            if ident == applied[ri]:
                merged.add(ident)
                out.append(("applied", ri, ident))
                li += 1
                ri += 1
                want = next(next_shared, None)
                continue
            if ident in applied_set and want is not None and want != ident:
                li += 1  # a shared item, but not the one whose turn it is
                continue
        if li < len(live):
            ident = live[li]
            if ident not in applied_set:
                out.append(("live", li, ident))
                li += 1
                continue
            if ident in merged:
                li += 1
                continue
        if ri < len(applied):
            ident = applied[ri]
            merged.add(ident)
            out.append(("applied", ri, ident))
            ri += 1
            if want is not None and want == ident:
                want = next(next_shared, None)
        else:
            li += 1  # only reachable with duplicate keys in the live list: never loop
    return out


def _same_value(value: JSON) -> JSON:
    return value


# ------------------------------------------------------------------------------ managed fields


def _entries(obj: JSON) -> list[dict[str, JSON]]:
    if not isinstance(obj, dict):
        return []
    entries = (obj.get("metadata") or {}).get("managedFields") or []
    return [dict(e) for e in entries if isinstance(e, dict) and e.get("manager") is not None]


def _entry(
    *, manager: str, operation: str, api_version: str, now: str, fields: FieldSet, subresource: str | None
) -> dict[str, JSON]:
    entry: dict[str, JSON] = {
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "time": now,
        "fieldsType": "FieldsV1",
        "fieldsV1": fieldset_to_v1(fields),
    }
    if subresource:
        entry["subresource"] = subresource
    return entry


def _manager_label(entry: dict[str, JSON]) -> str:
    label = json.dumps(entry.get("manager", ""))
    if entry.get("subresource"):
        label += f" with subresource {json.dumps(entry['subresource'])}"
    if entry.get("operation") == "Update":
        label += f" using {entry.get('apiVersion', '')}"
    return label


def conflict_message(conflicts: list[tuple[str, str]]) -> str:
    """``Apply failed with N conflict(s): ...`` exactly as kube-apiserver words it."""
    if len(conflicts) == 1:
        label, path = conflicts[0]
        return f"Apply failed with 1 conflict: conflict with {label}: {path}"
    by_manager: dict[str, list[str]] = {}
    for label, path in conflicts:
        by_manager.setdefault(label, []).append(path)
    lines: list[str] = []
    for label in sorted(by_manager):
        lines.append(f"conflicts with {label}:")
        lines.extend(f"- {path}" for path in by_manager[label])
    return f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)


def apply(
    live: dict[str, JSON] | None,
    applied: dict[str, JSON],
    *,
    manager: str,
    force: bool,
    now: str,
    schema: JSON = None,
    subresource: str | None = None,
    reset_fields: Collection[str] = (),
    share: bool = False,
) -> dict[str, JSON]:
    """Server-side apply ``applied`` by ``manager`` onto ``live``; returns the merged object.

    The result is independent of ``live`` and ``applied``, or with ``share=True`` new only
    along the applied and removed paths (plus the top level and ``metadata``): the rest is
    ``live``'s and ``applied``'s own, for a caller that hands ``applied`` over and never changes
    the result in place.

    The result carries updated ``metadata.managedFields``. Raises ``ApplyConflict`` when a field
    owned by another manager would change value and ``force`` is false. ``reset_fields`` are
    top-level fields the write strategy ignores (``("status",)`` for the main resource of a type
    with a status subresource): they are neither applied nor owned. Applying to the ``status``
    subresource considers only ``status``.
    """
    applied = _without_reset_fields(applied, subresource=subresource, reset_fields=reset_fields)
    typed = schema is not None
    api_version = str(applied.get("apiVersion") or (live or {}).get("apiVersion") or "")
    applied_set = fields_of(applied, schema=schema)
    live_obj: dict[str, JSON]
    if live is None:
        live_obj = {}
    elif share:
        live_obj = {**live, "metadata": dict(live.get("metadata") or {})}
    else:
        live_obj = patching.clone(live)
    entries = _entries(live_obj)
    mine = [
        e
        for e in entries
        if e.get("manager") == manager
        and e.get("operation") == "Apply"
        and e.get("subresource") == subresource
    ]
    others = [e for e in entries if not any(e is m for m in mine)]
    previous: FieldSet = set()
    for entry in mine:
        previous |= fieldset_from_v1(entry.get("fieldsV1"))

    conflicts: list[tuple[str, str]] = []
    conflict_paths: dict[int, FieldSet] = {}
    applied_at, live_at = _Resolver(applied), _Resolver(live_obj)
    for index, entry in enumerate(others):
        owned = fieldset_from_v1(entry.get("fieldsV1")) & applied_set
        for path in sorted(owned):
            new_value = applied_at(path)
            old_value = live_at(path)
            if (
                _is_leafish(new_value)
                and old_value is not _MISSING
                and _differs(old_value, new_value)
            ):
                conflicts.append((_manager_label(entry), path_string(path)))
                conflict_paths.setdefault(index, set()).add(path)
    if conflicts and not force:
        causes = [
            {"type": "FieldManagerConflict", "message": f"conflict with {label}", "field": path}
            for label, path in conflicts
        ]
        raise ApplyConflict(
            [(str(e), p) for e, p in _raw_conflicts(others, conflict_paths)],
            conflict_message(conflicts),
            causes,
        )

    other_sets: list[FieldSet] = []
    for index, entry in enumerate(others):
        owned = fieldset_from_v1(entry.get("fieldsV1")) - conflict_paths.get(index, set())
        other_sets.append(owned)
    owned_by_others: FieldSet = set().union(*other_sets) if other_sets else set()

    live_obj.setdefault("metadata", {}).pop("managedFields", None)
    merged: dict[str, JSON] = (
        _merge(live_obj, applied, (), schema, typed, share) if live is not None else patching.clone(applied)
    )
    for path in sorted(previous - applied_set, key=len):
        if not any(p[: len(path)] == path for p in owned_by_others):
            if share:
                without = _without(merged, path)
                assert isinstance(without, dict)
                merged = without
            else:
                _remove_path(merged, path)

    new_entries: list[dict[str, JSON]] = []
    placed = False
    for entry in entries:
        if any(entry is m for m in mine):
            if not placed:
                new_entries.append(
                    _entry(
                        manager=manager,
                        operation="Apply",
                        api_version=api_version,
                        now=now,
                        fields=applied_set,
                        subresource=subresource,
                    )
                )
                placed = True
            continue
        index = next(i for i, o in enumerate(others) if o is entry)
        if index in conflict_paths:
            if not other_sets[index]:
                continue
            entry = {**entry, "fieldsV1": fieldset_to_v1(other_sets[index])}
        new_entries.append(entry)
    if not placed and applied_set:
        new_entries.append(
            _entry(
                manager=manager,
                operation="Apply",
                api_version=api_version,
                now=now,
                fields=applied_set,
                subresource=subresource,
            )
        )
    md = merged.get("metadata")
    merged["metadata"] = {**(md if isinstance(md, dict) else {}), "managedFields": new_entries}
    return merged


def _without_reset_fields(
    applied: dict[str, JSON], *, subresource: str | None, reset_fields: Collection[str]
) -> dict[str, JSON]:
    if subresource == "status":
        md = applied.get("metadata") or {}
        kept_meta = {k: md[k] for k in ("name", "namespace") if k in md}
        result: dict[str, JSON] = {k: applied[k] for k in ("apiVersion", "kind", "status") if k in applied}
        result["metadata"] = kept_meta
        return result
    if reset_fields:
        return {k: v for k, v in applied.items() if k not in reset_fields}
    return applied


def _raw_conflicts(
    others: list[dict[str, JSON]], conflict_paths: dict[int, FieldSet]
) -> Iterator[tuple[str, str]]:
    for index, paths in sorted(conflict_paths.items()):
        for path in sorted(paths):
            yield str(others[index].get("manager", "")), path_string(path)


def record_update(
    old: dict[str, JSON] | None,
    new: dict[str, JSON],
    *,
    manager: str,
    now: str,
    schema: JSON = None,
    subresource: str | None = None,
    operation: str = "Update",
) -> list[dict[str, JSON]]:
    """managedFields after an ordinary write of ``new`` (``old`` is None on create).

    The writer owns every field it changed or added; other managers lose those fields and any
    field that was removed. Unchanged writes leave managedFields as they were.
    """
    api_version = str(new.get("apiVersion") or "")
    entries = _entries(old)
    new_set, old_set = _changed_fields(new, old, schema)  # what the two share cannot have changed
    changed: FieldSet = set()
    new_at, old_at = _Resolver(new), _Resolver(old)
    for path in new_set:
        if path not in old_set:
            changed.add(path)
            continue
        new_value = new_at(path)
        if _is_leafish(new_value) and _differs(new_value, old_at(path)):
            changed.add(path)
    removed = old_set - new_set
    if not changed and not removed:
        return entries

    result: list[dict[str, JSON]] = []
    mine_fields: FieldSet | None = None
    for entry in entries:
        fields = fieldset_from_v1(entry.get("fieldsV1"))
        if (
            entry.get("manager") == manager
            and entry.get("operation") == operation
            and entry.get("subresource") == subresource
        ):
            mine_fields = (fields | changed) - removed
            continue
        remaining = fields - changed - removed
        if remaining == fields:
            result.append(entry)
        elif remaining:
            result.append({**entry, "fieldsV1": fieldset_to_v1(remaining)})
    if mine_fields is None:
        mine_fields = set(changed)
    if mine_fields:
        result.append(
            _entry(
                manager=manager,
                operation=operation,
                api_version=api_version,
                now=now,
                fields=mine_fields,
                subresource=subresource,
            )
        )
    return result
