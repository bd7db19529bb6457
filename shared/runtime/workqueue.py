"""A keyed, coalescing work queue with delayed and rate-limited adds (client-go semantics).

A key waits in the queue at most once (``dirty``); a key being worked on (``processing``) is
never handed to a second worker: adding it meanwhile marks it dirty and it is queued again when
the worker calls ``done``. ``add_after`` keeps only the earliest pending delay per key;
``add_rate_limited`` uses the per-key exponential backoff of :mod:`shared.runtime.ratelimit`,
reset by ``forget``. ``get`` returns None once the queue is shut down.

The queue is generic over its key type: a controller's keys are typed records (frozen
dataclasses such as the hub's ``TemplateRef``), not strings parsed back and forth.

With a ``priority`` function the queue hands out the waiting key of the highest priority first,
in arrival order among equals (kube-scheduler's active queue; Karmada's PriorityBasedScheduling).
A key's priority is read when it enters the line (``add``, or ``done`` of a dirty key).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import deque
from collections.abc import Callable, Hashable
from typing import Generic

from typing_extensions import TypeVar

from shared.ops.metrics import counter, gauge
from shared.runtime.ratelimit import RateLimiter

__all__ = ["K", "WorkQueue"]

# str by default: ``Controller`` / ``WorkQueue`` without a type argument keep string keys
K = TypeVar("K", bound=Hashable, default=str)

_DEPTH = gauge("workqueue_depth", "Keys waiting in a work queue", labels=("queue",))
_ADDS = counter("workqueue_adds_total", "Keys added to a work queue", labels=("queue",))
_RETRIES = counter("workqueue_retries_total", "Rate-limited re-adds to a work queue", labels=("queue",))


class _PriorityLine(Generic[K]):
    """The waiting line ordered by priority (highest first), then arrival: ``deque``'s few methods."""

    def __init__(self, priority: Callable[[K], int]) -> None:
        self._priority = priority
        self._heap: list[tuple[int, int, K]] = []
        self._arrivals = itertools.count()

    def append(self, key: K) -> None:
        try:
            rank = int(self._priority(key))
        except Exception:  # a broken priority function must not lose the key
            rank = 0
        heapq.heappush(self._heap, (-rank, next(self._arrivals), key))

    def popleft(self) -> K:
        return heapq.heappop(self._heap)[2]

    def clear(self) -> None:
        self._heap.clear()

    def __len__(self) -> int:
        return len(self._heap)


class WorkQueue(Generic[K]):
    """Keyed work queue; ``name`` labels its metrics. Create it inside a running event loop."""

    def __init__(
        self,
        *,
        name: str = "default",
        rate_limiter: RateLimiter | None = None,
        priority: Callable[[K], int] | None = None,
    ) -> None:
        self.name = name
        self._queue: deque[K] | _PriorityLine[K] = deque() if priority is None else _PriorityLine(priority)
        self._dirty: set[K] = set()
        self._processing: set[K] = set()
        self._timers: dict[K, tuple[float, asyncio.TimerHandle]] = {}
        self._limiter = rate_limiter or RateLimiter()
        self._changed = asyncio.Event()
        self._shutting_down = False

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def shutting_down(self) -> bool:
        """Whether ``shutdown`` was called."""
        return self._shutting_down

    def _depth_changed(self) -> None:
        _DEPTH.labels(self.name).set(len(self._queue))

    def add(self, key: K) -> None:
        """Queue ``key`` unless it is already waiting (coalesced) or being processed (re-queued on done)."""
        if self._shutting_down or key in self._dirty:
            return
        _ADDS.labels(self.name).inc()
        self._dirty.add(key)
        if key in self._processing:
            return
        self._queue.append(key)
        self._depth_changed()
        self._changed.set()

    def add_after(self, key: K, delay: float) -> None:
        """Queue ``key`` after ``delay`` seconds (an earlier pending add of the same key wins)."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(key)
            return
        loop = asyncio.get_running_loop()
        due = loop.time() + delay
        pending = self._timers.get(key)
        if pending is not None:
            if pending[0] <= due:
                return
            pending[1].cancel()
        self._timers[key] = (due, loop.call_at(due, self._fire, key))

    def _fire(self, key: K) -> None:
        self._timers.pop(key, None)
        self.add(key)

    def add_rate_limited(self, key: K) -> None:
        """Queue ``key`` after its per-key backoff (grows with each call until ``forget``)."""
        _RETRIES.labels(self.name).inc()
        self.add_after(key, self._limiter.when(key))

    def forget(self, key: K) -> None:
        """Reset ``key``'s backoff (call after a successful pass)."""
        self._limiter.forget(key)

    def num_requeues(self, key: K) -> int:
        """Rate-limited re-adds of ``key`` since it was last forgotten."""
        return self._limiter.failures(key)

    async def get(self) -> K | None:
        """The next key (now being processed), or None when shut down; waits for work."""
        while not self._queue:
            if self._shutting_down:
                return None
            self._changed.clear()
            await self._changed.wait()
        key = self._queue.popleft()
        self._processing.add(key)
        self._dirty.discard(key)
        self._depth_changed()
        return key

    def done(self, key: K) -> None:
        """A worker finished ``key``; it is queued again if it was added meanwhile."""
        self._processing.discard(key)
        if key in self._dirty and not self._shutting_down:
            self._queue.append(key)
            self._depth_changed()
            self._changed.set()

    def is_waiting(self, key: K) -> bool:
        """Whether ``key`` is queued, due again after processing, or scheduled by a delay."""
        return key in self._dirty or key in self._timers

    def is_processing(self, key: K) -> bool:
        """Whether a worker holds ``key`` right now."""
        return key in self._processing

    def shutdown(self) -> None:
        """Stop: pending delays are dropped, waiting ``get`` calls return None, adds are ignored."""
        self._shutting_down = True
        for _, handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        self._queue.clear()
        self._dirty.clear()
        self._depth_changed()
        self._changed.set()
