"""Kubernetes Events from the hub on the objects users look at (bindings, templates).

One Event per distinct (object, reason, message): a failure that persists over many passes is
reported once. Best effort: failing to write an Event is logged, never fails a reconcile.
Events of cluster-scoped objects go to the ``default`` namespace, as kube-apiserver does.
"""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Mapping
from typing import Any

from hub.conditions import now_rfc3339
from shared.kube import errors
from shared.kube.client import KubeClient
from shared.ops.logging import get_logger

_log = get_logger("hub.events")
COMPONENT = "waybill-hub"


def event_body(
    obj: Mapping[str, Any], *, event_type: str, reason: str, message: str, host: str, now: str
) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace") or "default"
    digest = hashlib.sha256(f"{meta.get('uid')}/{reason}/{message}".encode()).hexdigest()[:10]
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{meta.get('name')}.{digest}", "namespace": namespace},
        "involvedObject": {
            "apiVersion": obj.get("apiVersion"),
            "kind": obj.get("kind"),
            "name": meta.get("name"),
            "namespace": meta.get("namespace"),
            "uid": meta.get("uid"),
        },
        "reason": reason,
        "message": message[:1024],
        "type": event_type,
        "source": {"component": COMPONENT, "host": host},
        "reportingComponent": COMPONENT,
        "reportingInstance": host,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }


class EventRecorder:
    """Writes Events once per distinct (object, reason, message)."""

    def __init__(self, hub_api: KubeClient, *, host: str | None = None) -> None:
        self.hub_api = hub_api
        self.host = host or socket.gethostname()
        self._seen: dict[str, tuple[str, str]] = {}

    async def emit(self, obj: Mapping[str, Any], *, event_type: str, reason: str, message: str) -> None:
        meta = obj.get("metadata") or {}
        identity = f"{obj.get('kind')}/{meta.get('namespace', '')}/{meta.get('name')}/{meta.get('uid')}"
        if self._seen.get(identity) == (reason, message):
            return
        self._seen[identity] = (reason, message)
        body = event_body(
            obj, event_type=event_type, reason=reason, message=message, host=self.host, now=now_rfc3339()
        )
        try:
            await self.hub_api.create(body)
        except errors.AlreadyExists:
            return
        except errors.ApiError as exc:
            _log.warning("event.failed", object=identity, reason=reason, error=str(exc))
