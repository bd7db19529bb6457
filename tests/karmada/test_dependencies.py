"""hub.dependencies: what a workload references (as Karmada's default interpreter) and where it goes."""

from __future__ import annotations

from typing import Any

import pytest

from hub.dependencies import DependencyRef, dependencies_of, owned_dependencies, placements

POD_SPEC: dict[str, Any] = {
    "serviceAccountName": "runner",
    "imagePullSecrets": [{"name": "pull"}],
    "initContainers": [{"name": "init", "envFrom": [{"configMapRef": {"name": "init-env"}}]}],
    "containers": [
        {
            "name": "app",
            "env": [
                {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cm-key", "key": "a"}}},
                {"name": "B", "valueFrom": {"secretKeyRef": {"name": "secret-key", "key": "b"}}},
                {"name": "C", "value": "plain"},
                {"name": "D", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            ],
            "envFrom": [{"secretRef": {"name": "secret-env"}}],
        }
    ],
    "volumes": [
        {"name": "v1", "configMap": {"name": "cm-vol"}},
        {"name": "v2", "secret": {"secretName": "secret-vol"}},
        {
            "name": "v3",
            "projected": {
                "sources": [
                    {"configMap": {"name": "cm-proj"}},
                    {"secret": {"name": "secret-proj"}},
                    {"serviceAccountToken": {"path": "t"}},
                ]
            },
        },
        {"name": "v4", "persistentVolumeClaim": {"claimName": "data"}},
        {"name": "v5", "emptyDir": {}},
        {"name": "v6", "csi": {"driver": "x", "nodePublishSecretRef": {"name": "csi-secret"}}},
    ],
}
ALL = [
    ("ConfigMap", "cm-key"),
    ("ConfigMap", "cm-proj"),
    ("ConfigMap", "cm-vol"),
    ("ConfigMap", "init-env"),
    ("PersistentVolumeClaim", "data"),
    ("Secret", "csi-secret"),
    ("Secret", "pull"),
    ("Secret", "secret-env"),
    ("Secret", "secret-key"),
    ("Secret", "secret-proj"),
    ("Secret", "secret-vol"),
    ("ServiceAccount", "runner"),
]


def workload(kind: str, *, api_version: str = "apps/v1") -> dict[str, Any]:
    meta = {"name": "w", "namespace": "shop"}
    pod_template = {"metadata": {"labels": {"a": "b"}}, "spec": POD_SPEC}
    spec: dict[str, Any]
    if kind == "Pod":
        spec = POD_SPEC
    elif kind == "CronJob":
        spec = {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": pod_template}}}
    else:
        spec = {"template": pod_template}
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, "spec": spec}


@pytest.mark.parametrize(
    ("kind", "api_version"),
    [
        ("Deployment", "apps/v1"),
        ("StatefulSet", "apps/v1"),
        ("DaemonSet", "apps/v1"),
        ("ReplicaSet", "apps/v1"),
        ("Job", "batch/v1"),
        ("CronJob", "batch/v1"),
        ("Pod", "v1"),
    ],
)
def test_every_reference_of_every_workload_kind(kind: str, api_version: str) -> None:
    refs = dependencies_of(workload(kind, api_version=api_version))
    assert [(r.kind, r.name) for r in refs] == ALL
    assert {(r.api_version, r.namespace) for r in refs} == {("v1", "shop")}


def test_statefulset_claim_templates_are_not_dependencies() -> None:
    sts = workload("StatefulSet")
    sts["spec"]["volumeClaimTemplates"] = [{"metadata": {"name": "data"}}]
    kinds = {(r.kind, r.name) for r in dependencies_of(sts)}
    assert ("PersistentVolumeClaim", "data") not in kinds
    assert ("Secret", "pull") in kinds


def test_default_service_account_and_unknown_kinds() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "n"},
        "spec": {"serviceAccountName": "default", "containers": [{"name": "c"}]},
    }
    assert dependencies_of(pod) == []
    assert dependencies_of({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}) == []


def test_ingress_tls_secrets() -> None:
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "i", "namespace": "n"},
        "spec": {"tls": [{"secretName": "cert"}, {"hosts": ["a"]}]},
    }
    assert dependencies_of(ingress) == [DependencyRef("v1", "Secret", "n", "cert")]


def test_malformed_templates_do_not_crash() -> None:
    bad = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "w", "namespace": "n"},
        "spec": {
            "template": {
                "spec": {
                    "containers": "nope",
                    "volumes": [None, {"configMap": "x"}],
                    "imagePullSecrets": [{"name": ""}],
                }
            }
        },
    }
    assert dependencies_of(bad) == []


def test_shared_dependencies_go_to_the_union_and_leave_when_unneeded() -> None:
    shared = DependencyRef("v1", "ConfigMap", "n", "shared")
    own = DependencyRef("v1", "Secret", "n", "own")
    result = placements(
        [([shared, own], ["m1"]), ([shared], ["m2", "m3"]), ([DependencyRef("v1", "Secret", "n", "x")], [])]
    )
    assert result == {shared: frozenset({"m1", "m2", "m3"}), own: frozenset({"m1"})}


def test_owned_dependencies_one_owner_per_member() -> None:
    shared = DependencyRef("v1", "ConfigMap", "n", "shared")
    own = DependencyRef("v1", "Secret", "n", "own")
    selected = DependencyRef("v1", "ConfigMap", "n", "selected")
    dependents = [("b-policy", [shared, own, selected]), ("a-policy", [shared])]
    assert owned_dependencies(policy="a-policy", dependents=dependents) == [shared]
    assert owned_dependencies(policy="b-policy", dependents=dependents, propagated=[selected]) == [own]
