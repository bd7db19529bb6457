"""The Work controller: one keyed reconcile per hub Work, level-based.

A key is ``<member namespace>/<work name>``. The Work is read from the hub informer's cache,
so a hub that cannot be reached leaves the last known Works in place: the agent keeps applying
them and correcting drift, and nothing is deleted because of a disconnect. An agent that
*starts* while the hub cannot be reached applies the copy of each Work kept in its AppliedWork
(``agent.applied_work.work_from_copy``) until the hub answers.

The agent writes nothing to a Work but its status (its hub identity may not): ownership is
tracked on the member, in the AppliedWork records written before the first write. A Work the
agent saw deleted (a watch DELETED event, or a deletionTimestamp while another finalizer holds
it) has its resources removed now; one that is merely missing from a successful list (deleted
while the agent was down, or a hub that lost its Works) only after ``orphaned_applied_work_grace``.
Either way the removal obeys the deleteOption of the last known Work (or of the copy), and
resources another Work now carries are handed over, not deleted. Status is written to
``works/status`` only when it changed; failures become Events.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Mapping
from typing import Any

from agent import applied_work as aw
from agent.claims import WorkClaims
from agent.config import AgentConfig
from agent.events import EventRecorder
from agent.status import REASON_NOT_AVAILABLE_YET, condition, merge_conditions, status_changed
from agent.work_sync import ORPHAN, WorkSyncer
from shared.api import names
from shared.api.meta import now_rfc3339
from shared.kube.client import KubeClient
from shared.kube.errors import ApiError, NotFound
from shared.kube.informer import Informer
from shared.ops.logging import get_logger
from shared.ops.metrics import counter, histogram
from shared.runtime.controller import Result

_log = get_logger("agent.work_controller")
_STATUS_WRITES = counter(
    "agent_work_status_writes_total", "Work status writes to the hub", labels=("result",)
)
_APPLY_LATENCY = histogram("agent_work_sync_seconds", "Time to apply one Work on the member")
# While the hub has never answered, how often a Work is re-applied from its copy (drift events
# trigger passes too); the hub's first answer re-queues every Work at once.
COPY_RESYNC_SECONDS = 30.0


def _revision(obj: Mapping[str, Any]) -> int | None:
    """An object's resourceVersion as a number (kube-apiserver's and kubesim's are), else None."""
    try:
        return int(str((obj.get("metadata") or {}).get("resourceVersion")))
    except ValueError:
        return None


