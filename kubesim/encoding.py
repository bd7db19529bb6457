"""Compact JSON encoding, done once per stored object version instead of once per reader.

The store encodes every object it commits (it needs the size for etcd's request limit anyway)
and remembers the bytes of the most recent ones; the write's response and every watch stream
that sends that version reuse them (``dumps``), so a large object is serialised once per write,
not once per watcher. Stored objects are never mutated, so an entry is valid as long as it is
the same object (identity) at the same resourceVersion.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

MAX_ENTRIES = 256
MAX_BYTES = 64 * 1024 * 1024

_recent: OrderedDict[int, tuple[Any, str, bytes]] = OrderedDict()  # id -> (obj, rv, bytes)
_total = 0


def encode(obj: Any) -> bytes:
    """Compact JSON (``separators=(",", ":")``), without looking at the cache."""
    return json.dumps(obj, separators=(",", ":")).encode()


def _rv(obj: Any) -> str:
    md = obj.get("metadata") if isinstance(obj, dict) else None
    return str(md.get("resourceVersion", "")) if isinstance(md, dict) else ""


def remember(obj: Any, data: bytes) -> None:
    """Keep ``data`` as the encoding of the stored (never again mutated) ``obj``."""
    global _total
    key = id(obj)
    previous = _recent.pop(key, None)
    if previous is not None:
        _total -= len(previous[2])
    _recent[key] = (obj, _rv(obj), data)
    _total += len(data)
    while _recent and (len(_recent) > MAX_ENTRIES or _total > MAX_BYTES):
        _total -= len(_recent.popitem(last=False)[1][2])


def dumps(obj: Any) -> bytes:
    """Compact JSON of ``obj``: the remembered bytes when ``obj`` is a recently stored object."""
    hit = _recent.get(id(obj))
    if hit is not None and hit[0] is obj and hit[1] == _rv(obj):
        return hit[2]
    return encode(obj)


def dumps_list(head: dict[str, Any], items: list[Any]) -> bytes:
    """``dumps({**head, "items": items})``, from the items' remembered bytes where there are."""
    start = encode(head)
    assert start.endswith(b"}")
    sep = b"," if len(start) > 2 else b""
    return start[:-1] + sep + b'"items":[' + b",".join(dumps(item) for item in items) + b"]}"


def clear() -> None:
    """Forget every remembered encoding."""
    global _total
    _recent.clear()
    _total = 0
