"""The example in docs/interpreter.md runs as written and gives the results the page shows."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.interpreter import DependentObject, Interpreter, errors

DOC = Path(__file__).resolve().parents[2] / "docs" / "interpreter.md"


def doc_customization() -> dict[str, Any]:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), flags=re.S)
    (block,) = [b for b in blocks if "kind: ResourceInterpreterCustomization" in b]
    return dict(yaml.safe_load(block))


WIDGET: dict[str, Any] = {
    "apiVersion": "example.com/v1",
    "kind": "Widget",
    "metadata": {"name": "gizmo", "namespace": "shop"},
    "spec": {
        "replicas": 6,
        "template": {
            "spec": {
                "serviceAccountName": "widget-runner",
                "containers": [{"name": "w", "resources": {"requests": {"cpu": "250m"}}}],
                "volumes": [{"name": "s", "configMap": {"name": "settings"}}],
            }
        },
    },
}


@pytest.fixture(scope="module")
def interpreter() -> Interpreter:
    interpreter = Interpreter()
    assert interpreter.set_customization(doc_customization()) == []
    return interpreter


def test_the_documented_results(interpreter: Interpreter) -> None:
    replicas = interpreter.replicas(WIDGET)
    assert replicas is not None
    assert (replicas.replicas, replicas.requirements, replicas.source) == (
        6,
        {"resourceRequest": {"cpu": "250m"}},
        "customization widgets",
    )
    revised = interpreter.revise_replicas(WIDGET, 2)
    assert revised is not None and revised["spec"]["replicas"] == 2 and WIDGET["spec"]["replicas"] == 6
    not_ready = {**WIDGET, "status": {"conditions": [{"type": "Ready", "status": "False"}]}}
    assert interpreter.health(not_ready) is False
    ready = {**WIDGET, "status": {"readyReplicas": 6, "conditions": [{"type": "Ready", "status": "True"}]}}
    assert interpreter.health(ready) is True
    assert interpreter.reflect_status(ready) == ready["status"]
    items = [
        {"clusterName": "eu1", "status": {"readyReplicas": 2}},
        {"clusterName": "eu2", "status": {"readyReplicas": 3}},
    ]
    aggregated = interpreter.aggregate_status(WIDGET, items)
    assert aggregated is not None and aggregated["status"] == {"readyReplicas": 5, "clusters": 2}
    assert interpreter.dependencies(WIDGET) == [
        DependentObject("v1", "ConfigMap", "shop", "settings"),
        DependentObject("v1", "ServiceAccount", "shop", "widget-runner"),
    ]


def test_the_documented_error_message(interpreter: Interpreter) -> None:
    broken = doc_customization()
    broken["spec"]["customizations"]["healthInterpretation"]["luaScript"] = (
        "function InterpretHealth(observedObj)\n  return observedObj.status.ready\nend"
    )
    interpreter = Interpreter([broken])
    with pytest.raises(errors.ScriptError) as raised:
        interpreter.health(WIDGET)
    assert "widgets.InterpretHealth:2: attempt to index field 'status' (a nil value)" in str(raised.value)
    assert raised.value.reason == "ScriptError"
