"""kubectl's ``-o jsonpath=TEMPLATE``: a template of text and ``{expression}`` parts. Pure.

Supported, as kubectl documents them: ``{.a.b}``, ``{.items[0]}``, ``{.items[*].metadata.name}``,
``{.m['key.with.dots']}``, filters ``[?(@.type=="Ready")]``, recursive ``..name``, ``{range
EXPR}...{end}``, string literals ``{"\\n"}`` and the escapes ``\\n``, ``\\t`` in plain text.
Several values from one expression are joined by a space; maps and lists print as JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_STEP = re.compile(
    r"\.\.([A-Za-z0-9_\-$]+)"  # recursive descent
    r"|\.([A-Za-z0-9_\-$/]+)"  # field
    r"|\[['\"]([^'\"]+)['\"]\]"  # quoted field
    r"|\[(\*|-?\d+)\]"  # index or wildcard
    r"|\[(-?\d*):(-?\d*)\]"  # slice
    r"|\[\?\(@\.([A-Za-z0-9_.\-]+)\s*(==|!=)\s*['\"]?([^'\")]*)['\"]?\)\]"  # filter
    r"|\.\*"  # all fields
)


class JsonPathError(ValueError):
    """A template kubectl would also refuse."""


@dataclass(frozen=True)
class _Text:
    text: str


@dataclass(frozen=True)
class _Expr:
    path: str


@dataclass(frozen=True)
class _Range:
    path: str
    body: tuple[_Text | _Expr | _Range, ...]


def _unescape(text: str) -> str:
    return text.replace("\\n", "\n").replace("\\t", "\t").replace("\\r", "\r")


def _tokens(template: str) -> list[tuple[str, str]]:
    """[("text", ...), ("expr", ...)] in order; unbalanced braces are an error."""
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(template):
        start = template.find("{", pos)
        if start < 0:
            out.append(("text", template[pos:]))
            break
        if start > pos:
            out.append(("text", template[pos:start]))
        end = template.find("}", start)
        if end < 0:
            raise JsonPathError(f"unclosed {{ at position {start}")
        out.append(("expr", template[start + 1 : end].strip()))
        pos = end + 1
    return out


def parse(template: str) -> tuple[_Text | _Expr | _Range, ...]:
    stack: list[tuple[str, list[_Text | _Expr | _Range]]] = [("", [])]
    for kind, value in _tokens(template):
        if kind == "text":
            stack[-1][1].append(_Text(_unescape(value)))
        elif value.startswith("range "):
            stack.append((value[6:].strip(), []))
        elif value == "end":
            if len(stack) == 1:
                raise JsonPathError("{end} without {range}")
            path, body = stack.pop()
            stack[-1][1].append(_Range(path, tuple(body)))
        elif len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            stack[-1][1].append(_Text(_unescape(value[1:-1])))
        else:
            stack[-1][1].append(_Expr(value))
    if len(stack) != 1:
        raise JsonPathError("{range} without {end}")
    return tuple(stack[0][1])


def _descend(value: Any, key: str) -> list[Any]:
    found: list[Any] = []
    if isinstance(value, dict):
        if key in value:
            found.append(value[key])
        for child in value.values():
            found.extend(_descend(child, key))
    elif isinstance(value, list):
        for child in value:
            found.extend(_descend(child, key))
    return found


def _field(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def evaluate(path: str, obj: Any) -> list[Any]:
    """Every value ``path`` selects in ``obj`` ([] when nothing matches)."""
    path = path.strip()
    if path.startswith("$"):
        path = path[1:]
    if path in ("", "@", "."):
        return [obj]
    values = [obj]
    pos = 0
    while pos < len(path):
        m = _STEP.match(path, pos)
        if not m:
            raise JsonPathError(f"cannot parse {path!r} at {path[pos:]!r}")
        pos = m.end()
        recursive, field, quoted, index, start, stop, fkey, op, fval = m.groups()
        nxt: list[Any] = []
        for value in values:
            if recursive is not None:
                nxt.extend(_descend(value, recursive))
            elif field is not None or quoted is not None:
                key = field if field is not None else quoted
                if isinstance(value, dict) and key in value:
                    nxt.append(value[key])
            elif index is not None:
                if isinstance(value, list):
                    if index == "*":
                        nxt.extend(value)
                    elif -len(value) <= int(index) < len(value):
                        nxt.append(value[int(index)])
                elif isinstance(value, dict) and index == "*":
                    nxt.extend(value.values())
            elif start is not None or stop is not None:
                if isinstance(value, list):
                    nxt.extend(value[int(start) if start else None : int(stop) if stop else None])
            elif fkey is not None:
                if isinstance(value, list):
                    for item in value:
                        same = str(_field(item, fkey)) == fval
                        if same == (op == "=="):
                            nxt.append(item)
            elif isinstance(value, dict):  # .*
                nxt.extend(value.values())
        values = nxt
    return values


def _show(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _render(nodes: tuple[_Text | _Expr | _Range, ...], obj: Any) -> str:
    out: list[str] = []
    for node in nodes:
        if isinstance(node, _Text):
            out.append(node.text)
        elif isinstance(node, _Expr):
            out.append(" ".join(_show(v) for v in evaluate(node.path, obj)))
        else:
            for item in evaluate(node.path, obj):
                out.append(_render(node.body, item))
    return "".join(out)


def render(template: str, obj: Any) -> str:
    """The template filled from ``obj``."""
    return _render(parse(template), obj)
