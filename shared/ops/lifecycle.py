"""Process lifecycle: run the main coroutine until SIGTERM/SIGINT, then stop gracefully.

``run(main)`` (sync, for CLI handlers) or ``await run_until_signalled(main)``: ``main`` receives
an ``asyncio.Event`` that is set on the first signal, and should wind down when it is. If it has
not returned ``grace_period`` seconds later it is cancelled (uvicorn's order: signal, graceful
stop with a timeout, then cancellation). A second signal cancels at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from shared.ops.logging import get_logger

__all__ = ["run", "run_until_signalled"]

_log = get_logger("shared.ops.lifecycle")
T = TypeVar("T")
Main = Callable[[asyncio.Event], Awaitable[T]]
DEFAULT_SIGNALS = (signal.SIGTERM, signal.SIGINT)


async def run_until_signalled(
    main: Main[T],
    *,
    grace_period: float = 10.0,
    signals: Sequence[signal.Signals] = DEFAULT_SIGNALS,
) -> T | None:
    """Run ``main(stop)``; on a signal set ``stop``, wait ``grace_period``, then cancel.

    Returns ``main``'s result, or None when it had to be cancelled.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    task: asyncio.Task[T] = asyncio.ensure_future(main(stop))
    signalled = 0

    def on_signal(signum: signal.Signals) -> None:
        nonlocal signalled
        signalled += 1
        _log.info("lifecycle.signal", signal=signum.name, count=signalled)
        stop.set()
        if signalled > 1:
            task.cancel()

    installed: list[signal.Signals] = []
    for signum in signals:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, on_signal, signum)
            installed.append(signum)
    try:
        waiter = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        if not task.done():
            _log.info("lifecycle.stopping", grace_period=grace_period)
            done, _ = await asyncio.wait({task}, timeout=grace_period)
            if not done:
                _log.warning("lifecycle.cancelling", grace_period=grace_period)
                task.cancel()
        try:
            return await task
        except asyncio.CancelledError:
            if task.cancelled() and not _current_cancelling():
                return None
            raise
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for signum in installed:
            loop.remove_signal_handler(signum)
        _log.info("lifecycle.stopped")


def _current_cancelling() -> bool:
    current = asyncio.current_task()
    return current is not None and current.cancelling() > 0


def run(main: Main[T], *, grace_period: float = 10.0) -> T | None:
    """Synchronous entry point: ``asyncio.run(run_until_signalled(main))``."""
    return asyncio.run(run_until_signalled(main, grace_period=grace_period))
