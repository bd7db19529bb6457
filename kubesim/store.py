"""The object store: one server's state, with kube-apiserver's write semantics.

Public API (used by the HTTP layer and by in-process controllers such as ``kubesim.simulate``);
every method is synchronous, objects are plain dicts and are copied in and out::

    rtype = store.resource("apps/v1", "Deployment")        # -> ResourceType (or None)
    obj = store.get(rtype, "web", namespace="default")       # 404 ApiError if missing
    items, rv = store.list(rtype, namespace="default")      # sorted by namespace/name
    store.create(rtype, obj)                                 # 409 AlreadyExists, 404 ns, 422 ...
    store.update(rtype, obj)                                 # 409 Conflict on stale RV
    store.update(rtype, obj, subresource="status")          # changes only .status
    store.delete(rtype, "web", namespace="default", propagation="Foreground")
    unsubscribe = store.subscribe(callback)                  # callback(Event) after every change

``Event`` has ``type`` (ADDED/MODIFIED/DELETED), ``rtype`` (storage type), ``obj`` (new
state; for DELETED the last state), ``old`` (previous state or None) and ``rv``. Callbacks run
synchronously inside the write: they must not write back directly; use ``store.soon(fn)``
to run a follow-up write on the event loop (the garbage collector and CRD controller do).

All writes take ``copy=False`` (the caller hands the object over and gets the stored one back
uncopied: read-only; the HTTP layer uses it), ``dry_run=True`` (validate, return the would-be
object, change nothing), a
``manager`` (field manager recorded in managedFields) and ``validate=True`` to run the built-in
object validation of ``kubesim.validation`` (the HTTP API always does; in-process callers may
skip it). One global resourceVersion counter
increases strictly with every change, like etcd revisions; the last ``history`` events are
kept per resource for watches (``events_since``), like kube-apiserver's per-resource watch cache.
"""

from __future__ import annotations

import asyncio
import contextvars
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubesim import encoding, errors, gotypes, meta, ssa, validation
from kubesim.registry import Registry, ResourceType

Obj = dict[str, Any]
Key = tuple[str, str]


@dataclass(slots=True)
class Event:
    type: str
    rtype: ResourceType
    obj: Obj
    old: Obj | None
    rv: int


MAX_OBJECT_BYTES = 1536 * 1024  # etcd's default --max-request-bytes (1.5 MiB)
_UNDELETABLE_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})
Listener = Callable[[Event], None]
EventList = list[Event]
ObjList = list[Obj]
Admitter = Callable[[ResourceType, Obj, "Obj | None"], Obj]


