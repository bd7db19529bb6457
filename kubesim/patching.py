"""PATCH bodies applied to plain JSON objects: JSON patch, merge patch, strategic merge patch.

- ``json_patch(obj, ops)``: RFC 6902 (add, remove, replace, move, copy, test);
- ``merge_patch(obj, patch)``: RFC 7386 (``null`` deletes, lists replaced);
- ``strategic_merge_patch(obj, patch)``: Kubernetes' strategic merge patch for built-in types:
  lists merged by their patch merge key (``merge_key_for``), ``$patch: replace|delete|merge``,
  ``$retainKeys``, ``$deleteFromPrimitiveList/<field>``, ``$setElementOrder/<field>``.

Every function returns a new object and never mutates its inputs. Failures raise ``PatchError``
whose ``code`` is the HTTP status kube-apiserver answers with (400 malformed, 422 not applicable).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

__all__ = [
    "PatchError",
    "json_patch",
    "merge_key_for",
    "merge_patch",
    "strategic_merge_patch",
]

JSON = Any

_CONTAINER_LISTS = frozenset({"containers", "initContainers", "ephemeralContainers"})
# field name -> merge key, for lists whose key does not depend on where they are.
_MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "conditions": "type",
    "ownerReferences": "uid",
    "topologySpreadConstraints": "topologyKey",
}
# primitive lists merged as sets (patchStrategy "merge" on a []string).
_MERGED_PRIMITIVE_LISTS = frozenset({"finalizers"})


class PatchError(Exception):
    """A patch could not be decoded (``code`` 400) or applied (``code`` 422)."""

    def __init__(self, message: str, *, code: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def merge_key_for(path: Sequence[str], field: str) -> str | None:
    """The strategic-merge key of list ``field`` found under ``path`` (field names, outermost first).

    ``ports`` is keyed by ``containerPort`` inside a container and by ``port`` elsewhere (Services).
    ``None`` means the list is atomic and a patch replaces it.
    """
    if field == "ports":
        return "containerPort" if any(p in _CONTAINER_LISTS for p in path) else "port"
    key = _MERGE_KEYS.get(field)
    return key or None


# ------------------------------------------------------------------------------- RFC 6902


def _parse_pointer(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError(f'JSON pointer must start with "/": {pointer!r}', code=400)
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/")]


def _index(container: list[JSON], token: str, pointer: str, *, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise PatchError(f"invalid array index {token!r} in path {pointer!r}")
    index = int(token)
    limit = len(container) if allow_end else len(container) - 1
    if index > limit:
        raise PatchError(f"array index out of bounds: {index} in path {pointer!r}")
    return index


def _parent(doc: JSON, tokens: list[str], pointer: str, op: str) -> JSON:
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(node, token, pointer, allow_end=False)]
        else:
            raise PatchError(
                f'{op} operation does not apply: doc is missing path: "{pointer}": missing value'
            )
    return node


def _get(doc: JSON, pointer: str, op: str) -> JSON:
    tokens = _parse_pointer(pointer)
    if not tokens:
        return doc
    parent = _parent(doc, tokens, pointer, op)
    last = tokens[-1]
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, pointer, allow_end=False)]
    raise PatchError(f'{op} operation does not apply: doc is missing path: "{pointer}": missing value')


def _remove(doc: JSON, pointer: str, op: str) -> JSON:
    tokens = _parse_pointer(pointer)
    if not tokens:
        raise PatchError(f"{op} operation does not apply: cannot remove the whole document")
    parent = _parent(doc, tokens, pointer, op)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"Unable to remove nonexistent key: {last}: missing value")
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_index(parent, last, pointer, allow_end=False))
    raise PatchError(f'{op} operation does not apply: doc is missing path: "{pointer}": missing value')


def _add(doc: JSON, pointer: str, value: JSON, op: str, *, replace: bool = False) -> JSON:
    tokens = _parse_pointer(pointer)
    if not tokens:
        return value
    parent = _parent(doc, tokens, pointer, op)
    last = tokens[-1]
    if isinstance(parent, dict):
        if replace and last not in parent:
            raise PatchError(
                f"replace operation does not apply: doc is missing key: {pointer}: missing value"
            )
        parent[last] = value
    elif isinstance(parent, list):
        if replace:
            parent[_index(parent, last, pointer, allow_end=False)] = value
        else:
            parent.insert(_index(parent, last, pointer, allow_end=True), value)
    else:
        raise PatchError(f'{op} operation does not apply: doc is missing path: "{pointer}": missing value')
    return doc


def json_patch(obj: JSON, ops: JSON) -> JSON:
    """Apply an RFC 6902 JSON patch (a list of operations) to a copy of ``obj``."""
    if not isinstance(ops, list):
        raise PatchError("json: cannot unmarshal object into Go value of type jsonpatch.Patch", code=400)
    doc = clone(obj)
    for raw in ops:
        if not isinstance(raw, dict) or not isinstance(raw.get("op"), str) or "path" not in raw:
            raise PatchError(f"invalid JSON patch operation: {json.dumps(raw)}", code=400)
        op, path = raw["op"], str(raw["path"])
        if op in ("add", "replace", "test") and "value" not in raw:
            raise PatchError(f'{op} operation has no "value": {json.dumps(raw)}', code=400)
        if op == "add":
            doc = _add(doc, path, clone(raw["value"]), op)
        elif op == "replace":
            doc = _add(doc, path, clone(raw["value"]), op, replace=True)
        elif op == "remove":
            _remove(doc, path, op)
        elif op in ("move", "copy"):
            source = raw.get("from")
            if not isinstance(source, str):
                raise PatchError(f'{op} operation has no "from": {json.dumps(raw)}', code=400)
            if op == "move":
                if path.startswith(source + "/"):
                    raise PatchError(
                        f"move operation does not apply: cannot move {source} into its child {path}"
                    )
                value = _remove(doc, source, op)
            else:
                value = clone(_get(doc, source, op))
            doc = _add(doc, path, value, op)
        elif op == "test":
            if not _json_equal(_get(doc, path, op), raw["value"]):
                raise PatchError(f"testing value {path} failed: test failed")
        else:
            raise PatchError(f"Unexpected kind: {op}", code=400)
    return doc


def _json_equal(a: JSON, b: JSON) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


# ------------------------------------------------------------------------------- RFC 7386


def merge_patch(obj: JSON, patch: JSON, *, share: bool = False) -> JSON:
    """Apply an RFC 7386 JSON merge patch: objects merge, ``null`` deletes, anything else replaces.

    The result is a deep copy, or with ``share=True`` new only along the patch's paths: values
    the patch does not reach are ``obj``'s own and the patch's values are used as they are (for
    a caller that hands ``patch`` over and never changes the result in place).
    """
    if not isinstance(patch, dict):
        return clone(patch)
    if not isinstance(obj, dict):
        obj = {}
    return _merge_shared(obj, patch) if share else _merge_into(clone(obj), patch)


def _merge_into(result: dict[str, JSON], patch: dict[str, JSON]) -> dict[str, JSON]:
    """Merge ``patch`` into ``result`` (a copy the caller owns) in place."""
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            current = result.get(key)
            result[key] = _merge_into(current if isinstance(current, dict) else {}, value)
        else:
            result[key] = clone(value)
    return result


def _merge_shared(obj: dict[str, JSON], patch: dict[str, JSON]) -> dict[str, JSON]:
    """Merge ``patch`` over ``obj``: new dicts along the patch's paths, the rest shared."""
    result = dict(obj)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            current = result.get(key)
            result[key] = _merge_shared(current if isinstance(current, dict) else {}, value)
        else:
            result[key] = value
    return result


