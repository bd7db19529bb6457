"""CustomResourceDefinitions: serving, validating and removing custom resources.

``CrdController`` subscribes to the store: a CRD written or changed (re)registers its served
versions in the registry at once and then gets ``NamesAccepted`` and ``Established``
conditions; a CRD being deleted has its objects removed, its resource unregistered and its
cleanup finalizer dropped. ``admit`` validates custom objects against the version's OpenAPI v3
schema (via ``kubesim.schema``) and prunes unknown fields.

On an update, top-level fields the write did not touch (the stored ``status`` on a spec write,
the stored ``spec`` on a ``/status`` write: the very same objects) are not pruned, defaulted or
validated again when the stored object was admitted under the CRD's current schema (single
served version): they were already, and kube-apiserver's validation ratcheting accepts
unchanged values anyway. A spec write to a large custom resource no longer walks its status.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection
from typing import Any

from kubesim import cel, errors, meta, schema
from kubesim.registry import ResourceType, version_priority
from kubesim.schema import FieldError
from kubesim.store import Event, Store

Obj = dict[str, Any]
CLEANUP = "customresourcecleanup.apiextensions.k8s.io"
CRD_KEY = ("apiextensions.k8s.io", "customresourcedefinitions")
_CEL_BLOCKED = (
    "some validation rules were not checked because the object was invalid; "
    "correct the existing errors to complete validation"
)


def _scale_paths(scale: Any) -> tuple[str, str, str]:
    scale = scale if isinstance(scale, dict) else {}
    return (
        str(scale.get("specReplicasPath") or ".spec.replicas"),
        str(scale.get("statusReplicasPath") or ".status.replicas"),
        str(scale.get("labelSelectorPath") or ""),
    )


def types_from_crd(crd: Obj) -> tuple[ResourceType, ...]:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group", "")
    out = []
    for v in spec.get("versions") or []:
        if not v.get("served", True):
            continue
        subs = v.get("subresources") or {}
        cols = v.get("additionalPrinterColumns")
        if cols is None:
            cols = []
        out.append(
            ResourceType(
                group=group,
                version=v.get("name", ""),
                plural=names.get("plural", ""),
                kind=names.get("kind", ""),
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                singular=names.get("singular") or names.get("kind", "").lower(),
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                subresources=tuple(s for s in ("status", "scale") if s in subs),
                printer_columns=tuple(cols),
                scale_paths=_scale_paths(subs.get("scale")),
                selectable_fields=tuple(
                    str(f.get("jsonPath", "")).lstrip(".") for f in v.get("selectableFields") or []
                ),
                schema=(v.get("schema") or {}).get("openAPIV3Schema"),
                crd=crd["metadata"]["name"],
                storage_version=bool(v.get("storage", False)),
                deprecation=_deprecation(spec, v) if v.get("deprecated") else "",
            )
        )
    return tuple(out)


def _deprecation(spec: Obj, version: Obj) -> str:
    """``deprecationWarning``, or kube-apiserver's default text naming the newest served successor."""
    if version.get("deprecationWarning"):
        return str(version["deprecationWarning"])
    group, kind, name = (
        spec.get("group", ""),
        (spec.get("names") or {}).get("kind", ""),
        version.get("name", ""),
    )
    text = f"{group}/{name} {kind} is deprecated"
    newer = [
        str(v.get("name"))
        for v in spec.get("versions") or []
        if v.get("served")
        and not v.get("deprecated")
        and version_priority(str(v.get("name"))) < version_priority(name)
    ]
    if newer:
        text += f"; use {group}/{min(newer, key=version_priority)} {kind}"
    return text


