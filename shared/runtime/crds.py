"""Waiting for a CustomResourceDefinition to be Established: the one implementation.

A custom resource can be written only once its CRD is served (``Established=True``); the hub
waits for its own CRDs at start, the agent for CRDs a Work ships before their custom resources.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

__all__ = ["CRD_API", "is_established", "wait_established"]

CRD_API = "apiextensions.k8s.io/v1"


def is_established(crd: Mapping[str, Any] | None) -> bool:
    """Whether a CRD object reports ``Established=True``."""
    for condition in ((crd or {}).get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Established" and condition.get("status") == "True":
            return True
    return False


async def wait_established(
    get: Callable[[], Awaitable[Mapping[str, Any] | None]],
    *,
    within: float,
    first_delay: float = 0.05,
    max_delay: float = 1.0,
) -> bool:
    """Poll ``get()`` (the live CRD, None while missing) until Established; False after ``within``
    seconds. The delay between polls doubles up to ``max_delay``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    delay = first_delay
    while True:
        if is_established(await get()):
            return True
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(min(delay, max(0.0, deadline - loop.time())))
        delay = min(delay * 2, max_delay)
