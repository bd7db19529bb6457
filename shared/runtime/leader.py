"""Lease-based leader election (``coordination.k8s.io/v1`` Lease), client-go's algorithm.

A candidate reads the Lease; it may take it when nobody holds it, it holds it already, or the
holder has not renewed within ``leaseDurationSeconds`` *as observed locally* (the time is taken
from this process's monotonic clock when the record last changed, so clock skew between
replicas does not matter). Writes carry the read ``resourceVersion``, so two candidates cannot
both win. The leader renews every ``retry_period``; if it cannot renew within
``renew_deadline`` it has lost. On a clean stop it releases the Lease (empty holder) so a
successor takes over at once. ``may_acquire`` and ``next_lease`` are the pure decisions.

``api_reachable`` says whether the last attempt read the Lease without an error (whoever holds
it): readiness of a standby replica is about being able to serve, not about leading.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.kube.client import KubeClient
from shared.kube.errors import AlreadyExists, ApiError, Conflict, NotFound
from shared.kube.types import Obj
from shared.ops.logging import get_logger
from shared.ops.metrics import gauge

__all__ = ["LeaderElector", "LeadershipLost", "LeaseRecord", "lease_record", "may_acquire", "next_lease"]

_log = get_logger("shared.runtime.leader")
_IS_LEADER = gauge("leader_is_leader", "1 while this process holds the lease", labels=("lease",))

LEASE_API = "coordination.k8s.io/v1"


class LeadershipLost(Exception):
    """The Lease could not be renewed within the renew deadline; leader work was cancelled."""


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    """The election fields of a Lease's spec."""

    holder: str
    lease_duration: float
    acquire_time: str = ""
    renew_time: str = ""
    transitions: int = 0


def lease_record(lease: Obj | None) -> LeaseRecord | None:
    """The record in a Lease object (None for no Lease)."""
    if lease is None:
        return None
    spec = lease.get("spec") or {}
    return LeaseRecord(
        holder=str(spec.get("holderIdentity") or ""),
        lease_duration=float(spec.get("leaseDurationSeconds") or 0),
        acquire_time=str(spec.get("acquireTime") or ""),
        renew_time=str(spec.get("renewTime") or ""),
        transitions=int(spec.get("leaseTransitions") or 0),
    )


def may_acquire(*, record: LeaseRecord | None, identity: str, observed_at: float, now: float) -> bool:
    """Whether ``identity`` may take (or keep) the lease, given when the record was last seen to change."""
    if record is None or not record.holder or record.holder == identity:
        return True
    return now >= observed_at + record.lease_duration


