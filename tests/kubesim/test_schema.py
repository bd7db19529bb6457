"""Table tests for kubesim.schema: CRD structural-schema validation, pruning, messages."""

from __future__ import annotations

from typing import Any

import pytest

from kubesim import schema
from kubesim.schema import FieldError

BIG = 2**40
SPEC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["x"],
            "properties": {
                "x": {"type": "string"},
                "y": {"type": "integer"},
                "replicas": {"type": "integer", "minimum": 0, "maximum": 10, "format": "int32"},
                "ratio": {
                    "type": "number",
                    "exclusiveMinimum": True,
                    "minimum": 0,
                    "exclusiveMaximum": True,
                    "maximum": 1,
                },
                "type": {"type": "string", "enum": ["A", "B"]},
                "name": {"type": "string", "pattern": "^[a-z]+$", "minLength": 2, "maxLength": 5},
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2},
                "port": {"x-kubernetes-int-or-string": True},
                "note": {"type": "string", "nullable": True},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "listeners": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"port": {"type": "integer", "maximum": 65535}},
                    },
                },
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "template": {
                    "type": "object",
                    "x-kubernetes-embedded-resource": True,
                    "properties": {"spec": {"type": "object", "properties": {"a": {"type": "string"}}}},
                },
            },
        }
    },
}


def messages(spec: dict[str, Any]) -> list[str]:
    return [str(e) for e in schema.validate({"spec": {"x": "ok", **spec}}, SPEC_SCHEMA)]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({}, []),
        (
            {"replicas": -1},
            ["spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0"],
        ),
        (
            {"replicas": 11},
            ["spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10"],
        ),
        (
            {"replicas": BIG},
            [
                f"spec.replicas: Invalid value: {BIG}: "
                "spec.replicas in body should be less than or equal to 10",
                f"spec.replicas: Invalid value: {BIG}: spec.replicas in body must be of type int32: {BIG}",
            ],
        ),
        ({"ratio": 0}, ["spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0"]),
        ({"ratio": 1.0}, ["spec.ratio: Invalid value: 1: spec.ratio in body should be less than 1"]),
        ({"ratio": 0.5}, []),
        ({"type": "X"}, ['spec.type: Unsupported value: "X": supported values: "A", "B"']),
        (
            {"y": "string"},
            ['spec.y: Invalid value: "string": spec.y in body must be of type integer: "string"'],
        ),
        ({"y": 1.5}, ['spec.y: Invalid value: "number": spec.y in body must be of type integer: "number"']),
        (
            {"y": True},
            ['spec.y: Invalid value: "boolean": spec.y in body must be of type integer: "boolean"'],
        ),
        ({"y": 3.0}, []),
        ({"name": "ABC"}, ["spec.name: Invalid value: \"ABC\": spec.name in body should match '^[a-z]+$'"]),
        ({"name": "a"}, ['spec.name: Invalid value: "a": spec.name in body should be at least 2 chars long']),
        ({"name": "abcdef"}, ["spec.name: Too long: may not be more than 5 bytes"]),
        ({"tags": []}, ["spec.tags: Invalid value: 0: spec.tags in body should have at least 1 items"]),
        ({"tags": ["a", "b", "c"]}, ["spec.tags: Too many: 3: must have at most 2 items"]),
        (
            {"tags": ["a", 1]},
            [
                'spec.tags[1]: Invalid value: "integer": '
                'spec.tags[1] in body must be of type string: "integer"'
            ],
        ),
        ({"port": 80}, []),
        ({"port": "http"}, []),
        (
            {"port": True},
            [
                'spec.port: Invalid value: "boolean": '
                'spec.port in body must be of type integer,string: "boolean"'
            ],
        ),
        ({"note": None}, []),
        ({"x": None}, ['spec.x: Invalid value: "null": spec.x in body must be of type string: "null"']),
        (
            {"labels": {"a": 1}},
            [
                'spec.labels[a]: Invalid value: "integer": '
                'spec.labels[a] in body must be of type string: "integer"'
            ],
        ),
        (
            {"listeners": [{"port": 88888}]},
            [
                "spec.listeners[0].port: Invalid value: 88888: "
                "spec.listeners[0].port in body should be less than or equal to 65535"
            ],
        ),
        ({"free": {"anything": {"goes": [1]}}}, []),
        ({"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}}, []),
        (
            {"template": {"metadata": {}}},
            [
                "spec.template.apiVersion: Required value: must not be empty",
                "spec.template.kind: Required value: must not be empty",
            ],
        ),
    ],
)
def test_validate_messages(spec: dict[str, Any], expected: list[str]) -> None:
    assert messages(spec) == expected


