"""Per-key retry delays for the work queue: exponential per-key backoff and an overall bucket.

``failure_delay`` is the pure backoff curve; ``RateLimiter`` remembers failures per key and
combines that curve with a token bucket (controller-runtime's default: the larger delay wins),
so one broken object backs off alone while a storm of failures is throttled overall.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable

__all__ = ["RateLimiter", "TokenBucket", "failure_delay"]


def failure_delay(failures: int, *, base: float, cap: float) -> float:
    """Delay before retry number ``failures`` (0 for the first retry → ``base``), capped."""
    if failures > 64:
        return cap
    return min(cap, base * (2.0**failures))


class TokenBucket:
    """A token bucket of ``burst`` tokens refilled at ``rate`` per second; ``reserve`` → wait."""

    def __init__(self, *, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._clock = clock
        self._last = clock()

    def reserve(self) -> float:
        """Take one token; seconds until it is really available (0 when one was there)."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self._rate


class RateLimiter:
    """Exponential per-key failure backoff, combined with an overall token bucket."""

    def __init__(
        self,
        *,
        base_delay: float = 0.05,
        max_delay: float = 300.0,
        rate: float = 10.0,
        burst: int = 100,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._base = base_delay
        self._cap = max_delay
        self._failures: dict[Hashable, int] = {}
        self._bucket = TokenBucket(rate=rate, burst=burst, clock=clock)

    def when(self, key: Hashable) -> float:
        """Record a failure of ``key``; the delay before it is retried."""
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        return max(failure_delay(failures, base=self._base, cap=self._cap), self._bucket.reserve())

    def forget(self, key: Hashable) -> None:
        """``key`` succeeded: its next failure starts from the base delay again."""
        self._failures.pop(key, None)

    def failures(self, key: Hashable) -> int:
        """How many failures of ``key`` are on record."""
        return self._failures.get(key, 0)
