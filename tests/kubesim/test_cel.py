"""CEL ``x-kubernetes-validations``: rules, transition rules, messages, reasons, cost, CRD checks."""

from __future__ import annotations

from typing import Any

import pytest

from kubesim import cel
from kubesim.testing import Api

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
GATES = "/apis/example.com/v1/namespaces/default/gates"

SPEC: dict[str, Any] = {
    "type": "object",
    "x-kubernetes-validations": [
        {
            "rule": "self.minReplicas <= self.maxReplicas",
            "message": "minReplicas must not exceed maxReplicas",
        },
        {
            "rule": "self.mode == oldSelf.mode",
            "messageExpression": "'mode is immutable (was ' + oldSelf.mode + ')'",
        },
    ],
    "properties": {
        "minReplicas": {"type": "integer"},
        "maxReplicas": {"type": "integer"},
        "mode": {"type": "string"},
        "name": {
            "type": "string",
            "x-kubernetes-validations": [
                {
                    "rule": "self.lowerAscii() == self",
                    "reason": "FieldValueForbidden",
                    "message": "must be lower case",
                }
            ],
        },
        "listeners": {
            "type": "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
            "items": {
                "type": "object",
                "x-kubernetes-validations": [
                    {
                        "rule": "self.port == oldSelf.port",
                        "message": "port is immutable",
                        "fieldPath": ".port",
                    }
                ],
                "required": ["name"],
                "properties": {"name": {"type": "string"}, "port": {"type": "integer"}},
            },
            "x-kubernetes-validations": [
                {"rule": "self.all(l, l.port > 0)", "message": "ports must be positive"}
            ],
        },
        "tags": {"type": "array", "items": {"type": "string"}},
    },
}
ROOT: dict[str, Any] = {
    "type": "object",
    "x-kubernetes-validations": [
        {"rule": "self.metadata.name.startsWith('g')", "message": "name must start with g"}
    ],
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": SPEC,
    },
}


def gate(obj_name: str = "g1", **spec: Any) -> dict[str, Any]:
    base = {"minReplicas": 1, "maxReplicas": 3, "mode": "a"}
    return {
        "apiVersion": "example.com/v1",
        "kind": "Gate",
        "metadata": {"name": obj_name},
        "spec": {**base, **spec},
    }


def texts(errors: list[Any]) -> list[str]:
    return [str(e) for e in errors]


def test_rules_messages_and_paths() -> None:
    assert cel.validate(gate(), ROOT) == []
    errors = cel.validate(gate("x", minReplicas=5), ROOT)
    assert [(e.path, e.body()) for e in errors] == [
        ("", 'Invalid value: "object": name must start with g'),
        ("spec", 'Invalid value: "object": minReplicas must not exceed maxReplicas'),
    ]


def test_transition_rules_need_an_old_value() -> None:
    assert cel.validate(gate(mode="b"), ROOT) == []  # create: oldSelf rules are skipped
    assert texts(cel.validate(gate(mode="b"), ROOT, old=gate())) == [
        'spec: Invalid value: "object": mode is immutable (was a)'
    ]


def test_map_list_items_correlate_by_key_and_field_path() -> None:
    old = gate(listeners=[{"name": "a", "port": 1}, {"name": "b", "port": 2}])
    new = gate(listeners=[{"name": "b", "port": 3}, {"name": "c", "port": 9}])
    assert texts(cel.validate(new, ROOT, old=old)) == [
        'spec.listeners[0].port: Invalid value: "object": port is immutable'
    ]
    assert texts(cel.validate(gate(listeners=[{"name": "a", "port": 0}]), ROOT)) == [
        'spec.listeners: Invalid value: "array": ports must be positive'
    ]


def test_reason_and_extension_functions() -> None:
    assert texts(cel.validate(gate(**{"name": "Web"}), ROOT)) == ["spec.name: Forbidden: must be lower case"]
    assert cel.validate(gate(**{"name": "web"}), ROOT) == []


@pytest.mark.parametrize(
    ("rule", "value", "expected"),
    [
        ("self.split(',').size() == 2", "a,b", True),
        ("self.join('-') == 'a-b'", ["a", "b"], True),
        ("self.isSorted()", [1, 2, 3], True),
        ("self.sum() == 6", [1, 2, 3], True),
        ("self.indexOf('b') == 1", "abc", True),
        ("self.upperAscii() == 'ABC'", "abc", True),
        ("self.trim() == 'a'", " a ", True),
        ("self.replace('a', 'b') == 'bbc'", "abc", True),
        ("self.substring(1) == 'bc'", "abc", True),
        ("self.matches('^[a-z]+$')", "abc", True),
        ("self.exists(x, x == 2)", [1, 2], True),
        ("size(self) < 2", [1, 2], False),
    ],
)
def test_expressions(rule: str, value: Any, expected: bool) -> None:
    assert bool(cel.evaluate(rule, {"self": cel.to_cel(value)})) is expected


