"""Table tests for status feedback: well-known fields and JSONPath rules."""

from __future__ import annotations

from typing import Any

import pytest

from agent.feedback import JSONPathError, collect, evaluate_path, field_value, rules_for

DEPLOY: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "app", "labels": {"a.b/c": "x"}},
    "spec": {"replicas": 3},
    "status": {
        "replicas": 3,
        "readyReplicas": 2,
        "availableReplicas": 2,
        "updatedReplicas": 3,
        "observedGeneration": 4,
        "conditions": [{"type": "Available", "status": "True"}, {"type": "Progressing", "status": "False"}],
    },
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (".status.readyReplicas", 2),
        ("$.status.readyReplicas", 2),
        ("{.spec.replicas}", 3),
        ('.status.conditions[?(@.type=="Progressing")].status', "False"),
        (".status.conditions[?(@.type=='Available')].status", "True"),
        (".status.conditions[0].type", "Available"),
        (".status.conditions[-1].type", "Progressing"),
        (".status.conditions[5].type", None),
        (".metadata.labels['a.b/c']", "x"),
        (".status.nothing", None),
        (".status.readyReplicas.deeper", None),
    ],
)
def test_evaluate_path(path: str, expected: Any) -> None:
    assert evaluate_path(DEPLOY, path) == expected


@pytest.mark.parametrize("path", ["status", ".a[?(@.b>1)]", ".a[", ""])
def test_bad_paths_raise(path: str) -> None:
    with pytest.raises(JSONPathError):
        evaluate_path(DEPLOY, path)


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (3, {"type": "Integer", "integer": 3}),
        ("x", {"type": "String", "string": "x"}),
        (True, {"type": "Boolean", "boolean": True}),
        ([{"ip": "1.2.3.4"}], {"type": "JsonRaw", "jsonRaw": '[{"ip":"1.2.3.4"}]'}),
    ],
)
def test_field_value(value: Any, encoded: dict[str, Any]) -> None:
    assert field_value(value) == encoded


def test_well_known_deployment_fields() -> None:
    values, errors = collect(DEPLOY, [{"type": "WellKnownStatus"}])
    assert errors == []
    got = {v["name"]: v["fieldValue"]["integer"] for v in values}
    assert got == {
        "Replicas": 3,
        "ReadyReplicas": 2,
        "AvailableReplicas": 2,
        "UpdatedReplicas": 3,
        "ObservedGeneration": 4,
    }


def test_json_paths_relative_to_status_and_absolute() -> None:
    rules = [
        {
            "type": "JSONPaths",
            "jsonPaths": [
                {"name": "ready", "path": ".readyReplicas"},
                {"name": "avail", "path": '.conditions[?(@.type=="Available")].status'},
                {"name": "want", "path": ".spec.replicas"},
                {"name": "missing", "path": ".nope"},
                {"name": "broken", "path": "nope"},
            ],
        }
    ]
    values, errors = collect(DEPLOY, rules)
    assert {v["name"]: v["fieldValue"] for v in values} == {
        "ready": {"type": "Integer", "integer": 2},
        "avail": {"type": "String", "string": "True"},
        "want": {"type": "Integer", "integer": 3},
    }
    assert errors == ["broken"]


def test_rules_for_matches_identifier() -> None:
    configs = [
        {
            "resourceIdentifier": {
                "group": "apps",
                "resource": "deployments",
                "namespace": "app",
                "name": "web",
            },
            "feedbackRules": [{"type": "WellKnownStatus"}],
        },
        {
            "resourceIdentifier": {"group": "apps", "kind": "Deployment", "namespace": "app", "name": "web"},
            "feedbackRules": [{"type": "JSONPaths", "jsonPaths": []}],
        },
        {
            "resourceIdentifier": {
                "group": "apps",
                "resource": "deployments",
                "namespace": "other",
                "name": "web",
            },
            "feedbackRules": [{"type": "WellKnownStatus"}],
        },
    ]
    got = rules_for(
        configs, group="apps", resource="deployments", kind="Deployment", namespace="app", name="web"
    )
    assert [r["type"] for r in got] == ["WellKnownStatus", "JSONPaths"]
    assert (
        rules_for(configs, group="", resource="configmaps", kind="ConfigMap", namespace="app", name="web")
        == []
    )
