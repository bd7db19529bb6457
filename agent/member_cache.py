"""Read the member's objects cheaply: informers on the kinds this agent applied, plus GET fallback.

One informer per (apiVersion, kind), cluster-wide, selecting the labels the agent puts on what
it applies (``waybill.dev/work-namespace=<member namespace>``). Their events map back to the
Work that applied the object, which is how drift (an edit or a delete on the member) is seen.
A cache miss is never taken as "absent": the object may exist without Waybill's labels (a
takeover candidate), so misses fall back to a GET. Objects the agent has just written are
remembered, so a cache that lags behind the agent's own write is not mistaken for drift.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

from shared.api import names
from shared.kube.client import KubeClient
from shared.kube.errors import NotFound
from shared.kube.informer import Informer, compact
from shared.kube.types import Obj
from shared.ops.logging import get_logger

_log = get_logger("agent.member_cache")


def _rv(obj: Obj | None) -> int:
    try:
        return int(str(((obj or {}).get("metadata") or {}).get("resourceVersion") or "-1"))
    except ValueError:
        return -1


def work_keys_of(obj: Obj, *, work_namespace: str) -> Iterable[str]:
    """The Work (``namespace/name`` on the hub) an applied member object belongs to."""
    prefix = f"{work_namespace}."
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        name = str(ref.get("name") or "")
        if ref.get("kind") == names.KIND_APPLIED_WORK and name.startswith(prefix):
            return [f"{work_namespace}/{name[len(prefix) :]}"]
    work = ((obj.get("metadata") or {}).get("labels") or {}).get(names.LABEL_WORK_NAME)
    return [f"{work_namespace}/{work}"] if work else []


def without_own_managed_fields(field_manager: str) -> Callable[[Obj], Obj]:
    """An informer transform dropping the agent's own managedFields entry before caching.

    The agent owns most fields of what it applies, so its entry is the bulk of a cached object's
    managedFields, yet it is never read: drift compares manifests with live values, and only
    *other* managers' entries matter (``agent.drift.respected_fields``).
    """

    def transform(obj: Obj) -> Obj:
        meta = obj.get("metadata")
        if not isinstance(meta, dict) or "managedFields" not in meta:
            return obj
        entries = meta["managedFields"] or []
        kept = [e for e in entries if not (isinstance(e, dict) and e.get("manager") == field_manager)]
        if len(kept) == len(entries) and kept:
            return obj
        slim = {k: v for k, v in meta.items() if k != "managedFields"}
        if kept:
            slim["managedFields"] = kept
        return {**obj, "metadata": slim}

    return transform


class MemberCache:
    """Informers on applied kinds; ``on_change(work_key)`` is called when an applied object changes."""

    def __init__(
        self,
        member_api: KubeClient,
        *,
        work_namespace: str,
        on_change: Callable[[str], None],
        sync_timeout: float = 10.0,
        field_manager: str = names.FIELD_MANAGER_AGENT,
    ) -> None:
        self.member_api = member_api
        own = without_own_managed_fields(field_manager)
        self._transform: Callable[[Obj], Obj] = lambda obj: compact(own(obj))
        self.work_namespace = work_namespace
        self.on_change = on_change
        self.sync_timeout = sync_timeout
        self._informers: dict[tuple[str, str], Informer] = {}
        self._written: dict[tuple[str, str, str], Obj] = {}
        self._lock = asyncio.Lock()

    async def watch_kind(self, api_version: str, kind: str) -> Informer:
        """The informer for a kind, started (and synced, within ``sync_timeout``) on first use."""
        key = (api_version, kind)
        informer = self._informers.get(key)
        if informer is not None:
            if not informer.has_synced:  # started by a concurrent pass: its first list is not in yet
                await informer.wait_synced(self.sync_timeout)
            return informer
        async with self._lock:
            informer = self._informers.get(key)
            if informer is None:
                informer = Informer(
                    self.member_api,
                    api_version,
                    kind,
                    label_selector=f"{names.LABEL_WORK_NAMESPACE}={self.work_namespace}",
                    name=f"member:{kind}",
                    transform=self._transform,
                )
                informer.add_handler(self._changed, map_keys=self._map)
                informer.add_update_handler(self._delivered(api_version, kind))
                informer.start()
                self._informers[key] = informer
                _log.info("member.watch.started", api_version=api_version, kind=kind)
        await informer.wait_synced(self.sync_timeout)
        return informer

    def _delivered(self, api_version: str, kind: str) -> Callable[[str, Obj | None, Obj | None], None]:
        """An update handler dropping a remembered own write once the informer has it (or newer)."""
        group = api_version.split("/")[0] if "/" in api_version else ""

        def delivered(key: str, _old: Obj | None, new: Obj | None) -> None:
            written_key = (group, kind, key if "/" in key else f"/{key}")
            written = self._written.get(written_key)
            if written is not None and (new is None or _rv(new) >= _rv(written)):
                del self._written[written_key]

        return delivered

    def _map(self, obj: Obj) -> Iterable[str]:
        return work_keys_of(obj, work_namespace=self.work_namespace)

    def _changed(self, key: str) -> None:
        self.on_change(key)

    @staticmethod
    def _key(api_version: str, kind: str, name: str, namespace: str | None) -> tuple[str, str, str]:
        return (api_version.split("/")[0] if "/" in api_version else "", kind, f"{namespace or ''}/{name}")

    def remember(self, obj: Obj) -> None:
        """Note an object the agent just wrote (newer than the cache until its event arrives)."""
        meta = obj.get("metadata") or {}
        api_version, kind = str(obj.get("apiVersion")), str(obj.get("kind"))
        name, namespace = str(meta.get("name")), meta.get("namespace")
        informer = self._informers.get((api_version, kind))
        cached = informer.get(f"{namespace}/{name}" if namespace else name) if informer is not None else None
        key = self._key(api_version, kind, name, namespace)
        if cached is not None and _rv(cached) >= _rv(obj):
            self._written.pop(key, None)  # the informer delivered this write already
            return
        self._written[key] = self._transform(obj)

    def forget(self, api_version: str, kind: str, *, name: str, namespace: str | None) -> None:
        self._written.pop(self._key(api_version, kind, name, namespace), None)

    def cached(self, api_version: str, kind: str, *, name: str, namespace: str | None) -> bool:
        """Whether the object is in a synced informer cache (so ``get`` needs no request)."""
        informer = self._informers.get((api_version, kind))
        key = f"{namespace}/{name}" if namespace else name
        return bool(informer is not None and informer.has_synced and informer.get(key) is not None)

    def cached_version(self, api_version: str, kind: str, *, name: str, namespace: str | None) -> str | None:
        """The resourceVersion of the freshest known copy (informer or own write), None if not cached."""
        informer = self._informers.get((api_version, kind))
        if informer is None or not informer.has_synced:
            return None
        cached = informer.get(f"{namespace}/{name}" if namespace else name)
        if cached is None:
            return None
        written = self._written.get(self._key(api_version, kind, name, namespace))
        newest = written if written is not None and _rv(written) > _rv(cached) else cached
        return str((newest.get("metadata") or {}).get("resourceVersion") or "")

    def synced(self, api_version: str, kind: str) -> bool:
        informer = self._informers.get((api_version, kind))
        return bool(informer is not None and informer.has_synced)

    async def list_names(
        self, api_version: str, kind: str, *, namespace: str | None, unlabelled: bool = False
    ) -> dict[str, Obj]:
        """The objects of a kind in a namespace, by name: one LIST for many misses.

        ``unlabelled``: only those without this agent's work-namespace label — all a synced
        informer cannot hold (it selects exactly that label); without it every object of the
        namespace, the agent's own included (thousands, where one Work's misses are a hundred).
        """
        selector = f"{names.LABEL_WORK_NAMESPACE}!={self.work_namespace}" if unlabelled else None
        listed = await self.member_api.list(api_version, kind, namespace=namespace, label_selector=selector)
        return {str((o.get("metadata") or {}).get("name")): o for o in listed.items}

    async def get(
        self,
        api_version: str,
        kind: str,
        *,
        name: str,
        namespace: str | None,
        listed: dict[str, Obj] | None = None,
    ) -> Obj | None:
        """The freshest known live object, or None when it does not exist on the member.

        ``listed`` is a fresh LIST of the kind in that namespace (see ``list_names``): used on a
        cache miss instead of a GET.
        """
        informer = await self.watch_kind(api_version, kind)
        cached: Any = (
            informer.get(f"{namespace}/{name}" if namespace else name) if informer.has_synced else None
        )
        written = self._written.get(self._key(api_version, kind, name, namespace))
        if cached is not None:
            if written is not None and _rv(written) > _rv(cached):
                return written
            self._written.pop(self._key(api_version, kind, name, namespace), None)
            return dict(cached)
        if written is not None:  # written by this agent, not delivered yet
            return dict(written)
        if listed is not None:
            return listed.get(name)
        try:
            return await self.member_api.get(api_version, kind, name=name, namespace=namespace)
        except NotFound:
            return None

    async def stop(self) -> None:
        for informer in list(self._informers.values()):
            await informer.stop()
        self._informers.clear()
