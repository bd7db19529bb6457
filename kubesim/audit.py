"""Request accounting: who asked this server for what, for request-count tests and benchmarks.

kube-apiserver answers "how many requests did this change cost?" with its audit log; kubesim
keeps the same facts in memory. ``server.audit.enable()`` starts recording (it is off by
default and then costs one attribute check per request); every finished resource request adds
one ``Entry`` (user, Kubernetes verb — ``apply`` for a server-side apply patch —, resource,
status code, bytes in and out), and every event a watch stream delivers (bookmarks excluded)
counts for the watching user. ``counts()`` folds the entries into a Counter over any fields;
``reset()`` starts a new measurement window.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from aiohttp import web


@dataclass(frozen=True, slots=True)
class Entry:
    """One finished resource request."""

    user: str
    verb: str  # get | list | watch | create | update | patch | apply | delete | deletecollection
    group: str
    resource: str
    subresource: str | None
    namespace: str | None
    name: str | None
    code: int
    request_bytes: int
    response_bytes: int


@dataclass(frozen=True, slots=True)
class Pending:
    """What the router knows of a request before its handler answers."""

    user: str
    verb: str
    group: str
    resource: str
    subresource: str | None
    namespace: str | None
    name: str | None
    request_bytes: int

    def finish(self, *, code: int, response_bytes: int) -> Entry:
        return Entry(
            user=self.user,
            verb=self.verb,
            group=self.group,
            resource=self.resource,
            subresource=self.subresource,
            namespace=self.namespace,
            name=self.name,
            code=code,
            request_bytes=self.request_bytes,
            response_bytes=response_bytes,
        )


# the request-storage keys the server and the watch loop share
PENDING: web.RequestKey[Pending] = web.RequestKey("kubesim.audit.pending", Pending)
ON_EVENT: web.RequestKey[Callable[[], None]] = web.RequestKey("kubesim.audit.on_event", object)  # type: ignore[arg-type]


@dataclass
class Audit:
    """The request log of one server (see module docstring)."""

    enabled: bool = False
    entries: list[Entry] = field(default_factory=list)
    watch_events: Counter[str] = field(default_factory=Counter)

    def enable(self) -> None:
        self.enabled = True

    def disable(self) -> None:
        self.enabled = False

    def reset(self) -> None:
        self.entries.clear()
        self.watch_events.clear()

    def record(self, entry: Entry) -> None:
        if self.enabled:
            self.entries.append(entry)

    def event_counter(self, user: str) -> Callable[[], None]:
        """A callback the watch loop calls once per delivered event of ``user``'s stream."""

        def delivered() -> None:
            if self.enabled:
                self.watch_events[user] += 1

        return delivered

    def counts(self, *fields: str, where: Callable[[Entry], bool] | None = None) -> Counter[tuple[str, ...]]:
        """Entries counted by the values of ``fields`` (default: user and verb)."""
        names = fields or ("user", "verb")
        chosen: Iterable[Entry] = self.entries if where is None else filter(where, self.entries)
        return Counter(tuple(str(getattr(e, n)) for n in names) for e in chosen)

    def bytes_written(self, *, user: str | None = None) -> int:
        """Request bytes of every write (create, update, patch, apply) — by ``user`` if given."""
        return sum(
            e.request_bytes
            for e in self.entries
            if e.verb in ("create", "update", "patch", "apply") and (user is None or e.user == user)
        )
