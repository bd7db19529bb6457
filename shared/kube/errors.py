"""Waybill's own Kubernetes error hierarchy.

Every failure of a :class:`~shared.kube.client.KubeClient` call surfaces as an :class:`ApiError`
subclass, built from the ``metav1.Status`` body the API server sent (``status_error``), or from a
transport failure (``ConnectionFailed``, ``Timeout``). Callers catch these, never the HTTP
library's exceptions.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AlreadyExists",
    "ApiError",
    "BadRequest",
    "ConfigError",
    "Conflict",
    "ConnectionFailed",
    "Forbidden",
    "Gone",
    "Invalid",
    "NotFound",
    "ServerError",
    "Timeout",
    "TooManyRequests",
    "Unauthorized",
    "status_error",
]


class ApiError(Exception):
    """An error answered by (or on the way to) a Kubernetes API server.

    ``status`` is the HTTP code (0 when no response arrived), ``reason`` the Status reason
    (``NotFound``, ``AlreadyExists``, ``Conflict``, ``Invalid``, ...), ``details`` the Status
    details dict (``name``, ``kind``, ``causes``, ...).
    """

    default_status = 0
    default_reason = "Unknown"

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status: int = self.default_status if status is None else status
        self.reason: str = reason or self.default_reason
        self.message: str = message
        self.details: dict[str, Any] = details or {}

    @property
    def causes(self) -> list[dict[str, Any]]:
        """The Status ``details.causes`` (field errors of an ``Invalid``), possibly empty."""
        causes = self.details.get("causes")
        return list(causes) if isinstance(causes, list) else []

    def __str__(self) -> str:
        return f"{self.status} {self.reason}: {self.message}"

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(status={self.status}, reason={self.reason!r}, message={self.message!r})"


class BadRequest(ApiError):
    """400: the request was malformed (bad patch, bad selector, ...)."""

    default_status = 400
    default_reason = "BadRequest"


class Unauthorized(ApiError):
    """401: the credentials were not accepted."""

    default_status = 401
    default_reason = "Unauthorized"


class Forbidden(ApiError):
    """403: the identity may not do this (RBAC)."""

    default_status = 403
    default_reason = "Forbidden"


class NotFound(ApiError):
    """404: the object (or its namespace, or its kind) does not exist."""

    default_status = 404
    default_reason = "NotFound"


class Conflict(ApiError):
    """409: stale ``resourceVersion``, or a server-side apply field conflict."""

    default_status = 409
    default_reason = "Conflict"


class AlreadyExists(ApiError):
    """409 ``AlreadyExists``: a create found an object of that name."""

    default_status = 409
    default_reason = "AlreadyExists"


class Gone(ApiError):
    """410: the resourceVersion is too old (watch/list continue): relist."""

    default_status = 410
    default_reason = "Expired"


class Invalid(ApiError):
    """422: the object failed validation; ``causes`` names the fields."""

    default_status = 422
    default_reason = "Invalid"


class TooManyRequests(ApiError):
    """429: throttled; ``retry_after`` is the server's ``Retry-After`` in seconds, if given."""

    default_status = 429
    default_reason = "TooManyRequests"

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, reason=reason, details=details)
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx: the server failed; ``retry_after`` as for :class:`TooManyRequests`."""

    default_status = 500
    default_reason = "InternalError"

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, reason=reason, details=details)
        self.retry_after = retry_after


class Timeout(ApiError):
    """The request timed out: on the client (status 0) or the server's 504 ``Timeout``."""

    default_status = 0
    default_reason = "Timeout"


class ConnectionFailed(ApiError):
    """No usable response: refused, reset, or closed mid-way.

    ``sent`` is False only when the request certainly never reached the server (connect
    failed), so even a non-idempotent request may be retried safely.
    """

    default_status = 0
    default_reason = "ConnectionFailed"

    def __init__(self, message: str = "", *, sent: bool = True) -> None:
        super().__init__(message)
        self.sent = sent


class ConfigError(Exception):
    """A kubeconfig (or in-cluster configuration) that cannot be used: missing, unreadable, invalid."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    422: Invalid,
    429: TooManyRequests,
}


def status_error(
    status: int,
    body: dict[str, Any] | None,
    *,
    retry_after: float | None = None,
) -> ApiError:
    """The :class:`ApiError` for an HTTP ``status`` and its (possibly missing) Status ``body``."""
    body = body if isinstance(body, dict) else {}
    code = body.get("code")
    if isinstance(code, int) and code > 0 and status == 0:
        status = code
    reason = str(body.get("reason") or "") or None
    message = str(body.get("message") or "") or f"HTTP {status}"
    details = body.get("details") if isinstance(body.get("details"), dict) else None
    if status == 409 and reason == "AlreadyExists":
        return AlreadyExists(message, status=status, reason=reason, details=details)
    if status == 504 or (status >= 500 and reason == "Timeout"):
        return Timeout(message, status=status, reason=reason or "Timeout", details=details)
    if status == 429:
        return TooManyRequests(
            message, status=status, reason=reason, details=details, retry_after=retry_after
        )
    if status >= 500:
        return ServerError(message, status=status, reason=reason, details=details, retry_after=retry_after)
    cls = _BY_STATUS.get(status, ApiError)
    return cls(message, status=status, reason=reason, details=details)
