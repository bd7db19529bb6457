"""Table tests for the per-kind availability rules."""

from __future__ import annotations

from typing import Any

import pytest

from agent.availability import evaluate


def deploy(replicas: int | None, gen: int, **status: Any) -> dict[str, Any]:
    spec = {} if replicas is None else {"replicas": replicas}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d", "generation": gen},
        "spec": spec,
        "status": status,
    }


def cond(type_: str, status: str, **extra: str) -> dict[str, str]:
    return {"type": type_, "status": status, **extra}


CASES: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "deploy ready",
        deploy(3, 2, observedGeneration=2, updatedReplicas=3, availableReplicas=3),
        "True",
        "Available",
    ),
    (
        "deploy default one replica",
        deploy(None, 1, observedGeneration=1, updatedReplicas=1, availableReplicas=1),
        "True",
        "Available",
    ),
    (
        "deploy old generation",
        deploy(3, 3, observedGeneration=2, updatedReplicas=3, availableReplicas=3),
        "False",
        "NotAvailableYet",
    ),
    (
        "deploy partially available",
        deploy(3, 1, observedGeneration=1, updatedReplicas=3, availableReplicas=1),
        "False",
        "NotAvailableYet",
    ),
    ("deploy no status", deploy(1, 1), "False", "NotAvailableYet"),
    (
        "deploy deadline",
        deploy(
            1,
            1,
            observedGeneration=1,
            conditions=[cond("Progressing", "False", reason="ProgressDeadlineExceeded")],
        ),
        "False",
        "Failed",
    ),
    ("deploy zero replicas", deploy(0, 1, observedGeneration=1), "True", "Available"),
    (
        "sts ready",
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"generation": 1},
            "spec": {"replicas": 2},
            "status": {
                "observedGeneration": 1,
                "readyReplicas": 2,
                "availableReplicas": 2,
                "updatedReplicas": 2,
            },
        },
        "True",
        "Available",
    ),
    (
        "sts not ready",
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"generation": 1},
            "spec": {"replicas": 2},
            "status": {"observedGeneration": 1, "readyReplicas": 1},
        },
        "False",
        "NotAvailableYet",
    ),
    (
        "ds ready",
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"generation": 1},
            "status": {
                "observedGeneration": 1,
                "desiredNumberScheduled": 3,
                "numberAvailable": 3,
                "updatedNumberScheduled": 3,
            },
        },
        "True",
        "Available",
    ),
    (
        "ds rolling",
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"generation": 1},
            "status": {
                "observedGeneration": 1,
                "desiredNumberScheduled": 3,
                "numberAvailable": 3,
                "updatedNumberScheduled": 1,
            },
        },
        "False",
        "NotAvailableYet",
    ),
    (
        "job complete",
        {"apiVersion": "batch/v1", "kind": "Job", "status": {"conditions": [cond("Complete", "True")]}},
        "True",
        "Available",
    ),
    (
        "job failed",
        {"apiVersion": "batch/v1", "kind": "Job", "status": {"conditions": [cond("Failed", "True")]}},
        "False",
        "Failed",
    ),
    (
        "job running",
        {"apiVersion": "batch/v1", "kind": "Job", "status": {"active": 1}},
        "False",
        "NotAvailableYet",
    ),
    (
        "svc cluster ip",
        {"apiVersion": "v1", "kind": "Service", "spec": {"clusterIP": "10.0.0.1"}},
        "True",
        "Available",
    ),
    ("svc no ip yet", {"apiVersion": "v1", "kind": "Service", "spec": {}}, "False", "NotAvailableYet"),
    (
        "svc lb pending",
        {"apiVersion": "v1", "kind": "Service", "spec": {"type": "LoadBalancer", "clusterIP": "1.2.3.4"}},
        "False",
        "NotAvailableYet",
    ),
    (
        "svc lb ready",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "spec": {"type": "LoadBalancer"},
            "status": {"loadBalancer": {"ingress": [{"ip": "5.6.7.8"}]}},
        },
        "True",
        "Available",
    ),
    (
        "svc external name",
        {"apiVersion": "v1", "kind": "Service", "spec": {"type": "ExternalName"}},
        "True",
        "NotTracked",
    ),
    (
        "crd established",
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "status": {"conditions": [cond("Established", "True")]},
        },
        "True",
        "Available",
    ),
    (
        "crd pending",
        {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "status": {}},
        "False",
        "NotAvailableYet",
    ),
    (
        "pvc bound",
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "status": {"phase": "Bound"}},
        "True",
        "Available",
    ),
    (
        "pvc pending",
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "status": {"phase": "Pending"}},
        "False",
        "NotAvailableYet",
    ),
    (
        "pvc lost",
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "status": {"phase": "Lost"}},
        "False",
        "Failed",
    ),
    ("configmap", {"apiVersion": "v1", "kind": "ConfigMap"}, "True", "AvailableOnceApplied"),
    ("secret", {"apiVersion": "v1", "kind": "Secret"}, "True", "AvailableOnceApplied"),
    ("role", {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role"}, "True", "AvailableOnceApplied"),
    (
        "namespace",
        {"apiVersion": "v1", "kind": "Namespace", "status": {"phase": "Active"}},
        "True",
        "AvailableOnceApplied",
    ),
    ("unknown kind", {"apiVersion": "example.com/v1", "kind": "Widget"}, "True", "NotTracked"),
    (
        "deleting",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"}},
        "False",
        "Deleting",
    ),
]


@pytest.mark.parametrize(("obj", "status", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_availability(obj: dict[str, Any], status: str, reason: str) -> None:
    result = evaluate(obj)
    assert (result.status, result.reason) == (status, reason)
    assert result.available == (status == "True")
