"""Discovery documents → :class:`ResourceInfo`: pure parsing, plus the per-client cache.

``parse_resource_list`` turns an ``APIResourceList`` into resource entries with their
subresources folded in; ``group_versions`` reads ``/api`` and ``/apis``. ``DiscoveryCache``
holds one entry per group/version and refetches a group/version when a kind is missing from it,
so CRDs created after the client started are found.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from shared.kube.errors import NotFound
from shared.kube.types import ResourceInfo, split_api_version

__all__ = ["DiscoveryCache", "discovery_path", "group_versions", "parse_resource_list"]


def discovery_path(api_version: str) -> str:
    """The URL path of a group/version's ``APIResourceList``."""
    group, version = split_api_version(api_version)
    return f"/apis/{group}/{version}" if group else f"/api/{version}"


def parse_resource_list(api_version: str, body: dict[str, Any]) -> dict[str, ResourceInfo]:
    """Top-level resources of one ``APIResourceList`` by kind, with their subresource names."""
    subresources: dict[str, set[str]] = {}
    top: list[dict[str, Any]] = []
    for entry in body.get("resources") or []:
        name = str(entry.get("name") or "")
        if "/" in name:
            parent, _, sub = name.partition("/")
            subresources.setdefault(parent, set()).add(sub)
        elif name:
            top.append(entry)
    out: dict[str, ResourceInfo] = {}
    for entry in top:
        name = str(entry["name"])
        kind = str(entry.get("kind") or "")
        out[kind] = ResourceInfo(
            api_version=api_version,
            kind=kind,
            plural=name,
            namespaced=bool(entry.get("namespaced")),
            verbs=frozenset(str(v) for v in entry.get("verbs") or []),
            subresources=frozenset(subresources.get(name, ())),
            short_names=tuple(str(s) for s in entry.get("shortNames") or []),
            singular=str(entry.get("singularName") or ""),
        )
    return out


def group_versions(core: dict[str, Any], groups: dict[str, Any]) -> list[str]:
    """All served group/versions from the ``/api`` (APIVersions) and ``/apis`` (APIGroupList) bodies."""
    out = [str(v) for v in core.get("versions") or []]
    for group in groups.get("groups") or []:
        for version in group.get("versions") or []:
            gv = str(version.get("groupVersion") or "")
            if gv:
                out.append(gv)
    return out


Fetch = Callable[[str], Awaitable[dict[str, Any] | None]]


class DiscoveryCache:
    """Per-client cache of ``APIResourceList``s; ``fetch(path)`` returns None on 404."""

    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch
        self._by_gv: dict[str, dict[str, ResourceInfo]] = {}
        self._lock = asyncio.Lock()

    async def refresh(self, api_version: str, *, unless_kind: str | None = None) -> dict[str, ResourceInfo]:
        """Refetch one group/version (empty when the server does not serve it).

        With ``unless_kind``, a refresh that another caller finished meanwhile and that found the
        kind is reused instead of fetching again.
        """
        async with self._lock:
            cached = self._by_gv.get(api_version)
            if unless_kind is not None and cached is not None and unless_kind in cached:
                return cached
            body = await self._fetch(discovery_path(api_version))
            resources = parse_resource_list(api_version, body) if body else {}
            self._by_gv[api_version] = resources
            return resources

    def store(self, api_version: str, resources: dict[str, ResourceInfo]) -> None:
        """Record a group/version's resources fetched elsewhere (full discovery)."""
        self._by_gv[api_version] = resources

    async def resource_info(self, api_version: str, kind: str) -> ResourceInfo:
        """The entry for (``api_version``, ``kind``): cached, refreshed once on a miss."""
        cached = self._by_gv.get(api_version)
        if cached is not None and kind in cached:
            return cached[kind]
        resources = await self.refresh(api_version, unless_kind=kind)
        if kind not in resources:
            raise NotFound(
                f"the server doesn't have a resource type {kind!r} in {api_version!r}",
                details={"group": split_api_version(api_version)[0], "kind": kind},
            )
        return resources[kind]

    def invalidate(self, api_version: str | None = None) -> None:
        """Forget one group/version (or all), e.g. after a CRD was deleted."""
        if api_version is None:
            self._by_gv.clear()
        else:
            self._by_gv.pop(api_version, None)
