"""Status bodies become Waybill's own error classes."""

from __future__ import annotations

import pytest

from shared.kube.errors import (
    AlreadyExists,
    ApiError,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    ServerError,
    Timeout,
    TooManyRequests,
    status_error,
)


@pytest.mark.parametrize(
    ("status", "reason", "cls"),
    [
        (404, "NotFound", NotFound),
        (409, "AlreadyExists", AlreadyExists),
        (409, "Conflict", Conflict),
        (410, "Expired", Gone),
        (410, "Gone", Gone),
        (422, "Invalid", Invalid),
        (403, "Forbidden", Forbidden),
        (429, "TooManyRequests", TooManyRequests),
        (500, "InternalError", ServerError),
        (503, "ServiceUnavailable", ServerError),
        (504, "Timeout", Timeout),
        (418, "Teapot", ApiError),
    ],
)
def test_status_maps_to_class(status: int, reason: str, cls: type[ApiError]) -> None:
    error = status_error(status, {"kind": "Status", "code": status, "reason": reason, "message": "m"})
    assert type(error) is cls
    assert (error.status, error.reason, error.message) == (status, reason, "m")


def test_details_and_causes_are_kept() -> None:
    body = {
        "code": 422,
        "reason": "Invalid",
        "message": "bad",
        "details": {"name": "x", "causes": [{"field": "spec.replicas", "reason": "FieldValueInvalid"}]},
    }
    error = status_error(422, body)
    assert error.details["name"] == "x"
    assert error.causes == [{"field": "spec.replicas", "reason": "FieldValueInvalid"}]


def test_missing_body_still_maps() -> None:
    error = status_error(404, None)
    assert isinstance(error, NotFound)
    assert error.message == "HTTP 404"


def test_retry_after_is_carried() -> None:
    error = status_error(429, {}, retry_after=2.5)
    assert isinstance(error, TooManyRequests)
    assert error.retry_after == 2.5


def test_watch_error_event_code_fills_status() -> None:
    error = status_error(0, {"code": 410, "reason": "Expired"})
    assert isinstance(error, Gone)
