"""Decoding the few Kubernetes protobuf request bodies kubectl sends.

kubectl's typed clients (``kubectl create token|configmap|secret|namespace|serviceaccount``)
POST ``application/vnd.kubernetes.protobuf`` and do not fall back to JSON. This module decodes the
``k8s\\x00`` envelope (runtime.Unknown) and the message types of those commands into JSON dicts,
from hand-written field tables (field numbers from k8s.io/api ``generated.proto``). Any other kind
raises ``Unsupported`` and the server answers 415. Responses are always JSON, which clients accept.
"""

from __future__ import annotations

import base64
import datetime
from typing import Any

MAGIC = b"k8s\x00"


class Unsupported(Exception):
    """The body is not protobuf kubesim can decode."""


Schema = dict[int, tuple[str, Any]]

_TIME: Schema = {1: ("seconds", "int"), 2: ("nanos", "int")}
_OWNER: Schema = {
    1: ("kind", "str"),
    3: ("name", "str"),
    4: ("uid", "str"),
    5: ("apiVersion", "str"),
    6: ("controller", "bool"),
    7: ("blockOwnerDeletion", "bool"),
}
_META: Schema = {
    1: ("name", "str"),
    2: ("generateName", "str"),
    3: ("namespace", "str"),
    5: ("uid", "str"),
    6: ("resourceVersion", "str"),
    7: ("generation", "int0"),
    8: ("creationTimestamp", _TIME),
    11: ("labels", "map"),
    12: ("annotations", "map"),
    13: ("ownerReferences", [_OWNER]),
    14: ("finalizers", ["str"]),
}
_OBJREF: Schema = {
    1: ("kind", "str"),
    2: ("namespace", "str"),
    3: ("name", "str"),
    4: ("uid", "str"),
    5: ("apiVersion", "str"),
}
_RES_ATTRS: Schema = {
    1: ("namespace", "str"),
    2: ("verb", "str"),
    3: ("group", "str"),
    4: ("version", "str"),
    5: ("resource", "str"),
    6: ("subresource", "str"),
    7: ("name", "str"),
}
_NONRES: Schema = {1: ("path", "str"), 2: ("verb", "str")}
_LABEL_SELECTOR: Schema = {
    1: ("matchLabels", "map"),
    2: ("matchExpressions", [{1: ("key", "str"), 2: ("operator", "str"), 3: ("values", ["str"])}]),
}
_CONTAINER: Schema = {
    1: ("name", "str"),
    2: ("image", "str"),
    3: ("command", ["str"]),
    4: ("args", ["str"]),
    5: ("workingDir", "str"),
    6: (
        "ports",
        [{1: ("name", "str"), 2: ("hostPort", "int0"), 3: ("containerPort", "int"), 4: ("protocol", "str")}],
    ),
    7: ("env", [{1: ("name", "str"), 2: ("value", "str")}]),
    14: ("imagePullPolicy", "str"),
}
_POD_TEMPLATE: Schema = {
    1: ("metadata", _META),
    2: (
        "spec",
        {
            2: ("containers", [_CONTAINER]),
            3: ("restartPolicy", "str"),
            6: ("dnsPolicy", "str"),
            7: ("nodeSelector", "map"),
            8: ("serviceAccountName", "str"),
            20: ("initContainers", [_CONTAINER]),
        },
    ),
}
_SUBJECT: Schema = {1: ("kind", "str"), 2: ("apiGroup", "str"), 3: ("name", "str"), 4: ("namespace", "str")}
_ROLE_REF: Schema = {1: ("apiGroup", "str"), 2: ("kind", "str"), 3: ("name", "str")}
_RULE: Schema = {
    1: ("verbs", ["str"]),
    2: ("apiGroups", ["str"]),
    3: ("resources", ["str"]),
    4: ("resourceNames", ["str"]),
    5: ("nonResourceURLs", ["str"]),
}
_SERVICE_PORT: Schema = {
    1: ("name", "str"),
    2: ("protocol", "str"),
    3: ("port", "int0"),
    4: ("targetPort", "intorstr"),
    5: ("nodePort", "int0"),
}
_KINDS: dict[str, Schema] = {
    "Pod": {1: ("metadata", _META), 2: ("spec", _POD_TEMPLATE[2][1])},
    "Service": {
        1: ("metadata", _META),
        2: (
            "spec",
            {
                1: ("ports", [_SERVICE_PORT]),
                2: ("selector", "map"),
                3: ("clusterIP", "str"),
                4: ("type", "str"),
                10: ("externalName", "str"),
            },
        ),
    },
    "Job": {
        1: ("metadata", _META),
        2: (
            "spec",
            {
                1: ("parallelism", "int"),
                2: ("completions", "int"),
                3: ("activeDeadlineSeconds", "int"),
                4: ("selector", _LABEL_SELECTOR),
                6: ("template", _POD_TEMPLATE),
                7: ("backoffLimit", "int"),
            },
        ),
    },
    "Role": {1: ("metadata", _META), 2: ("rules", [_RULE])},
    "ClusterRole": {
        1: ("metadata", _META),
        2: ("rules", [_RULE]),
        3: ("aggregationRule", {1: ("clusterRoleSelectors", [_LABEL_SELECTOR])}),
    },
    "RoleBinding": {1: ("metadata", _META), 2: ("subjects", [_SUBJECT]), 3: ("roleRef", _ROLE_REF)},
    "ClusterRoleBinding": {1: ("metadata", _META), 2: ("subjects", [_SUBJECT]), 3: ("roleRef", _ROLE_REF)},
    "Deployment": {
        1: ("metadata", _META),
        2: (
            "spec",
            {
                1: ("replicas", "int"),
                2: ("selector", _LABEL_SELECTOR),
                3: ("template", _POD_TEMPLATE),
                4: ("strategy", {1: ("type", "str")}),
                5: ("minReadySeconds", "int0"),
                6: ("revisionHistoryLimit", "int"),
                7: ("paused", "bool"),
                9: ("progressDeadlineSeconds", "int"),
            },
        ),
    },
    "ConfigMap": {
        1: ("metadata", _META),
        2: ("data", "map"),
        3: ("binaryData", "bmap"),
        4: ("immutable", "bool"),
    },
    "Secret": {
        1: ("metadata", _META),
        2: ("data", "bmap"),
        3: ("type", "str"),
        4: ("stringData", "map"),
        5: ("immutable", "bool"),
    },
    "Namespace": {1: ("metadata", _META), 2: ("spec", {1: ("finalizers", ["str"])})},
    "ServiceAccount": {
        1: ("metadata", _META),
        2: ("secrets", [_OBJREF]),
        3: ("imagePullSecrets", [{1: ("name", "str")}]),
        4: ("automountServiceAccountToken", "bool"),
    },
    "SelfSubjectReview": {1: ("metadata", _META)},
    "SelfSubjectRulesReview": {1: ("metadata", _META), 2: ("spec", {1: ("namespace", "str")})},
    "SelfSubjectAccessReview": {
        1: ("metadata", _META),
        2: ("spec", {1: ("resourceAttributes", _RES_ATTRS), 2: ("nonResourceAttributes", _NONRES)}),
    },
    "SubjectAccessReview": {
        1: ("metadata", _META),
        2: (
            "spec",
            {
                1: ("resourceAttributes", _RES_ATTRS),
                2: ("nonResourceAttributes", _NONRES),
                3: ("user", "str"),
                4: ("groups", ["str"]),
                6: ("uid", "str"),
            },
        ),
    },
    "TokenRequest": {
        1: ("metadata", _META),
        2: (
            "spec",
            {
                1: ("audiences", ["str"]),
                4: ("expirationSeconds", "int"),
                3: (
                    "boundObjectRef",
                    {1: ("kind", "str"), 2: ("apiVersion", "str"), 3: ("name", "str"), 4: ("uid", "str")},
                ),
            },
        ),
    },
}


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise Unsupported("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes) -> list[tuple[int, int, Any]]:
    out = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            value = data[pos : pos + length]
            pos += length
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise Unsupported(f"wire type {wire}")
        out.append((number, wire, value))
    return out


def _scalar(kind: str, value: Any) -> Any:
    if kind == "str":
        return bytes(value).decode()
    if kind == "bool":
        return bool(value)
    if kind in ("int", "int0"):
        return value - (1 << 64) if value >= 1 << 63 else value
    return value


def _message(data: bytes, schema: Schema) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for number, _, value in _fields(data):
        if number not in schema:
            continue
        name, kind = schema[number]
        if kind in ("map", "bmap"):
            entry = {n: v for n, _, v in _fields(value)}
            key = bytes(entry.get(1, b"")).decode()
            raw = bytes(entry.get(2, b""))
            out.setdefault(name, {})[key] = raw.decode() if kind == "map" else base64.b64encode(raw).decode()
        elif kind == "intorstr":
            parts = {n: v for n, _, v in _fields(value)}
            out[name] = (
                bytes(parts.get(3, b"")).decode() if parts.get(1) == 1 else _scalar("int", parts.get(2, 0))
            )
        elif isinstance(kind, list):
            item = kind[0]
            out.setdefault(name, []).append(
                _message(value, item) if isinstance(item, dict) else _scalar(item, value)
            )
        elif isinstance(kind, dict):
            decoded = _message(value, kind)
            if kind is _TIME:
                if not decoded.get("seconds"):
                    continue
                when = datetime.datetime.fromtimestamp(decoded.get("seconds", 0), datetime.UTC)
                out[name] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
            else:
                out[name] = decoded
        else:
            scalar = _scalar(kind, value)
            # gogo-proto writes zero values of non-pointer fields; JSON (omitempty) leaves them out
            if kind == "int" or scalar not in ("", False, 0):
                out[name] = scalar
    return out


def decode(body: bytes) -> dict[str, Any]:
    """A protobuf request body as the JSON object it stands for."""
    if not body.startswith(MAGIC):
        raise Unsupported("missing k8s protobuf magic")
    envelope = {n: v for n, _, v in _fields(body[len(MAGIC) :])}
    type_meta = {n: bytes(v).decode() for n, _, v in _fields(envelope.get(1, b""))}
    api_version, kind = type_meta.get(1, ""), type_meta.get(2, "")
    schema = _KINDS.get(kind)
    if schema is None:
        raise Unsupported(f"kind {kind or '?'} is not decodable")
    obj = _message(bytes(envelope.get(2, b"")), schema)
    return {"apiVersion": api_version, "kind": kind, **obj}
