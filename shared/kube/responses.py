"""Reading what comes back from the API server: pure helpers the client uses.

Decoding bodies and watch lines, the ``Retry-After`` header, mapping transport exceptions to
Waybill's errors, and comparing a create's object with what is stored (for the recovery of
ambiguous creates). No I/O here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aiohttp

from shared.kube.errors import ApiError, ConnectionFailed, Timeout, status_error
from shared.kube.types import Obj, WatchEvent

__all__ = [
    "decode_body",
    "object_identity",
    "parse_event",
    "retry_after",
    "same_content",
    "transport_error",
]

_EVENT_TYPES = frozenset({"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"})


def retry_after(headers: Mapping[str, str]) -> float | None:
    """The ``Retry-After`` header in seconds (None when absent or not a number)."""
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def transport_error(exc: BaseException) -> ApiError:
    """Map an aiohttp/asyncio exception to Waybill's error (``sent`` as far as we can know)."""
    if isinstance(exc, aiohttp.ClientSSLError):
        return ApiError(str(exc), reason="TLSError")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return ConnectionFailed(str(exc), sent=False)
    if isinstance(exc, TimeoutError):
        return Timeout(str(exc) or "request timed out")
    return ConnectionFailed(str(exc) or type(exc).__name__, sent=True)


def decode_body(data: bytes) -> Any:
    """A response body as JSON ({} when empty; a Status-like dict when not JSON)."""
    if not data:
        return {}
    try:
        return json.loads(data)
    except ValueError:
        return {"message": data[:500].decode("utf-8", "replace")}


def same_content(sent: Obj, live: Obj) -> bool:
    """Whether ``live`` holds what a create of ``sent`` would have stored (outside metadata)."""
    for key, value in sent.items():
        if key in {"metadata", "status", "apiVersion", "kind"}:
            continue
        if live.get(key) != value:
            return False
    sent_labels = (sent.get("metadata") or {}).get("labels") or {}
    live_labels = (live.get("metadata") or {}).get("labels") or {}
    return all(live_labels.get(k) == v for k, v in sent_labels.items())


def object_identity(obj: Obj) -> tuple[str, str, str, str | None]:
    """(apiVersion, kind, name, namespace) of an object; raises ValueError when incomplete."""
    api_version = obj.get("apiVersion")
    kind = obj.get("kind")
    meta = obj.get("metadata") or {}
    if not api_version or not kind:
        raise ValueError("object needs apiVersion and kind")
    return str(api_version), str(kind), str(meta.get("name") or ""), meta.get("namespace")


def parse_event(line: bytes, *, api_version: str, kind: str) -> WatchEvent | None:
    """One watch line → event (None for unknown types); an ERROR event raises its error."""
    try:
        raw = json.loads(line)
    except ValueError as exc:
        raise ConnectionFailed(f"undecodable watch event: {line[:200]!r}") from exc
    etype = raw.get("type")
    obj = raw.get("object") or {}
    if etype not in _EVENT_TYPES or not isinstance(obj, dict):
        return None
    if etype == "ERROR":
        code = obj.get("code")
        raise status_error(int(code) if isinstance(code, int) else 500, obj)
    if etype != "BOOKMARK":
        obj.setdefault("apiVersion", api_version)
        obj.setdefault("kind", kind)
    return WatchEvent(type=etype, object=obj)
