"""Karmada's documented customizations run unchanged and give the results Karmada documents.

The Lua is data under ``data/karmada/`` with its source named in each file: the CloneSet and
Kyverno ClusterPolicy customizations Karmada ships, with its own test cases (inputs and expected
outputs; the few deliberate differences are marked in the data), and the
Deployment example of the user guide and ``karmadactl interpret`` (whose documented behaviour, one
line per operation in the guide, the assertions spell out).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.api import names
from shared.interpreter import DependentObject, Interpreter, Operation

DATA = Path(__file__).parent / "data" / "karmada"


def load_customization(path: Path) -> dict[str, Any]:
    obj: dict[str, Any] = yaml.safe_load(path.read_text())
    assert obj["apiVersion"] == "config.karmada.io/v1alpha1"
    obj["apiVersion"] = names.CONFIG_API_VERSION
    return obj


DATASETS = {
    "cloneset": "declarative-configuration-cloneset",
    "clusterpolicy": "declarative-configuration-clusterpolicy",
}
CASES = [
    (dataset, case)
    for dataset in DATASETS
    for case in yaml.safe_load((DATA / dataset / "cases.yaml").read_text())["cases"]
]


@pytest.fixture(scope="module")
def interpreters() -> dict[str, Interpreter]:
    out = {}
    for dataset in DATASETS:
        interpreter = Interpreter()
        assert interpreter.set_customization(load_customization(DATA / dataset / "customizations.yaml")) == []
        out[dataset] = interpreter
    return out


def _subset(actual: Any, expected: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and _subset(actual[k], v) for k, v in expected.items()
        )
    return bool(actual == expected)


@pytest.mark.parametrize(
    ("dataset", "case"), CASES, ids=[f"{d}: {c['operation']}: {c['name']}" for d, c in CASES]
)
def test_karmada_thirdparty_cases(
    interpreters: dict[str, Interpreter], dataset: str, case: dict[str, Any]
) -> None:
    interpreter = interpreters[dataset]
    operation = Operation(case["operation"])
    # Where Waybill deliberately differs, the case says so (see the data file's header).
    expected = case.get("waybill_output", case["output"])
    obj = case.get("desiredObj") or case["observedObj"]
    # The interpreter really uses the customization (neither kind has a built-in rule anyway).
    assert interpreter.rule_for(obj, operation) == DATASETS[dataset]
    if operation is Operation.INTERPRET_REPLICA:
        result = interpreter.replicas(case["desiredObj"])
        assert result is not None
        assert result.replicas == expected["replica"]
        assert result.requirements is None  # the template requests nothing and has no node claim
    elif operation is Operation.REVISE_REPLICA:
        revised = interpreter.revise_replicas(case["desiredObj"], case["inputReplicas"])
        assert _subset(revised, expected)
        assert case["desiredObj"]["spec"]["replicas"] == 4  # the input is not mutated
    elif operation is Operation.INTERPRET_DEPENDENCY:
        assert interpreter.dependencies(case["desiredObj"]) == [
            DependentObject(d["apiVersion"], d["kind"], d["namespace"], d["name"])
            for d in expected["dependencies"]
        ]
    elif operation is Operation.INTERPRET_STATUS:
        added = case.get("framework_added", [])
        want = {k: v for k, v in expected["status"].items() if k not in added}
        assert interpreter.reflect_status(case["observedObj"]) == want
    elif operation is Operation.INTERPRET_HEALTH:
        assert interpreter.health(case["observedObj"]) is expected["healthy"]
    elif operation is Operation.AGGREGATE_STATUS:
        aggregated = interpreter.aggregate_status(case["desiredObj"], case["statusItems"])
        assert aggregated == expected["aggregatedStatus"]
    else:  # pragma: no cover - every case in the data files has one of the operations above
        pytest.fail(f"unhandled operation {operation}")


def test_every_karmada_operation_is_covered() -> None:
    assert {c["operation"] for _, c in CASES} == {
        "InterpretReplica",
        "ReviseReplica",
        "InterpretDependency",
        "InterpretStatus",
        "InterpretHealth",
        "AggregateStatus",
    }
    assert len(CASES) >= 25


# --- the user guide's / karmadactl interpret's Deployment example -------------------------------
EXAMPLE = DATA / "karmadactl-interpret"


@pytest.fixture(scope="module")
def deployment_example() -> Interpreter:
    interpreter = Interpreter()
    assert interpreter.set_customization(load_customization(EXAMPLE / "customization.yaml")) == []
    return interpreter


def _yaml(name: str) -> Any:
    return yaml.safe_load((EXAMPLE / name).read_text())


def test_example_replicas_and_requirements(deployment_example: Interpreter) -> None:
    # "replica = obj.spec.replicas; requirement = kube.accuratePodRequirements(obj.spec.template)":
    # the limit stands in for the request, the node selector becomes the node claim.
    result = deployment_example.replicas(_yaml("observed-deploy-nginx.yaml"))
    assert result is not None
    assert result.replicas == 3
    assert result.requirements == {
        "nodeClaim": {"nodeSelector": {"foo": "bar"}},
        "resourceRequest": {"cpu": "100m"},
    }
    assert result.source == "customization declarative-configuration-example"


def test_example_overrides_the_built_in_deployment_rules(deployment_example: Interpreter) -> None:
    observed = _yaml("observed-deploy-nginx.yaml")
    # Built-in health would ask for observedGeneration == generation and updated == 3; the script
    # compares readyReplicas with spec.replicas only: 2 != 3.
    assert deployment_example.health(observed) is False
    # ReflectStatus returns the whole status.
    assert deployment_example.reflect_status(observed) == observed["status"]


def test_example_retain_revise_aggregate_dependencies(deployment_example: Interpreter) -> None:
    desired, observed = _yaml("desired-deploy-nginx.yaml"), _yaml("observed-deploy-nginx.yaml")
    retained = deployment_example.retain(desired, observed)
    assert retained is not None and retained["spec"]["paused"] is True  # kept from the member
    assert {k: v for k, v in retained["spec"].items() if k != "paused"} == {
        k: v for k, v in desired["spec"].items() if k != "paused"
    }
    revised = deployment_example.revise_replicas(desired, 7)
    assert revised is not None and revised["spec"]["replicas"] == 7
    items = list(yaml.safe_load_all((EXAMPLE / "status-file.yaml").read_text()))
    aggregated = deployment_example.aggregate_status(desired, items)
    assert aggregated is not None and aggregated["status"] == {"replicas": 2}
    # The desired object has no namespace, so the reference has none either.
    expected = [DependentObject("v1", "ServiceAccount", None, "test-sa")]
    assert deployment_example.dependencies(desired) == expected


# --- the user guide's Retain example (HPA-owned replicas) ------------------------------------------
def test_user_guide_retain_keeps_hpa_replicas_only_with_the_label() -> None:
    interpreter = Interpreter([load_customization(DATA / "userguide-retain" / "customization.yaml")])
    labelled = {
        "apiVersion": "example.io/v1",
        "kind": "CustomWorkload",
        "metadata": {"name": "web-app", "labels": {"resourcetemplate.karmada.io/retain-replicas": "true"}},
        "spec": {"replicas": 3},
    }
    observed = {**labelled, "spec": {"replicas": 7, "paused": True}}
    # "HPA scales to 7 replicas; Karmada ... preserves 7 replicas (does not revert to 3)"
    assert interpreter.retain(labelled, observed) == {**labelled, "spec": {"replicas": 7, "paused": True}}
    # "Without label: replicas are controlled by the control plane"
    unlabelled = {**labelled, "metadata": {"name": "web-app"}}
    assert interpreter.retain(unlabelled, observed) == {**unlabelled, "spec": {"replicas": 3, "paused": True}}