def micro_time(moment: datetime) -> str:
    """A metav1.MicroTime string."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def next_lease(
    current: Obj | None,
    *,
    name: str,
    namespace: str,
    identity: str,
    lease_duration: int,
    now: str,
) -> Obj:
    """The Lease to write for ``identity`` taking or renewing ``current`` (with its resourceVersion)."""
    record = lease_record(current)
    taking_over = record is None or record.holder != identity
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if current is not None:
        rv = (current.get("metadata") or {}).get("resourceVersion")
        if rv:
            metadata["resourceVersion"] = rv
    transitions = 0 if record is None else record.transitions + (1 if taking_over else 0)
    return {
        "apiVersion": LEASE_API,
        "kind": "Lease",
        "metadata": metadata,
        "spec": {
            "holderIdentity": identity,
            "leaseDurationSeconds": lease_duration,
            "acquireTime": now if taking_over or record is None else (record.acquire_time or now),
            "renewTime": now,
            "leaseTransitions": transitions,
        },
    }


class LeaderElector:
    """Elects one leader among processes sharing Lease ``namespace/name``.

    ``await elector.run(lead)`` waits to become leader, runs ``lead()`` while renewing, and
    releases the Lease when ``lead`` returns or the task is cancelled; it raises
    :class:`LeadershipLost` (after cancelling ``lead``) if renewal fails for ``renew_deadline``.
    """

    def __init__(
        self,
        client: KubeClient,
        *,
        name: str,
        namespace: str,
        identity: str,
        lease_duration: float = 15.0,
        renew_deadline: float = 10.0,
        retry_period: float = 2.0,
        release_on_stop: bool = True,
    ) -> None:
        if not retry_period < renew_deadline < lease_duration:
            raise ValueError("need retry_period < renew_deadline < lease_duration")
        self._client = client
        self.name = name
        self.namespace = namespace
        self.identity = identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.release_on_stop = release_on_stop
        self._observed: LeaseRecord | None = None
        self._observed_at = 0.0
        self._leading = False
        self._reachable = False

    @property
    def api_reachable(self) -> bool:
        """Whether the last attempt to read the Lease got an answer from the API server."""
        return self._reachable

    @property
    def is_leader(self) -> bool:
        """Whether this elector holds the lease right now (as of its last renewal)."""
        return self._leading

    def _set_leading(self, leading: bool) -> None:
        if leading != self._leading:
            self._leading = leading
            _IS_LEADER.labels(f"{self.namespace}/{self.name}").set(1 if leading else 0)
            _log.info("leader.gained" if leading else "leader.lost", lease=f"{self.namespace}/{self.name}",
                      identity=self.identity)

    async def try_acquire_or_renew(self) -> bool:
        """One attempt to take or renew the lease; whether this elector holds it afterwards."""
        try:
            current: Obj | None = await self._client.get(LEASE_API, "Lease", name=self.name,
                                                         namespace=self.namespace)
        except NotFound:
            current = None
        self._reachable = True
        record = lease_record(current)
        if record != self._observed:
            self._observed, self._observed_at = record, time.monotonic()
        if not may_acquire(record=record, identity=self.identity, observed_at=self._observed_at,
                           now=time.monotonic()):
            return False
        desired = next_lease(current, name=self.name, namespace=self.namespace, identity=self.identity,
                             lease_duration=max(1, round(self.lease_duration)),
                             now=micro_time(datetime.now(UTC)))
        try:
            if current is None:
                written = await self._client.create(desired)
            else:
                written = await self._client.replace(desired)
        except (AlreadyExists, Conflict):
            return False
        self._observed, self._observed_at = lease_record(written), time.monotonic()
        return True

    async def _attempt(self) -> bool:
        try:
            return await self.try_acquire_or_renew()
        except ApiError as err:
            self._reachable = False
            _log.warning("leader.attempt_failed", lease=f"{self.namespace}/{self.name}", status=err.status,
                         reason=err.reason, error=err.message)
            return False

    def _pause(self) -> float:
        return self.retry_period * (1.0 + 0.2 * random.random())

    async def acquire(self) -> None:
        """Wait until this elector holds the lease."""
        while True:
            if await self._attempt():
                break
            await asyncio.sleep(self._pause())
        self._set_leading(True)

    async def _renew_until_lost(self) -> None:
        while True:
            await asyncio.sleep(self.retry_period)
            deadline = time.monotonic() + self.renew_deadline
            while not await self._attempt():
                if time.monotonic() >= deadline:
                    self._set_leading(False)
                    return
                await asyncio.sleep(min(self.retry_period, max(0.0, deadline - time.monotonic())))

    async def release(self) -> None:
        """Give the lease up (empty holder) if this elector holds it; best effort."""
        if not self._leading:
            return
        self._set_leading(False)
        try:
            current = await self._client.get(LEASE_API, "Lease", name=self.name, namespace=self.namespace)
            record = lease_record(current)
            if record is None or record.holder != self.identity:
                return
            released = next_lease(current, name=self.name, namespace=self.namespace, identity="",
                                  lease_duration=1, now=micro_time(datetime.now(UTC)))
            released["spec"]["leaseTransitions"] = record.transitions
            await self._client.replace(released)
            _log.info("leader.released", lease=f"{self.namespace}/{self.name}", identity=self.identity)
        except ApiError as err:
            _log.warning("leader.release_failed", lease=f"{self.namespace}/{self.name}", error=err.message)

    async def run(self, lead: Callable[[], Awaitable[None]]) -> None:
        """Become leader, run ``lead()`` while renewing; release on return or cancellation."""
        await self.acquire()
        lead_task = asyncio.ensure_future(lead())
        renew_task = asyncio.ensure_future(self._renew_until_lost())
        try:
            done, _ = await asyncio.wait({lead_task, renew_task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (lead_task, renew_task):
                task.cancel()
            await asyncio.gather(lead_task, renew_task, return_exceptions=True)
            if self.release_on_stop:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(self.retry_period, 2.0)):
                        await self.release()
            else:
                self._set_leading(False)
        if lead_task in done and not lead_task.cancelled():
            lead_task.result()
            return
        raise LeadershipLost(f"lost lease {self.namespace}/{self.name}")
