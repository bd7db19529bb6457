"""The controller: success, requeue_after, TerminalError (not retried), errors (retried with backoff)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from shared.runtime.controller import Controller, Result, TerminalError
from shared.runtime.ratelimit import RateLimiter

WaitFor = Callable[..., Awaitable[None]]
FAST = RateLimiter(base_delay=0.01, max_delay=0.1, rate=1000, burst=1000)


async def test_success_is_counted_and_not_requeued() -> None:
    calls: list[str] = []

    async def reconcile(key: str) -> Result:
        calls.append(key)
        return Result()

    controller = Controller("t-success", reconcile)
    controller.enqueue("ns/a")
    key = await controller.queue.get()
    assert key == "ns/a"
    assert await controller.process(key) == "success"
    controller.queue.done(key)
    assert calls == ["ns/a"]
    assert not controller.queue.is_waiting("ns/a")


async def test_terminal_error_is_not_retried() -> None:
    async def reconcile(key: str) -> Result:
        raise TerminalError("spec is nonsense")

    controller = Controller("t-terminal", reconcile, rate_limiter=FAST)
    assert await controller.process("ns/a") == "terminal"
    assert not controller.queue.is_waiting("ns/a")
    assert controller.queue.num_requeues("ns/a") == 0


async def test_other_errors_are_retried_with_growing_backoff(wait_for: WaitFor) -> None:
    calls: list[str] = []
    results: list[str] = []

    async def reconcile(key: str) -> Result:
        calls.append(key)
        if len(calls) <= 3:
            raise RuntimeError("member unreachable")
        results.append("ok")
        return Result()

    controller = Controller("t-retry", reconcile, rate_limiter=FAST)
    assert await controller.process("ns/a") == "error"
    assert controller.queue.is_waiting("ns/a")
    assert controller.queue.num_requeues("ns/a") == 1
    runner = asyncio.create_task(controller.run())
    await wait_for(lambda: results == ["ok"], what="success after retries")
    controller.stop()
    await asyncio.wait_for(runner, 2)
    assert calls == ["ns/a"] * 4
    assert controller.queue.num_requeues("ns/a") == 0, "success forgets the backoff"


async def test_requeue_after_looks_again(wait_for: WaitFor) -> None:
    calls: list[str] = []

    async def reconcile(key: str) -> Result:
        calls.append(key)
        return Result(requeue_after=0.02) if len(calls) == 1 else Result()

    controller = Controller("t-requeue", reconcile)
    controller.enqueue("a")
    runner = asyncio.create_task(controller.run())
    await wait_for(lambda: len(calls) == 2, what="second pass")
    controller.stop()
    await asyncio.wait_for(runner, 2)
    assert calls == ["a", "a"]


async def test_workers_run_keys_concurrently_but_never_one_key_twice(wait_for: WaitFor) -> None:
    running: set[str] = set()
    overlap: list[str] = []
    peak = 0
    passes = 0

    async def reconcile(key: str) -> Result:
        nonlocal peak, passes
        if key in running:
            overlap.append(key)
        running.add(key)
        peak = max(peak, len(running))
        await asyncio.sleep(0.005)
        running.discard(key)
        passes += 1
        return Result()

    controller = Controller("t-workers", reconcile, workers=4)
    runner = asyncio.create_task(controller.run())
    for _ in range(10):
        for key in ["a", "b", "c", "d"]:
            controller.enqueue(key)
        await asyncio.sleep(0.002)
    await wait_for(lambda: passes >= 8 and len(controller.queue) == 0 and not running, what="drain")
    controller.stop()
    await asyncio.wait_for(runner, 2)
    assert overlap == []
    assert peak > 1, "different keys ran in parallel"


async def test_cancelling_run_stops_workers() -> None:
    async def reconcile(key: str) -> Result:
        await asyncio.sleep(10)
        return Result()

    controller = Controller("t-cancel", reconcile, workers=2)
    controller.enqueue("a")
    runner = asyncio.create_task(controller.run())
    await asyncio.sleep(0.01)
    runner.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(runner, 2)
    assert controller.queue.shutting_down
