"""A small JSONPath evaluator for CRD ``additionalPrinterColumns`` (``.spec.replicas``,
``.status.conditions[?(@.type=="Ready")].status``, ``.items[0]``, ``.items[*].name``). Pure."""

from __future__ import annotations

import re
from typing import Any

_TOKEN = re.compile(
    r"\.([A-Za-z0-9_\-$]+)|\['([^']+)'\]|\[(\*|-?\d+)\]|\[\?\(@\.([A-Za-z0-9_.\-]+)\s*==\s*"
    r"[\"']?([^\"')]*)[\"']?\)\]"
)


def evaluate(path: str, obj: Any) -> list[Any]:
    """All values the path selects (empty when nothing matches)."""
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    if path.startswith("$"):
        path = path[1:]
    values = [obj]
    pos = 0
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if not m:
            return []
        pos = m.end()
        field, quoted, index, fkey, fval = m.groups()
        nxt: list[Any] = []
        for v in values:
            if field is not None or quoted is not None:
                key = field if field is not None else quoted
                if isinstance(v, dict) and key in v:
                    nxt.append(v[key])
            elif index is not None:
                if not isinstance(v, list):
                    continue
                if index == "*":
                    nxt.extend(v)
                else:
                    i = int(index)
                    if -len(v) <= i < len(v):
                        nxt.append(v[i])
            else:
                if isinstance(v, list):
                    for item in v:
                        got = evaluate("." + fkey, item)
                        if got and _text(got[0]) == fval:
                            nxt.append(item)
        values = nxt
    return values


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
