"""Python values to Lua tables and back, faithfully.

Going in, an empty dict becomes a table tagged as an object and an empty list one tagged as an
array (the tag is a metatable the script cannot see), so wherever a script moves it, it comes back
as what it was: ``{}`` stays ``{}`` and ``[]`` stays ``[]``. ``None`` becomes ``nil``
(a dict key holding None disappears, as in Karmada, whose VM does the same). Coming back, a table
is read by its keys: only string keys is an object, only the keys ``1..n`` an array; an untagged
empty table (the script made it, or emptied one) takes the shape the inputs have at the same path
(the way Karmada fixes its JSON round trip), is ``{}`` as a list element or the whole result, and
is dropped where the inputs have nothing there (Karmada drops it too). Numbers: Lua 5.1 has only doubles, so
an integral number comes back as ``int`` (as on the Kubernetes wire, where Go writes 1.0 as
``1``), others as ``float``; integers beyond 2**53 lose precision, as in Karmada. Functions,
sparse or mixed tables, tables nested more than ``MAX_DEPTH`` levels, non-finite numbers and
non-string keys are conversion errors naming the path.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from lupa import lua51

# Tags the Lua side reports for an empty table (see the sandbox bootstrap's ``shape``).
_OBJECT, _ARRAY = "object", "array"
_DROP = object()
# Kubernetes objects nest a few dozen levels at most; deeper is a script building a chain.
MAX_DEPTH = 100


class ConversionError(ValueError):
    """A Lua value that has no JSON form."""


class Converter:
    """Converts for one runtime; ``bind`` gives it the Lua helpers once the bootstrap has run."""

    def __init__(self, runtime: lua51.LuaRuntime) -> None:
        self._runtime = runtime
        self._table = runtime.table_from
        self._object_tag: Any = None
        self._array_tag: Any = None
        self._shape: Any = None

    def bind(self, *, object_tag: Any, array_tag: Any, shape: Any) -> None:
        self._object_tag = object_tag
        self._array_tag = array_tag
        self._shape = shape

    # --- Python -> Lua ---------------------------------------------------------------------------
    def to_lua(self, value: Any) -> Any:
        prepared = self._prepare(value)
        if isinstance(prepared, dict | list):
            # One recursive table_from in C; the empty containers are already tagged Lua tables.
            return self._table(prepared, recursive=True)
        return prepared

    def _prepare(self, value: Any, depth: int = 0) -> Any:
        """``value`` with str keys, lists for tuples, and every empty container a tagged Lua table.

        Only empty tables are ambiguous coming back; a non-empty one the script empties takes the
        inputs' shape at its path (see ``to_python``).
        """
        kind = type(value)
        if kind is str or kind is int or kind is bool:
            return value
        if depth > MAX_DEPTH:
            raise ConversionError(f"the input is nested more than {MAX_DEPTH} levels deep")
        if kind is dict or isinstance(value, Mapping):
            if not value:
                return self._tagged(self._object_tag)
            return {str(k): self._prepare(v, depth + 1) for k, v in value.items() if v is not None}
        if kind is list or kind is tuple:
            if not value:
                return self._tagged(self._array_tag)
            return [self._prepare(v, depth + 1) for v in value]
        if kind is float and not math.isfinite(value):
            raise ConversionError(f"a non-finite number has no JSON form: {value!r}")
        return value

    def _tagged(self, tag: Any) -> Any:
        table = self._table()
        return tag(table) if tag is not None else table

    # --- Lua -> Python ---------------------------------------------------------------------------
    def to_python(self, value: Any, *, references: Sequence[Any] = ()) -> Any:
        result = self._back(value, (), references, top=True)
        return {} if result is _DROP else result

    def _back(self, value: Any, path: tuple[str, ...], references: Sequence[Any], *, top: bool) -> Any:
        if len(path) > MAX_DEPTH:
            raise ConversionError(f"{_show(path[:8])}...: nested more than {MAX_DEPTH} levels deep")
        kind = type(value)
        if kind is str or kind is int or kind is bool or value is None:
            return value
        if kind is float:
            if not math.isfinite(value):
                raise ConversionError(f"{_show(path)}: a non-finite number ({value!r}) has no JSON form")
            return value
        if kind is bytes:
            raise ConversionError(f"{_show(path)}: a string that is not UTF-8")
        lua_kind = lua51.lua_type(value)
        if lua_kind != "table":
            raise ConversionError(f"{_show(path)}: a Lua {lua_kind} has no JSON form")
        items = list(value.items())
        if not items:
            return self._empty(value, path, references, top=top)
        if all(type(key) is str for key, _ in items):
            out: dict[str, Any] = {}
            for key, item in items:
                converted = self._back(item, (*path, key), references, top=False)
                if converted is not _DROP:
                    out[key] = converted
            return out
        if all(type(key) is int for key, _ in items):
            indices = sorted(key for key, _ in items)
            if indices[0] == 1 and indices[-1] == len(indices):
                by_index = dict(items)
                element = (*path, "[]")
                converted_items = (self._back(by_index[i], element, references, top=False) for i in indices)
                return [{} if converted is _DROP else converted for converted in converted_items]
            raise ConversionError(
                f"{_show(path)}: an array with holes (keys up to {indices[-1]} but not all)"
            )
        if all(type(key) in (str, int) for key, _ in items):
            raise ConversionError(f"{_show(path)}: a table mixing string keys and array indices")
        raise ConversionError(f"{_show(path)}: a table key that is neither a string nor 1..n")

    def _empty(self, value: Any, path: tuple[str, ...], references: Sequence[Any], *, top: bool) -> Any:
        """An empty table: its tag if it came from Python, else the inputs' shape at its path."""
        shape = self._shape(value)
        if shape == _OBJECT:
            return {}
        if shape == _ARRAY:
            return []
        found = _shape_at(references, path)
        if found == _ARRAY:
            return []
        if found == _OBJECT or top or (path and path[-1] == "[]"):
            return {}
        return _DROP


def _shape_at(references: Sequence[Any], path: tuple[str, ...]) -> str | None:
    """The shape the inputs have at ``path`` (list indices written ``[]``), or None."""
    for reference in references:
        for node in _walk(reference, path):
            if isinstance(node, Mapping):
                return _OBJECT
            if isinstance(node, list):
                return _ARRAY
    return None


def _walk(node: Any, path: tuple[str, ...]) -> list[Any]:
    nodes = [node]
    for part in path:
        following: list[Any] = []
        for current in nodes:
            if part == "[]" and isinstance(current, list):
                following.extend(current)
            elif isinstance(current, Mapping) and part in current:
                following.append(current[part])
        nodes = following
        if not nodes:
            break
    return nodes


def _show(path: tuple[str, ...]) -> str:
    text = ""
    for part in path:
        text += part if part == "[]" else f".{part}"
    return text.lstrip(".") or "result"
