"""Printing objects as kubectl does: tables (plain and ``wide``), ``name``, ``json``, ``yaml``,
``jsonpath=TEMPLATE``. Pure formatting; the commands fetch."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import yaml

from waybill import jsonpath
from waybill.errors import UsageError

FORMATS = ("json", "yaml", "wide", "name", "jsonpath=TEMPLATE")


def add_output(parser: argparse.ArgumentParser, *, table: bool = True) -> None:
    choices = "json|yaml|wide|name|jsonpath=TEMPLATE" if table else "json|yaml|name|jsonpath=TEMPLATE"
    parser.add_argument("-o", "--output", metavar="FORMAT", help=f"output format: {choices}")


def check_format(value: str | None, *, table: bool = True) -> str | None:
    """The format, or a usage error naming the accepted ones."""
    if value is None:
        return None
    allowed = {"json", "yaml", "name"} | ({"wide"} if table else set())
    if value in allowed or value.startswith("jsonpath="):
        if value.startswith("jsonpath="):
            try:
                jsonpath.parse(value.partition("=")[2])
            except jsonpath.JsonPathError as exc:
                raise UsageError(f"-o {value}: {exc}") from exc
        return value
    raise UsageError(f"-o {value!r} is not one of {', '.join(sorted(allowed))}, jsonpath=TEMPLATE")


def clean(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` without managedFields (kubectl hides them too)."""
    meta = dict(obj.get("metadata") or {})
    meta.pop("managedFields", None)
    return {**obj, "metadata": meta}


def as_document(objects: Sequence[dict[str, Any]], *, single: bool) -> dict[str, Any]:
    if single and len(objects) == 1:
        return clean(objects[0])
    return {
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {"resourceVersion": ""},
        "items": [clean(o) for o in objects],
    }


def name_of(obj: dict[str, Any]) -> str:
    """``deployment.apps/web``, ``work.work.waybill.dev/x``: kubectl's ``-o name``."""
    group = str(obj.get("apiVersion") or "").rpartition("/")[0]
    kind = str(obj.get("kind") or "").lower()
    return f"{kind}.{group}/{obj['metadata']['name']}" if group else f"{kind}/{obj['metadata']['name']}"


def render_document(fmt: str, objects: Sequence[dict[str, Any]], *, single: bool) -> str:
    """Text for a non-table format (json, yaml, name, jsonpath=...)."""
    if fmt == "name":
        return "\n".join(name_of(o) for o in objects)
    document = as_document(objects, single=single)
    if fmt == "json":
        return json.dumps(document, indent=4)
    if fmt == "yaml":
        return yaml.safe_dump(document, sort_keys=False).rstrip()
    if fmt.startswith("jsonpath="):
        return jsonpath.render(fmt.partition("=")[2], document)
    raise UsageError(f"unknown output format {fmt!r}")


def age(timestamp: str | None, *, now: datetime | None = None) -> str:
    if not timestamp:
        return "<unknown>"
    try:
        then = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return "<unknown>"
    seconds = int(((now or datetime.now(tz=UTC)) - then).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join(
        "   ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )


def emit(text: str, fmt: str | None) -> None:
    """Print ``text``; jsonpath output gets no newline of its own, as in kubectl."""
    if fmt is not None and fmt.startswith("jsonpath="):
        print(text, end="", flush=True)
    elif text:
        print(text, flush=True)
