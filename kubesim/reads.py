"""GET handlers: read one object, LIST (selectors, pagination, resourceVersion) and WATCH.

Objects can come back as JSON, as a ``meta.k8s.io/v1`` Table (``kubectl get``), or as
PartialObjectMetadata; a list's continue token encodes the list's resourceVersion and the last
key returned.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from aiohttp import web

from kubesim import encoding, errors, selectors, tables, watching
from kubesim.httpio import Call, respond, wants_metadata, wants_table
from kubesim.registry import ResourceType
from kubesim.store import Store

Obj = dict[str, Any]


def render(rtype: ResourceType, obj: Obj) -> Obj:
    """An object as served at ``rtype``'s version (shallow: only apiVersion changes)."""
    if obj.get("apiVersion") == rtype.api_version:
        return obj
    return {**obj, "apiVersion": rtype.api_version}


def _partial(obj: Obj) -> Obj:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}


def get(call: Call, store: Store) -> web.Response:
    t = call.target
    assert t.name is not None
    obj = store.peek(t.rtype, t.name, t.namespace)
    if obj is None:
        raise errors.not_found(group=t.rtype.group, plural=t.rtype.plural, name=t.name)
    if t.subresource == "scale":
        from kubesim import scale

        return respond(scale.to_scale(t.rtype, obj))
    if wants_table(call.request):
        return respond(
            tables.table(
                t.rtype,
                [render(t.rtype, obj)],
                rv=obj["metadata"]["resourceVersion"],
                include=call.query("includeObject", "Metadata"),
            )
        )
    if wants_metadata(call.request):
        return respond(_partial(obj))
    return respond(render(t.rtype, obj))


def _encode_continue(rv: int, start: str, snapshot: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start, "snap": snapshot}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_continue(token: str) -> tuple[int, str, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode() + b"=="))
        return int(data["rv"]), str(data["start"]), str(data.get("snap", ""))
    except (ValueError, KeyError, TypeError):
        raise errors.bad_request(
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"
        ) from None


def selected(
    call: Call, store: Store
) -> tuple[list[Obj], list[selectors.Requirement], list[selectors.FieldRequirement]]:
    t = call.target
    labels = selectors.parse_labels(call.query("labelSelector"))
    fields = selectors.parse_fields(
        call.query("fieldSelector"),
        group=t.rtype.group,
        plural=t.rtype.plural,
        extra=t.rtype.selectable_fields,
    )
    items = [
        o
        for o in store.scan(t.rtype, t.namespace)
        if selectors.match_labels(labels, o["metadata"].get("labels")) and selectors.match_fields(fields, o)
    ]
    return items, labels, fields


def list_(call: Call, store: Store) -> web.Response:
    t = call.target
    rv_param = call.query("resourceVersion")
    match = call.query("resourceVersionMatch")
    if match and not rv_param:
        raise errors.invalid(
            group="meta.k8s.io",
            kind="ListOptions",
            name="",
            causes=[
                errors.field_cause(
                    kind="Forbidden",
                    field="resourceVersionMatch",
                    detail="resourceVersionMatch is forbidden unless resourceVersion is provided",
                )
            ],
        )
    if rv_param and rv_param != "0":
        try:
            wanted = int(rv_param)
        except ValueError:
            raise errors.bad_request(f"invalid resource version: {rv_param}") from None
        if wanted > store.rv:
            raise errors.ApiError(
                code=504,
                reason="Timeout",
                message=f"Too large resource version: {wanted}, current: {store.rv}",
                details={
                    "causes": [
                        {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
                    ],
                    "retryAfterSeconds": 1,
                },
            )
        if match == "Exact" and wanted != store.rv:
            raise errors.expired("The resourceVersion for the provided list is too old.")
    list_rv = store.rv
    token = call.query("continue")
    snapshot = ""
    if token:
        list_rv, start, snapshot = _decode_continue(token)
        pinned = store.list_snapshots.get(snapshot)
        if pinned is not None:  # the consistent view taken at the first page's resourceVersion
            items = [o for o in pinned if _key(o) > start]
        elif list_rv < store.oldest_rv(t.rtype.key):
            raise errors.expired(
                "The provided continue parameter is too old to display a consistent list result. You can "
                "start a new list without the continue parameter, or use the continue value from this "
                "response."
            )
        else:
            items = [o for o in selected(call, store)[0] if _key(o) > start]
    else:
        items = selected(call, store)[0]
    limit = int(call.query("limit") or 0)
    cont, remaining = "", None
    if limit > 0 and len(items) > limit:
        if not snapshot or snapshot not in store.list_snapshots:
            snapshot = store.pin_list(items)
        remaining = len(items) - limit
        items = items[:limit]
        cont = _encode_continue(list_rv, _key(items[-1]), snapshot)
    if wants_table(call.request):
        return respond(
            tables.table(
                t.rtype,
                [render(t.rtype, o) for o in items],
                rv=str(list_rv),
                include=call.query("includeObject", "Metadata"),
                cont=cont,
                remaining=remaining,
            )
        )
    md: Obj = {"resourceVersion": str(list_rv)}
    if cont:
        md["continue"] = cont
        md["remainingItemCount"] = remaining
    if wants_metadata(call.request):
        return respond(
            {
                "kind": "PartialObjectMetadataList",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": md,
                "items": [_partial(o) for o in items],
            }
        )
    head = {"kind": f"{t.rtype.kind}List", "apiVersion": t.rtype.api_version, "metadata": md}
    body = encoding.dumps_list(head, [render(t.rtype, o) for o in items])
    return web.Response(body=body, status=200, headers={"Content-Type": "application/json"})


def _key(obj: Obj) -> str:
    md = obj["metadata"]
    return f"{md.get('namespace', '')}/{md['name']}"


async def watch(
    call: Call, store: Store, *, bookmark_interval: float, stream_fault: Any, streams: Any = None
) -> web.StreamResponse:
    t = call.target
    labels = selectors.parse_labels(call.query("labelSelector"))
    fields = selectors.parse_fields(
        call.query("fieldSelector"),
        group=t.rtype.group,
        plural=t.rtype.plural,
        extra=t.rtype.selectable_fields,
    )
    timeout = call.query("timeoutSeconds")
    spec = watching.WatchSpec(
        rtype=t.rtype,
        namespace=t.namespace,
        labels=labels,
        fields=fields,
        resource_version=call.query("resourceVersion"),
        bookmarks=call.flag("allowWatchBookmarks"),
        timeout=float(timeout) if timeout else None,
        send_initial=call.flag("sendInitialEvents"),
        name=t.name,
    )
    as_table = wants_table(call.request)
    include = call.query("includeObject", "Metadata")

    def out(obj: Obj) -> Obj:
        obj = render(t.rtype, obj)
        if as_table:
            return tables.table(
                t.rtype, [obj], rv=obj["metadata"].get("resourceVersion", ""), include=include
            )
        return obj

    return await watching.serve(
        call.request,
        store=store,
        spec=spec,
        render=out,
        bookmark_interval=bookmark_interval,
        stream_faults=stream_fault,
        streams=streams,
    )
