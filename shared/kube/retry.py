"""The retry policy of every Kubernetes request: a pure decision, no I/O.

``decide_retry(error, attempt)`` says whether a failed attempt is retried and after how long;
the client's thin request loop sleeps and tries again. Throttling (429) honours
``Retry-After``; server errors, timeouts and broken connections back off exponentially.
Requests that are not idempotent (a create) are retried only when the failure proves the
server did not act (429, 503, connect refused), or — with ``ambiguous_ok`` — when the caller
handles a later ``AlreadyExists`` itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.kube.errors import (
    ApiError,
    ConnectionFailed,
    ServerError,
    Timeout,
    TooManyRequests,
)

__all__ = ["DEFAULT_POLICY", "RetryDecision", "RetryPolicy", "backoff_delay", "decide_retry", "with_jitter"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounds of the retry loop: ``attempts`` in total (first try included)."""

    attempts: int = 5
    base_delay: float = 0.2
    max_delay: float = 10.0
    jitter: float = 0.2
    max_retry_after: float = 30.0


DEFAULT_POLICY = RetryPolicy()


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """``retry`` or not; ``delay`` seconds to wait first (before jitter); ``reason`` for logs."""

    retry: bool
    delay: float = 0.0
    reason: str = ""


def backoff_delay(attempt: int, *, policy: RetryPolicy = DEFAULT_POLICY) -> float:
    """Exponential delay after failed attempt number ``attempt`` (1-based), capped."""
    return min(policy.max_delay, policy.base_delay * 2.0 ** max(0, attempt - 1))


def with_jitter(delay: float, *, fraction: float, sample: float) -> float:
    """``delay`` stretched by up to ``fraction`` (``sample`` in [0, 1)); never shortened."""
    return delay * (1.0 + fraction * sample)


def _ambiguous(error: ApiError) -> bool:
    """Whether the server may have acted on a request that failed with ``error``."""
    if isinstance(error, ConnectionFailed):
        return error.sent
    if isinstance(error, TooManyRequests):
        return False
    return not (isinstance(error, ServerError) and error.status == 503)


def decide_retry(
    error: BaseException,
    attempt: int,
    *,
    idempotent: bool = True,
    ambiguous_ok: bool = False,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> RetryDecision:
    """Decide whether failed attempt ``attempt`` (1-based) of a request is tried again.

    ``idempotent`` is False for creates; ``ambiguous_ok`` says the caller resolves an
    ambiguous create (it treats an ``AlreadyExists`` on the retry as a possible earlier success).
    """
    if not isinstance(error, ApiError):
        return RetryDecision(retry=False, reason="not-an-api-error")
    if not isinstance(error, TooManyRequests | ServerError | Timeout | ConnectionFailed):
        return RetryDecision(retry=False, reason=error.reason)
    if attempt >= policy.attempts:
        return RetryDecision(retry=False, reason="attempts-exhausted")
    if not idempotent and not ambiguous_ok and _ambiguous(error):
        return RetryDecision(retry=False, reason="ambiguous-non-idempotent")
    delay = backoff_delay(attempt, policy=policy)
    retry_after = getattr(error, "retry_after", None)
    if isinstance(retry_after, int | float) and retry_after > 0:
        delay = max(delay, min(float(retry_after), policy.max_retry_after))
    return RetryDecision(retry=True, delay=delay, reason=error.reason)