def test_required_value() -> None:
    errors = schema.validate({"spec": {}}, SPEC_SCHEMA)
    assert errors == [FieldError("spec.x", "FieldValueRequired", "", "")]
    assert str(errors[0]) == "spec.x: Required value"
    assert errors[0].reason == "FieldValueRequired"


def test_type_invalid_reports_invalid_reason() -> None:
    (error,) = schema.validate({"spec": {"x": "a", "y": "s"}}, SPEC_SCHEMA)
    assert error.reason == "FieldValueInvalid"
    assert error.path == "spec.y"


@pytest.mark.parametrize(
    ("kind", "group", "errors", "expected"),
    [
        (
            "Widget",
            "example.com",
            [FieldError("spec.x", "FieldValueRequired", "", "")],
            'Widget.example.com "w" is invalid: spec.x: Required value',
        ),
        (
            "Service",
            "",
            [
                FieldError("spec.a", "FieldValueRequired", "", ""),
                FieldError("spec.b", "FieldValueInvalid", "bad", 3),
            ],
            'Service "w" is invalid: [spec.a: Required value, spec.b: Invalid value: 3: bad]',
        ),
        (
            "Widget",
            "example.com",
            [
                FieldError("spec.x", "FieldValueRequired", "", ""),
                FieldError("spec.x", "FieldValueRequired", "", ""),
            ],
            'Widget.example.com "w" is invalid: spec.x: Required value',
        ),
    ],
)
def test_invalid_message(kind: str, group: str, errors: list[FieldError], expected: str) -> None:
    assert schema.invalid_message(kind=kind, group=group, name="w", errors=errors) == expected


def test_prune_drops_unknown_and_keeps_preserved() -> None:
    obj: dict[str, Any] = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "labels": {"a": "b"}},
        "spec": {
            "x": "ok",
            "unknown": 1,
            "listeners": [{"port": 1, "junk": True}],
            "labels": {"k": "v"},
            "free": {"kept": {"deep": 1}},
            "template": {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "p"},
                "spec": {"a": "b", "c": "d"},
                "extra": 1,
            },
        },
        "status": {"whatever": 1},
    }
    pruned = schema.prune(obj, SPEC_SCHEMA)
    assert pruned == {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "labels": {"a": "b"}},
        "spec": {
            "x": "ok",
            "listeners": [{"port": 1}],
            "labels": {"k": "v"},
            "free": {"kept": {"deep": 1}},
            "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"a": "b"}},
        },
    }
    assert obj["spec"]["unknown"] == 1  # the input is not modified


def test_prune_root_preserve_unknown() -> None:
    obj = {"apiVersion": "v", "kind": "K", "spec": {"a": 1}}
    assert schema.prune(obj, {"type": "object", "x-kubernetes-preserve-unknown-fields": True}) == obj


