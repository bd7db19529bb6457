"""Garbage collection and namespace lifecycle, as kube-controller-manager does them.

``GarbageCollector`` subscribes to the store and keeps an owner index (owner uid -> dependents):

- an owner deleted (Background): dependents whose every owner is gone are deleted; dependents
  with another live owner just lose the dangling reference;
- ``orphan`` finalizer: dependents lose their owner reference, then the finalizer is removed;
- ``foregroundDeletion`` finalizer: dependents are deleted (foreground, recursively); the owner
  goes once no dependent with ``blockOwnerDeletion`` remains;
- an object created with owner references to objects that do not exist is deleted;
- a namespace being deleted (phase Terminating) has all its contents deleted, then goes itself;
- every new namespace gets a ``default`` ServiceAccount and the ``kube-root-ca.crt`` ConfigMap.

All follow-up writes run via ``store.soon`` (after the triggering write), never re-entrantly.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import Any

from kubesim import errors, meta
from kubesim.registry import ResourceType
from kubesim.store import Event, Store

Obj = dict[str, Any]
Ref = tuple[tuple[str, str], str, str]  # (storage key, namespace, name)
NS_KEY = ("", "namespaces")


class GarbageCollector:
    def __init__(self, store: Store, *, root_ca: str = "") -> None:
        self.store = store
        self.root_ca = root_ca
        self.alive: dict[str, Ref] = {}  # uid -> ref
        self.types: dict[tuple[str, str], ResourceType] = {}
        self.dependents: dict[str, set[Ref]] = {}  # owner uid -> dependents
        store.subscribe(self._on_event)

    # ------------------------------------------------------------------ index
    def _on_event(self, event: Event) -> None:
        _obj, md = event.obj, event.obj["metadata"]
        ref: Ref = (event.rtype.key, md.get("namespace", ""), md["name"])
        self.types[event.rtype.key] = event.rtype
        old_owners = {
            o.get("uid") for o in ((event.old or {}).get("metadata", {}).get("ownerReferences") or [])
        }
        owners = {o.get("uid") for o in (md.get("ownerReferences") or [])}
        if event.type == "DELETED":
            self.alive.pop(md["uid"], None)
            for uid in old_owners | owners:
                self.dependents.get(uid, set()).discard(ref)
            self._soon(lambda: self._owner_gone(md["uid"]))
            for uid in owners:
                self._soon(functools.partial(self._check_foreground, uid))
            if md.get("namespace"):
                ns = md["namespace"]
                self._soon(lambda: self._check_namespace(ns))
            return
        self.alive[md["uid"]] = ref
        for uid in old_owners - owners:
            self.dependents.get(uid, set()).discard(ref)
        for uid in owners:
            self.dependents.setdefault(uid, set()).add(ref)
        if event.type == "ADDED":
            if owners:
                self._soon(lambda: self._check_dangling(ref))
            if event.rtype.key == NS_KEY:
                self._soon(lambda: self._populate_namespace(md["name"]))
        for uid in old_owners - owners:
            self._soon(functools.partial(self._check_foreground, uid))
        if md.get("deletionTimestamp"):
            finalizers = md.get("finalizers") or []
            if "orphan" in finalizers:
                self._soon(lambda: self._orphan(ref, md["uid"]))
            if "foregroundDeletion" in finalizers:
                self._soon(lambda: self._foreground(md["uid"]))
            if event.rtype.key == NS_KEY:
                self._soon(lambda: self._terminate_namespace(md["name"]))

    def _soon(self, fn: Callable[[], None]) -> None:
        def guarded() -> None:
            with contextlib.suppress(errors.ApiError):
                fn()

        self.store.soon(guarded)

    def _get(self, ref: Ref) -> Obj | None:
        rtype = self.types.get(ref[0])
        return None if rtype is None else self.store.peek(rtype, ref[2], ref[1])

    def _delete(self, ref: Ref, *, propagation: str | None = None) -> None:
        rtype = self.types[ref[0]]
        obj = self.store.peek(rtype, ref[2], ref[1])
        if obj is None or (obj["metadata"].get("deletionTimestamp") and propagation != "Foreground"):
            return
        self.store.delete(rtype, ref[2], namespace=ref[1] or None, propagation=propagation)

    def _drop_owner(self, ref: Ref, uid: str) -> None:
        obj = self._get(ref)
        if obj is None:
            return
        new = meta.clone(obj)
        new["metadata"]["ownerReferences"] = [
            o for o in new["metadata"].get("ownerReferences") or [] if o.get("uid") != uid
        ]
        if not new["metadata"]["ownerReferences"]:
            del new["metadata"]["ownerReferences"]
        self.store.update(self.types[ref[0]], new, manager="kube-controller-manager")

    def _remove_finalizer(self, ref: Ref, finalizer: str) -> None:
        obj = self._get(ref)
        if obj is None:
            return
        new = meta.clone(obj)
        new["metadata"]["finalizers"] = [f for f in new["metadata"].get("finalizers") or [] if f != finalizer]
        self.store.update(self.types[ref[0]], new, manager="kube-controller-manager")

    # ------------------------------------------------------------------ owners
    def _owner_gone(self, uid: str) -> None:
        for dep in list(self.dependents.pop(uid, set())):
            obj = self._get(dep)
            if obj is None:
                continue
            others = [o for o in obj["metadata"].get("ownerReferences") or [] if o.get("uid") != uid]
            if any(o.get("uid") in self.alive for o in others):
                self._drop_owner(dep, uid)
            else:
                self._delete(dep)

    def _check_dangling(self, ref: Ref) -> None:
        obj = self._get(ref)
        if obj is None:
            return
        owners = obj["metadata"].get("ownerReferences") or []
        if owners and not any(o.get("uid") in self.alive for o in owners):
            self._delete(ref)

    def _orphan(self, ref: Ref, uid: str) -> None:
        for dep in list(self.dependents.get(uid, set())):
            self._drop_owner(dep, uid)
        self._remove_finalizer(ref, "orphan")

    def _foreground(self, uid: str) -> None:
        for dep in list(self.dependents.get(uid, set())):
            self._delete(dep, propagation="Foreground")
        self._check_foreground(uid)

    def _check_foreground(self, uid: str) -> None:
        ref = self.alive.get(uid)
        if ref is None:
            return
        obj = self._get(ref)
        if obj is None or "foregroundDeletion" not in (obj["metadata"].get("finalizers") or []):
            return
        if not obj["metadata"].get("deletionTimestamp"):
            return
        for dep in self.dependents.get(uid, set()):
            dobj = self._get(dep)
            if dobj is None:
                continue
            for o in dobj["metadata"].get("ownerReferences") or []:
                if o.get("uid") == uid and o.get("blockOwnerDeletion"):
                    return
        self._remove_finalizer(ref, "foregroundDeletion")

    # ------------------------------------------------------------------ namespaces
    def _populate_namespace(self, name: str) -> None:
        sa = self.store.registry.lookup("", "v1", "serviceaccounts")
        cm = self.store.registry.lookup("", "v1", "configmaps")
        assert sa is not None and cm is not None
        if self.store.namespace_phase(name) != "Active":
            return
        if self.store.peek(sa, "default", name) is None:
            self.store.create(
                sa, {"metadata": {"name": "default", "namespace": name}}, manager="kube-controller-manager"
            )
        if self.root_ca and self.store.peek(cm, "kube-root-ca.crt", name) is None:
            self.store.create(
                cm,
                {
                    "metadata": {
                        "name": "kube-root-ca.crt",
                        "namespace": name,
                        "annotations": {
                            "kubernetes.io/description": "Contains a CA "
                            "bundle that can be used to verify the "
                            "kube-apiserver when using internal "
                            "endpoints such as the internal service IP "
                            "or kubernetes.default.svc. No other usage "
                            "is guaranteed across distributions of "
                            "Kubernetes clusters."
                        },
                    },
                    "data": {"ca.crt": self.root_ca},
                },
                manager="kube-controller-manager",
            )

    def _terminate_namespace(self, name: str) -> None:
        for rtype in self.store.registry.all_types():
            if not rtype.namespaced or not rtype.storage_version or "delete" not in rtype.verbs:
                continue
            self.types[rtype.key] = rtype
            for obj in list(self.store.scan(rtype, name)):
                if not obj["metadata"].get("deletionTimestamp"):
                    try:
                        self.store.delete(rtype, obj["metadata"]["name"], namespace=name)
                    except errors.ApiError:
                        continue
        self._check_namespace(name)

    def _namespace_conditions(self, ns: Obj, *, resources: list[str], finalizers: dict[str, int]) -> None:
        """The namespace controller's status conditions while content remains."""
        ns_type = self.store.registry.lookup("", "v1", "namespaces")
        assert ns_type is not None
        when = meta.now()
        held = ", ".join(f"{f} in {n} resource instances" for f, n in sorted(finalizers.items()))
        wanted = [
            (
                "NamespaceDeletionDiscoveryFailure",
                "False",
                "ResourcesDiscovered",
                "All resources successfully discovered",
            ),
            (
                "NamespaceDeletionGroupVersionParsingFailure",
                "False",
                "ParsedGroupVersions",
                "All legacy kube types successfully parsed",
            ),
            (
                "NamespaceDeletionContentFailure",
                "False",
                "ContentDeleted",
                "All content successfully deleted, may be waiting on finalization",
            ),
            (
                "NamespaceContentRemaining",
                "True",
                "SomeResourcesRemain",
                "Some resources are remaining: " + ", ".join(sorted(resources)),
            ),
            (
                "NamespaceFinalizersRemaining",
                "True" if held else "False",
                "SomeFinalizersRemain" if held else "ContentHasNoFinalizers",
                f"Some content in the namespace has finalizers remaining: {held}"
                if held
                else "All content-preserving finalizers finished",
            ),
        ]
        old = {c.get("type"): c for c in (ns.get("status") or {}).get("conditions") or []}
        conditions = []
        for ctype, status, reason, message in wanted:
            prev = old.get(ctype) or {}
            same = (prev.get("status"), prev.get("reason"), prev.get("message")) == (status, reason, message)
            conditions.append(
                prev
                if same
                else {
                    "type": ctype,
                    "status": status,
                    "lastTransitionTime": when,
                    "reason": reason,
                    "message": message,
                }
            )
        if conditions == (ns.get("status") or {}).get("conditions"):
            return
        new = meta.clone(ns)
        new.setdefault("status", {})["conditions"] = conditions
        self.store.update(ns_type, new, subresource="status", manager="kube-controller-manager")

    def _check_namespace(self, name: str) -> None:
        ns_type = self.store.registry.lookup("", "v1", "namespaces")
        assert ns_type is not None
        ns = self.store.peek(ns_type, name)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        resources: list[str] = []
        finalizers: dict[str, int] = {}
        for rtype in self.store.registry.all_types():
            if not (rtype.namespaced and rtype.storage_version):
                continue
            objs = self.store.scan(rtype, name)
            if objs:
                resources.append(f"{rtype.plural}.{rtype.group} has {len(objs)} resource instances")
                for obj in objs:
                    for finalizer in obj["metadata"].get("finalizers") or []:
                        finalizers[finalizer] = finalizers.get(finalizer, 0) + 1
        if resources:
            self._namespace_conditions(ns, resources=resources, finalizers=finalizers)
            return
        new = meta.clone(ns)
        new.setdefault("spec", {})["finalizers"] = []
        self.store.update(ns_type, new, manager="kube-controller-manager")
