"""Write handlers: POST (create), PUT, PATCH (four flavours), DELETE and DELETE collection.

Every write honours ``dryRun=All`` and ``fieldManager``; PATCH builds the new object from the
current one with ``kubesim.patching`` (JSON, merge, strategic) or ``kubesim.ssa`` (apply) and then
goes through the same update path as PUT, so resourceVersion preconditions, status-subresource
rules, validation and managedFields are identical.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from kubesim import errors, meta, patching, scale, ssa
from kubesim.httpio import Call, flag, read_body, read_object, respond
from kubesim.reads import render
from kubesim.store import Store

Obj = dict[str, Any]

CRD_KEY = ("apiextensions.k8s.io", "customresourcedefinitions")
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
APPLY_CBOR = "application/apply-patch+cbor"


async def create(call: Call, store: Store) -> web.Response:
    t = call.target
    body = await read_object(call)
    if isinstance(body.get("metadata"), dict) and body["metadata"].get("resourceVersion"):
        raise errors.bad_request("resourceVersion should not be set on objects to be created")
    obj = store.create(
        t.rtype,
        body,
        namespace=t.namespace,
        dry_run=call.dry_run,
        manager=call.field_manager(),
        validate=True,
        copy=False,
    )
    return respond(render(t.rtype, obj), status=201)


async def update(call: Call, store: Store) -> web.Response:
    t = call.target
    assert t.name is not None
    body = await read_object(call)
    md = body.setdefault("metadata", {})
    if not isinstance(md, dict):
        raise errors.bad_request("metadata must be an object")
    if md.get("name") and md["name"] != t.name:
        raise errors.bad_request(
            f"the name of the object ({md['name']}) does not match the name on the URL ({t.name})"
        )
    if t.rtype.namespaced and md.get("namespace") and md["namespace"] != t.namespace:
        raise errors.bad_request(
            "the namespace of the provided object does not match the namespace sent on the request"
        )
    md["name"] = t.name
    if t.rtype.namespaced:
        md["namespace"] = t.namespace
    if t.subresource == "scale":
        current = _current(call, store)
        if md.get("resourceVersion") and md["resourceVersion"] != current["metadata"]["resourceVersion"]:
            raise errors.stale(group=t.rtype.group, plural=t.rtype.plural, name=t.name)
        return _write_scale(call, store, current=current, new_scale=body)
    if t.subresource == "finalize":
        current = _current(call, store)
        new = meta.clone(current)
        new.setdefault("spec", {})["finalizers"] = (body.get("spec") or {}).get("finalizers") or []
        obj = store.update(
            t.rtype, new, dry_run=call.dry_run, manager=call.field_manager(), validate=True, copy=False
        )
        return respond(render(t.rtype, obj))
    if (t.rtype.crd or t.rtype.key == CRD_KEY) and not md.get("resourceVersion"):
        raise errors.invalid(
            group=t.rtype.group,
            kind=t.rtype.kind,
            name=t.name,
            causes=[
                {
                    "reason": "FieldValueInvalid",
                    "field": "metadata.resourceVersion",
                    "message": "Invalid value: 0x0: must be specified for an update",
                }
            ],
        )
    obj = store.update(
        t.rtype,
        body,
        subresource=t.subresource,
        dry_run=call.dry_run,
        manager=call.field_manager(),
        validate=True,
        copy=False,
    )
    return respond(render(t.rtype, obj))


def _current(call: Call, store: Store) -> Obj:
    t = call.target
    assert t.name is not None
    obj = store.peek(t.rtype, t.name, t.namespace)
    if obj is None:
        raise errors.not_found(group=t.rtype.group, plural=t.rtype.plural, name=t.name)
    return render(t.rtype, obj)  # read-only: patch functions and apply_scale copy what they change


async def patch(call: Call, store: Store) -> web.Response:
    t = call.target
    assert t.name is not None
    content_type = call.request.headers.get("Content-Type", "").split(";")[0].strip()
    if content_type in (APPLY_PATCH, APPLY_CBOR):
        return await _apply(call, store)
    if content_type not in (JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH) or (
        content_type == STRATEGIC_PATCH and t.rtype.crd
    ):
        raise errors.unsupported_media_type(content_type)
    body = await read_body(call.request)
    current = _current(call, store)
    base = scale.to_scale(t.rtype, current) if t.subresource == "scale" else current
    try:
        if content_type == JSON_PATCH:
            patched = patching.json_patch(base, body)
        elif content_type == MERGE_PATCH:
            # custom resources: what the patch does not reach stays the stored objects' own (the
            # store changes only the top level and metadata in place; pruning copies the rest)
            patched = patching.merge_patch(base, body, share=bool(t.rtype.crd and t.subresource != "scale"))
        else:
            patched = patching.strategic_merge_patch(base, body)
    except patching.PatchError as exc:
        raise errors.ApiError(
            code=exc.code, reason="BadRequest" if exc.code == 400 else "Invalid", message=exc.message
        ) from None
    if not isinstance(patched, dict):
        raise errors.bad_request("the patch did not produce an object")
    if t.subresource == "scale":
        return _write_scale(call, store, current=current, new_scale=patched)
    md = patched.setdefault("metadata", {})
    if isinstance(md, dict):
        md = patched["metadata"] = dict(md)  # never the stored object's own metadata
    if md.get("name") != t.name:
        raise errors.bad_request(
            f"the name of the object ({md.get('name')}) does not match the name on the URL ({t.name})"
        )
    if md.get("resourceVersion") is None:
        md["resourceVersion"] = ""
    obj = store.update(
        t.rtype,
        patched,
        subresource=t.subresource,
        dry_run=call.dry_run,
        manager=call.field_manager(),
        validate=True,
        copy=False,
    )
    return respond(render(t.rtype, obj))


def _write_scale(
    call: Call, store: Store, *, current: Obj, new_scale: Obj, apply_manager: str = "", force: bool = False
) -> web.Response:
    """A write to ``/scale``: the parent's replica count, with managedFields mapped as
    kube-apiserver's scale handler does (the writer owns ``spec.replicas`` with ``subresource:
    scale``; an apply conflicts with the parent's other owners of the replica count)."""
    t = call.target
    assert t.name is not None
    replicas = (new_scale.get("spec") or {}).get("replicas", 0)
    if isinstance(replicas, int) and not isinstance(replicas, bool) and replicas < 0:
        raise errors.invalid(
            group="autoscaling",
            kind="Scale",
            name=t.name,
            causes=[
                errors.field_cause(
                    kind="Invalid",
                    field="spec.replicas",
                    value=replicas,
                    detail="must be greater than or equal to 0",
                )
            ],
        )
    old_scale = scale.to_scale(t.rtype, current)
    if apply_manager:
        merged = ssa.apply(
            old_scale, new_scale, manager=apply_manager, force=force, now=meta.now(), subresource="scale"
        )
        entries = list((merged.get("metadata") or {}).get("managedFields") or [])
        new_scale, manager, operation = merged, apply_manager, "Apply"
    else:
        manager, operation = call.field_manager() or "unknown", "Update"
        entries = ssa.record_update(
            old_scale, new_scale, manager=manager, now=meta.now(), subresource="scale"
        )
    parent = scale.apply_scale(t.rtype, current, scale=new_scale)
    parent["metadata"]["managedFields"] = scale.parent_managed_fields(t.rtype, current, scale_entries=entries)
    obj = store.update(
        t.rtype,
        parent,
        dry_run=call.dry_run,
        manager=manager,
        operation=operation,
        validate=True,
        copy=False,
        fields_recorded=True,
    )
    return respond(scale.to_scale(t.rtype, obj))