def _version_problems(spec: Obj) -> list[dict[str, str]]:
    causes: list[dict[str, str]] = []
    seen: set[str] = set()
    for i, v in enumerate(spec.get("versions") or []):
        name = str(v.get("name") or "")
        if name in seen:
            causes.append(
                errors.field_cause(kind="Duplicate", field=f"spec.versions[{i}].name", value=name, detail="")
            )
        seen.add(name)
    if spec.get("versions") and not any(v.get("served") for v in spec["versions"]):
        causes.append(
            errors.field_cause(
                kind="Invalid",
                field="spec.versions",
                value=spec["versions"],
                detail="must have at least one version marked as served",
            )
        )
    strategy = (spec.get("conversion") or {}).get("strategy", "None")
    if strategy == "Webhook":
        causes.append(
            errors.field_cause(
                kind="Forbidden",
                field="spec.conversion.strategy",
                detail='"Webhook" conversion is not supported by kubesim (it calls no webhooks): use "None"',
            )
        )
    elif strategy != "None":
        causes.append(
            errors.field_cause(
                kind="NotSupported",
                field="spec.conversion.strategy",
                value=strategy,
                detail='supported values: "None", "Webhook"',
            )
        )
    return causes


def crd_problems(crd: Obj) -> list[dict[str, str]]:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    causes = []
    name = crd["metadata"].get("name", "")
    if not spec.get("group"):
        causes.append(errors.field_cause(kind="Required", field="spec.group", detail=""))
    for field in ("plural", "kind"):
        if not names.get(field):
            causes.append(errors.field_cause(kind="Required", field=f"spec.names.{field}", detail=""))
    if spec.get("group") and names.get("plural") and name != f"{names['plural']}.{spec['group']}":
        causes.append(
            errors.field_cause(
                kind="Invalid",
                field="metadata.name",
                value=name,
                detail='must be spec.names.plural+"."+spec.group',
            )
        )
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        causes.append(
            errors.field_cause(
                kind="NotSupported",
                field="spec.scope",
                value=spec.get("scope", ""),
                detail='supported values: "Cluster", "Namespaced"',
            )
        )
    causes += _version_problems(spec)
    versions = spec.get("versions") or []
    if not versions:
        causes.append(
            errors.field_cause(
                kind="Required",
                field="spec.versions",
                detail="must have exactly one version marked as storage version",
            )
        )
    elif sum(1 for v in versions if v.get("storage")) != 1:
        causes.append(
            errors.field_cause(
                kind="Invalid",
                field="spec.versions",
                value=versions,
                detail="must have exactly one version marked as storage version",
            )
        )
    for i, v in enumerate(versions):
        root = (v.get("schema") or {}).get("openAPIV3Schema")
        if root is None:
            causes.append(
                errors.field_cause(
                    kind="Required",
                    field=f"spec.versions[{i}].schema.openAPIV3Schema",
                    detail="schemas are required",
                )
            )
            continue
        for problem in schema.structural_violations(root):
            causes.append(
                {
                    "reason": "FieldValueInvalid",
                    "message": problem,
                    "field": f"spec.versions[{i}].schema.openAPIV3Schema",
                }
            )
        for problem in cel.rule_problems(root, path=f"spec.versions[{i}].schema.openAPIV3Schema"):
            field, _, message = problem.partition(": ")
            causes.append({"reason": "FieldValueInvalid", "message": message, "field": field})
    return causes


