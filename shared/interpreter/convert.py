"""Python values to Lua tables and back, faithfully.

Going in, a dict becomes a table tagged as an object and a list a table tagged as an array (the tag
is a metatable the script cannot see), so even when a script empties, moves or copies a table it
comes back as what it was: ``{}`` stays ``{}`` and ``[]`` stays ``[]``. ``None`` becomes ``nil``
(a dict key holding None disappears, as in Karmada, whose VM does the same). Coming back, a table
the script built is read by its keys: only string keys is an object, only the keys ``1..n`` an
array; an empty table the script built takes the shape the inputs have at the same path (the way
Karmada fixes its JSON round trip), and is dropped where the inputs have nothing there (Karmada
drops it too); an empty top-level result is an empty object. Numbers: Lua 5.1 has only doubles, so
an integral number comes back as ``int`` (as on the Kubernetes wire, where Go writes 1.0 as
``1``), others as ``float``; integers beyond 2**53 lose precision, as in Karmada. Functions,
sparse or mixed tables, non-finite numbers and non-string keys are conversion errors naming
the path.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from lupa import lua51

# Shapes the Lua side reports for a table (see the bootstrap's ``shape``).
_OBJECT, _ARRAY, _EMPTY = "object", "array", "empty"
_DROP = object()


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
        if isinstance(value, Mapping):
            table = self._table({str(k): self.to_lua(v) for k, v in value.items() if v is not None})
            return self._object_tag(table) if self._object_tag is not None else table
        if isinstance(value, list | tuple):
            table = self._table([self.to_lua(v) for v in value])
            return self._array_tag(table) if self._array_tag is not None else table
        if isinstance(value, float) and not math.isfinite(value):
            raise ConversionError(f"a non-finite number has no JSON form: {value!r}")
        return value

    # --- Lua -> Python ---------------------------------------------------------------------------
    def to_python(self, value: Any, *, references: Sequence[Any] = ()) -> Any:
        result = self._back(value, (), references, top=True)
        return {} if result is _DROP else result

    def _back(self, value: Any, path: tuple[str, ...], references: Sequence[Any], *, top: bool) -> Any:
        kind = lua51.lua_type(value)
        if kind is None:
            if isinstance(value, float) and not math.isfinite(value):
                raise ConversionError(f"{_show(path)}: a non-finite number ({value!r}) has no JSON form")
            if isinstance(value, bytes):
                raise ConversionError(f"{_show(path)}: a string that is not UTF-8")
            return value
        if kind != "table":
            raise ConversionError(f"{_show(path)}: a Lua {kind} has no JSON form")
        shape, count = self._shape(value)
        if shape == _OBJECT:
            out: dict[str, Any] = {}
            for key, item in value.items():
                converted = self._back(item, (*path, str(key)), references, top=False)
                if converted is not _DROP:
                    out[str(key)] = converted
            return out
        if shape == _ARRAY:
            items = []
            for index in range(1, int(count) + 1):
                converted = self._back(value[index], (*path, "[]"), references, top=False)
                items.append({} if converted is _DROP else converted)
            return items
        if shape == _EMPTY:
            found = _shape_at(references, path)
            if found == _ARRAY:
                return []
            if found == _OBJECT or top or (path and path[-1] == "[]"):
                return {}
            return _DROP
        if shape == "sparse":
            raise ConversionError(f"{_show(path)}: an array with holes (keys up to {int(count)} but not all)")
        if shape == "badkey":
            raise ConversionError(f"{_show(path)}: a table key that is neither a string nor 1..n")
        raise ConversionError(f"{_show(path)}: a table mixing string keys and array indices")


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
