"""Events on resource templates for what a user must act on (component ``waybill-hub``).

A user looks at the template they applied (``kubectl describe deployment web``), so that is where
the hub says what went wrong on the members: a drift (``DriftDetected`` when the member keeps
the edit, ``DriftCorrected`` when the agent wrote the hub's values back), a manifest that
failed to apply (``ApplyFailed``) or an object on a member that was not taken over
(``NotTakenOver``). ``events_for`` derives them from the binding's ``aggregatedStatus`` (pure);
``TemplateEvents`` writes them.

One occurrence is one Event: each carries a key (a drift: cluster and observation time; a
failure: cluster, reason and message) and ``record_template_event`` writes a key once. The
Event's name is derived from the template's UID, the reason and the key, so a restarted (or
newly elected) hub that sees the same drift again gets ``AlreadyExists``, not a second Event.
Other controllers use ``record_template_event(ref, reason, message, key=...)`` for their own
reasons (e.g. a member that became unreachable). Recording is best effort: a failed write is
logged and tried again on the next reconcile, never raised into it.
"""

from __future__ import annotations

import hashlib
import json
import socket
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hub import drift_status
from hub.matching import TemplateRef
from shared.api.meta import now_rfc3339
from shared.kube import events
from shared.kube.client import KubeClient
from shared.kube.errors import AlreadyExists, ApiError
from shared.ops.logging import get_logger

_log = get_logger("hub.template_events")

COMPONENT = "waybill-hub"
REASON_DRIFT_DETECTED = "DriftDetected"
REASON_DRIFT_CORRECTED = "DriftCorrected"
REASON_APPLY_FAILED = "ApplyFailed"
REASON_NOT_TAKEN_OVER = "NotTakenOver"
# Applied=False reasons that are not apply failures: a drift left in place (its own Event), or
# a custom resource waiting for its CRD (transient)
_NOT_FAILURES = frozenset({"FoundDrifts", "WaitingForCRD"})
MEMORY = 4096  # keys remembered (an evicted key is caught by AlreadyExists)
NAME_LIMIT = 253


@dataclass(frozen=True)
class TemplateEvent:
    """One Event to record on a template; ``key`` makes it one occurrence."""

    reason: str
    message: str
    key: str
    warning: bool = True


def _applied_failures(item: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(reason, message) of the item's ``Applied: <reason>: <message>`` errors."""
    out = []
    for error in item.get("errors") or []:
        head, _, rest = str(error).partition(": ")
        if head != "Applied" or not rest:
            continue
        reason, _, message = rest.partition(": ")
        out.append((reason, message))
    return out


def events_for(items: Sequence[Mapping[str, Any]]) -> list[TemplateEvent]:
    """The Events a binding's ``aggregatedStatus`` calls for (pure)."""
    out: list[TemplateEvent] = []
    for item in items:
        cluster = str(item.get("clusterName") or "")
        drift = item.get("lastDrift")
        if isinstance(drift, Mapping) and drift.get("observedTime"):
            corrected = bool(drift.get("corrected"))
            out.append(
                TemplateEvent(
                    reason=REASON_DRIFT_CORRECTED if corrected else REASON_DRIFT_DETECTED,
                    message=drift_status.describe(cluster, drift),
                    # observation times have a one-second resolution: what changed is part of it
                    key="drift/"
                    + json.dumps(
                        [
                            cluster,
                            drift["observedTime"],
                            corrected,
                            drift.get("fields"),
                            drift.get("changedBy"),
                        ],
                        separators=(",", ":"),
                    ),
                    warning=not corrected,
                )
            )
        for reason, message in _applied_failures(item):
            if reason in _NOT_FAILURES:
                continue
            event_reason = REASON_NOT_TAKEN_OVER if reason == REASON_NOT_TAKEN_OVER else REASON_APPLY_FAILED
            text = f"{cluster}: {reason}: {message}" if event_reason != reason else f"{cluster}: {message}"
            out.append(
                TemplateEvent(reason=event_reason, message=text, key=f"applied/{cluster}/{reason}/{message}")
            )
    return out


def event_name(template_name: str, *, uid: str, reason: str, key: str) -> str:
    """The Event's name: stable for one (template, reason, key)."""
    digest = hashlib.sha256(f"{uid}/{reason}/{key}".encode()).hexdigest()[:16]
    return f"{template_name[: NAME_LIMIT - len(digest) - 1]}.{digest}"


class TemplateEvents:
    """Writes Events on templates, each (template, reason, key) once."""

    def __init__(
        self,
        hub_api: KubeClient,
        *,
        lookup: Callable[[TemplateRef], Mapping[str, Any] | None],
        host: str | None = None,
    ) -> None:
        self.hub_api = hub_api
        self.lookup = lookup  # the template as the hub's cache has it (None: not known)
        self.host = host or socket.gethostname()
        self._recorded: OrderedDict[tuple[str, str, str, str], None] = OrderedDict()

    async def record_template_event(
        self,
        template_ref: TemplateRef,
        reason: str,
        message: str,
        *,
        key: str | None = None,
        warning: bool = True,
    ) -> bool:
        """Record ``reason`` on the template once per ``key`` (default: the message); True if
        written now (False: recorded before, template unknown, or the write failed)."""
        template = self.lookup(template_ref)
        if template is None:
            return False
        uid = str((template.get("metadata") or {}).get("uid") or "")
        marker = (str(template_ref), uid, reason, key if key is not None else message)
        if marker in self._recorded:
            return False
        body = events.event_body(
            template,
            component=COMPONENT,
            reason=reason,
            message=message,
            event_type="Warning" if warning else "Normal",
            host=self.host,
            now=now_rfc3339(),
        )
        body["metadata"]["name"] = event_name(template_ref.name, uid=uid, reason=reason, key=marker[3])
        written = True
        try:
            await self.hub_api.create(body)
        except AlreadyExists:
            written = False  # the same occurrence was recorded before (e.g. by an earlier hub)
        except ApiError as err:
            _log.warning(
                "template_event.write_failed", template=str(template_ref), reason=reason, error=str(err)
            )
            return False
        self._recorded[marker] = None
        while len(self._recorded) > MEMORY:
            self._recorded.popitem(last=False)
        return written

    async def observe(self, template_ref: TemplateRef, items: Sequence[Mapping[str, Any]]) -> None:
        """Record what the binding's ``aggregatedStatus`` calls for (see ``events_for``)."""
        for event in events_for(items):
            await self.record_template_event(
                template_ref, event.reason, event.message, key=event.key, warning=event.warning
            )