@pytest.mark.parametrize(
    ("bad_schema", "fragment"),
    [
        (
            {"type": "object", "properties": {"spec": {"properties": {}}}},
            "openAPIV3Schema.properties[spec].type: Required value",
        ),
        ({"type": "object", "properties": {"spec": {"$ref": "#/x"}}}, "$ref: Forbidden"),
        (
            {"type": "object", "properties": {"l": {"type": "array"}}},
            "openAPIV3Schema.properties[l].items: Required value",
        ),
        ({"type": "string"}, 'openAPIV3Schema.type: Unsupported value: "string"'),
        (
            {"type": "object", "properties": {"p": {"type": "string", "x-kubernetes-int-or-string": True}}},
            "must be empty if x-kubernetes-int-or-string is true",
        ),
        (
            {
                "type": "object",
                "properties": {
                    "m": {"type": "object", "properties": {}, "additionalProperties": {"type": "string"}}
                },
            },
            "mutual exclusive",
        ),
        (
            {
                "type": "object",
                "properties": {"metadata": {"type": "object", "properties": {"labels": {"type": "object"}}}},
            },
            "must not specify anything other than name and generateName",
        ),
        (
            {"type": "object", "properties": {"a": {"type": "string", "anyOf": [{"type": "string"}]}}},
            "anyOf[0].type: Forbidden",
        ),
    ],
)
def test_structural_violations(bad_schema: dict[str, Any], fragment: str) -> None:
    problems = schema.structural_violations(bad_schema)
    assert any(fragment in p for p in problems), problems


def test_structural_schema_is_clean() -> None:
    assert schema.structural_violations(SPEC_SCHEMA) == []


DEFAULTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "default": {},
            "properties": {
                "replicas": {"type": "integer", "default": 1},
                "mode": {"type": "string", "default": "Auto"},
                "note": {"type": "string", "nullable": True, "default": "n"},
                "ports": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "protocol": {"type": "string", "default": "TCP"},
                            "port": {"type": "integer"},
                        },
                    },
                },
                "labels": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "properties": {"weight": {"type": "integer", "default": 5}},
                    },
                },
            },
        }
    },
}


@pytest.mark.parametrize(
    ("obj", "expected_spec"),
    [
        ({}, {"replicas": 1, "mode": "Auto", "note": "n"}),
        (
            {"spec": {"replicas": 3, "mode": None, "note": None}},
            {"replicas": 3, "mode": "Auto", "note": None},
        ),
        (
            {"spec": {"ports": [{"port": 80}], "labels": {"a": {}}}},
            {
                "replicas": 1,
                "mode": "Auto",
                "note": "n",
                "ports": [{"port": 80, "protocol": "TCP"}],
                "labels": {"a": {"weight": 5}},
            },
        ),
    ],
)
def test_apply_defaults(obj: dict[str, Any], expected_spec: dict[str, Any]) -> None:
    before = repr(obj)
    assert schema.apply_defaults(obj, DEFAULTS_SCHEMA)["spec"] == expected_spec
    assert repr(obj) == before


@pytest.mark.parametrize(
    "obj",
    [
        {},
        {"spec": {"replicas": 3, "mode": None, "note": None}},
        {"spec": {"ports": [{"port": 80}], "labels": {"a": {}}}, "extra": {"deep": [{"x": 1}]}},
    ],
)
def test_prune_and_default_without_copy_leave_the_input_alone(obj: dict[str, Any]) -> None:
    """copy=False (the store's fast path) shares only what neither step changes."""
    before = repr(obj)
    copied = schema.apply_defaults(schema.prune(obj, DEFAULTS_SCHEMA), DEFAULTS_SCHEMA)
    fast = schema.apply_defaults(schema.prune(obj, DEFAULTS_SCHEMA, copy=False), DEFAULTS_SCHEMA, copy=False)
    assert fast == copied
    assert repr(obj) == before


def test_prune_without_copy_shares_preserved_subtrees() -> None:
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}}
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "spec": {"template": manifest}}
    pruned = schema.prune(obj, SPEC_SCHEMA, copy=False)
    assert pruned["spec"]["template"] == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
    }
    assert pruned["spec"]["template"]["metadata"] is manifest["metadata"]
    assert manifest["data"] == {"k": "v"}