def admit(rtype: ResourceType, obj: Obj, old: Obj | None, *, unchanged: Collection[str] = ()) -> Obj:
    """Store admitter: CRD checks, and schema validation + pruning for custom objects.

    ``unchanged`` names top-level fields of ``obj`` that are the stored object's own, already
    admitted under the same schema: they are kept as they are.
    """
    if rtype.key == CRD_KEY:
        causes = crd_problems(obj)
        if causes:
            raise errors.invalid(
                group=rtype.group, kind=rtype.kind, name=obj["metadata"].get("name", ""), causes=causes
            )
        if old is None:
            finals = obj["metadata"].setdefault("finalizers", [])
            if CLEANUP not in finals:
                finals.append(CLEANUP)
        return obj
    if not rtype.crd or rtype.schema is None:
        return obj
    kept = {k: obj[k] for k in unchanged if k in obj and k not in ("apiVersion", "kind", "metadata")}
    body = {k: v for k, v in obj.items() if k not in kept} if kept else obj
    pruned = schema.prune(body, rtype.schema, copy=False)  # shares what it keeps with body
    dropped = meta.unknown_fields(body, pruned)
    directive = meta.field_validation.get()
    if dropped and directive == "Strict":
        listed = ", ".join(f'unknown field "{p}"' for p in dropped)
        raise errors.bad_request(
            f'{rtype.kind} in version "{rtype.version}" cannot be handled as a {rtype.kind}: '
            f"strict decoding error: {listed}"
        )
    if dropped and directive == "Warn":
        for path in dropped:
            meta.warn(f'unknown field "{path}"')
    pruned = schema.apply_defaults(pruned, rtype.schema, copy=False, has_defaults=has_defaults(rtype))
    root = rtype.schema
    if kept:
        assert isinstance(pruned, dict)
        merged = {k: kept[k] if k in kept else pruned[k] for k in obj if k in kept or k in pruned}
        pruned = {**merged, **{k: v for k, v in pruned.items() if k not in merged}}
        properties = {**(root.get("properties") or {}), **{k: {} for k in kept}}  # {}: not walked
        root = {**root, "properties": properties}
    problems = schema.validate(pruned, root)
    if not cel.has_rules(rtype.schema):
        pass  # no CEL validator at all (and no "rules were not checked" error)
    elif any(p.type == "FieldValueTypeInvalid" for p in problems):
        problems.append(FieldError("<nil>", "FieldValueInvalid", _CEL_BLOCKED, "null"))
    else:
        problems += cel.validate(pruned, root, old=old)
    if problems:
        raise errors.ApiError(
            code=422,
            reason="Invalid",
            message=schema.invalid_message(
                kind=rtype.kind, group=rtype.group, name=obj["metadata"].get("name", ""), errors=problems
            ),
            details={
                "name": obj["metadata"].get("name", ""),
                "group": rtype.group,
                "kind": rtype.kind,
                "causes": [{"reason": p.reason, "message": p.body(), "field": p.path} for p in problems],
            },
        )
    return dict(pruned)


def has_defaults(rtype: ResourceType) -> bool:
    """Whether the served version's schema has a ``default`` anywhere: one walk of the schema
    per served ResourceType (a CRD change serves new ones), not one per write."""
    found = rtype.derived.get("has_defaults")
    if found is None:
        found = rtype.schema is not None and schema.mentions_default(rtype.schema)
        rtype.derived["has_defaults"] = found
    return bool(found)


