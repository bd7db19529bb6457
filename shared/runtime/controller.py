"""The controller loop: N workers take keys from a work queue and call ``reconcile(key)``.

The reconcile contract (controller-runtime's): a request is only a key, reconciliation reads
current state and converges. ``reconcile`` returns a :class:`Result` (``requeue_after`` seconds
to look again, or None); raising :class:`TerminalError` means "retrying will not help" (logged,
not retried); any other exception is retried with per-key exponential backoff. Every pass logs
with a fresh ``reconcile_id`` bound in structlog's context and is counted in metrics.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic

import structlog

from shared.ops.logging import get_logger
from shared.ops.metrics import counter, histogram
from shared.runtime.ratelimit import RateLimiter
from shared.runtime.workqueue import K, WorkQueue

__all__ = ["Controller", "Reconcile", "Result", "TerminalError"]

_log = get_logger("shared.runtime.controller")

_RECONCILES = counter("reconcile_total", "Reconcile passes by controller and result",
                      labels=("controller", "result"))
_LATENCY = histogram("reconcile_duration_seconds", "Reconcile pass latency", labels=("controller",))


@dataclass(frozen=True, slots=True)
class Result:
    """What a reconcile pass asks for: look again after ``requeue_after`` seconds, or not."""

    requeue_after: float | None = None


class TerminalError(Exception):
    """A reconcile failure that retrying cannot fix (bad input); logged, not retried."""


Reconcile = Callable[[K], Awaitable[Result | None]]


class Controller(Generic[K]):
    """Runs ``workers`` concurrent reconcile workers over one :class:`WorkQueue`.

    Feed keys with ``enqueue`` (e.g. as an informer handler); ``await run()`` until cancelled
    or ``stop()``. ``priority``: keys of higher priority are reconciled first (see ``WorkQueue``).
    """

    def __init__(
        self,
        name: str,
        reconcile: Reconcile[K],
        *,
        workers: int = 1,
        rate_limiter: RateLimiter | None = None,
        priority: Callable[[K], int] | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.name = name
        self._reconcile = reconcile
        self._workers = workers
        self.queue: WorkQueue[K] = WorkQueue(name=name, rate_limiter=rate_limiter, priority=priority)

    def enqueue(self, key: K) -> None:
        """Queue ``key`` for reconciliation (coalesced with a pending one)."""
        self.queue.add(key)

    def stop(self) -> None:
        """Shut the queue down: workers finish their current pass and ``run`` returns."""
        self.queue.shutdown()

    async def run(self) -> None:
        """Run the workers until ``stop()`` or cancellation (which also stops the queue)."""
        _log.info("controller.start", controller=self.name, workers=self._workers)
        try:
            async with asyncio.TaskGroup() as group:
                for index in range(self._workers):
                    group.create_task(self._worker(), name=f"{self.name}-worker-{index}")
        finally:
            self.queue.shutdown()
            _log.info("controller.stop", controller=self.name)

    async def _worker(self) -> None:
        while True:
            key = await self.queue.get()
            if key is None:
                return
            try:
                await self.process(key)
            finally:
                self.queue.done(key)

    async def process(self, key: K) -> str:
        """One reconcile pass for ``key``, with retry bookkeeping; the result label."""
        started = time.monotonic()
        with structlog.contextvars.bound_contextvars(
            controller=self.name, key=str(key), reconcile_id=uuid.uuid4().hex[:12]
        ):
            try:
                result = await self._reconcile(key)
            except TerminalError as err:
                self.queue.forget(key)
                label = "terminal"
                _log.error("reconcile.terminal", error=str(err))
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self.queue.add_rate_limited(key)
                label = "error"
                _log.warning("reconcile.error", error=str(err), error_type=type(err).__name__,
                             requeues=self.queue.num_requeues(key))
            else:
                self.queue.forget(key)
                if result is not None and result.requeue_after is not None:
                    self.queue.add_after(key, result.requeue_after)
                    label = "requeue_after"
                else:
                    label = "success"
                _log.debug("reconcile.done", result=label)
        _RECONCILES.labels(self.name, label).inc()
        _LATENCY.labels(self.name).observe(time.monotonic() - started)
        return label
