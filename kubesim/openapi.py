"""OpenAPI v3 documents, just enough for kubectl.

kubectl uses ``/openapi/v3`` for three things: server-side field validation support (a PATCH
operation carrying the ``fieldValidation`` query parameter), strategic-merge metadata for
client-side apply (we list no strategic-merge content type, so kubectl falls back to its
compiled-in Go structs for built-ins and to merge patch for custom resources) and
``kubectl explain`` (component schemas tagged ``x-kubernetes-group-version-kind``; full for
CRDs; for built-ins the ``kubesim.gotypes`` tables the server decodes bodies with, else
skeletal). ``/openapi/v2`` answers 404, as kubectl tolerates.
Built-in documents are computed once per process and shared by every server.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from kubesim import gotypes
from kubesim.registry import Registry, ResourceType

Obj = dict[str, Any]

_PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml")
_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


def gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _schema_name(t: ResourceType) -> str:
    if t.crd:
        return ".".join(reversed(t.group.split("."))) + f".{t.version}.{t.kind}"
    group = t.group.split(".")[0] if t.group else "core"
    return f"io.k8s.api.{group}.{t.version}.{t.kind}"


def _gvk(t: ResourceType) -> list[Obj]:
    return [{"group": t.group, "version": t.version, "kind": t.kind}]


def _paths(t: ResourceType) -> Obj:
    base = "/" + gv_path(t.group, t.version)
    if t.namespaced:
        base += "/namespaces/{namespace}"
    ref = {"$ref": f"#/components/schemas/{_schema_name(t)}"}
    params = [
        {"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
        for n in ("dryRun", "fieldManager", "fieldValidation")
    ] + [{"name": "force", "in": "query", "schema": {"type": "boolean", "uniqueItems": True}}]
    ext = {"x-kubernetes-group-version-kind": _gvk(t)[0]}
    ok = {"200": {"description": "OK", "content": {"application/json": {"schema": ref}}}}
    item: Obj = {
        "get": {"operationId": f"read{t.kind}", "responses": ok, **ext, "x-kubernetes-action": "get"},
        "put": {
            "operationId": f"replace{t.kind}",
            "parameters": params[:3],
            "responses": ok,
            **ext,
            "x-kubernetes-action": "put",
            "requestBody": {"content": {"*/*": {"schema": ref}}},
        },
        "patch": {
            "operationId": f"patch{t.kind}",
            "parameters": params,
            "requestBody": {"content": {ct: {"schema": {"type": "object"}} for ct in _PATCH_TYPES}},
            "responses": ok,
            **ext,
            "x-kubernetes-action": "patch",
        },
        "delete": {"operationId": f"delete{t.kind}", "responses": ok, **ext, "x-kubernetes-action": "delete"},
    }
    collection: Obj = {
        "get": {"operationId": f"list{t.kind}", "responses": ok, **ext, "x-kubernetes-action": "list"},
        "post": {
            "operationId": f"create{t.kind}",
            "parameters": params[:3],
            "responses": ok,
            **ext,
            "x-kubernetes-action": "post",
            "requestBody": {"content": {"*/*": {"schema": ref}}},
        },
    }
    return {f"{base}/{t.plural}": collection, f"{base}/{t.plural}/{{name}}": item}


def _component(t: ResourceType) -> Obj:
    schema: Obj
    typed = None if t.schema else gotypes.openapi_schema(t)
    if t.schema:
        schema = json.loads(json.dumps(t.schema))
        schema.setdefault("type", "object")
        props = schema.setdefault("properties", {})
    elif typed is not None:  # the same types the server decodes bodies into (kubesim.gotypes)
        schema = typed
        props = schema["properties"]
        if t.has_status:
            props["status"] = {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": True,
                "description": f"Observed state of the {t.kind}.",
            }
    else:
        schema = {"type": "object", "description": f"{t.kind} (detailed schema not published by kubesim)"}
        props = schema["properties"] = {
            "spec": {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": True,
                "description": f"Desired state of the {t.kind}.",
            },
            "status": {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": True,
                "description": f"Observed state of the {t.kind}.",
            },
        }
    props["apiVersion"] = {
        "type": "string",
        "description": "APIVersion defines the versioned schema of this representation of an object.",
    }
    props["kind"] = {
        "type": "string",
        "description": "Kind is a string value representing the REST resource this object represents.",
    }
    props["metadata"] = {
        "allOf": [{"$ref": f"#/components/schemas/{_OBJECT_META}"}],
        "description": "Standard object's metadata.",
    }
    schema["x-kubernetes-group-version-kind"] = _gvk(t)
    return schema


_META_SCHEMA: Obj = {
    "type": "object",
    "description": "ObjectMeta is metadata that all persisted resources must have.",
    "properties": {
        "name": {"type": "string", "description": "Name must be unique within a namespace."},
        "namespace": {
            "type": "string",
            "description": "Namespace defines the space within which each name must be unique.",
        },
        "labels": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "Map of string keys and values.",
        },
        "annotations": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "Annotations is an unstructured key value map.",
        },
        "uid": {"type": "string"},
        "resourceVersion": {"type": "string"},
        "generation": {"type": "integer", "format": "int64"},
        "creationTimestamp": {"type": "string", "format": "date-time"},
        "deletionTimestamp": {"type": "string", "format": "date-time"},
        "finalizers": {"type": "array", "items": {"type": "string"}},
        "ownerReferences": {"type": "array", "items": {"type": "object"}},
        "managedFields": {"type": "array", "items": {"type": "object"}},
    },
}


def document(types: list[ResourceType]) -> Obj:
    paths: Obj = {}
    schemas: Obj = {_OBJECT_META: _META_SCHEMA}
    for t in types:
        if "get" not in t.verbs:
            continue
        paths.update(_paths(t))
        schemas[_schema_name(t)] = _component(t)
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.34.1+kubesim"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


@functools.lru_cache(maxsize=64)
def _builtin_document(group: str, version: str) -> bytes:
    return json.dumps(document(Registry().resources(group, version))).encode()


def document_bytes(registry: Registry, *, group: str, version: str) -> bytes | None:
    types = registry.resources(group, version)
    if not types:
        return None
    if not any(t.crd for t in types):
        return _builtin_document(group, version)
    return json.dumps(document(types)).encode()


def root(registry: Registry) -> Obj:
    paths: Obj = {}
    gvs = [("", "v1")] + [(g, v) for g, vs in registry.groups() for v in vs]
    for group, version in gvs:
        body = document_bytes(registry, group=group, version=version) or b""
        digest = hashlib.sha256(body).hexdigest()[:32].upper()
        path = gv_path(group, version)
        paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
    return {"paths": paths}
