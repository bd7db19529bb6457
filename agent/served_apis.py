"""Served APIs within seconds: the agent watches its member's CRDs and reports a change at once.

Without this the MemberCluster's ``apiEnablements`` are refreshed with the rest of the member
status, every ``member_status_interval`` (a minute), and the hub keeps rejecting a custom
resource's members as ``APINotServed`` for up to that long after its CRD reached them.

An informer on the member's CustomResourceDefinitions marks the served APIs dirty on every
change; a loop coalesces a burst of changes (``debounce``), waits until discovery agrees with the
CRDs (an Established CRD's served versions are listed, a deleted CRD's resources are gone; the
API server publishes discovery a moment after it reports Established), and then writes the member
status through ``report`` (``Membership.write_member_status``). Waiting is bounded
(``settle_timeout``): if discovery never agrees, what it says is reported anyway. Other API
changes (aggregated APIServices) are still picked up by the periodic status write.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from shared.kube.client import KubeClient
from shared.kube.errors import ApiError
from shared.kube.informer import Informer
from shared.ops.logging import get_logger

_log = get_logger("agent.served_apis")
CRD_API = "apiextensions.k8s.io/v1"
Resource = tuple[str, str]  # (groupVersion, plural)


def crd_resources(crd: Mapping[str, Any]) -> frozenset[Resource]:
    """The (groupVersion, plural) a CRD serves once it is Established (none before)."""
    established = any(
        c.get("type") == "Established" and c.get("status") == "True"
        for c in (crd.get("status") or {}).get("conditions") or []
    )
    if not established:
        return frozenset()
    spec = crd.get("spec") or {}
    plural = str((spec.get("names") or {}).get("plural") or "")
    group = str(spec.get("group") or "")
    versions = [v for v in spec.get("versions") or [] if v.get("served")]
    return frozenset((f"{group}/{version['name']}", plural) for version in versions)


def discovery_settled(
    served: frozenset[Resource], *, expected: frozenset[Resource], removed: frozenset[Resource]
) -> bool:
    """Discovery lists every resource the CRDs serve and none that a deleted CRD served."""
    return expected <= served and not (removed & served)


class ServedApis:
    """Reports the member's served APIs as soon as its CRDs change. ``start()``, ``await stop()``."""

    def __init__(
        self,
        member_api: KubeClient,
        *,
        report: Callable[[], Awaitable[None]],
        debounce: float = 0.05,
        settle_timeout: float = 5.0,
    ) -> None:
        self.member_api = member_api
        self.report = report
        self.debounce = debounce
        self.settle_timeout = settle_timeout
        self.crds = Informer(member_api, CRD_API, "CustomResourceDefinition", name="member:CRD")
        self.crds.add_handler(self._changed)
        self._dirty = asyncio.Event()
        self._known: dict[str, frozenset[Resource]] = {}
        self._removed: set[Resource] = set()
        self._task: asyncio.Task[None] | None = None
        self.reports = 0

    def _changed(self, key: str) -> None:
        obj = self.crds.get(key)
        resources = crd_resources(obj) if obj is not None else frozenset()
        previous = self._known.get(key, frozenset())
        if obj is None:
            self._known.pop(key, None)
        else:
            self._known[key] = resources
        if resources == previous and obj is not None:
            return  # a status or metadata change that does not change what is served
        self._removed |= previous - resources
        self._removed -= resources
        if self.crds.has_synced:
            self._dirty.set()

    def start(self) -> None:
        self.crds.start()
        self._task = asyncio.create_task(self._run(), name="agent-served-apis")

    async def stop(self) -> None:
        await self.crds.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await self._dirty.wait()
            await asyncio.sleep(self.debounce)  # coalesce a burst (a chart installing ten CRDs)
            self._dirty.clear()
            try:
                await self._settle()
                await self.report()
                self.reports += 1
                self._removed.clear()
                _log.info("served_apis.reported", crds=len(self._known))
            except Exception as err:  # an API error or a bug: never stop watching, try again
                level = _log.warning if isinstance(err, ApiError) else _log.error
                level("served_apis.report_failed", error=str(err))
                await asyncio.sleep(1.0)
                self._dirty.set()

    async def _settle(self) -> None:
        deadline = time.monotonic() + self.settle_timeout
        delay = 0.05
        while True:
            expected = frozenset().union(*self._known.values()) if self._known else frozenset()
            served = await self._served()
            if discovery_settled(served, expected=expected, removed=frozenset(self._removed)):
                return
            if time.monotonic() >= deadline:
                _log.info("served_apis.discovery_unsettled", missing=len(expected - served))
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)

    async def _served(self) -> frozenset[Resource]:
        groups = await self.member_api.api_resources()
        return frozenset((g.group_version, r.plural) for g in groups for r in g.resources)


__all__ = ["ServedApis", "crd_resources", "discovery_settled"]
