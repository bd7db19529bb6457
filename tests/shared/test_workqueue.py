"""The work queue: coalescing, one worker per key, delays, backoff, shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from shared.runtime.ratelimit import RateLimiter, TokenBucket, failure_delay
from shared.runtime.workqueue import WorkQueue

WaitFor = Callable[..., Awaitable[None]]


async def test_adds_coalesce() -> None:
    queue = WorkQueue(name="t-coalesce")
    for key in ["a", "b", "a", "a", "b"]:
        queue.add(key)
    assert len(queue) == 2
    assert await queue.get() == "a"
    assert await queue.get() == "b"
    assert len(queue) == 0


async def test_add_while_processing_requeues_after_done() -> None:
    queue = WorkQueue(name="t-processing")
    queue.add("a")
    assert await queue.get() == "a"
    queue.add("a")
    queue.add("a")
    assert len(queue) == 0, "a key being processed is not handed out again"
    assert queue.is_waiting("a")
    queue.done("a")
    assert len(queue) == 1
    assert await queue.get() == "a"
    queue.done("a")
    assert len(queue) == 0
    assert not queue.is_waiting("a")


async def test_a_key_is_never_processed_by_two_workers(wait_for: WaitFor) -> None:
    queue = WorkQueue(name="t-exclusive")
    active: dict[str, int] = {}
    most = 0
    passes = 0

    async def worker() -> None:
        nonlocal most, passes
        while (key := await queue.get()) is not None:
            active[key] = active.get(key, 0) + 1
            most = max(most, active[key])
            await asyncio.sleep(0.001)
            queue.add(key)  # an event arriving mid-pass
            active[key] -= 1
            passes += 1
            queue.done(key)

    workers = [asyncio.create_task(worker()) for _ in range(4)]
    for key in ["a", "b", "a", "c", "a"]:
        queue.add(key)
    await wait_for(lambda: passes >= 60, what="60 passes")
    queue.shutdown()
    await asyncio.gather(*workers)
    assert most == 1


async def test_get_waits_for_work_and_shutdown_releases_waiters() -> None:
    queue = WorkQueue(name="t-shutdown")
    getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.add("x")
    assert await asyncio.wait_for(getter, 2) == "x"
    waiter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.shutdown()
    assert await asyncio.wait_for(waiter, 2) is None
    queue.add("y")
    assert len(queue) == 0


async def test_add_after_keeps_the_earliest_delay(wait_for: WaitFor) -> None:
    queue = WorkQueue(name="t-after")
    queue.add_after("a", 30.0)
    queue.add_after("a", 0.02)
    queue.add_after("a", 60.0)
    assert queue.is_waiting("a")
    assert len(queue) == 0
    await wait_for(lambda: len(queue) == 1, what="delayed add")
    assert await queue.get() == "a"
    queue.done("a")
    assert not queue.is_waiting("a"), "the later delays were dropped"
    queue.shutdown()


async def test_rate_limited_adds_back_off_and_forget_resets(wait_for: WaitFor) -> None:
    queue = WorkQueue(name="t-rate", rate_limiter=RateLimiter(base_delay=0.01, max_delay=1.0))
    queue.add_rate_limited("a")
    queue.add_rate_limited("a")
    assert queue.num_requeues("a") == 2
    await wait_for(lambda: len(queue) == 1, what="rate-limited add")
    queue.forget("a")
    assert queue.num_requeues("a") == 0
    queue.shutdown()


@pytest.mark.parametrize(
    ("failures", "delay"), [(0, 0.05), (1, 0.1), (2, 0.2), (5, 1.6), (20, 10.0), (100, 10.0)]
)
def test_failure_delay_grows_exponentially(failures: int, delay: float) -> None:
    assert failure_delay(failures, base=0.05, cap=10.0) == pytest.approx(delay)


def test_rate_limiter_is_per_key() -> None:
    limiter = RateLimiter(base_delay=0.1, max_delay=10.0, rate=1000, burst=1000)
    assert [limiter.when("a") for _ in range(4)] == pytest.approx([0.1, 0.2, 0.4, 0.8])
    assert limiter.when("b") == pytest.approx(0.1)
    limiter.forget("a")
    assert limiter.when("a") == pytest.approx(0.1)


def test_token_bucket_throttles_overall() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=10.0, burst=2, clock=lambda: now[0])
    assert bucket.reserve() == 0.0
    assert bucket.reserve() == 0.0
    assert bucket.reserve() == pytest.approx(0.1)
    now[0] = 1.0
    assert bucket.reserve() == 0.0


@dataclass(frozen=True)
class _Key:
    kind: str
    name: str


async def test_keys_are_typed_records_not_strings() -> None:
    queue: WorkQueue[_Key] = WorkQueue(name="t-typed")
    queue.add(_Key("a", "x"))
    queue.add(_Key("a", "x"))  # equal records coalesce
    queue.add(_Key("b", "x"))
    first = await queue.get()
    assert first == _Key("a", "x") and isinstance(first, _Key)
    assert len(queue) == 1
    queue.done(first)
    assert await queue.get() == _Key("b", "x")