def clone(value: JSON) -> JSON:
    """A deep copy of a JSON value (several times faster than ``copy.deepcopy``)."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value


# ----------------------------------------------------------------------- strategic merge patch

_DIRECTIVE = "$patch"
_RETAIN = "$retainKeys"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"
_SET_ORDER = "$setElementOrder/"


def strategic_merge_patch(obj: JSON, patch: JSON) -> JSON:
    """Apply a Kubernetes strategic merge patch to a copy of ``obj``."""
    if not isinstance(patch, dict):
        raise PatchError("strategic merge patch must be a JSON object", code=400)
    base = clone(obj) if isinstance(obj, dict) else {}
    merged = _merge_map(base, patch, ())
    return {} if merged is None else merged


def _merge_map(original: dict[str, JSON], patch: dict[str, JSON], path: tuple[str, ...]) -> JSON:
    directive = patch.get(_DIRECTIVE)
    if directive == "delete":
        return None
    if directive == "replace":
        return {k: _strip(v) for k, v in patch.items() if k != _DIRECTIVE}
    if directive not in (None, "merge"):
        raise PatchError(f"Unknown patch type: {directive}", code=400)
    result = dict(original)
    retain = patch.get(_RETAIN)
    if retain is not None:
        if not isinstance(retain, list):
            raise PatchError("invalid patch: $retainKeys must be a list", code=400)
        missing = [k for k, v in patch.items() if not k.startswith("$") and v is not None and k not in retain]
        if missing:
            raise PatchError("$retainKeys doesn't contain all the keys in the patch")
        result = {k: v for k, v in result.items() if k in retain}
    for key, value in patch.items():
        if key.startswith(_DELETE_PRIMITIVE):
            field = key[len(_DELETE_PRIMITIVE) :]
            if not isinstance(value, list):
                raise PatchError("invalid patch: $deleteFromPrimitiveList must be a list", code=400)
            if isinstance(result.get(field), list):
                result[field] = [item for item in result[field] if item not in value]
    for key, value in patch.items():
        if key in (_DIRECTIVE, _RETAIN) or key.startswith((_DELETE_PRIMITIVE, _SET_ORDER)):
            continue
        if value is None:
            result.pop(key, None)
            continue
        current = result.get(key)
        if isinstance(value, dict):
            merged = _merge_map(current if isinstance(current, dict) else {}, value, (*path, key))
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _merge_list(current if isinstance(current, list) else [], value, path, key)
        else:
            result[key] = value
    for key, order in patch.items():
        if key.startswith(_SET_ORDER) and isinstance(order, list):
            field = key[len(_SET_ORDER) :]
            if isinstance(result.get(field), list):
                result[field] = _apply_order(result[field], order, merge_key_for(path, field))
    return result


def _merge_list(original: list[JSON], patch: list[JSON], path: tuple[str, ...], field: str) -> list[JSON]:
    if any(isinstance(item, dict) and item.get(_DIRECTIVE) == "replace" for item in patch):
        return [
            _strip(item)
            for item in patch
            if not (isinstance(item, dict) and _DIRECTIVE in item and len(item) == 1)
        ]
    key = merge_key_for(path, field)
    if key is None:
        if field in _MERGED_PRIMITIVE_LISTS and all(not isinstance(i, dict | list) for i in patch):
            return original + [item for item in patch if item not in original]
        return [_strip(item) for item in patch]
    result = list(original)
    for item in patch:
        if not isinstance(item, dict):
            raise PatchError(
                f"unable to find api field in struct for {field}: merge key {key!r} is "
                "missing in a non-object list item"
            )
        if key not in item:
            raise PatchError(f"map: {json.dumps(item)} does not contain declared merge key: {key}")
        position = next(
            (i for i, cur in enumerate(result) if isinstance(cur, dict) and cur.get(key) == item[key]), None
        )
        if item.get(_DIRECTIVE) == "delete":
            result = [cur for cur in result if not (isinstance(cur, dict) and cur.get(key) == item[key])]
            continue
        if position is None:
            result.append(_strip(item))
        else:
            merged = _merge_map(result[position], item, (*path, field))
            result[position] = merged
    return result


def _apply_order(items: list[JSON], order: list[JSON], key: str | None) -> list[JSON]:
    def ident(item: JSON) -> JSON:
        if key is not None and isinstance(item, dict):
            return item.get(key)
        return item

    wanted = [ident(o) for o in order]
    ranked = [i for w in wanted for i in items if ident(i) == w]
    rest = [i for i in items if ident(i) not in wanted]
    return ranked + rest


def _strip(value: JSON) -> JSON:
    """Drop strategic-merge directives from a value that is inserted as-is."""
    if isinstance(value, dict):
        return {
            k: _strip(v)
            for k, v in value.items()
            if k not in (_DIRECTIVE, _RETAIN)
            and not k.startswith((_DELETE_PRIMITIVE, _SET_ORDER))
            and v is not None
        }
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value
