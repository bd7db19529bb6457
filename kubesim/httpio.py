"""HTTP plumbing shared by the handlers: request context, JSON in/out, query options, paths."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml
from aiohttp import web

from kubesim import encoding, errors, protobuf
from kubesim.auth import User
from kubesim.registry import Registry, ResourceType

Obj = dict[str, Any]
TABLE = "as=Table"
NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


@dataclass(slots=True)
class Target:
    """The resource a request addresses."""

    rtype: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None


@dataclass(slots=True)
class Call:
    """One API request after routing and authentication."""

    request: web.Request
    user: User
    target: Target
    verb: str  # kube verb: get list watch create update patch delete deletecollection

    def query(self, key: str, default: str = "") -> str:
        return self.request.query.get(key, default)

    def flag(self, key: str) -> bool:
        return flag(self.request.query.get(key))

    @property
    def dry_run(self) -> bool:
        values = self.request.query.getall("dryRun", [])
        for v in values:
            if v != "All":
                raise errors.invalid(
                    group="meta.k8s.io",
                    kind="CreateOptions",
                    name="",
                    causes=[
                        errors.field_cause(
                            kind="NotSupported", field="dryRun", value=v, detail='supported values: "All"'
                        )
                    ],
                )
        return bool(values)

    def field_manager(self, default: str = "") -> str:
        manager = self.query("fieldManager")
        if manager:
            return manager
        agent = self.request.headers.get("User-Agent", "")
        return agent.split("/", 1)[0] or default or "unknown"


def parse_path(parts: list[str], registry: Registry, *, group: str, version: str) -> Target | None:
    """Resolve ``[namespaces/<ns>/]<resource>[/<name>[/<sub>]]`` under one group/version."""
    namespace: str | None = None
    if parts and parts[0] == "namespaces" and len(parts) > 2 and parts[2] not in NAMESPACE_SUBRESOURCES:
        namespace = parts[1]
        parts = parts[2:]
    if not parts or len(parts) > 3:
        return None
    rtype = registry.lookup(group, version, parts[0])
    if rtype is None:
        return None
    if namespace is not None and not rtype.namespaced:
        return None
    name = parts[1] if len(parts) > 1 else None
    sub = parts[2] if len(parts) > 2 else None
    if sub is not None and sub not in rtype.subresources:
        return None
    return Target(rtype, namespace, name, sub)


def request_attributes(parts: list[str]) -> tuple[str | None, str, str | None, str | None]:
    """``(namespace, resource, name, subresource)`` of a resource path, known type or not (for authz)."""
    namespace: str | None = None
    if parts and parts[0] == "namespaces" and len(parts) > 2 and parts[2] not in NAMESPACE_SUBRESOURCES:
        namespace, parts = parts[1], parts[2:]
    padded = [*parts, "", "", ""]
    return namespace, padded[0], padded[1] or None, padded[2] or None


TRUE = frozenset({"1", "t", "T", "true", "TRUE", "True"})


def flag(value: str | None) -> bool:
    """A boolean query parameter as Go's strconv.ParseBool reads it."""
    return value in TRUE


def dumps(obj: Any) -> bytes:
    return encoding.dumps(obj)


def respond(obj: Any, *, status: int = 200, content_type: str = "application/json") -> web.Response:
    return web.Response(body=dumps(obj), status=status, headers={"Content-Type": content_type})


def error_response(exc: errors.ApiError) -> web.Response:
    response = respond(exc.status(), status=exc.code)
    for k, v in exc.headers.items():
        response.headers[k] = v
    return response


PROTOBUF = "application/vnd.kubernetes.protobuf"
MAX_BODY = 3 * 1024 * 1024  # kube-apiserver's request body limit


def _too_large() -> errors.ApiError:
    return errors.ApiError(
        code=413, reason="RequestEntityTooLarge", message=f"Request entity too large: limit is {MAX_BODY}"
    )


async def read_body(request: web.Request, *, yaml_ok: bool = False) -> Any:
    content_type = request.headers.get("Content-Type", "")
    if content_type.startswith(PROTOBUF):
        try:
            return protobuf.decode(await request.read())
        except protobuf.Unsupported:
            pass
    if content_type.startswith((PROTOBUF, "application/cbor")):
        raise errors.ApiError(
            code=415,
            reason="UnsupportedMediaType",
            message=f"the body of the request was in an unknown format - accepted media types include: "
            f'application/json, application/yaml (got "{content_type}")',
        )
    if (request.content_length or 0) > MAX_BODY:
        raise _too_large()
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise _too_large() from None
    if len(raw) > MAX_BODY:
        raise _too_large()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        if yaml_ok:
            try:
                return yaml.safe_load(raw)
            except yaml.YAMLError as exc:
                raise errors.bad_request(f"error decoding YAML: {exc}") from None
        try:
            return yaml.safe_load(raw)
        except yaml.YAMLError:
            pass
        raise errors.bad_request(
            "the object provided is unrecognized (must be of type "
            f"{request.path.rsplit('/', 1)[-1]}): couldn't get version/kind; json parse error"
        ) from None


async def read_object(call: Call) -> Obj:
    body = await read_body(call.request)
    if not isinstance(body, dict):
        raise errors.bad_request("the body of the request was in an unknown format")
    rtype = call.target.rtype
    api_version = body.get("apiVersion")
    if api_version and call.target.subresource is None and api_version != rtype.api_version:
        raise errors.bad_request(
            f"the API version in the data ({api_version}) does not match the expected API version "
            f"({rtype.api_version})"
        )
    kind = body.get("kind")
    if kind and call.target.subresource is None and kind != rtype.kind:
        raise errors.bad_request(
            f"the kind in the data ({kind}) does not match the expected kind ({rtype.kind})"
        )
    return body


def wants_table(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return TABLE in accept and "g=meta.k8s.io" in accept


def wants_metadata(request: web.Request) -> str:
    """ "PartialObjectMetadata" / "PartialObjectMetadataList" when asked for, else ""."""
    accept = request.headers.get("Accept", "")
    if "as=PartialObjectMetadataList" in accept:
        return "PartialObjectMetadataList"
    if "as=PartialObjectMetadata" in accept:
        return "PartialObjectMetadata"
    return ""
