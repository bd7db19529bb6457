"""Events on the hub's Work objects for failures users should see (component ``waybill-agent``).

The recorder itself is shared with the hub: :mod:`shared.kube.events`.
"""

from __future__ import annotations

import functools

from shared.kube import events
from shared.kube.client import KubeClient

COMPONENT = "waybill-agent"
event_body = functools.partial(events.event_body, component=COMPONENT)


class EventRecorder(events.EventRecorder):
    """The agent's recorder: Events in the Work's (member) namespace on the hub."""

    def __init__(self, hub_api: KubeClient, *, host: str) -> None:
        super().__init__(hub_api, component=COMPONENT, host=host)