def test_generated_waybill_crds_are_structural() -> None:
    import pathlib

    import yaml

    files = sorted(pathlib.Path(__file__).parents[2].joinpath("crds").glob("*.yaml"))
    assert files
    for path in files:
        for doc in yaml.safe_load_all(path.read_text()):
            for version in doc["spec"]["versions"]:
                assert schema.structural_violations(version["schema"]["openAPIV3Schema"]) == [], path


COMBINATOR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "a": {"type": "string", "anyOf": [{"pattern": "^x"}, {"pattern": "^y"}]},
                "o": {"type": "integer", "oneOf": [{"minimum": 0}, {"maximum": 10}]},
                "n": {"type": "string", "not": {"enum": ["forbidden"]}},
            },
        }
    },
}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"a": "xa", "o": -1, "n": "ok"}, []),
        ({"a": "za"}, ['spec.a: Invalid value: "za": spec.a must validate at least one schema (anyOf)']),
        ({"o": 5}, ["spec.o: Invalid value: 5: spec.o must validate one and only one schema (oneOf)"]),
        (
            {"n": "forbidden"},
            ['spec.n: Invalid value: "forbidden": spec.n in body should not validate the schema'],
        ),
    ],
)
def test_value_combinators(spec: dict[str, Any], expected: list[str]) -> None:
    assert [str(e) for e in schema.validate({"spec": spec}, COMBINATOR_SCHEMA)] == expected


def test_duplicates_in_set_and_map_lists() -> None:
    list_schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
            "ports": {
                "type": "array",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["port"],
                "items": {"type": "object", "properties": {"port": {"type": "integer"}}},
            },
        },
    }
    obj = {"tags": ["a", "b", "a", "a"], "ports": [{"port": 1}, {"port": 2}, {"port": 1}]}
    found = [(e.path, e.reason) for e in schema.validate(obj, list_schema)]
    assert found == [
        ("tags[2]", "FieldValueDuplicate"),
        ("tags[3]", "FieldValueDuplicate"),
        ("ports[2]", "FieldValueDuplicate"),
    ]


def test_defaulting_without_defaults_in_the_schema_returns_the_object() -> None:
    obj: dict[str, Any] = {"spec": {"x": "ok", "listeners": [{"port": 1}]}}
    assert schema.apply_defaults(obj, SPEC_SCHEMA, copy=False) is obj
    copied = schema.apply_defaults(obj, SPEC_SCHEMA)
    assert copied == obj and copied is not obj and copied["spec"] is not obj["spec"]


def test_prune_without_copy_returns_what_it_did_not_change() -> None:
    obj: dict[str, Any] = {"spec": {"x": "ok", "listeners": [{"port": 1}], "free": {"a": [1]}}}
    assert schema.prune(obj, SPEC_SCHEMA, copy=False) is obj
    obj["spec"]["listeners"].append({"port": 2, "junk": 1})
    pruned = schema.prune(obj, SPEC_SCHEMA, copy=False)
    assert pruned is not obj and pruned["spec"]["free"] is obj["spec"]["free"]
    assert pruned["spec"]["listeners"][0] is obj["spec"]["listeners"][0]
    assert pruned["spec"]["listeners"][1] == {"port": 2} and obj["spec"]["listeners"][1]["junk"] == 1


def test_prune_keeps_object_meta_under_a_metadata_object_schema() -> None:
    root = {"type": "object", "properties": {"metadata": {"type": "object"}, "spec": {"type": "object"}}}
    obj = {"apiVersion": "v", "kind": "K", "metadata": {"name": "w", "labels": {"a": "b"}}, "spec": {}}
    assert schema.prune(obj, root) == obj
    nested = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {"t": {"type": "object", "properties": {"metadata": {"type": "object"}}}},
            }
        },
    }
    pruned = schema.prune({"spec": {"t": {"metadata": {"name": "x"}}}}, nested)
    assert pruned == {"spec": {"t": {"metadata": {}}}}  # not a resource: pruned as kube-apiserver does
