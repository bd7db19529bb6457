"""Events from the hub on the objects users look at (bindings, templates), component
``waybill-hub``. The recorder itself is shared with the agent: :mod:`shared.kube.events`."""

from __future__ import annotations

from shared.kube import events
from shared.kube.client import KubeClient

COMPONENT = "waybill-hub"


class EventRecorder(events.EventRecorder):
    """The hub's recorder."""

    def __init__(self, hub_api: KubeClient, *, host: str | None = None) -> None:
        super().__init__(hub_api, component=COMPONENT, host=host)
