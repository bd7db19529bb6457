"""The ``kube`` library scripts require: resourceAdd, accuratePodRequirements, getPodDependencies."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from shared.interpreter import errors, kube_library
from shared.interpreter.sandbox import LuaSandbox


@pytest.mark.parametrize(
    ("args", "total"),
    [
        (("1Gi", "512Mi"), "1536Mi"),
        (("100m", "1"), "1100m"),
        (("500m", "500m"), "1"),
        (("500", "500"), "1k"),
        (("1", None, "2"), "3"),
        ((None,), "0"),
        (("1.5",), "1500m"),
    ],
)
def test_resource_add(args: tuple[Any, ...], total: str) -> None:
    assert kube_library.resource_add(*args) == total


def test_resource_add_refuses_numbers_and_garbage() -> None:
    with pytest.raises(TypeError):
        kube_library.resource_add(1)
    with pytest.raises(ValueError, match="not a quantity"):
        kube_library.resource_add("lots")


@pytest.mark.parametrize(
    ("value", "binary", "text"),
    [
        (Decimal(2**30), True, "1Gi"),
        (Decimal(1000), True, "1k"),
        (Decimal("0.25"), False, "250m"),
        (Decimal(0), True, "0"),
    ],
)
def test_format_quantity(value: Decimal, binary: bool, text: str) -> None:
    assert kube_library.format_quantity(value, binary=binary) == text


def test_pod_requirements_effective_request_node_claim_and_overhead() -> None:
    template = {
        "spec": {
            "nodeSelector": {"disk": "ssd"},
            "tolerations": [{"key": "gpu", "operator": "Exists"}],
            "affinity": {
                "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}
            },
            "overhead": {"cpu": "10m"},
            "initContainers": [{"name": "init", "resources": {"requests": {"cpu": "2", "memory": "16Mi"}}}],
            "containers": [
                {"name": "a", "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}}},
                {
                    "name": "b",
                    "resources": {"limits": {"cpu": "500m", "memory": "64Mi", "nvidia.com/gpu": "1"}},
                },
            ],
        }
    }
    assert kube_library.accurate_pod_requirements(template) == {
        "nodeClaim": {
            "nodeSelector": {"disk": "ssd"},
            "tolerations": [{"key": "gpu", "operator": "Exists"}],
            "hardNodeAffinity": {"nodeSelectorTerms": []},
        },
        # cpu: max(250m + 500m, init 2) + 10m overhead; memory: 128Mi > 16Mi; limits stand in for requests
        "resourceRequest": {"cpu": "2010m", "memory": "128Mi", "nvidia.com/gpu": "1"},
    }


def test_pod_requirements_nil_when_nothing_is_asked() -> None:
    assert kube_library.accurate_pod_requirements({"spec": {"containers": [{"name": "a"}]}}) is None
    with pytest.raises(TypeError, match="only accepts one argument"):
        kube_library.accurate_pod_requirements({}, {})


def test_pod_dependencies_every_reference_kind() -> None:
    spec = {
        "serviceAccountName": "runner",
        "imagePullSecrets": [{"name": "pull"}],
        "volumes": [
            {"name": "c", "configMap": {"name": "cm-volume"}},
            {"name": "s", "secret": {"secretName": "secret-volume"}},
            {"name": "p", "persistentVolumeClaim": {"claimName": "data"}},
            {
                "name": "pr",
                "projected": {
                    "sources": [{"configMap": {"name": "cm-projected"}}, {"secret": {"name": "s-projected"}}]
                },
            },
        ],
        "initContainers": [{"name": "i", "envFrom": [{"secretRef": {"name": "init-env"}}]}],
        "containers": [
            {
                "name": "a",
                "env": [
                    {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cm-env", "key": "x"}}},
                    {"name": "Y", "valueFrom": {"secretKeyRef": {"name": "secret-env", "key": "y"}}},
                ],
            }
        ],
    }
    refs = kube_library.get_pod_dependencies({"spec": spec}, "shop")
    assert [(r["kind"], r["name"]) for r in refs] == [
        ("ConfigMap", "cm-env"),
        ("ConfigMap", "cm-projected"),
        ("ConfigMap", "cm-volume"),
        ("Secret", "init-env"),
        ("Secret", "pull"),
        ("Secret", "s-projected"),
        ("Secret", "secret-env"),
        ("Secret", "secret-volume"),
        ("ServiceAccount", "runner"),
        ("PersistentVolumeClaim", "data"),
    ]
    assert {r["namespace"] for r in refs} == {"shop"}
    assert {r["apiVersion"] for r in refs} == {"v1"}


def test_pod_dependencies_default_namespace_and_default_service_account() -> None:
    refs = kube_library.get_pod_dependencies({"spec": {"serviceAccountName": "default"}}, None)
    assert refs == []
    refs = kube_library.get_pod_dependencies({"spec": {"serviceAccountName": "x"}}, None)
    assert refs == [{"apiVersion": "v1", "kind": "ServiceAccount", "namespace": "default", "name": "x"}]


def test_helpers_called_from_lua_raise_lua_errors_on_bad_input() -> None:
    sandbox = LuaSandbox(libraries={"kube": kube_library.FUNCTIONS})
    script = sandbox.compile(
        'local kube = require("kube") function F() return kube.getPodDependencies({spec = {}}) end',
        customization="t",
        operation="Test",
    )
    with pytest.raises(errors.ScriptError, match="only accepts two argument"):
        sandbox.call(script, function="F", args=[], customization="t", operation="Test")