class CrdController:
    """Keeps the registry in step with the stored CRDs (see module docstring)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._schema_rv: dict[str, int] = {}  # CRD name -> resourceVersion of its last spec change
        store.admitters.append(self._admit)
        store.subscribe(self._on_event)

    def _admit(self, rtype: ResourceType, obj: Obj, old: Obj | None) -> Obj:
        unchanged: list[str] = []
        if old is not None and rtype.crd and self._admitted_under_current_schema(rtype.crd, old):
            unchanged = [k for k, v in obj.items() if k in old and old[k] is v and isinstance(v, dict | list)]
        return admit(rtype, obj, old, unchanged=unchanged)

    def _admitted_under_current_schema(self, crd: str, old: Obj) -> bool:
        since = self._schema_rv.get(crd)
        if since is None or len(self.store.registry.crd_types(crd)) != 1:
            return False
        return int(old["metadata"].get("resourceVersion") or 0) > since

    def _crd_type(self) -> ResourceType:
        t = self.store.registry.lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        assert t is not None
        return t

    def _on_event(self, event: Event) -> None:
        if event.rtype.crd and event.type == "DELETED":
            crd = self.store.peek(self._crd_type(), event.rtype.crd)
            if crd is not None and crd["metadata"].get("deletionTimestamp"):
                owner = event.rtype.crd
                self.store.soon(lambda: self._cleanup(owner))
            return
        if event.rtype.key != CRD_KEY:
            return
        name = event.obj["metadata"]["name"]
        if event.type == "DELETED":
            self._schema_rv.pop(name, None)
            self.store.registry.remove_crd(name)
            return
        if event.old is None or event.obj.get("spec") != event.old.get("spec"):
            self._schema_rv[name] = event.rv
        if event.obj["metadata"].get("deletionTimestamp"):
            self.store.soon(lambda: self._cleanup(name))
            return
        self.store.registry.set_crd(name, types_from_crd(event.obj))
        self.store.soon(lambda: self._accept(name))

    def _accept(self, name: str) -> None:
        crd = self.store.peek(self._crd_type(), name)
        if crd is None or crd["metadata"].get("deletionTimestamp"):
            return
        new = meta.clone(crd)
        status = new.setdefault("status", {})
        conds = {c.get("type"): c for c in status.get("conditions") or []}
        when = meta.now()
        for ctype, reason, message in (
            ("NamesAccepted", "NoConflicts", "no conflicts found"),
            ("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ):
            if conds.get(ctype, {}).get("status") != "True":
                conds[ctype] = {
                    "type": ctype,
                    "status": "True",
                    "lastTransitionTime": when,
                    "reason": reason,
                    "message": message,
                }
        status["conditions"] = list(conds.values())
        status["acceptedNames"] = (new.get("spec") or {}).get("names") or {}
        stored = set(status.get("storedVersions") or [])
        stored |= {v["name"] for v in new["spec"].get("versions") or [] if v.get("storage")}
        status["storedVersions"] = sorted(stored)
        try:
            self.store.update(
                self._crd_type(), new, subresource="status", manager="kube-apiserver", operation="Update"
            )
        except errors.ApiError:
            self.store.soon(lambda: self._accept(name))

    def _set_terminating(self, crd: Obj, remaining: int) -> None:
        conds = [
            c for c in (crd.get("status") or {}).get("conditions") or [] if c.get("type") != "Terminating"
        ]
        message = f"CustomResource deletion is in progress ({remaining} remaining)"
        current = next(
            (c for c in (crd.get("status") or {}).get("conditions") or [] if c.get("type") == "Terminating"),
            None,
        )
        if current is not None and current.get("message") == message:
            return
        new = meta.clone(crd)
        new.setdefault("status", {})["conditions"] = [
            *conds,
            {
                "type": "Terminating",
                "status": "True",
                "lastTransitionTime": meta.now(),
                "reason": "InstanceDeletionInProgress",
                "message": message,
            },
        ]
        try:
            self.store.update(self._crd_type(), new, subresource="status", manager="kube-apiserver")
        except errors.ApiError:
            return

    def _cleanup(self, name: str) -> None:
        """Delete the CRD's objects; once none is left (finalizers respected), let the CRD go."""
        crd = self.store.peek(self._crd_type(), name)
        if crd is None:
            return
        served = self.store.registry.crd_types(name)
        storage = next((t for t in served if t.storage_version), served[0] if served else None)
        remaining = 0
        if storage is not None:
            for obj in list(self.store.scan(storage)):
                md = obj["metadata"]
                if not md.get("deletionTimestamp"):
                    with contextlib.suppress(errors.ApiError):
                        self.store.delete(storage, md["name"], namespace=md.get("namespace"))
                if self.store.peek(storage, md["name"], md.get("namespace")) is not None:
                    remaining += 1
        if remaining:
            self._set_terminating(crd, remaining)
            return  # objects with finalizers hold the CRD; re-checked when they go
        self.store.registry.remove_crd(name)
        new = meta.clone(crd)
        new["metadata"]["finalizers"] = [f for f in new["metadata"].get("finalizers") or [] if f != CLEANUP]
        try:
            self.store.update(self._crd_type(), new, manager="kube-apiserver")
        except errors.ApiError:
            return
