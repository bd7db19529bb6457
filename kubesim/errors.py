"""API errors as kube-apiserver words them: every failure becomes a ``metav1.Status`` body.

Each constructor reproduces the message, ``reason``, ``code`` and ``details`` that
``k8s.io/apimachinery/pkg/api/errors`` produces for the same situation, because clients
(kubectl, kubernetes-asyncio, Waybill's own error mapping) branch on them.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A failed request; ``status()`` is the ``metav1.Status`` body sent to the client."""

    def __init__(
        self,
        *,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
        }
        if self.reason:
            body["reason"] = self.reason
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


def qualified(group: str, plural: str) -> str:
    """``deployments.apps`` / ``configmaps``: the resource name used in messages."""
    return f"{plural}.{group}" if group else plural


def _details(*, name: str | None, group: str, kind: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if name:
        out["name"] = name
    if group:
        out["group"] = group
    out["kind"] = kind
    return out


def not_found(*, group: str, plural: str, name: str) -> ApiError:
    return ApiError(
        code=404,
        reason="NotFound",
        message=f'{qualified(group, plural)} "{name}" not found',
        details=_details(name=name, group=group, kind=plural),
    )


def resource_not_found() -> ApiError:
    return ApiError(
        code=404,
        reason="NotFound",
        message="the server could not find the requested resource",
        details={},
    )


def already_exists(*, group: str, plural: str, name: str) -> ApiError:
    return ApiError(
        code=409,
        reason="AlreadyExists",
        message=f'{qualified(group, plural)} "{name}" already exists',
        details=_details(name=name, group=group, kind=plural),
    )


def conflict(*, group: str, plural: str, name: str, why: str) -> ApiError:
    return ApiError(
        code=409,
        reason="Conflict",
        message=f'Operation cannot be fulfilled on {qualified(group, plural)} "{name}": {why}',
        details=_details(name=name, group=group, kind=plural),
    )


STALE = "the object has been modified; please apply your changes to the latest version and try again"


def stale(*, group: str, plural: str, name: str) -> ApiError:
    return conflict(group=group, plural=plural, name=name, why=STALE)


def invalid(*, group: str, kind: str, name: str, causes: list[dict[str, str]]) -> ApiError:
    """422 Invalid: causes are ``{"reason", "message", "field"}`` dicts (FieldValueInvalid, ...)."""
    summary = ", ".join(f"{c['field']}: {c['message']}" if c.get("field") else c["message"] for c in causes)
    if len(causes) > 1:
        summary = f"[{summary}]"
    qkind = f"{kind}.{group}" if group else kind
    return ApiError(
        code=422,
        reason="Invalid",
        message=f'{qkind} "{name}" is invalid: {summary}',
        details={**_details(name=name, group=group, kind=kind), "causes": causes},
    )


def field_cause(*, kind: str, field: str, detail: str, value: Any = None) -> dict[str, str]:
    """One ``details.causes`` entry; ``kind`` is Invalid, Required, Forbidden, NotSupported, ..."""
    reason = {
        "Invalid": "FieldValueInvalid",
        "Required": "FieldValueRequired",
        "Forbidden": "FieldValueForbidden",
        "NotSupported": "FieldValueNotSupported",
        "Duplicate": "FieldValueDuplicate",
        "TypeInvalid": "FieldValueTypeInvalid",
        "TooLong": "FieldValueTooLong",
        "TooMany": "FieldValueTooMany",
    }.get(kind, "FieldValueInvalid")
    label = {
        "Invalid": "Invalid value",
        "Required": "Required value",
        "Forbidden": "Forbidden",
        "NotSupported": "Unsupported value",
        "Duplicate": "Duplicate value",
        "TypeInvalid": "Invalid value",
        "TooLong": "Too long",
        "TooMany": "Too many",
    }.get(kind, "Invalid value")
    if kind in ("Invalid", "NotSupported", "Duplicate", "TypeInvalid"):
        message = f"{label}: {_render(value)}: {detail}" if detail else f"{label}: {_render(value)}"
    else:
        message = f"{label}: {detail}" if detail else label
    return {"reason": reason, "message": message, "field": field}


def _render(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return '"object"' if isinstance(value, dict) else '"array"'
    return str(value)


def bad_request(message: str) -> ApiError:
    return ApiError(code=400, reason="BadRequest", message=message)


def method_not_allowed() -> ApiError:
    return ApiError(
        code=405,
        reason="MethodNotAllowed",
        message="the server does not allow this method on the requested resource",
        details={},
    )


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(
        code=415,
        reason="UnsupportedMediaType",
        message=f"the body of the request was in an unknown format - accepted media types include: "
        f"application/json-patch+json, application/merge-patch+json, "
        f'application/apply-patch+yaml, application/strategic-merge-patch+json (got "{content_type}")',
    )


def forbidden(*, group: str, plural: str, name: str | None, message: str) -> ApiError:
    return ApiError(
        code=403,
        reason="Forbidden",
        message=message,
        details=_details(name=name, group=group, kind=plural),
    )


def unauthorized() -> ApiError:
    return ApiError(code=401, reason="Unauthorized", message="Unauthorized")


def expired(message: str) -> ApiError:
    return ApiError(code=410, reason="Expired", message=message)


def gone(message: str) -> ApiError:
    return ApiError(code=410, reason="Gone", message=message)


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(
        code=429,
        reason="TooManyRequests",
        message="Too many requests, please try again later.",
        details={"retryAfterSeconds": retry_after},
        headers={"Retry-After": str(retry_after)},
    )


def internal_error(message: str) -> ApiError:
    return ApiError(
        code=500,
        reason="InternalError",
        message=f"Internal error occurred: {message}",
        details={"causes": [{"message": message}]},
    )


def service_unavailable(message: str = "the server is currently unable to handle the request") -> ApiError:
    return ApiError(code=503, reason="ServiceUnavailable", message=message)