async def _apply(call: Call, store: Store) -> web.Response:
    t = call.target
    assert t.name is not None
    manager = call.query("fieldManager")
    if not manager:
        raise errors.invalid(
            group="meta.k8s.io",
            kind="PatchOptions",
            name="",
            causes=[
                errors.field_cause(
                    kind="Required", field="fieldManager", detail="is required for apply patch"
                )
            ],
        )
    body = await read_body(call.request, yaml_ok=True)
    if not isinstance(body, dict):
        raise errors.bad_request("error decoding YAML: the apply configuration must be an object")
    for field in ("apiVersion", "kind"):
        if not body.get(field):
            raise errors.bad_request(
                f"invalid object type: /, Kind={body.get('kind', '')}"
                if field == "kind"
                else "apiVersion must be set"
            )
    md = body.setdefault("metadata", {})
    if md.get("name") and md["name"] != t.name:
        raise errors.bad_request(
            f"the name of the object ({md['name']}) does not match the name on the URL ({t.name})"
        )
    md["name"] = t.name
    if t.rtype.namespaced:
        md["namespace"] = t.namespace
    force = call.flag("force")
    live = store.peek(t.rtype, t.name, t.namespace)
    subresource = t.subresource if t.subresource == "status" else None
    try:
        if t.subresource == "scale":
            return _write_scale(
                call, store, current=_current(call, store), new_scale=body, apply_manager=manager, force=force
            )
        merged = ssa.apply(
            None if live is None else render(t.rtype, live),  # read-only: ssa.apply copies what it changes
            body,
            manager=manager,
            force=force,
            now=meta.now(),
            schema=t.rtype.schema,
            subresource=subresource,
            share=bool(t.rtype.crd),  # what the store and admission change in place is new
        )
    except ssa.ApplyConflict as exc:
        causes = [
            {
                "reason": c.get("reason") or c.get("type", "FieldManagerConflict"),
                "message": c.get("message", ""),
                "field": c.get("field", ""),
            }
            for c in exc.causes
        ]
        details: Obj = {"name": t.name}
        if t.rtype.group:
            details["group"] = t.rtype.group
        details.update({"kind": t.rtype.plural, "causes": causes})
        raise errors.ApiError(code=409, reason="Conflict", message=exc.message, details=details) from None
    if live is None:
        if t.subresource:
            raise errors.not_found(group=t.rtype.group, plural=t.rtype.plural, name=t.name)
        obj = store.create(
            t.rtype,
            merged,
            namespace=t.namespace,
            dry_run=call.dry_run,
            manager=manager,
            operation="Apply",
            validate=True,
            copy=False,
        )
        return respond(render(t.rtype, obj), status=201)
    obj = store.update(
        t.rtype,
        merged,
        subresource=subresource,
        dry_run=call.dry_run,
        manager=manager,
        operation="Apply",
        validate=True,
        copy=False,
    )
    return respond(render(t.rtype, obj))