class Store:
    """State of one simulated cluster (see module docstring)."""

    def __init__(self, registry: Registry | None = None, *, history: int = 2000) -> None:
        self.registry = registry or Registry()
        self.rv = 1
        self._data: dict[Key, dict[str, dict[str, Obj]]] = {}
        self.history = history
        self._history: dict[Key, deque[Event]] = {}  # per resource, like kube-apiserver's watch cache
        self._evicted: dict[Key, int] = {}  # per resource: rv of the newest event dropped
        self._listeners: list[Listener] = []
        self._watchers: dict[Key, dict[str, set[Listener]]] = {}  # key -> namespace ("" = all) -> set
        self.admitters: list[Admitter] = []  # extra validation/defaulting (CRD schemas)
        self.max_object_bytes = MAX_OBJECT_BYTES  # etcd's request limit; 0 disables the check
        self.list_snapshots: OrderedDict[str, ObjList] = OrderedDict()  # paginated lists in progress

    # ------------------------------------------------------------------ lookups
    def resource(self, api_version: str, kind: str) -> ResourceType | None:
        return self.registry.by_kind(api_version, kind)

    def peek(self, rtype: ResourceType, name: str, namespace: str | None = None) -> Obj | None:
        """The stored object itself (do not mutate), or None."""
        ns = (namespace or "") if rtype.namespaced else ""
        return self._data.get(rtype.key, {}).get(ns, {}).get(name)

    def get(self, rtype: ResourceType, name: str, *, namespace: str | None = None) -> Obj:
        obj = self.peek(rtype, name, namespace)
        if obj is None:
            raise errors.not_found(group=rtype.group, plural=rtype.plural, name=name)
        return self._out(rtype, obj)

    def holds_any(self, key: tuple[str, str]) -> bool:
        """Whether any object of the resource ``(group, plural)`` is stored (O(1))."""
        return any(self._data.get(key, {}).values())

    def scan(self, rtype: ResourceType, namespace: str | None = None) -> ObjList:
        """Stored objects (not copies), sorted by namespace then name."""
        buckets = self._data.get(rtype.key, {})
        if rtype.namespaced and namespace:
            bucket = buckets.get(namespace, {})
            return [bucket[n] for n in sorted(bucket)]
        return [buckets[ns][n] for ns in sorted(buckets) for n in sorted(buckets[ns])]

    def list(
        self, rtype: ResourceType, *, namespace: str | None = None, labels: dict[str, str] | None = None
    ) -> tuple[ObjList, int]:
        """Copies of the objects (optionally only those carrying all ``labels``) and the list RV."""
        items = []
        for obj in self.scan(rtype, namespace):
            have = obj["metadata"].get("labels") or {}
            if labels and any(have.get(k) != v for k, v in labels.items()):
                continue
            items.append(self._out(rtype, obj))
        return items, self.rv

    def pin_list(self, items: ObjList) -> str:
        """Keep a paginated list's items (stored objects are never mutated, so references are a
        consistent snapshot); returns the id continue tokens carry. The oldest of 32 are dropped."""
        snapshot = uuid.uuid4().hex[:16]
        self.list_snapshots[snapshot] = list(items)
        while len(self.list_snapshots) > 32:
            self.list_snapshots.popitem(last=False)
        return snapshot

    def namespace_phase(self, namespace: str) -> str | None:
        ns = self._data.get(("", "namespaces"), {}).get("", {}).get(namespace)
        return None if ns is None else str((ns.get("status") or {}).get("phase", "Active"))

    def _out(self, rtype: ResourceType, obj: Obj, copy: bool = True) -> Obj:
        if not copy:  # the HTTP layer only serialises what it gets back
            return (
                obj
                if obj.get("apiVersion") == rtype.api_version
                else {**obj, "apiVersion": rtype.api_version}
            )
        out: Obj = meta.clone(obj)
        out["apiVersion"] = rtype.api_version
        return out

    # ------------------------------------------------------------------ subscriptions
    def subscribe(self, callback: Listener) -> Callable[[], None]:
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def add_watcher(
        self, key: Key, callback: Listener, *, namespace: str | None = None
    ) -> Callable[[], None]:
        """Call ``callback(event)`` for every change of ``key`` (in ``namespace`` only, if given)."""
        bucket = self._watchers.setdefault(key, {}).setdefault(namespace or "", set())
        bucket.add(callback)
        return lambda: bucket.discard(callback)

    def events_since(self, rv: int, key: Key) -> EventList | None:
        """Events after ``rv`` for one resource, or None when ``rv`` is older than the history."""
        if rv < self._evicted.get(key, 0):
            return None
        return [e for e in self._history.get(key, ()) if e.rv > rv]

    def oldest_rv(self, key: Key) -> int:
        """The newest resourceVersion no longer in ``key``'s history (older RVs get 410)."""
        return self._evicted.get(key, 0)

    def soon(self, fn: Callable[[], None]) -> None:
        """Run a follow-up (e.g. a cascading write) after the current write, on the event loop."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            fn()
            return
        loop.call_soon(fn, context=contextvars.Context())  # not the triggering request's context

    def _commit(self, kind: str, rtype: ResourceType, obj: Obj, old: Obj | None) -> None:
        md = obj["metadata"]
        data = None
        if kind != "DELETED":  # encoded once: the size check, the response and every watcher
            previous_rv = md.get("resourceVersion")
            md["resourceVersion"] = str(self.rv + 1)
            data = encoding.encode(obj)
            if self.max_object_bytes and len(data) > self.max_object_bytes:
                md["resourceVersion"] = previous_rv
                raise errors.ApiError(code=500, reason="", message="etcdserver: request is too large")
        self.rv += 1
        md["resourceVersion"] = str(self.rv)
        encoding.remember(obj, encoding.encode(obj) if data is None else data)
        ns = obj["metadata"].get("namespace", "") if rtype.namespaced else ""
        bucket = self._data.setdefault(rtype.key, {}).setdefault(ns, {})
        if kind == "DELETED":
            bucket.pop(obj["metadata"]["name"], None)
            if not bucket:
                self._data[rtype.key].pop(ns, None)
        else:
            bucket[obj["metadata"]["name"]] = obj
        event = Event(kind, rtype, obj, old, self.rv)
        history = self._history.get(rtype.key)
        if history is None:
            history = self._history[rtype.key] = deque(maxlen=self.history)
        if len(history) == history.maxlen:
            self._evicted[rtype.key] = history[0].rv
        history.append(event)
        by_namespace = self._watchers.get(rtype.key)
        if by_namespace:
            for watcher in list(by_namespace.get("", ())):
                watcher(event)
            namespace = obj["metadata"].get("namespace")
            if namespace:
                for watcher in list(by_namespace.get(namespace, ())):
                    watcher(event)
        for listener in list(self._listeners):
            listener(event)

    # ------------------------------------------------------------------ writes
    def create(
        self,
        rtype: ResourceType,
        obj: Obj,
        *,
        namespace: str | None = None,
        dry_run: bool = False,
        manager: str = "",
        operation: str = "Update",
        validate: bool = False,
        copy: bool = True,
    ) -> Obj:
        served, rtype = rtype, self._storage(rtype)
        obj = meta.clone(obj) if copy else obj
        if validate:
            gotypes.drop_nulls(rtype, obj)  # decoding into Go types: null is the zero value
            decode = gotypes.decode_problem(rtype, obj)
            if decode is not None:
                raise errors.bad_request(decode)
            _drop_unknown(rtype, obj)
        md = obj.get("metadata")
        if not isinstance(md, dict):
            md = obj["metadata"] = {}
        ns = self._check_namespace(rtype, md, namespace)
        name = md.get("name") or ""
        if not name:
            prefix = md.get("generateName") or ""
            if not prefix:
                raise errors.invalid(
                    group=rtype.group,
                    kind=rtype.kind,
                    name="",
                    causes=[
                        errors.field_cause(
                            kind="Required", field="metadata.name", detail="name or generateName is required"
                        )
                    ],
                )
            for _ in range(8):
                name = meta.generate_name(prefix)
                if self.peek(rtype, name, ns) is None:
                    break
            md["name"] = name
        if rtype.namespaced:
            phase = self.namespace_phase(ns)
            if phase is None:
                raise errors.not_found(group="", plural="namespaces", name=ns)
            if phase == "Terminating":
                raise errors.ApiError(
                    code=403,
                    reason="Forbidden",
                    message=f'{errors.qualified(rtype.group, rtype.plural)} "{name}" is forbidden: unable to '
                    f"create new content in namespace {ns} because it is being terminated",
                    details={
                        "name": name,
                        **({"group": rtype.group} if rtype.group else {}),
                        "kind": rtype.plural,
                        "causes": [
                            {
                                "reason": "NamespaceTerminating",
                                "message": f"namespace {ns} is being terminated",
                                "field": "metadata.namespace",
                            }
                        ],
                    },
                )
        causes = meta.name_problems(rtype, name) + meta.label_problems(md)
        if validate:
            causes += validation.problems(rtype, obj)
        if causes:
            raise errors.invalid(group=rtype.group, kind=rtype.kind, name=name, causes=causes)
        if self.peek(rtype, name, ns) is not None:
            raise errors.already_exists(group=rtype.group, plural=rtype.plural, name=name)
        obj = {
            "apiVersion": rtype.api_version,
            "kind": rtype.kind,
            **{k: v for k, v in obj.items() if k not in ("apiVersion", "kind")},
        }
        if rtype.has_status:
            status = meta.initial_status(rtype)
            if status is None:
                obj.pop("status", None)
            else:
                obj["status"] = status
        meta.apply_defaults(rtype, obj)
        for admit in self.admitters:
            obj = admit(served, obj, None)
        obj["apiVersion"] = rtype.api_version
        md = obj["metadata"]
        for field in ("deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion", "selfLink"):
            md.pop(field, None)
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = meta.now()
        if meta.tracks_generation(rtype):
            md["generation"] = 1
        else:
            md.pop("generation", None)
        if operation != "Apply":
            _record(obj, None, rtype=rtype, manager=manager, operation=operation, subresource=None)
        if dry_run:
            md["resourceVersion"] = ""
            return self._out(rtype, obj, copy)
        self._commit("ADDED", rtype, obj, None)
        return self._out(rtype, obj, copy)

    def update(
        self,
        rtype: ResourceType,
        obj: Obj,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
        manager: str = "",
        operation: str = "Update",
        validate: bool = False,
        copy: bool = True,
        fields_recorded: bool = False,
    ) -> Obj:
        """Replace an object; ``fields_recorded``: ``obj``'s managedFields are final (a ``/scale``
        write maps them from the Scale itself)."""
        served, rtype = rtype, self._storage(rtype)
        md = obj.get("metadata") or {}
        name = md.get("name") or ""
        ns = md.get("namespace") if rtype.namespaced else None
        old = self.peek(rtype, name, ns)
        if old is None:
            raise errors.not_found(group=rtype.group, plural=rtype.plural, name=name)
        rv = md.get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise errors.stale(group=rtype.group, plural=rtype.plural, name=name)
        if validate:
            gotypes.drop_nulls(rtype, obj)
            decode = gotypes.decode_problem(rtype, obj)
            if decode is not None:
                raise errors.bad_request(decode)
            _drop_unknown(rtype, obj)
        new = self._merge_update(rtype, old, meta.clone(obj) if copy else obj, subresource)
        if subresource is None:
            meta.apply_defaults(rtype, new)
        for admit in self.admitters:
            new = admit(served, new, old)
        new["apiVersion"] = rtype.api_version
        nmd = new["metadata"]
        causes = meta.label_problems(nmd) + meta.immutable_problems(rtype, new, old=old)
        if validate and subresource is None:
            causes += validation.problems(rtype, new)
        if old["metadata"].get("deletionTimestamp"):
            added = set(nmd.get("finalizers") or []) - set(old["metadata"].get("finalizers") or [])
            if added:
                causes.append(
                    errors.field_cause(
                        kind="Forbidden",
                        field="metadata.finalizers",
                        detail="no new finalizers can be added if the object is "
                        "being deleted, found new finalizers " + _golist(sorted(added)),
                    )
                )
        if causes:
            raise errors.invalid(group=rtype.group, kind=rtype.kind, name=name, causes=causes)
        if meta.tracks_generation(rtype):
            status_is_spec = not rtype.has_status
            if meta.spec_of(new, status_is_spec=status_is_spec) != meta.spec_of(
                old, status_is_spec=status_is_spec
            ):
                nmd["generation"] = int(old["metadata"].get("generation") or 1) + 1
        if operation != "Apply" and not fields_recorded:
            _record(new, old, rtype=rtype, manager=manager, operation=operation, subresource=subresource)
        if _same(new, old):
            return self._out(rtype, old, copy)
        if dry_run:
            return self._out(rtype, new, copy)
        if (
            nmd.get("deletionTimestamp")
            and not nmd.get("finalizers")
            and not (rtype.key == ("", "namespaces") and (new.get("spec") or {}).get("finalizers"))
        ):
            # the last finalizer is gone: the object is deleted by this very update (one DELETED event)
            self._commit("DELETED", rtype, new, old)
            return self._out(rtype, new, copy)
        self._commit("MODIFIED", rtype, new, old)
        return self._out(rtype, new, copy)

    def _merge_update(self, rtype: ResourceType, old: Obj, new: Obj, subresource: str | None) -> Obj:
        omd = old["metadata"]
        if subresource == "status":
            # custom resources: the stored spec is kept as the very same object (admission can
            # tell it is unchanged); nothing below changes it in place
            merged: Obj = {**old, "metadata": dict(omd)} if rtype.crd else meta.clone(old)
            if "status" in new:
                merged["status"] = new["status"]
            else:
                merged.pop("status", None)
            applied_fields = (new.get("metadata") or {}).get("managedFields")
            if applied_fields is not None:  # server-side apply computed them
                merged["metadata"]["managedFields"] = applied_fields
            return merged
        new = {
            "apiVersion": rtype.api_version,
            "kind": rtype.kind,
            **{k: v for k, v in new.items() if k not in ("apiVersion", "kind")},
        }
        nmd = new.setdefault("metadata", {})
        if not isinstance(nmd, dict):
            nmd = new["metadata"] = {}
        for field in meta.SYSTEM_META:
            if field in omd:
                nmd[field] = omd[field]
            else:
                nmd.pop(field, None)
        nmd["name"] = omd["name"]
        if rtype.namespaced:
            nmd["namespace"] = omd["namespace"]
        nmd.pop("generateName", None) if "generateName" not in omd else nmd.setdefault(
            "generateName", omd["generateName"]
        )
        nmd["resourceVersion"] = omd["resourceVersion"]
        if "managedFields" not in nmd and "managedFields" in omd:
            nmd["managedFields"] = omd["managedFields"]
        if rtype.has_status:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)
        return new

    def delete(
        self,
        rtype: ResourceType,
        name: str,
        *,
        namespace: str | None = None,
        propagation: str | None = None,
        preconditions: dict[str, Any] | None = None,
        dry_run: bool = False,
        copy: bool = True,
    ) -> tuple[Obj, bool]:
        """Delete (or start deleting) an object: returns ``(object, deleted_now)``."""
        rtype = self._storage(rtype)
        old = self.peek(rtype, name, namespace)
        if old is None:
            raise errors.not_found(group=rtype.group, plural=rtype.plural, name=name)
        omd = old["metadata"]
        pre = preconditions or {}
        if pre.get("uid") and pre["uid"] != omd["uid"]:
            raise errors.conflict(
                group=rtype.group,
                plural=rtype.plural,
                name=name,
                why=f"Precondition failed: UID in precondition: {pre['uid']}, "
                f"UID in object meta: {omd['uid']}",
            )
        if pre.get("resourceVersion") and pre["resourceVersion"] != omd["resourceVersion"]:
            raise errors.conflict(
                group=rtype.group,
                plural=rtype.plural,
                name=name,
                why=f"Precondition failed: ResourceVersion in precondition: "
                f"{pre['resourceVersion']}, ResourceVersion in object meta: "
                f"{omd['resourceVersion']}",
            )
        if rtype.key == ("", "namespaces") and name in _UNDELETABLE_NAMESPACES:
            raise errors.forbidden(
                group="",
                plural="namespaces",
                name=name,
                message=f'namespaces "{name}" is forbidden: this namespace may not be deleted',
            )
        finalizers = list(omd.get("finalizers") or [])
        if propagation == "Foreground" and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        elif propagation == "Orphan" and "orphan" not in finalizers:
            finalizers.append("orphan")
        is_namespace = rtype.key == ("", "namespaces")
        if finalizers or is_namespace:
            new = meta.clone(old)
            nmd = new["metadata"]
            if not omd.get("deletionTimestamp"):
                nmd["deletionTimestamp"] = meta.now()
                nmd["deletionGracePeriodSeconds"] = 0
                if nmd.get("generation"):  # kube-apiserver bumps generation when deletion starts
                    nmd["generation"] = int(nmd["generation"]) + 1
            if finalizers:
                nmd["finalizers"] = finalizers
            if is_namespace:
                new.setdefault("status", {})["phase"] = "Terminating"
                new.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
            if dry_run or _same(new, old):
                return self._out(rtype, new, copy), False
            self._commit("MODIFIED", rtype, new, old)
            return self._out(rtype, new, copy), False
        gone = meta.clone(old)
        if dry_run:
            return self._out(rtype, gone, copy), True
        self._commit("DELETED", rtype, gone, old)
        return self._out(rtype, gone, copy), True

    # ------------------------------------------------------------------ helpers
    def _storage(self, rtype: ResourceType) -> ResourceType:
        if rtype.storage_version:
            return rtype
        return self.registry.storage_type(rtype.group, rtype.plural) or rtype

    def _check_namespace(self, rtype: ResourceType, md: Obj, namespace: str | None) -> str:
        if not rtype.namespaced:
            md.pop("namespace", None)
            return ""
        body_ns = md.get("namespace")
        if namespace and body_ns and body_ns != namespace:
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        ns = str(namespace or body_ns or "")
        if not ns:
            raise errors.bad_request("an empty namespace may not be set during creation")
        md["namespace"] = ns
        return ns


def _drop_unknown(rtype: ResourceType, obj: Obj) -> None:
    """Unknown fields of a built-in body: 400 under ``fieldValidation=Strict`` (kubectl's default),
    else dropped, with a ``Warning`` under ``Warn`` (the default), as kube-apiserver's decoder does."""
    unknown = gotypes.unknown_fields(rtype, obj)
    if not unknown:
        return
    directive = meta.field_validation.get()
    if directive == "Strict":
        listed = ", ".join(f'unknown field "{path}"' for _, _, path in unknown)
        raise errors.bad_request(
            f'{rtype.kind} in version "{rtype.version}" cannot be handled as a {rtype.kind}: '
            f"strict decoding error: {listed}"
        )
    for container, key, path in unknown:
        container.pop(key, None)
        if directive == "Warn":
            meta.warn(f'unknown field "{path}"')


def _record(
    new: Obj, old: Obj | None, *, rtype: ResourceType, manager: str, operation: str, subresource: str | None
) -> None:
    entries = ssa.record_update(
        old,
        new,
        manager=manager or "unknown",
        now=meta.now(),
        schema=rtype.schema,
        subresource=subresource if subresource == "status" else None,
        operation=operation,
    )
    if entries:
        new["metadata"]["managedFields"] = entries
    else:
        new["metadata"].pop("managedFields", None)


def _same(a: Obj, b: Obj) -> bool:
    """Equal apart from resourceVersion and managedFields timestamps (a no-op write)."""
    return _strip(a) == _strip(b)


def _strip(obj: Obj) -> Obj:
    md = dict(obj.get("metadata") or {})
    md.pop("resourceVersion", None)
    mf = md.pop("managedFields", None) or []
    md["managedFields"] = [{k: v for k, v in e.items() if k != "time"} for e in mf]
    return {**obj, "metadata": md}


def _golist(items: list[str]) -> str:
    return "[" + " ".join(items) + "]"
