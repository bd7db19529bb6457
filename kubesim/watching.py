"""WATCH streams: ``?watch=1`` answered as a chunked stream of JSON event lines.

A watcher registers with the store *before* it reads the snapshot or the history (no await in
between), so no event is lost or duplicated. Events are filtered per watcher: namespace, label
and field selectors, where an object leaving the selector is a ``DELETED`` for that watcher and
one entering it an ``ADDED``. A ``resourceVersion`` older than the kept history yields a single
``ERROR`` event carrying a 410 ``Expired`` Status, like kube-apiserver.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from kubesim import audit, encoding, errors, selectors
from kubesim.registry import ResourceType
from kubesim.store import Event, Store

Obj = dict[str, Any]


@dataclass(slots=True)
class WatchSpec:
    """What one watch request asked for."""

    rtype: ResourceType
    namespace: str | None
    labels: list[selectors.Requirement]
    fields: list[selectors.FieldRequirement]
    resource_version: str
    bookmarks: bool
    timeout: float | None
    send_initial: bool
    name: str | None = None


def matches(spec: WatchSpec, obj: Obj | None) -> bool:
    if obj is None:
        return False
    md = obj["metadata"]
    if spec.namespace and md.get("namespace") != spec.namespace:
        return False
    if spec.name and md.get("name") != spec.name:
        return False
    return selectors.match_labels(spec.labels, md.get("labels")) and selectors.match_fields(spec.fields, obj)


def translate(spec: WatchSpec, event: Event) -> tuple[str, Obj] | None:
    """The event this watcher sees (selector-aware), or None."""
    now = matches(spec, event.obj) if event.type != "DELETED" else False
    before = matches(spec, event.old) if event.old is not None else False
    if event.type == "DELETED":
        return ("DELETED", event.obj) if before else None
    if now and before:
        return ("MODIFIED", event.obj)
    if now:
        return ("ADDED", event.obj)
    if before:
        return ("DELETED", event.obj)
    return None


def bookmark(rtype: ResourceType, rv: int, *, initial_end: bool = False) -> Obj:
    md: Obj = {"resourceVersion": str(rv)}
    if initial_end:
        md["annotations"] = {"k8s.io/initial-events-end": "true"}
    return {"kind": rtype.kind, "apiVersion": rtype.api_version, "metadata": md}


async def serve(
    request: web.Request,
    *,
    store: Store,
    spec: WatchSpec,
    render: Callable[[Obj], Obj],
    bookmark_interval: float,
    stream_faults: Callable[[str], str | None] = lambda phase: None,
    streams: set[asyncio.Queue[tuple[str, Obj] | None]] | None = None,
) -> web.StreamResponse:
    """Run one watch until timeout, client disconnect or server stop.

    ``stream_faults(phase)`` ("start" or "event") may answer "gone", "drop", "abort" or "stall";
    ``streams`` collects the queues so the server can end every stream (put None) on stop.
    """
    queue: asyncio.Queue[tuple[str, Obj] | None] = asyncio.Queue()
    delivered: Callable[[], None] | None = request.get(audit.ON_EVENT)
    if streams is not None:
        streams.add(queue)

    def on_event(event: Event) -> None:
        seen = translate(spec, event)
        if seen is not None:
            queue.put_nowait(seen)

    unsubscribe = store.add_watcher(spec.rtype.key, on_event, namespace=spec.namespace)
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    try:
        initial: list[tuple[str, Obj]] = []
        rv_text = spec.resource_version
        forced = stream_faults("start")
        if forced == "gone":
            initial = [
                ("ERROR", errors.expired(f"too old resource version: {rv_text or 0} ({store.rv})").status())
            ]
        elif rv_text in ("", "0") or spec.send_initial:
            initial = [("ADDED", o) for o in store.scan(spec.rtype, spec.namespace) if matches(spec, o)]
        else:
            try:
                since = int(rv_text)
            except ValueError:
                raise errors.bad_request(f"invalid resource version: {rv_text}") from None
            events = store.events_since(since, spec.rtype.key)
            if events is None:
                initial = [
                    (
                        "ERROR",
                        errors.expired(
                            f"too old resource version: {since} ({store.oldest_rv(spec.rtype.key) + 1})"
                        ).status(),
                    )
                ]
            else:
                initial = [seen for e in events if (seen := translate(spec, e)) is not None]
        snapshot_rv = store.rv
        await response.prepare(request)
        for kind, obj in initial:
            await _send(response, kind, obj if kind == "ERROR" else render(obj))
            if delivered is not None:
                delivered()
            if kind == "ERROR":
                return response
        if spec.send_initial and spec.bookmarks:
            await _send(response, "BOOKMARK", bookmark(spec.rtype, snapshot_rv, initial_end=True))
        if forced == "drop":
            await response.write_eof()
            return response
        if forced == "abort":
            _abort(request)
            return response
        if forced == "stall":
            await asyncio.sleep(spec.timeout or 3600)
            return response
        deadline = None if spec.timeout is None else time.monotonic() + spec.timeout
        next_bookmark = time.monotonic() + bookmark_interval
        while True:
            now = time.monotonic()
            wait = next_bookmark - now
            if deadline is not None:
                wait = min(wait, deadline - now)
                if wait <= 0:
                    break
            try:
                item = await asyncio.wait_for(queue.get(), timeout=max(wait, 0))
            except TimeoutError:
                if spec.bookmarks and time.monotonic() >= next_bookmark:
                    await _send(response, "BOOKMARK", bookmark(spec.rtype, store.rv))
                if time.monotonic() >= next_bookmark:
                    next_bookmark = time.monotonic() + bookmark_interval
                continue
            if item is None:
                break
            fault = stream_faults("event")
            if fault == "drop":
                break
            if fault == "abort":
                _abort(request)
                return response
            if fault == "stall":
                await asyncio.sleep(3600)
            await _send(response, item[0], render(item[1]))
            if delivered is not None:
                delivered()
        await response.write_eof()
        return response
    except ConnectionResetError:  # the client went away (or the server is stopping)
        return response
    finally:
        unsubscribe()
        if streams is not None:
            streams.discard(queue)


def _abort(request: web.Request) -> None:
    """Cut the connection mid-stream (no chunked terminator): the client sees a broken stream."""
    if request.transport is not None:
        request.transport.abort()


async def _send(response: web.StreamResponse, kind: str, obj: Obj) -> None:
    # the object's bytes are shared by every watcher (and the write's response)
    await response.write(b'{"type":"' + kind.encode() + b'","object":' + encoding.dumps(obj) + b"}\n")
