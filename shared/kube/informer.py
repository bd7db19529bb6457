"""An informer: a list+watch loop keeping a local cache of one kind, telling handlers which keys changed.

Scope: one (apiVersion, kind), optionally one namespace and a label/field selector. The loop
lists (filling the cache, ``has_synced`` becomes True), then watches from the list's
resourceVersion, resuming from the last seen resourceVersion when a stream ends or breaks. A 410
``Gone`` (or an ERROR event saying so) always means relist — never resuming from a stale
resourceVersion. Errors back off exponentially with jitter.

Handlers get keys only (``namespace/name`` or ``name``): reconcilers are level-triggered and
read the object from ``get(key)``. A handler may be registered with ``map_keys`` to translate an
object (old and new versions, and the last known version of a deleted one) into other keys,
e.g. its owner's. An update handler (``add_update_handler``) gets ``(key, old, new)`` instead
(``old`` None: added; ``new`` None: deleted), so it can tell what changed without keeping its
own copy. A ``transform`` (such as :func:`strip_managed_fields`) trims objects before they are
cached, to save memory.

Named indexers (``add_indexer(name, func)``, client-go's ``Indexers``) map an object to index
values; ``by_index(name, value)`` answers from an index kept current with the cache, before any
handler hears of a change. :class:`Views` caches one typed view per object version.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import random
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Generic, TypeVar

from shared.kube.client import KubeClient
from shared.kube.errors import ApiError, Gone
from shared.kube.retry import RetryPolicy, backoff_delay, with_jitter
from shared.kube.types import Obj, WatchEvent, object_key
from shared.ops.logging import get_logger
from shared.ops.metrics import counter

__all__ = [
    "Handler",
    "IndexFunc",
    "Informer",
    "KeyMapper",
    "UpdateHandler",
    "Views",
    "compact",
    "strip_managed_fields",
]

_log = get_logger("shared.kube.informer")

_RELISTS = counter("informer_lists_total", "Informer (re)lists by informer", labels=("informer",))
_EVENTS = counter("informer_events_total", "Watch events seen by informer and type",
                  labels=("informer", "type"))

Handler = Callable[[str], None]
KeyMapper = Callable[[Obj], Iterable[str]]
UpdateHandler = Callable[[str, Obj | None, Obj | None], None]
IndexFunc = Callable[[Obj], Iterable[str]]
V = TypeVar("V")

ERROR_BACKOFF = RetryPolicy(attempts=1_000_000, base_delay=0.2, max_delay=30.0, jitter=0.5)


class Informer:
    """List+watch cache of one kind. Start with ``start()`` (a task) or ``await run()``."""

    def __init__(
        self,
        client: KubeClient,
        api_version: str,
        kind: str,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        watch_timeout: int = 300,
        watch_idle_timeout: float | None = None,
        backoff: RetryPolicy = ERROR_BACKOFF,
        name: str | None = None,
        transform: Callable[[Obj], Obj] | None = None,
    ) -> None:
        self._client = client
        self.api_version = api_version
        self.kind = kind
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self._watch_timeout = watch_timeout
        self._watch_idle_timeout = watch_idle_timeout
        self._backoff = backoff
        self.name = name or f"{client.name}:{kind}"
        self._cache: dict[str, Obj] = {}
        self._handlers: list[tuple[Handler, KeyMapper | None]] = []
        self._update_handlers: list[UpdateHandler] = []
        self._after: list[UpdateHandler] = []  # internal: run after every handler (view eviction)
        self._indexers: dict[str, IndexFunc] = {}
        # index → value → the key filed there, or a set of them (most values name one object:
        # a bare key saves a set per value, tens of MB for 100,000 entries)
        self._indexes: dict[str, dict[str, str | set[str]]] = {}
        self._indexed: dict[str, dict[str, tuple[str, ...]]] = {}  # index → key → its values
        self.version = 0  # bumped on every cache change (memoise derived values on it)
        self._synced = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.resource_version = ""
        self.lists = 0
        self._transform = transform

    # ---- reading the cache ------------------------------------------------------------------

    @property
    def has_synced(self) -> bool:
        """Whether the first list has filled the cache."""
        return self._synced.is_set()

    async def wait_synced(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109 - the contract's name
        """Wait for the first list; False if ``timeout`` seconds passed first."""
        try:
            async with asyncio.timeout(timeout):
                await self._synced.wait()
        except TimeoutError:
            return False
        return True

    def get(self, key: str) -> Obj | None:
        """The cached object for ``namespace/name`` (or ``name``), or None. Do not mutate it."""
        return self._cache.get(key)

    def list(self) -> list[Obj]:
        """All cached objects (a new list; the objects are shared: do not mutate them)."""
        return list(self._cache.values())

    def __contains__(self, key: object) -> bool:
        return key in self._cache

    def keys(self) -> builtins.list[str]:
        """All cached keys."""
        return list(self._cache)

    # ---- indexes ----------------------------------------------------------------------------

    def add_indexer(self, name: str, func: IndexFunc) -> None:
        """Keep an index ``name``: every cached object under each value ``func(obj)`` gives."""
        if name in self._indexers:
            raise ValueError(f"indexer {name!r} exists")
        self._indexers[name] = func
        self._indexes[name] = {}
        self._indexed[name] = {}
        for key, obj in self._cache.items():
            self._index_one(name, key, obj)

    def index_keys(self, name: str, value: str) -> builtins.list[str]:
        """Keys of the cached objects the index ``name`` files under ``value`` (sorted)."""
        holders = self._indexes[name].get(value)
        if holders is None:
            return []
        return [holders] if isinstance(holders, str) else sorted(holders)

    def by_index(self, name: str, value: str) -> builtins.list[Obj]:
        """The cached objects the index ``name`` files under ``value`` (by key)."""
        return [self._cache[key] for key in self.index_keys(name, value)]

    def index_values(self, name: str) -> builtins.list[str]:
        """Every value the index ``name`` has objects for."""
        return list(self._indexes[name])

    def _index_one(self, name: str, key: str, obj: Obj | None) -> None:
        index = self._indexes[name]
        if obj is not None:
            try:
                fresh = tuple(dict.fromkeys(self._indexers[name](obj)))
            except Exception as err:  # a broken indexer must not kill the informer
                _log.error("informer.indexer_failed", informer=self.name, index=name, key=key,
                           error=str(err), error_type=type(err).__name__)
                fresh = ()
            if fresh == self._indexed[name].get(key, ()):
                return  # filed under the same values already (most updates)
        for value in self._indexed[name].pop(key, ()):
            holders = index.get(value)
            if holders == key:
                del index[value]
            elif isinstance(holders, set):
                holders.discard(key)
                if len(holders) == 1:
                    index[value] = next(iter(holders))
        if obj is None:
            return
        # interned: every object filed under a value shares one copy of it
        values = tuple(sys.intern(v) for v in fresh)
        if values:
            self._indexed[name][key] = values
            for value in values:
                holders = index.get(value)
                if holders is None:
                    index[value] = key
                elif isinstance(holders, str):
                    if holders != key:
                        index[value] = {holders, key}
                else:
                    holders.add(key)

    def _reindex(self, key: str, obj: Obj | None) -> None:
        self.version += 1
        for name in self._indexers:
            self._index_one(name, key, obj)

    # ---- handlers ---------------------------------------------------------------------------

    def add_update_handler(self, handler: UpdateHandler) -> None:
        """Call ``handler(key, old, new)`` for every change (``old`` None: added, ``new`` None:
        deleted). Registered after sync, it is called once per cached object with ``old`` None."""
        self._update_handlers.append(handler)
        if self.has_synced:
            for key, obj in list(self._cache.items()):
                self._notify_update(handler, key, None, obj)

    def _notify_update(self, handler: UpdateHandler, key: str, old: Obj | None, new: Obj | None) -> None:
        try:
            handler(key, old, new)
        except Exception as err:  # a broken handler must not kill the informer
            _log.error("informer.handler_failed", informer=self.name, key=key, error=str(err),
                       error_type=type(err).__name__)

    def add_handler(self, handler: Handler, *, map_keys: KeyMapper | None = None) -> None:
        """Call ``handler(key)`` for every changed object (or for each key ``map_keys`` gives).

        Registered after sync, the handler is called once for every cached object (or mapped key).
        """
        self._handlers.append((handler, map_keys))
        if self.has_synced:
            for key, obj in list(self._cache.items()):
                self._notify_one(handler, map_keys, key, [obj])

    # ---- notifying --------------------------------------------------------------------------

    def _notify_one(
        self, handler: Handler, map_keys: KeyMapper | None, key: str, objs: Sequence[Obj]
    ) -> None:
        keys: set[str] = set()
        try:
            if map_keys is None:
                keys.add(key)
            else:
                for obj in objs:
                    keys.update(map_keys(obj))
            for mapped in sorted(keys):
                handler(mapped)
        except Exception as err:  # a broken handler must not kill the informer
            _log.error("informer.handler_failed", informer=self.name, key=key, error=str(err),
                       error_type=type(err).__name__)

    def _notify(self, key: str, objs: Sequence[Obj], *, old: Obj | None, new: Obj | None) -> None:
        for handler, map_keys in self._handlers:
            self._notify_one(handler, map_keys, key, objs)
        for update in [*self._update_handlers, *self._after]:
            self._notify_update(update, key, old, new)

    # ---- the loop ---------------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        """Run the loop in a task (idempotent); ``await stop()`` ends it."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name=f"informer-{self.name}")
        return self._task

    async def stop(self) -> None:
        """Cancel the loop task started by ``start`` and wait for it."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run(self) -> None:
        """List, then watch, forever (until cancelled); relist on 410, back off on errors."""
        failures = 0
        need_list = True
        while True:
            try:
                if need_list:
                    await self._relist()
                    need_list = False
                    failures = 0
                if await self._watch_once():
                    failures = 0
                    continue
                failures += 1  # the stream ended without delivering anything
            except Gone:
                _log.info("informer.expired", informer=self.name, resource_version=self.resource_version)
                if not need_list:
                    need_list = True
                    continue
                failures += 1  # the list itself expired: back off before listing again
            except ApiError as err:
                failures += 1
                _log.warning("informer.error", informer=self.name, status=err.status, reason=err.reason,
                             error=err.message, failures=failures)
            delay = with_jitter(backoff_delay(failures, policy=self._backoff), fraction=self._backoff.jitter,
                                sample=random.random())
            await asyncio.sleep(delay)

    async def _relist(self) -> None:
        result = await self._client.list(
            self.api_version, self.kind, namespace=self.namespace,
            label_selector=self.label_selector, field_selector=self.field_selector,
        )
        self.lists += 1
        _RELISTS.labels(self.name).inc()
        items = result.items if self._transform is None else [self._transform(obj) for obj in result.items]
        fresh = {object_key(obj): obj for obj in items}
        old = self._cache
        self._cache = fresh
        self.resource_version = result.resource_version
        first = not self.has_synced
        for key in old:
            if key not in fresh:
                self._reindex(key, None)
        for key, obj in fresh.items():
            before = old.get(key)
            if before is None or _rv(before) != _rv(obj) or before is not obj:
                self._reindex(key, obj)
        self._synced.set()
        _log.debug("informer.listed", informer=self.name, items=len(fresh),
                   resource_version=result.resource_version)
        for key, obj in old.items():
            if key not in fresh:
                self._notify(key, [obj], old=obj, new=None)
        for key, obj in fresh.items():
            before = old.get(key)
            if first or before is None or _rv(before) != _rv(obj):
                self._notify(key, [obj] if before is None else [before, obj], old=before, new=obj)

    async def _watch_once(self) -> bool:
        """Watch from the current resourceVersion until the stream ends; whether it was useful."""
        started = time.monotonic()
        seen = False
        events = self._client.watch(
            self.api_version, self.kind, namespace=self.namespace,
            label_selector=self.label_selector, field_selector=self.field_selector,
            resource_version=self.resource_version or None, allow_bookmarks=True,
            timeout_seconds=self._watch_timeout, idle_timeout=self._watch_idle_timeout,
        )
        async with contextlib.aclosing(events):
            async for event in events:
                seen = True
                self._apply(event)
        return seen or time.monotonic() - started >= 1.0

    def _apply(self, event: WatchEvent) -> None:
        _EVENTS.labels(self.name, event.type).inc()
        if event.resource_version:
            self.resource_version = event.resource_version
        if event.type == "BOOKMARK":
            return
        obj = event.object if self._transform is None else self._transform(event.object)
        key = object_key(obj)
        before = self._cache.get(key)
        if event.type == "DELETED":
            self._cache.pop(key, None)
            self._reindex(key, None)
            self._notify(key, [before or obj], old=before or obj, new=None)
            return
        self._cache[key] = obj
        self._reindex(key, obj)
        self._notify(key, [obj] if before is None else [before, obj], old=before, new=obj)


class Views(Generic[V]):
    """One typed view per cached object version, parsed on first use (``parse(obj)``).

    A view is kept for the object it was made from: an update handler can still ask for the
    view of ``old`` (which it was given) while the cache already holds ``new``; once every
    handler has run, views of replaced or deleted objects are dropped.
    """

    def __init__(self, informer: Informer, parse: Callable[[Obj], V]) -> None:
        self._informer = informer
        self._parse = parse
        self._views: dict[str, tuple[Obj, V]] = {}
        informer._after.append(self._evict)

    def get(self, key: str) -> V | None:
        """The view of the cached object at ``key``, or None."""
        obj = self._informer.get(key)
        return None if obj is None else self.of(key, obj)

    def of(self, key: str, obj: Obj) -> V:
        """The view of ``obj`` (the cached object at ``key`` or the one it replaced)."""
        cached = self._views.get(key)
        if cached is not None and cached[0] is obj:
            return cached[1]
        view = self._parse(obj)
        if self._informer.get(key) is obj or cached is None:
            self._views[key] = (obj, view)
        return view

    def _evict(self, key: str, _old: Obj | None, new: Obj | None) -> None:
        cached = self._views.get(key)
        if cached is not None and cached[0] is not new:
            del self._views[key]


def strip_managed_fields(obj: Obj) -> Obj:
    """An informer ``transform`` that drops ``metadata.managedFields`` (often half an object's size)."""
    meta = obj.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        obj = {**obj, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}
    return obj


_INTERN_BELOW = 64  # shorter string values are interned too (names, kinds, label values repeat)


def _compacted(value: object) -> object:
    if isinstance(value, dict):
        return {sys.intern(k) if isinstance(k, str) else k: _compacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_compacted(v) for v in value]
    if isinstance(value, str) and len(value) < _INTERN_BELOW:
        return sys.intern(value)
    return value


def compact(obj: Obj) -> Obj:
    """An informer ``transform`` sharing the strings cached objects repeat: every key, and every
    short string value (JSON decoding makes a fresh copy of each per object: ``"metadata"``,
    ``"resourceVersion"``, label keys and values, kinds, owner names...). The object is unchanged."""
    compacted = _compacted(obj)
    assert isinstance(compacted, dict)
    return compacted


def _rv(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")