async def _delete_options(call: Call) -> tuple[str | None, Obj | None, bool]:
    body = await read_body(call.request)
    opts = body if isinstance(body, dict) else {}
    propagation = call.query("propagationPolicy") or opts.get("propagationPolicy")
    orphan = call.query("orphanDependents") or opts.get("orphanDependents")
    if propagation is None and (orphan is True or (isinstance(orphan, str) and flag(orphan))):
        propagation = "Orphan"
    if propagation not in (None, "Foreground", "Background", "Orphan"):
        raise errors.invalid(
            group="meta.k8s.io",
            kind="DeleteOptions",
            name="",
            causes=[
                errors.field_cause(
                    kind="NotSupported",
                    field="propagationPolicy",
                    value=propagation,
                    detail='supported values: "Foreground", "Background", "Orphan", "nil"',
                )
            ],
        )
    dry = call.dry_run or "All" in (opts.get("dryRun") or [])
    return propagation, opts.get("preconditions"), dry


async def delete(call: Call, store: Store) -> web.Response:
    t = call.target
    assert t.name is not None
    propagation, preconditions, dry = await _delete_options(call)
    obj, deleted = store.delete(
        t.rtype,
        t.name,
        namespace=t.namespace,
        propagation=propagation,
        preconditions=preconditions,
        dry_run=dry,
        copy=False,
    )
    if deleted and not t.rtype.crd:
        details: Obj = {"name": t.name}
        if t.rtype.group:
            details["group"] = t.rtype.group
        details.update({"kind": t.rtype.plural, "uid": obj["metadata"]["uid"]})
        return respond(
            {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
        )
    # 202 only for the legacy orphanDependents=false, exactly as kube-apiserver decides it
    body = await read_body(call.request)
    legacy = (body or {}).get("orphanDependents") if isinstance(body, dict) else None
    accepted = not deleted and (legacy is False or call.query("orphanDependents") in ("false", "False", "0"))
    return respond(render(t.rtype, obj), status=202 if accepted else 200)


async def delete_collection(call: Call, store: Store) -> web.Response:
    from kubesim.reads import selected

    t = call.target
    propagation, _, dry = await _delete_options(call)
    items, _, _ = selected(call, store)
    out = []
    for obj in list(items):
        md = obj["metadata"]
        try:
            gone, _ = store.delete(
                t.rtype,
                md["name"],
                namespace=md.get("namespace"),
                propagation=propagation,
                dry_run=dry,
                copy=False,
            )
        except errors.ApiError:
            continue
        out.append(render(t.rtype, gone))
    return respond(
        {
            "kind": f"{t.rtype.kind}List",
            "apiVersion": t.rtype.api_version,
            "metadata": {"resourceVersion": str(store.rv)},
            "items": out,
        }
    )
