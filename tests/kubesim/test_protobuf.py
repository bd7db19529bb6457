"""Decoding kubectl's protobuf request bodies (hand-encoded fixtures)."""

from __future__ import annotations

import pytest

from kubesim import protobuf


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, value: bytes | int | str) -> bytes:
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint((number << 3) | 2) + _varint(len(data)) + data


def _envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = _field(1, api_version) + _field(2, kind)
    return (
        protobuf.MAGIC
        + _field(1, type_meta)
        + _field(2, raw)
        + _field(4, "application/vnd.kubernetes.protobuf")
    )


def test_configmap() -> None:
    meta = _field(1, "cfg") + _field(2, "") + _field(7, 0) + _field(11, _field(1, "app") + _field(2, "web"))
    raw = (
        _field(1, meta)
        + _field(2, _field(1, "a") + _field(2, "b"))
        + _field(2, _field(1, "c") + _field(2, "d"))
    )
    obj = protobuf.decode(_envelope("v1", "ConfigMap", raw))
    assert obj == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cfg", "labels": {"app": "web"}},
        "data": {"a": "b", "c": "d"},
    }


def test_token_request_keeps_pointer_ints() -> None:
    spec = _field(1, "api") + _field(4, 3600)
    obj = protobuf.decode(
        _envelope("authentication.k8s.io/v1", "TokenRequest", _field(1, b"") + _field(2, spec))
    )
    assert obj["spec"] == {"audiences": ["api"], "expirationSeconds": 3600}


def test_secret_bytes_are_base64() -> None:
    raw = _field(1, _field(1, "s")) + _field(2, _field(1, "k") + _field(2, b"\x00\x01")) + _field(3, "Opaque")
    obj = protobuf.decode(_envelope("v1", "Secret", raw))
    assert obj["data"] == {"k": "AAE="} and obj["type"] == "Opaque"


@pytest.mark.parametrize("body", [b"not protobuf", _envelope("v1", "Endpoints", b"")])
def test_unsupported(body: bytes) -> None:
    with pytest.raises(protobuf.Unsupported):
        protobuf.decode(body)


def test_service_int_or_string_target_port() -> None:
    by_number = _field(1, "http") + _field(3, 80) + _field(4, _field(1, 0) + _field(2, 8080))
    by_name = _field(3, 81) + _field(4, _field(1, 1) + _field(3, "web"))
    spec = _field(1, by_number) + _field(1, by_name) + _field(4, "ClusterIP")
    obj = protobuf.decode(_envelope("v1", "Service", _field(1, _field(1, "svc")) + _field(2, spec)))
    assert obj["spec"]["ports"] == [
        {"name": "http", "port": 80, "targetPort": 8080},
        {"port": 81, "targetPort": "web"},
    ]
