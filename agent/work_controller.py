"""The Work controller: one keyed reconcile per hub Work, level-based.

A key is ``<member namespace>/<work name>``. The Work is read from the hub informer's cache,
so a hub that cannot be reached leaves the last known Works in place: the agent keeps applying
them and correcting drift, and nothing is deleted because of a disconnect. Only a Work the
hub really reports gone (a successful list/watch) for longer than a grace period, or one being
deleted, has its resources removed. A finalizer on the Work makes its deletion wait for that
removal, even across agent restarts. Status is written to ``works/status`` only when it
changed; failures become Events.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from typing import Any

from agent.config import AgentConfig
from agent.events import EventRecorder
from agent.status import status_changed
from agent.work_sync import ORPHAN, WorkSyncer
from shared.api import names
from shared.kube.client import KubeClient
from shared.kube.errors import ApiError, Conflict, NotFound
from shared.kube.informer import Informer
from shared.ops.logging import get_logger
from shared.ops.metrics import counter, histogram
from shared.runtime.controller import Result

_log = get_logger("agent.work_controller")
_STATUS_WRITES = counter(
    "agent_work_status_writes_total", "Work status writes to the hub", labels=("result",)
)
_APPLY_LATENCY = histogram("agent_work_sync_seconds", "Time to apply one Work on the member")


class WorkController:
    """Reconciles the Works of one member namespace (``hub_api``) onto the member."""

    def __init__(
        self,
        hub_api: KubeClient,
        *,
        works: Informer,
        syncer: WorkSyncer,
        events: EventRecorder,
        config: AgentConfig,
    ) -> None:
        self.hub_api = hub_api
        self.works = works
        self.syncer = syncer
        self.events = events
        self.config = config
        self._last_known: dict[str, Mapping[str, Any]] = {}
        self._missing_since: dict[str, float] = {}

    def _resync_after(self) -> float:
        jitter = self.config.resync_jitter
        return self.config.resync_interval * (1.0 + random.uniform(-jitter, jitter))

    async def reconcile(self, key: str) -> Result:
        if not self.works.has_synced:
            return Result(requeue_after=1.0)
        namespace, _, name = key.partition("/")
        work = self.works.get(key)
        if work is None:
            return await self._gone(key, namespace=namespace, name=name)
        self._last_known[key] = work
        self._missing_since.pop(key, None)
        meta = work.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            return await self._deleting(work, namespace=namespace, name=name)
        with _APPLY_LATENCY.time():
            outcome = await self.syncer.sync(work)
        hub_error: ApiError | None = None
        try:
            await self._ensure_finalizer(work)
            await self._write_status(work, outcome.status)
        except ApiError as err:
            hub_error = err
        for failure in outcome.failures[:3]:
            await self.events.record(
                work, reason=failure.reason, message=f"{failure.identifier.describe()}: {failure.message}"
            )
        if not outcome.failures:
            self.events.clear(work)
        if hub_error is not None:
            raise hub_error  # retried with backoff; the member side is already converged
        requeue = outcome.requeue_after if outcome.requeue_after is not None else self._resync_after()
        return Result(requeue_after=requeue)

    async def _gone(self, key: str, *, namespace: str, name: str) -> Result:
        """The hub no longer has the Work (a successful list/watch says so).

        If it was seen being deleted, its resources go now. Otherwise (its finalizer was
        removed by force, or the hub lost its Works) they go only after
        ``orphaned_applied_work_grace`` seconds without the Work coming back, so a hub
        restored from an old backup does not wipe its members.
        """
        last = self._last_known.get(key) or {}
        deleting = bool((last.get("metadata") or {}).get("deletionTimestamp"))
        now = time.monotonic()
        first_missing = self._missing_since.setdefault(key, now)
        wait = self.config.orphaned_applied_work_grace - (now - first_missing)
        if not deleting and wait > 0:
            if first_missing == now:
                _log.info("work.missing", work=key, grace_seconds=self.config.orphaned_applied_work_grace)
            return Result(requeue_after=wait)
        orphan = ((last.get("spec") or {}).get("deleteOption") or {}).get("propagationPolicy") == ORPHAN
        done = await self.syncer.remove(work_namespace=namespace, work_name=name, orphan=orphan)
        if done:
            self._last_known.pop(key, None)
            self._missing_since.pop(key, None)
        return Result(requeue_after=None if done else 2.0)

    async def _deleting(self, work: Mapping[str, Any], *, namespace: str, name: str) -> Result:
        finalizers = list((work.get("metadata") or {}).get("finalizers") or [])
        if names.FINALIZER_AGENT not in finalizers:
            return Result()
        orphan = ((work.get("spec") or {}).get("deleteOption") or {}).get("propagationPolicy") == ORPHAN
        if not await self.syncer.remove(work_namespace=namespace, work_name=name, orphan=orphan):
            return Result(requeue_after=2.0)
        await self._set_finalizers(work, [f for f in finalizers if f != names.FINALIZER_AGENT])
        _log.info("work.finalized", work=f"{namespace}/{name}", orphan=orphan)
        return Result()

    async def _ensure_finalizer(self, work: Mapping[str, Any]) -> None:
        finalizers = list((work.get("metadata") or {}).get("finalizers") or [])
        if names.FINALIZER_AGENT not in finalizers:
            await self._set_finalizers(work, [*finalizers, names.FINALIZER_AGENT])

    async def _set_finalizers(self, work: Mapping[str, Any], finalizers: list[str]) -> None:
        meta = work.get("metadata") or {}
        patch = {"metadata": {"finalizers": finalizers, "resourceVersion": meta.get("resourceVersion")}}
        try:
            await self.hub_api.patch(
                names.WORK_API_VERSION,
                names.KIND_WORK,
                name=str(meta.get("name")),
                namespace=meta.get("namespace"),
                patch=patch,
                patch_type="merge",
            )
        except NotFound:
            return
        except Conflict:
            # The Work changed meanwhile: its new version is (or soon will be) in the cache and queued.
            return

    async def _write_status(self, work: Mapping[str, Any], status: dict[str, Any]) -> None:
        if not status_changed(work.get("status"), status):
            _STATUS_WRITES.labels("unchanged").inc()
            return
        meta = work.get("metadata") or {}
        try:
            await self.hub_api.patch_status(
                names.WORK_API_VERSION,
                names.KIND_WORK,
                name=str(meta.get("name")),
                namespace=meta.get("namespace"),
                patch={"status": status},
                patch_type="merge",
            )
        except NotFound:
            return
        _STATUS_WRITES.labels("written").inc()
