"""The retry policy: which failures are retried, after how long, and when it gives up."""

from __future__ import annotations

import pytest

from shared.kube.errors import (
    AlreadyExists,
    ApiError,
    BadRequest,
    Conflict,
    ConnectionFailed,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    ServerError,
    Timeout,
    TooManyRequests,
    Unauthorized,
)
from shared.kube.retry import RetryPolicy, backoff_delay, decide_retry, with_jitter

POLICY = RetryPolicy(attempts=4, base_delay=0.1, max_delay=1.0, jitter=0.2, max_retry_after=5.0)


@pytest.mark.parametrize(
    ("error", "idempotent", "ambiguous_ok", "retry"),
    [
        (TooManyRequests("slow down"), True, False, True),
        (TooManyRequests("slow down"), False, False, True),  # throttled: the server did not act
        (ServerError("boom", status=500), True, False, True),
        (ServerError("boom", status=500), False, False, False),  # a create may have happened
        (ServerError("boom", status=500), False, True, True),  # ... unless the caller handles it
        (ServerError("unavailable", status=503), False, False, True),
        (Timeout("slow"), True, False, True),
        (Timeout("slow"), False, False, False),
        (ConnectionFailed("refused", sent=False), False, False, True),
        (ConnectionFailed("reset", sent=True), False, False, False),
        (ConnectionFailed("reset", sent=True), True, False, True),
        (NotFound("x"), True, False, False),
        (Conflict("x"), True, False, False),
        (AlreadyExists("x"), False, True, False),
        (Gone("x"), True, False, False),
        (Invalid("x"), True, False, False),
        (Forbidden("x"), True, False, False),
        (Unauthorized("x"), True, False, False),
        (BadRequest("x"), True, False, False),
        (ApiError("teapot", status=418), True, False, False),
        (ValueError("not ours"), True, False, False),
    ],
)
def test_which_failures_are_retried(
    error: BaseException, idempotent: bool, ambiguous_ok: bool, retry: bool
) -> None:
    decision = decide_retry(error, 1, idempotent=idempotent, ambiguous_ok=ambiguous_ok, policy=POLICY)
    assert decision.retry is retry


@pytest.mark.parametrize(("attempt", "delay"), [(1, 0.1), (2, 0.2), (3, 0.4)])
def test_backoff_doubles_per_attempt(attempt: int, delay: float) -> None:
    decision = decide_retry(ServerError("boom"), attempt, policy=POLICY)
    assert decision.retry
    assert decision.delay == pytest.approx(delay)


def test_backoff_is_capped() -> None:
    assert backoff_delay(30, policy=POLICY) == POLICY.max_delay


def test_gives_up_after_the_attempt_budget() -> None:
    assert not decide_retry(ServerError("boom"), POLICY.attempts, policy=POLICY).retry
    assert decide_retry(ServerError("boom"), POLICY.attempts, policy=POLICY).reason == "attempts-exhausted"


@pytest.mark.parametrize(
    ("retry_after", "delay"),
    [(3.0, 3.0), (0.0, 0.1), (60.0, 5.0), (None, 0.1)],
)
def test_retry_after_is_honoured_within_bounds(retry_after: float | None, delay: float) -> None:
    decision = decide_retry(TooManyRequests("x", retry_after=retry_after), 1, policy=POLICY)
    assert decision.delay == pytest.approx(delay)


def test_retry_after_on_503_too() -> None:
    error = ServerError("x", status=503, retry_after=2.0)
    assert decide_retry(error, 1, policy=POLICY).delay == pytest.approx(2.0)


@pytest.mark.parametrize(("sample", "expected"), [(0.0, 1.0), (0.5, 1.1), (0.999, 1.1998)])
def test_jitter_only_stretches(sample: float, expected: float) -> None:
    assert with_jitter(1.0, fraction=0.2, sample=sample) == pytest.approx(expected)
