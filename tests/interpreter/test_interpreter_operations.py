"""Each operation: the built-in rule for Kubernetes' kinds, a customization overriding it, no rule
(None) for kinds without one, and a wrong result shape as a typed error."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from shared.api import names
from shared.interpreter import DependentObject, Interpreter, Operation, errors

DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop", "generation": 2},
    "spec": {
        "replicas": 4,
        "template": {
            "spec": {
                "serviceAccountName": "web",
                "containers": [
                    {
                        "name": "web",
                        "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}},
                        "envFrom": [{"configMapRef": {"name": "settings"}}],
                    }
                ],
                "volumes": [{"name": "tls", "secret": {"secretName": "web-tls"}}],
            }
        },
    },
    "status": {
        "observedGeneration": 2,
        "replicas": 4,
        "updatedReplicas": 4,
        "readyReplicas": 4,
        "availableReplicas": 4,
    },
}
WIDGET = {
    "apiVersion": "example.com/v1",
    "kind": "Widget",
    "metadata": {"name": "w", "namespace": "default"},
    "spec": {"size": 3},
    "status": {"phase": "Failed"},
}


def ric(name: str, target: dict[str, str], **scripts: str) -> dict[str, Any]:
    return {
        "apiVersion": names.CONFIG_API_VERSION,
        "kind": "ResourceInterpreterCustomization",
        "metadata": {"name": name},
        "spec": {"target": target, "customizations": {k: {"luaScript": v} for k, v in scripts.items()}},
    }


WIDGET_TARGET = {"apiVersion": "example.com/v1", "kind": "Widget"}
WIDGET_RULES = ric(
    "widgets",
    WIDGET_TARGET,
    replicaResource="function GetReplicas(o) return o.spec.size, {resourceRequest = {cpu = '1'}} end",
    replicaRevision="function ReviseReplica(o, n) o.spec.size = n return o end",
    retention="function Retain(d, o) d.spec.owner = o.spec.owner return d end",
    statusReflection="function ReflectStatus(o) return {phase = o.status.phase} end",
    statusAggregation="""
      function AggregateStatus(d, items)
        d.status = {phases = {}}
        for i = 1, #items do d.status.phases[i] = items[i].clusterName .. '=' .. items[i].status.phase end
        return d
      end""",
    healthInterpretation="function InterpretHealth(o) return o.status.phase ~= 'Failed' end",
    dependencyInterpretation="""
      function GetDependencies(o)
        return {{apiVersion = 'v1', kind = 'Secret', namespace = o.metadata.namespace, name = 'creds'}}
      end""",
)


# --- built-in rules -------------------------------------------------------------------------------
def test_built_in_rules_for_a_deployment() -> None:
    interpreter = Interpreter()
    replicas = interpreter.replicas(DEPLOYMENT)
    assert replicas is not None
    assert (replicas.replicas, replicas.source) == (4, "built-in")
    assert replicas.requirements == {"resourceRequest": {"cpu": "250m", "memory": "64Mi"}}
    revised = interpreter.revise_replicas(DEPLOYMENT, 1)
    assert revised is not None and revised["spec"]["replicas"] == 1
    assert DEPLOYMENT["spec"]["replicas"] == 4
    assert interpreter.health(DEPLOYMENT) is True
    assert interpreter.reflect_status(DEPLOYMENT) == {**DEPLOYMENT["status"], "generation": 2}
    assert interpreter.dependencies(DEPLOYMENT) == [
        DependentObject("v1", "ConfigMap", "shop", "settings"),
        DependentObject("v1", "Secret", "shop", "web-tls"),
        DependentObject("v1", "ServiceAccount", "shop", "web"),
    ]


def test_built_in_deployment_health_waits_for_the_rollout() -> None:
    interpreter = Interpreter()
    stale = copy.deepcopy(DEPLOYMENT)
    stale["status"]["observedGeneration"] = 1
    assert interpreter.health(stale) is False
    rolling = copy.deepcopy(DEPLOYMENT)
    rolling["status"]["availableReplicas"] = 3
    assert interpreter.health(rolling) is False


def test_built_in_aggregation_sums_and_settles_the_generation() -> None:
    interpreter = Interpreter()
    settled = {"replicas": 2, "readyReplicas": 2, "availableReplicas": 2, "updatedReplicas": 2}
    items = [
        {"clusterName": "a", "status": {**settled, "observedGeneration": 5, "generation": 5}},
        {"clusterName": "b", "status": {**settled, "observedGeneration": 3, "generation": 3}},
    ]
    aggregated = interpreter.aggregate_status(DEPLOYMENT, items)
    assert aggregated is not None
    assert aggregated["status"] == {
        "replicas": 4,
        "updatedReplicas": 4,
        "readyReplicas": 4,
        "availableReplicas": 4,
        "unavailableReplicas": 0,
        "observedGeneration": 2,  # the template's generation: every member observed its object
    }
    items[1]["status"]["observedGeneration"] = 2
    stale = interpreter.aggregate_status(DEPLOYMENT, items)
    assert stale is not None and "observedGeneration" not in stale["status"]


@pytest.mark.parametrize(
    ("obj", "count"),
    [
        ({"apiVersion": "apps/v1", "kind": "StatefulSet", "spec": {"replicas": 3}}, 3),
        ({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {}}, 1),
        ({"apiVersion": "batch/v1", "kind": "Job", "spec": {"parallelism": 5, "completions": 2}}, 5),
        ({"apiVersion": "batch/v1", "kind": "Job", "spec": {}}, 1),
        ({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "c"}]}}, 1),
    ],
)
def test_built_in_replicas(obj: dict[str, Any], count: int) -> None:
    result = Interpreter().replicas(obj)
    assert result is not None and result.replicas == count


def test_no_rule_is_none_not_an_error() -> None:
    interpreter = Interpreter()
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    assert interpreter.replicas(WIDGET) is None
    assert interpreter.revise_replicas(config_map, 2) is None
    assert interpreter.retain(WIDGET, WIDGET) is None
    assert interpreter.aggregate_status(WIDGET, []) is None
    assert interpreter.health(WIDGET) is None
    assert interpreter.dependencies(config_map) is None
    # Reflection has a rule for every kind: the whole status (None only without a status).
    assert interpreter.reflect_status(WIDGET) == {"phase": "Failed"}
    assert interpreter.reflect_status(config_map) is None


def test_built_in_retention_keeps_what_the_member_assigned() -> None:
    desired = {"apiVersion": "v1", "kind": "Service", "spec": {"ports": [{"port": 80}]}}
    observed = {
        "apiVersion": "v1",
        "kind": "Service",
        "spec": {
            "clusterIP": "10.0.0.7",
            "clusterIPs": ["10.0.0.7"],
            "ports": [{"port": 80, "nodePort": 30080}],
        },
    }
    retained = Interpreter().retain(desired, observed)
    assert retained == {
        "apiVersion": "v1",
        "kind": "Service",
        "spec": {
            "clusterIP": "10.0.0.7",
            "clusterIPs": ["10.0.0.7"],
            "ports": [{"port": 80, "nodePort": 30080}],
        },
    }
    assert "clusterIP" not in desired["spec"]


# --- a customization ----------------------------------------------------------------------------
def test_every_operation_runs_the_customization() -> None:
    interpreter = Interpreter([WIDGET_RULES])
    replicas = interpreter.replicas(WIDGET)
    assert replicas is not None
    assert (replicas.replicas, replicas.requirements, replicas.source) == (
        3,
        {"resourceRequest": {"cpu": "1"}},
        "customization widgets",
    )
    assert interpreter.revise_replicas(WIDGET, 1) == {**WIDGET, "spec": {"size": 1}}
    assert interpreter.retain(WIDGET, {**WIDGET, "spec": {"owner": "hpa"}}) == {
        **WIDGET,
        "spec": {"size": 3, "owner": "hpa"},
    }
    assert interpreter.reflect_status(WIDGET) == {"phase": "Failed"}
    items = [
        {"clusterName": "a", "status": {"phase": "Running"}},
        {"clusterName": "b", "status": {"phase": "Failed"}},
    ]
    assert interpreter.aggregate_status(WIDGET, items) == {
        **WIDGET,
        "status": {"phases": ["a=Running", "b=Failed"]},
    }
    assert interpreter.health(WIDGET) is False
    assert interpreter.dependencies(WIDGET) == [DependentObject("v1", "Secret", "default", "creds")]
    for operation in Operation:
        assert interpreter.rule_for(WIDGET, operation) == "widgets"


def test_a_customization_overrides_only_the_operations_it_defines() -> None:
    interpreter = Interpreter(
        [
            ric(
                "deploy-health",
                {"apiVersion": "apps/v1", "kind": "Deployment"},
                healthInterpretation=("function InterpretHealth(o) return false end"),
            )
        ]
    )
    assert interpreter.health(DEPLOYMENT) is False  # the script, not the built-in rule
    assert interpreter.rule_for(DEPLOYMENT, Operation.INTERPRET_HEALTH) == "deploy-health"
    replicas = interpreter.replicas(DEPLOYMENT)
    assert replicas is not None and replicas.source == "built-in"
    # Any version of the group matches: rules are per kind.
    assert interpreter.health({**DEPLOYMENT, "apiVersion": "apps/v1beta2"}) is False


def test_first_customization_by_name_wins_and_removal_restores_the_built_in() -> None:
    target = {"apiVersion": "apps/v1", "kind": "Deployment"}
    interpreter = Interpreter(
        [
            ric("b-unhealthy", target, healthInterpretation="function InterpretHealth(o) return false end"),
            ric("a-healthy", target, healthInterpretation="function InterpretHealth(o) return true end"),
        ]
    )
    assert interpreter.rule_for(DEPLOYMENT, Operation.INTERPRET_HEALTH) == "a-healthy"
    interpreter.remove_customization("a-healthy")
    assert interpreter.health(DEPLOYMENT) is False
    interpreter.remove_customization("b-unhealthy")
    stale = copy.deepcopy(DEPLOYMENT)
    stale["status"]["observedGeneration"] = 1
    assert interpreter.health(stale) is False and interpreter.health(DEPLOYMENT) is True
    assert interpreter.customization_names() == []


def test_replacing_a_customization_takes_effect() -> None:
    interpreter = Interpreter(
        [ric("w", WIDGET_TARGET, healthInterpretation="function InterpretHealth(o) return true end")]
    )
    assert interpreter.health(WIDGET) is True
    interpreter.set_customization(
        ric("w", WIDGET_TARGET, healthInterpretation="function InterpretHealth(o) return false end")
    )
    assert interpreter.health(WIDGET) is False


@pytest.mark.parametrize(
    ("field", "script", "call", "message"),
    [
        (
            "healthInterpretation",
            "function InterpretHealth(o) end",
            "health",
            "must return a boolean, got nil",
        ),
        ("healthInterpretation", "function InterpretHealth(o) return 1 end", "health", "got a number"),
        ("replicaResource", "function GetReplicas(o) return 'three' end", "replicas", "non-negative integer"),
        ("replicaResource", "function GetReplicas(o) return 2.5 end", "replicas", "non-negative integer"),
        ("replicaResource", "function GetReplicas(o) return -1 end", "replicas", "non-negative integer"),
        (
            "replicaResource",
            "function GetReplicas(o) return 1, 'x' end",
            "replicas",
            "requirement must be a table",
        ),
        ("replicaRevision", "function ReviseReplica(o, n) return n end", "revise", "got a number"),
        ("retention", "function Retain(d, o) return nil end", "retain", "got nil"),
        ("statusReflection", "function ReflectStatus(o) return 'ok' end", "reflect", "got a string"),
        ("statusAggregation", "function AggregateStatus(d, i) return {1, 2} end", "aggregate", "got a list"),
        (
            "dependencyInterpretation",
            "function GetDependencies(o) return 'x' end",
            "deps",
            "must return a list",
        ),
        (
            "dependencyInterpretation",
            "function GetDependencies(o) return {{kind = 'Secret'}} end",
            "deps",
            "no apiVersion",
        ),
        (
            "dependencyInterpretation",
            "function GetDependencies(o) return {{apiVersion = 'v1', kind = 'Secret'}} end",
            "deps",
            "neither name nor labelSelector",
        ),
    ],
)
def test_wrong_result_shapes_are_invalid_results(field: str, script: str, call: str, message: str) -> None:
    interpreter = Interpreter([ric("widgets", WIDGET_TARGET, **{field: script})])
    calls = {
        "health": lambda: interpreter.health(WIDGET),
        "replicas": lambda: interpreter.replicas(WIDGET),
        "revise": lambda: interpreter.revise_replicas(WIDGET, 2),
        "retain": lambda: interpreter.retain(WIDGET, WIDGET),
        "reflect": lambda: interpreter.reflect_status(WIDGET),
        "aggregate": lambda: interpreter.aggregate_status(WIDGET, []),
        "deps": lambda: interpreter.dependencies(WIDGET),
    }
    with pytest.raises(errors.InvalidScriptResult) as raised:
        calls[call]()
    assert message in str(raised.value)
    assert raised.value.customization == "widgets"
    assert raised.value.reason == "InvalidScriptResult"


def test_empty_dependency_table_is_no_dependencies() -> None:
    interpreter = Interpreter(
        [ric("w", WIDGET_TARGET, dependencyInterpretation="function GetDependencies(o) return {} end")]
    )
    assert interpreter.dependencies(WIDGET) == []


def test_label_selector_dependencies() -> None:
    script = """function GetDependencies(o)
      local selector = {matchLabels = {app = 'w'}}
      return {{apiVersion = 'v1', kind = 'ConfigMap', namespace = 'default', labelSelector = selector}}
    end"""
    interpreter = Interpreter([ric("w", WIDGET_TARGET, dependencyInterpretation=script)])
    assert interpreter.dependencies(WIDGET) == [
        DependentObject("v1", "ConfigMap", "default", None, {"matchLabels": {"app": "w"}})
    ]


def test_inputs_are_never_mutated_by_scripts() -> None:
    widget = copy.deepcopy(WIDGET)
    Interpreter([WIDGET_RULES]).revise_replicas(widget, 9)
    assert widget == WIDGET


def test_the_exact_api_version_wins_over_another_version_of_the_kind() -> None:
    v1 = {"apiVersion": "example.com/v1", "kind": "Widget"}
    v2 = {"apiVersion": "example.com/v2", "kind": "Widget"}
    interpreter = Interpreter(
        [
            ric("a-v2", v2, healthInterpretation="function InterpretHealth(o) return false end"),
            ric("b-v1", v1, healthInterpretation="function InterpretHealth(o) return true end"),
        ]
    )
    assert (
        interpreter.rule_for({**WIDGET, "apiVersion": "example.com/v1"}, Operation.INTERPRET_HEALTH) == "b-v1"
    )
    assert (
        interpreter.rule_for({**WIDGET, "apiVersion": "example.com/v2"}, Operation.INTERPRET_HEALTH) == "a-v2"
    )
    # A version no customization names: the first by name for the group and kind.
    assert interpreter.health({**WIDGET, "apiVersion": "example.com/v3"}) is False


def test_unchanged_scripts_are_not_recompiled() -> None:
    interpreter = Interpreter([WIDGET_RULES])
    compiled = dict(interpreter._compiled)
    interpreter.set_customization(WIDGET_RULES)  # an informer resync: the same object again
    assert len(compiled) == 7
    assert all(interpreter._compiled[key] is rule for key, rule in compiled.items())


def _items(*statuses: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"clusterName": f"m{i}", "status": status} for i, status in enumerate(statuses)]


@pytest.mark.parametrize(
    ("kind", "phases", "expected"),
    [
        ({"apiVersion": "v1", "kind": "Pod"}, ["Running", "Succeeded"], "Running"),
        ({"apiVersion": "v1", "kind": "Pod"}, ["Succeeded", "Succeeded"], "Succeeded"),
        ({"apiVersion": "v1", "kind": "Pod"}, ["Running", "Failed"], "Failed"),
        ({"apiVersion": "v1", "kind": "Pod"}, ["Pending", "Running"], "Pending"),
        ({"apiVersion": "v1", "kind": "PersistentVolumeClaim"}, ["Bound", "Bound"], "Bound"),
        ({"apiVersion": "v1", "kind": "PersistentVolumeClaim"}, ["Bound", "Pending"], "Pending"),
        ({"apiVersion": "v1", "kind": "PersistentVolume"}, ["Available", "Failed"], "Failed"),
        ({"apiVersion": "v1", "kind": "PersistentVolume"}, ["Bound", "Bound"], "Bound"),
    ],
)
def test_built_in_phase_aggregation(kind: dict[str, str], phases: list[str], expected: str) -> None:
    aggregated = Interpreter().aggregate_status(kind, _items(*({"phase": p} for p in phases)))
    assert aggregated is not None and aggregated["status"] == {"phase": expected}


def test_built_in_cron_job_and_job_aggregation() -> None:
    interpreter = Interpreter()
    cron = interpreter.aggregate_status(
        {"apiVersion": "batch/v1", "kind": "CronJob"},
        _items(
            {"active": [{"name": "a-1"}], "lastScheduleTime": "2026-01-01T00:00:00Z"},
            {"lastScheduleTime": "2026-01-02T00:00:00Z", "lastSuccessfulTime": "2026-01-02T00:01:00Z"},
        ),
    )
    assert cron is not None and cron["status"] == {
        "active": [{"name": "a-1"}],
        "lastScheduleTime": "2026-01-02T00:00:00Z",
        "lastSuccessfulTime": "2026-01-02T00:01:00Z",
    }
    complete = {"type": "Complete", "status": "True"}
    job = interpreter.aggregate_status(
        {"apiVersion": "batch/v1", "kind": "Job"},
        _items(
            {"succeeded": 2, "conditions": [complete], "startTime": "t2", "completionTime": "t5"},
            {"succeeded": 1, "conditions": [complete], "startTime": "t1", "completionTime": "t4"},
        ),
    )
    assert job is not None
    assert job["status"]["succeeded"] == 3 and job["status"]["startTime"] == "t1"
    assert job["status"]["completionTime"] == "t5"
    assert [c["type"] for c in job["status"]["conditions"]] == ["Complete"]
    failed = interpreter.aggregate_status(
        {"apiVersion": "batch/v1", "kind": "Job"},
        _items({"failed": 1, "conditions": [{"type": "Failed", "status": "True"}]}, {"active": 1}),
    )
    assert failed is not None and failed["status"]["conditions"][0]["message"] == "Job failed in m0"


def test_built_in_load_balancer_aggregation_lists_each_ingress_once() -> None:
    service = {"apiVersion": "v1", "kind": "Service", "spec": {"type": "LoadBalancer"}}
    lb = {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}}
    aggregated = Interpreter().aggregate_status(
        service, _items(lb, lb, {"loadBalancer": {"ingress": [{"hostname": "x"}]}})
    )
    assert aggregated is not None
    assert aggregated["status"] == {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}, {"hostname": "x"}]}}
    assert Interpreter().reflect_status({**service, "status": lb, "metadata": {"generation": 1}}) == lb


@pytest.mark.parametrize(
    ("obj", "reflected"),
    [
        (
            {
                "apiVersion": "autoscaling/v2",
                "kind": "HorizontalPodAutoscaler",
                "status": {"currentReplicas": 3, "desiredReplicas": 5, "conditions": []},
            },
            {"currentReplicas": 3, "desiredReplicas": 5},
        ),
        (
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "status": {"loadBalancer": {}, "other": 1},
            },
            {"loadBalancer": {}, "other": 1},
        ),
        (
            {
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "status": {"currentHealthy": 2, "disruptedPods": {"p": "t"}, "conditions": []},
            },
            {"currentHealthy": 2, "disruptedPods": {"p": "t"}},
        ),
        (
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "status": {"succeeded": 1, "startTime": "t", "uncountedTerminatedPods": {}},
            },
            {"succeeded": 1, "startTime": "t"},
        ),
    ],
)
def test_built_in_reflection_picks_karmadas_fields(obj: dict[str, Any], reflected: dict[str, Any]) -> None:
    assert Interpreter().reflect_status(obj) == reflected
