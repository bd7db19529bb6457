"""Fixtures for the shared runtime tests (owner: R): waiting on conditions with a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest

WaitFor = Callable[..., Awaitable[None]]


async def _wait_for(
    condition: Callable[[], bool | Awaitable[bool]],
    *,
    timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for polling, not a cancel scope
    interval: float = 0.01,
    what: str = "condition",
) -> None:
    """Poll ``condition`` until true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


@pytest.fixture
def wait_for() -> WaitFor:
    """``await wait_for(lambda: cond, timeout=5, what="...")``: no sleeping and hoping."""
    return _wait_for
