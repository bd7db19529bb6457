"""Pure helpers that read server answers: watch lines, Retry-After, transport errors, create recovery."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from shared.kube.errors import ApiError, ConnectionFailed, Forbidden, Gone, Timeout
from shared.kube.responses import (
    decode_body,
    object_identity,
    parse_event,
    retry_after,
    same_content,
    transport_error,
)


def _line(etype: str, obj: dict[str, Any]) -> bytes:
    return json.dumps({"type": etype, "object": obj}).encode() + b"\n"


def test_parse_event_fills_api_version_and_kind() -> None:
    event = parse_event(
        _line("ADDED", {"metadata": {"name": "a", "resourceVersion": "4"}}),
        api_version="v1",
        kind="ConfigMap",
    )
    assert event is not None
    assert (event.type, event.object["kind"], event.object["apiVersion"], event.resource_version) == (
        "ADDED",
        "ConfigMap",
        "v1",
        "4",
    )


def test_bookmark_is_left_alone() -> None:
    event = parse_event(
        _line("BOOKMARK", {"metadata": {"resourceVersion": "9"}}), api_version="v1", kind="ConfigMap"
    )
    assert event is not None and event.type == "BOOKMARK" and "kind" not in event.object


@pytest.mark.parametrize(("code", "cls"), [(410, Gone), (403, Forbidden), (None, ApiError)])
def test_error_events_raise(code: int | None, cls: type[ApiError]) -> None:
    with pytest.raises(cls):
        parse_event(
            _line("ERROR", {"kind": "Status", "code": code, "reason": "x"}), api_version="v1", kind="C"
        )


def test_unknown_event_types_are_skipped_and_garbage_breaks_the_stream() -> None:
    assert parse_event(_line("SYNC", {}), api_version="v1", kind="C") is None
    with pytest.raises(ConnectionFailed):
        parse_event(b"{not json", api_version="v1", kind="C")


@pytest.mark.parametrize(("value", "seconds"), [("3", 3.0), ("0", 0.0), ("soon", None), (None, None)])
def test_retry_after(value: str | None, seconds: float | None) -> None:
    headers = {} if value is None else {"Retry-After": value}
    assert retry_after(headers) == seconds


def test_transport_errors() -> None:
    refused = transport_error(aiohttp.ClientConnectorError(_FakeKey(), OSError(111, "refused")))
    assert isinstance(refused, ConnectionFailed) and not refused.sent
    reset = transport_error(aiohttp.ServerDisconnectedError())
    assert isinstance(reset, ConnectionFailed) and reset.sent
    assert isinstance(transport_error(TimeoutError()), Timeout)


class _FakeKey:
    ssl = None
    host = "127.0.0.1"
    port = 1
    is_ssl = False


def test_decode_body() -> None:
    assert decode_body(b"") == {}
    assert decode_body(b'{"a": 1}') == {"a": 1}
    assert decode_body(b"<html>bad gateway</html>") == {"message": "<html>bad gateway</html>"}


@pytest.mark.parametrize(
    ("live", "same"),
    [
        ({"data": {"a": "1"}, "metadata": {"labels": {"x": "y", "extra": "z"}, "uid": "u"}}, True),
        ({"data": {"a": "2"}, "metadata": {"labels": {"x": "y"}}}, False),
        ({"data": {"a": "1"}, "metadata": {"labels": {}}}, False),
    ],
)
def test_same_content(live: dict[str, Any], same: bool) -> None:
    sent = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "labels": {"x": "y"}},
        "data": {"a": "1"},
    }
    assert same_content(sent, live) is same


def test_object_identity() -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}}
    assert object_identity(obj) == ("v1", "ConfigMap", "c", "n")
    with pytest.raises(ValueError):
        object_identity({"metadata": {"name": "c"}})
