"""hub.field_overrider: JSON/YAML sub-paths inside string fields (Karmada's fieldOverrider)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from hub.field_overrider import FieldOverrideError, apply_field_overriders
from shared.api.policy import FieldOverrider

CONFIG_YAML = "db:\n  host: localhost\n  port: 5432\nfeatures: [a, b]\n"
CONFIG_JSON = '{"db": {"host": "localhost", "port": 5432}, "features": ["a", "b"]}'


def cm() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "app", "namespace": "default"},
        "data": {"config.yaml": CONFIG_YAML, "config.json": CONFIG_JSON, "plain": "x"},
    }


def fo(**wire: Any) -> FieldOverrider:
    return FieldOverrider.from_dict(wire)


YAML_CASES: list[tuple[str, list[dict[str, Any]], dict[str, Any]]] = [
    (
        "replace",
        [{"subPath": "/db/host", "operator": "replace", "value": "db.eu"}],
        {"db": {"host": "db.eu", "port": 5432}, "features": ["a", "b"]},
    ),
    (
        "add a key",
        [{"subPath": "/db/tls", "operator": "add", "value": True}],
        {"db": {"host": "localhost", "port": 5432, "tls": True}, "features": ["a", "b"]},
    ),
    ("remove", [{"subPath": "/features", "operator": "remove"}], {"db": {"host": "localhost", "port": 5432}}),
    (
        "append to a list",
        [{"subPath": "/features/-", "operator": "add", "value": "c"}],
        {"db": {"host": "localhost", "port": 5432}, "features": ["a", "b", "c"]},
    ),
    (
        "object value",
        [{"subPath": "/db", "operator": "replace", "value": {"host": "h"}}],
        {"db": {"host": "h"}, "features": ["a", "b"]},
    ),
    (
        "in order",
        [
            {"subPath": "/db/port", "operator": "replace", "value": 1},
            {"subPath": "/db/port", "operator": "replace", "value": 2},
        ],
        {"db": {"host": "localhost", "port": 2}, "features": ["a", "b"]},
    ),
]


@pytest.mark.parametrize(("ops", "expected"), [c[1:] for c in YAML_CASES], ids=[c[0] for c in YAML_CASES])
def test_yaml_sub_paths(ops: list[dict[str, Any]], expected: dict[str, Any]) -> None:
    original = cm()
    result = apply_field_overriders(original, [fo(fieldPath="/data/config.yaml", yaml=ops)])
    assert yaml.safe_load(result["data"]["config.yaml"]) == expected
    assert result["data"]["config.json"] == CONFIG_JSON  # other fields untouched
    assert original == cm()  # input not changed


def test_json_sub_paths_written_back_as_json() -> None:
    result = apply_field_overriders(
        cm(),
        [
            fo(
                fieldPath="/data/config.json",
                json=[{"subPath": "/db/port", "operator": "replace", "value": 6543}],
            )
        ],
    )
    assert json.loads(result["data"]["config.json"]) == {
        "db": {"host": "localhost", "port": 6543},
        "features": ["a", "b"],
    }


def test_several_overriders_apply_in_order() -> None:
    result = apply_field_overriders(
        cm(),
        [
            fo(
                fieldPath="/data/config.yaml",
                yaml=[{"subPath": "/db/port", "operator": "replace", "value": 1}],
            ),
            fo(fieldPath="/data/config.json", json=[{"subPath": "/db", "operator": "remove"}]),
        ],
    )
    assert yaml.safe_load(result["data"]["config.yaml"])["db"]["port"] == 1
    assert json.loads(result["data"]["config.json"]) == {"features": ["a", "b"]}


ERRORS: list[tuple[str, dict[str, Any], str]] = [
    (
        "missing field",
        {"fieldPath": "/data/nope", "yaml": [{"subPath": "/a", "operator": "remove"}]},
        "fieldOverrider[0].fieldPath",
    ),
    (
        "not a string",
        {"fieldPath": "/data", "yaml": [{"subPath": "/a", "operator": "remove"}]},
        "fieldOverrider[0].fieldPath",
    ),
    (
        "not JSON",
        {"fieldPath": "/data/config.yaml", "json": [{"subPath": "/a", "operator": "remove"}]},
        "fieldOverrider[0].fieldPath",
    ),
    (
        "bad sub path",
        {
            "fieldPath": "/data/config.yaml",
            "yaml": [{"subPath": "/nope/x", "operator": "replace", "value": 1}],
        },
        "fieldOverrider[0].yaml",
    ),
    (
        "no value for add",
        {"fieldPath": "/data/config.yaml", "yaml": [{"subPath": "/x", "operator": "add"}]},
        "fieldOverrider[0].yaml[0].value",
    ),
    (
        "both json and yaml",
        {
            "fieldPath": "/data/config.yaml",
            "yaml": [{"subPath": "/x", "operator": "remove"}],
            "json": [{"subPath": "/x", "operator": "remove"}],
        },
        "fieldOverrider[0]",
    ),
]


@pytest.mark.parametrize(("wire", "field"), [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_errors_name_the_field(wire: dict[str, Any], field: str) -> None:
    with pytest.raises(FieldOverrideError) as info:
        apply_field_overriders(cm(), [fo(**wire)])
    assert info.value.field == field