def conditions_of(status: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    return {
        str(c.get("type")): c for c in (status or {}).get("conditions") or [] if isinstance(c, Mapping)
    }


def _orphan(work: Mapping[str, Any] | None) -> bool:
    return (((work or {}).get("spec") or {}).get("deleteOption") or {}).get("propagationPolicy") == ORPHAN


class WorkController:
    """Reconciles the Works of one member namespace (``hub_api``) onto the member."""

    def __init__(
        self,
        hub_api: KubeClient,
        *,
        works: Informer,
        applied_works: Informer | None = None,
        claims: WorkClaims | None = None,
        syncer: WorkSyncer,
        events: EventRecorder,
        config: AgentConfig,
    ) -> None:
        self.hub_api = hub_api
        self.works = works
        self.applied_works = applied_works
        self.claims = claims
        self.syncer = syncer
        self.events = events
        self.config = config
        self._last_known: dict[str, Mapping[str, Any]] = {}
        self._missing_since: dict[str, float] = {}
        self._from_copy: set[str] = set()
        # key -> (status, Work resourceVersion) of this agent's last status write: newer than the
        # informer's copy until the informer delivers it (see ``_with_own_status``)
        self._reported: dict[str, tuple[dict[str, Any], int]] = {}
        # key -> (generation, when first seen applied but not yet available) (see ``_hold_for``)
        self._holding: dict[str, tuple[int | None, float]] = {}

    def _resync_after(self) -> float:
        jitter = self.config.resync_jitter
        return self.config.resync_interval * (1.0 + random.uniform(-jitter, jitter))

    async def reconcile(self, key: str) -> Result:
        namespace, _, name = key.partition("/")
        if not self.works.has_synced:
            return await self._apply_copy(key, namespace=namespace, name=name)
        if self._from_copy:
            _log.info("work.hub_answered", works_applied_from_copy=len(self._from_copy))
            self._from_copy.clear()
        work = self.works.get(key)
        if work is None:
            self._reported.pop(key, None)
            self._holding.pop(key, None)
            return await self._gone(key, namespace=namespace, name=name)
        work = self._with_own_status(key, work)
        self._last_known[key] = work
        self._missing_since.pop(key, None)
        meta = work.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            # Another finalizer (not the agent's: it has none; `waybill unjoin` holds one while it
            # waits for this report) holds the Work: remove now, then say so in its status.
            orphan = _orphan(work)
            done = await self.syncer.remove(work_namespace=namespace, work_name=name, orphan=orphan)
            if done:
                await self._report_removed(work, orphan=orphan)
            return Result(requeue_after=None if done else 2.0)
        with _APPLY_LATENCY.time():
            outcome = await self.syncer.sync(work)
        hub_error: ApiError | None = None
        hold = self._hold_for(key, work, outcome.status)
        try:
            if outcome.unchanged:  # the status is the Work's own: nothing to compare
                _STATUS_WRITES.labels("unchanged").inc()
            elif hold is None:
                after = await self._write_status(work, outcome.status)
                if after is not None:
                    self.syncer.settle(key, after)
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
        return Result(requeue_after=requeue if hold is None else min(requeue, hold))

    def _with_own_status(self, key: str, work: dict[str, Any]) -> dict[str, Any]:
        """``work`` with the status this agent last wrote, while the informer has not delivered it.

        Without this a pass right after a status write builds on the previous status (transition
        times of the write before) and writes again a status that differs only in those times.
        """
        reported = self._reported.get(key)
        if reported is None:
            return work
        status, version = reported
        seen = _revision(work)
        if seen is not None and seen >= version:
            del self._reported[key]  # the informer has it (or something newer)
            return work
        return {**work, "status": status}

    def _hold_for(self, key: str, work: Mapping[str, Any], status: Mapping[str, Any]) -> float | None:
        """Seconds to hold back a first report "applied, not available yet" of a new generation.

        Most workloads become available moments after the apply; holding that first report for
        up to ``available_hold`` seconds lets Applied and Available reach the hub in one write.
        Only a clean report is held (every manifest applied, nothing degraded), and only until
        the hold runs out: then it is written as it is. None: write now.
        """
        generation = (work.get("metadata") or {}).get("generation")
        conds = {c.get("type"): c for c in status.get("conditions") or [] if isinstance(c, Mapping)}
        applied, available = conds.get(names.CONDITION_APPLIED), conds.get(names.CONDITION_AVAILABLE)
        degraded = conds.get("Degraded")
        reported = conditions_of(work.get("status")).get(names.CONDITION_APPLIED) or {}
        clean_pending = (
            self.config.available_hold > 0
            and (applied or {}).get("status") == "True"
            and (available or {}).get("status") == "False"
            and (available or {}).get("reason") == REASON_NOT_AVAILABLE_YET
            and (degraded or {}).get("status") != "True"
            and reported.get("observedGeneration") != generation  # the hub has no report of it yet
        )
        if not clean_pending:
            self._holding.pop(key, None)
            return None
        now = time.monotonic()
        held_generation, since = self._holding.get(key, (None, now))
        if held_generation != generation:
            since = now
        self._holding[key] = (generation if isinstance(generation, int) else None, since)
        left = self.config.available_hold - (now - since)
        if left <= 0:
            return None
        return left

    async def _copy(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The Work as kept in its AppliedWork on the member (read there: the informer keeps no copies)."""
        if self.applied_works is not None and self.applied_works.has_synced:
            key = aw.applied_work_name(work_namespace=namespace, work_name=name)
            if self.applied_works.get(key) is None:
                return None
        try:
            applied = await self.syncer.records.get(namespace, name, create=False)
        except ApiError as err:
            _log.warning("work.copy_unreadable", work=f"{namespace}/{name}", error=str(err))
            return None
        return aw.work_from_copy(applied) if applied is not None else None

    async def _apply_copy(self, key: str, *, namespace: str, name: str) -> Result:
        """The hub has not answered since the agent started: apply the member's copy of the Work."""
        work = await self._copy(namespace, name)
        if work is None:
            return Result(requeue_after=1.0)
        if key not in self._from_copy:
            self._from_copy.add(key)
            _log.info("work.applying_copy", work=key, generation=work["metadata"].get("generation"))
        with _APPLY_LATENCY.time():
            outcome = await self.syncer.sync(work, from_copy=True)
        again = outcome.requeue_after if outcome.requeue_after is not None else COPY_RESYNC_SECONDS
        return Result(requeue_after=min(again, COPY_RESYNC_SECONDS))

    async def _gone(self, key: str, *, namespace: str, name: str) -> Result:
        """The hub no longer has the Work (a successful list/watch says so).

        If the agent saw it deleted, its resources go now. Otherwise (deleted while the agent
        was down, or the hub lost its Works) they go only after ``orphaned_applied_work_grace``
        seconds without the Work coming back, so a hub restored from an old backup does not wipe
        its members.
        """
        last = self._last_known.get(key) or await self._copy(namespace, name)
        deleting = bool((self.claims is not None and self.claims.seen_deleted(key))
                        or ((last or {}).get("metadata") or {}).get("deletionTimestamp"))
        now = time.monotonic()
        first_missing = self._missing_since.setdefault(key, now)
        wait = self.config.orphaned_applied_work_grace - (now - first_missing)
        if not deleting and wait > 0:
            if first_missing == now:
                _log.info("work.missing", work=key, grace_seconds=self.config.orphaned_applied_work_grace)
            return Result(requeue_after=wait)
        done = await self.syncer.remove(work_namespace=namespace, work_name=name, orphan=_orphan(last))
        if done:
            self._last_known.pop(key, None)
            self._missing_since.pop(key, None)
            if self.claims is not None:
                self.claims.forget(key)
        return Result(requeue_after=None if done else 2.0)

    async def _report_removed(self, work: Mapping[str, Any], *, orphan: bool) -> None:
        """``Removed=True`` on a deleted Work: everything applied for it is gone (or let go)."""
        old = [c for c in (work.get("status") or {}).get("conditions") or [] if isinstance(c, Mapping)]
        if any(c.get("type") == names.CONDITION_REMOVED and c.get("status") == "True" for c in old):
            return
        removed = condition(
            names.CONDITION_REMOVED,
            True,
            "ResourcesOrphaned" if orphan else "ResourcesRemoved",
            "left on the member, no longer managed (deleteOption Orphan)"
            if orphan
            else "every resource applied for this Work was removed from the member",
            generation=(work.get("metadata") or {}).get("generation"),
        )
        kept = [dict(c) for c in old if c.get("type") != names.CONDITION_REMOVED]
        status = {"conditions": merge_conditions([*kept, removed], old, now=now_rfc3339())}
        with contextlib.suppress(ApiError):  # the holder retries; the member side is done either way
            await self._write_status(work, status)

    async def _write_status(self, work: Mapping[str, Any], status: dict[str, Any]) -> dict[str, Any] | None:
        """Write ``status`` when it changes the Work's; the Work's status afterwards (None: gone)."""
        if not status_changed(work.get("status"), status):
            _STATUS_WRITES.labels("unchanged").inc()
            existing: dict[str, Any] = work.get("status") or {}
            return existing
        meta = work.get("metadata") or {}
        key = f"{meta.get('namespace')}/{meta.get('name')}"
        body = dict(status)
        if "driftSummary" in (work.get("status") or {}) and "driftSummary" not in status:
            body["driftSummary"] = None  # a merge patch keeps what it does not name
        try:
            written = await self.hub_api.patch_status(
                names.WORK_API_VERSION,
                names.KIND_WORK,
                name=str(meta.get("name")),
                namespace=meta.get("namespace"),
                patch={"status": body},
                patch_type="merge",
            )
        except NotFound:
            return None
        version = _revision(written)
        after = dict(written.get("status") or status)
        if version is not None:
            self._reported[key] = (after, version)
        self._holding.pop(key, None)
        _STATUS_WRITES.labels("written").inc()
        return after
