"""Which of this member's Works carry which objects, from the hub informer's cache.

``WorkClaims`` answers "does any Work besides W carry this object?" (the handover decisions in
``agent.ownership``) and "does Work W carry it?". The manifests of every cached Work are decoded
once per resourceVersion and inverted into an index, rebuilt only after a Work changed.

``seen_deleted`` tells a Work the agent *saw* being deleted (a watch DELETED event, noticed by
``DeletionTap``, the hub client the Works informer watches through) from one that is merely
missing from a relist (the agent was down, or the hub lost its Works): the first is cleaned up
now, the second only after ``orphaned_applied_work_grace``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Callable, Iterable
from typing import Any

from agent import report_diff
from agent.manifests import decode_manifests, work_manifests
from agent.ownership import RecordKey, normalized
from shared.kube.client import KubeClient
from shared.kube.informer import Informer
from shared.kube.types import Obj, WatchEvent, object_key


class DeletionTap(KubeClient):
    """The hub client as the Works informer uses it (same connection pool), telling of DELETED events.

    Never close it: the pool belongs to the client it was made from.
    """

    def __init__(self, base: KubeClient, *, on_deleted: Callable[[Obj], None]) -> None:
        super().__init__(
            base._api, name=base.name, retry_policy=base.retry_policy, request_timeout=base.request_timeout
        )
        self._on_deleted = on_deleted

    async def watch(self, *args: Any, **kwargs: Any) -> AsyncGenerator[WatchEvent, None]:
        events = super().watch(*args, **kwargs)
        async with contextlib.aclosing(events):
            async for event in events:
                if event.type == "DELETED":
                    self._on_deleted(event.object)
                yield event


def manifest_keys(work: Obj) -> frozenset[RecordKey]:
    """The (normalized) objects a Work's manifests name (none for a preview Work: it only compares)."""
    if report_diff.carries_nothing(work):
        return frozenset()
    return frozenset(
        normalized(m.identifier.object_key()) for m in decode_manifests(work_manifests(work)) if m.ok
    )


def _spec_version(work: Obj) -> tuple[Any, ...]:
    """What the manifests a Work carries depend on: its spec (the generation; the resourceVersion
    where a Work has none) and whether it is a preview. The agent's own status writes change
    the resourceVersion only: the Work is not decoded again for them."""
    meta = work.get("metadata") or {}
    generation = meta.get("generation")
    if not isinstance(generation, int):
        return ("rv", meta.get("resourceVersion"))
    return (meta.get("uid"), generation, report_diff.carries_nothing(work))


class WorkClaims:
    """An index over the hub informer's Works: object key → Works whose manifests carry it."""

    def __init__(self, works: Informer | None = None) -> None:
        self._works = works
        self._per_work: dict[str, tuple[tuple[Any, ...], frozenset[RecordKey]]] = {}
        self._index: dict[RecordKey, set[str]] = {}
        self._dirty = True
        self._deleted: set[str] = set()

    def attach(self, works: Informer) -> None:
        """The Works informer to index (made after this, as its client reports deletions here)."""
        self._works = works

    @property
    def works(self) -> Informer:
        if self._works is None:
            raise RuntimeError("WorkClaims.attach was not called")
        return self._works

    # ---- informer hooks ---------------------------------------------------------------------

    def observe(self, obj: Obj) -> Iterable[str]:
        """The Works informer's ``map_keys``: note the change, return the Work's own key."""
        key = object_key(obj)
        self._dirty = True
        if self.works.get(key) is not None:
            self._deleted.discard(key)  # (re)created
        return [key]

    def deleted(self, obj: Obj) -> None:
        """A watch DELETED event for a Work (see ``DeletionTap``), before the informer handles it."""
        self._deleted.add(object_key(obj))

    def seen_deleted(self, key: str) -> bool:
        return key in self._deleted

    def forget(self, key: str) -> None:
        self._deleted.discard(key)

    # ---- queries ----------------------------------------------------------------------------

    def _rebuild(self) -> None:
        per_work: dict[str, tuple[tuple[Any, ...], frozenset[RecordKey]]] = {}
        index: dict[RecordKey, set[str]] = {}
        for work in self.works.list():
            key = object_key(work)
            version = _spec_version(work)
            known = self._per_work.get(key)
            keys = known[1] if known is not None and known[0] == version else manifest_keys(work)
            per_work[key] = (version, keys)
            for k in keys:
                index.setdefault(k, set()).add(key)
        self._per_work, self._index, self._dirty = per_work, index, False

    def carriers(self, key: RecordKey) -> set[str]:
        """The Works (``namespace/name``) whose manifests name this object."""
        if not self.works.has_synced:
            return set()
        if self._dirty:
            self._rebuild()
        return set(self._index.get(normalized(key), ()))

    def claimant(self, key: RecordKey, *, besides: str) -> str | None:
        """A Work other than ``besides`` carrying the object (the first by name), or None."""
        others = sorted(w for w in self.carriers(key) if w != besides)
        return others[0] if others else None

    def carries(self, work_key: str, key: RecordKey) -> bool:
        return work_key in self.carriers(key)