def test_default_message_and_evaluation_errors() -> None:
    schema = {
        "type": "object",
        "x-kubernetes-validations": [{"rule": "self.missing > 1"}, {"rule": "self.a == 2"}],
        "properties": {"a": {"type": "integer"}},
    }
    errors = texts(cel.validate({"a": 1}, schema))
    assert errors[1] == '<root>: Invalid value: "object": failed rule: self.a == 2'.replace("<root>: ", "")
    assert errors[0] == 'Invalid value: "object": no such key: missing evaluating rule: self.missing > 1'


def test_cost_limits_approximated() -> None:
    schema = {
        "type": "array",
        "items": {"type": "integer"},
        "x-kubernetes-validations": [{"rule": "self.all(x, self.all(y, x != y || true))"}],
    }
    errors = texts(cel.validate(list(range(1001)), schema))
    assert errors == [
        "Invalid value: \"array\": 'operation cancelled: actual cost limit exceeded': no further validation "
        "rules will be run due to call cost exceeds limit for rule: self.all(x, self.all(y, x != y || true))"
    ]


def test_rule_problems_for_a_crd() -> None:
    bad = {
        "type": "object",
        "properties": {
            "a": {"type": "string", "x-kubernetes-validations": [{"rule": "self >"}]},
            "l": {
                "type": "array",
                "items": {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf"}]},
            },
            "r": {"type": "string", "x-kubernetes-validations": [{"rule": "true", "reason": "Nope"}]},
        },
    }
    problems = cel.rule_problems(bad, path="s")
    assert problems[0].startswith(
        's.properties[a].x-kubernetes-validations[0].rule: Invalid value: "self >": compilation failed'
    )
    assert problems[1] == (
        's.properties[l].items.x-kubernetes-validations[0].rule: Invalid value: "self == oldSelf": '
        "oldSelf cannot be used on the uncorrelatable portion of the schema within s.properties[l].items"
    )
    assert problems[2].startswith(
        's.properties[r].x-kubernetes-validations[0].reason: Unsupported value: "Nope"'
    )


def gate_crd(root: dict[str, Any] = ROOT) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "gates.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "gates", "singular": "gate", "kind": "Gate"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": root},
                }
            ],
        },
    }


async def test_cel_rules_enforced_over_http(api: Api) -> None:
    status, crd = await api.post(CRDS, gate_crd())
    assert status == 201, crd
    status, err = await api.post(GATES, gate(minReplicas=9))
    assert status == 422
    assert err["message"] == (
        'Gate.example.com "g1" is invalid: spec: Invalid value: "object": '
        "minReplicas must not exceed maxReplicas"
    )
    assert err["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "field": "spec",
            "message": 'Invalid value: "object": minReplicas must not exceed maxReplicas',
        }
    ]
    status, _ = await api.post(GATES, gate())
    assert status == 201
    status, err = await api.patch(f"{GATES}/g1", {"spec": {"mode": "b"}})
    assert status == 422 and err["message"].endswith(
        'spec: Invalid value: "object": mode is immutable (was a)'
    )
    status, err = await api.patch(f"{GATES}/g1", {"spec": {"minReplicas": "x"}})
    assert status == 422
    assert err["message"] == (
        'Gate.example.com "g1" is invalid: [spec.minReplicas: Invalid value: "string": '
        'spec.minReplicas in body must be of type integer: "string", <nil>: Invalid value: "null": '
        "some validation rules were not checked because the object was invalid; "
        "correct the existing errors to complete validation]"
    )


async def test_crd_with_a_rule_that_does_not_compile_is_refused(api: Api) -> None:
    root = {
        "type": "object",
        "properties": {"spec": {"type": "object", "x-kubernetes-validations": [{"rule": "self.("}]}},
    }
    status, err = await api.post(CRDS, gate_crd(root))
    assert status == 422
    assert err["details"]["causes"][0]["field"] == (
        "spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule"
    )


@pytest.mark.parametrize(
    ("rule", "undefined"),
    [
        ("self.minReplicas > 0", None),
        ("self.nope > 0", "nope"),
        ("has(self.name) && self.name.startsWith('a.nope')", None),
        ("self.listeners.all(l, l.whatever)", None),  # macro variables are not followed
        ("oldSelf.gone == self.mode", "gone"),
    ],
)
def test_undefined_fields_are_found_as_cel_go_type_checking_would(rule: str, undefined: str | None) -> None:
    assert cel.undefined_field(rule, SPEC) == undefined
    assert cel.undefined_field("self.metadata.name == 'x'", ROOT, root=True) is None
    assert cel.undefined_field("self.metadata.labels == {}", ROOT, root=True) == "labels"
