"""Kubernetes Events on the objects users look at, for hub and agent alike.

``EventRecorder(client, component=...)`` writes ``v1`` Events into the object's namespace
(``default`` for cluster-scoped objects, as kube-apiserver does). The same (object, reason,
message) is written once: a failure that persists over many passes yields one Event, not one
per pass; the Event's name is derived from those three, so a restarted process that repeats it
gets ``AlreadyExists`` instead of a duplicate. Recording is best effort: a failed write is
logged (and tried again next time), never raised into a reconcile.
"""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Mapping
from typing import Any

from shared.api.meta import now_rfc3339
from shared.kube.client import KubeClient
from shared.kube.errors import AlreadyExists, ApiError
from shared.ops.logging import get_logger

_log = get_logger("shared.kube.events")


def event_body(
    obj: Mapping[str, Any],
    *,
    component: str,
    reason: str,
    message: str,
    event_type: str,
    host: str,
    now: str,
) -> dict[str, Any]:
    """The Event for ``obj`` (pure): name stable for the same object, reason and message."""
    meta = obj.get("metadata") or {}
    digest = hashlib.sha256(f"{meta.get('uid')}/{reason}/{message}".encode()).hexdigest()[:10]
    involved = {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "name": meta.get("name"),
        "namespace": meta.get("namespace"),
        "uid": meta.get("uid"),
    }
    if meta.get("resourceVersion"):
        involved["resourceVersion"] = meta["resourceVersion"]
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{meta.get('name')}.{digest}", "namespace": meta.get("namespace") or "default"},
        "involvedObject": involved,
        "reason": reason,
        "message": message[:1024],
        "type": event_type,
        "source": {"component": component, "host": host},
        "reportingComponent": component,
        "reportingInstance": host,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }


def _identity(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind')}/{meta.get('namespace') or ''}/{meta.get('name')}"


class EventRecorder:
    """Writes Events once per distinct (object, reason, message)."""

    def __init__(self, client: KubeClient, *, component: str, host: str | None = None) -> None:
        self.client = client
        self.component = component
        self.host = host or socket.gethostname()
        self._last: dict[str, tuple[str, str]] = {}

    async def emit(self, obj: Mapping[str, Any], *, event_type: str, reason: str, message: str) -> None:
        identity = _identity(obj)
        if self._last.get(identity) == (reason, message):
            return
        body = event_body(
            obj,
            component=self.component,
            reason=reason,
            message=message,
            event_type=event_type,
            host=self.host,
            now=now_rfc3339(),
        )
        try:
            await self.client.create(body)
        except AlreadyExists:
            pass  # the same event (same object, reason and message) was recorded before
        except ApiError as err:
            _log.warning("event.write_failed", object=identity, reason=reason, error=str(err))
            return
        self._last[identity] = (reason, message)

    async def record(
        self, obj: Mapping[str, Any], *, reason: str, message: str, warning: bool = True
    ) -> None:
        await self.emit(obj, event_type="Warning" if warning else "Normal", reason=reason, message=message)

    def clear(self, obj: Mapping[str, Any]) -> None:
        """Forget the last Event of ``obj``: the next failure is reported again (it recovered)."""
        self._last.pop(_identity(obj), None)
