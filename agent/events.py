"""Kubernetes Events on the hub's Work objects, for failures users should see.

Events go into the member namespace (the Work's), as ``v1`` Events from component
``waybill-agent``. The same (reason, message) for the same Work is not repeated: a failure
that persists over many passes yields one Event, not one per pass. Recording is best effort:
a failure to write an Event is logged and never fails a reconcile.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from shared.api.meta import now_rfc3339
from shared.kube.client import KubeClient
from shared.kube.errors import AlreadyExists, ApiError
from shared.ops.logging import get_logger

_log = get_logger("agent.events")
COMPONENT = "waybill-agent"


def event_body(
    obj: Mapping[str, Any], *, reason: str, message: str, event_type: str, host: str, now: str
) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    digest = hashlib.sha256(f"{meta.get('uid')}/{reason}/{message}".encode()).hexdigest()[:10]
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{meta.get('name')}.{digest}", "namespace": meta.get("namespace")},
        "involvedObject": {
            "apiVersion": obj.get("apiVersion"),
            "kind": obj.get("kind"),
            "name": meta.get("name"),
            "namespace": meta.get("namespace"),
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
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
    """Creates Events on hub objects, once per distinct (object, reason, message)."""

    def __init__(self, hub_api: KubeClient, *, host: str) -> None:
        self.hub_api = hub_api
        self.host = host
        self._last: dict[str, tuple[str, str]] = {}

    async def record(
        self, obj: Mapping[str, Any], *, reason: str, message: str, warning: bool = True
    ) -> None:
        meta = obj.get("metadata") or {}
        key = f"{meta.get('namespace')}/{meta.get('name')}"
        if self._last.get(key) == (reason, message):
            return
        body = event_body(
            obj,
            reason=reason,
            message=message,
            event_type="Warning" if warning else "Normal",
            host=self.host,
            now=now_rfc3339(),
        )
        try:
            await self.hub_api.create(body)
        except AlreadyExists:
            pass  # the same event (same object, reason and message) was recorded before
        except ApiError as err:
            _log.warning("event.write_failed", object=key, reason=reason, error=str(err))
            return
        self._last[key] = (reason, message)

    def clear(self, obj: Mapping[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        self._last.pop(f"{meta.get('namespace')}/{meta.get('name')}", None)
