"""Pure tenancy rules: policy scope, and identity fixed by the template through every override."""

from __future__ import annotations

import re
from typing import Any

import pytest

from hub import matching, overrides, tenancy
from hub.clusters import ClusterView
from hub.rendering import render_manifest

EU1 = ClusterView(name="eu1", labels={"geo": "eu"})


def configmap(name: str = "innocent", namespace: str = "team-a") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": "x"}},
        "data": {"k": "v"},
    }


def override(
    ops: list[dict[str, Any]], *, namespace: str | None = "team-a", name: str = "evil"
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {
        "apiVersion": "policy.waybill.dev/v1alpha1",
        "kind": "OverridePolicy" if namespace else "ClusterOverridePolicy",
        "metadata": meta,
        "spec": {"overrideRules": [{"overriders": {"plaintext": ops}}]},
    }


def op(path: str, value: Any, operator: str = "replace") -> dict[str, Any]:
    return {"path": path, "operator": operator, "value": value}


@pytest.mark.parametrize(
    ("policy_kind", "policy_ns", "template_ns", "allowed"),
    [
        ("PropagationPolicy", "team-a", "team-a", True),
        ("PropagationPolicy", "team-a", "team-b", False),
        ("PropagationPolicy", "team-a", "", False),  # cluster-scoped templates: cluster policies only
        ("OverridePolicy", "team-a", "team-a", True),
        ("OverridePolicy", "team-a", "", False),
        ("OverridePolicy", "", "team-a", False),
        ("ClusterPropagationPolicy", "", "team-a", True),
        ("ClusterPropagationPolicy", "", "", True),
        ("ClusterOverridePolicy", "", "", True),
        ("SomethingElse", "", "", False),
    ],
)
def test_policy_scope(policy_kind: str, policy_ns: str, template_ns: str, allowed: bool) -> None:
    assert (
        tenancy.may_act_on(
            policy_kind=policy_kind, policy_namespace=policy_ns, template_namespace=template_ns
        )
        is allowed
    )


def test_namespaced_policy_never_claims_cluster_scoped_or_foreign_templates() -> None:
    pp = {
        "apiVersion": "policy.waybill.dev/v1alpha1",
        "kind": "PropagationPolicy",
        "metadata": {"name": "grab", "namespace": "team-a"},
        "spec": {
            "resourceSelectors": [
                {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole"},
                {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "team-b"},
            ]
        },
    }
    cluster_role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "r"},
    }
    assert matching.choose_policy(cluster_role, [pp]) is None
    assert matching.choose_policy(configmap(namespace="team-b"), [pp]) is None


def test_override_without_kind_applies_nowhere() -> None:
    policy = override([op("/data/k", "w")])
    policy.pop("kind")
    assert not overrides.applies_to(policy, configmap())


ATTACKS = {
    "apiVersion": [op("/apiVersion", "rbac.authorization.k8s.io/v1")],
    "kind": [op("/kind", "ClusterRoleBinding")],
    "namespace": [op("/metadata/namespace", "kube-system")],
    "namespace-removed": [{"path": "/metadata/namespace", "operator": "remove"}],
    "name": [op("/metadata/name", "other")],
    "whole-metadata": [op("/metadata", {"name": "innocent", "namespace": "kube-system"})],
    "whole-object": [
        op(
            "",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": "pwn"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "cluster-admin",
                },
                "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "team-a"}],
            },
        )
    ],
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_override_cannot_change_identity(attack: str) -> None:
    ops = [op("/data/ok", "fine", "add"), *ATTACKS[attack]]
    with pytest.raises(overrides.OverrideError) as caught:
        render_manifest(configmap(), cluster=EU1, replicas=None, overrides=[override(ops)])
    error = caught.value
    assert error.policy == "OverridePolicy/team-a/evil"
    assert error.field == "overrideRules[0].overriders.plaintext[1]"  # the rule and overrider that did it
    assert error.cluster == "eu1"
    assert "identity" in error.detail
    assert f"path {ATTACKS[attack][0]['path']}" in error.detail


def test_cluster_override_cannot_change_identity_either() -> None:
    moved = re.escape("metadata.namespace 'team-a' -> 'kube-system'")
    with pytest.raises(overrides.OverrideError, match=moved):
        render_manifest(
            configmap(),
            cluster=EU1,
            replicas=None,
            overrides=[override([op("/metadata/namespace", "kube-system")], namespace=None)],
        )


def test_labels_annotations_and_spec_may_change() -> None:
    ops = [
        op("/metadata/labels", {"tier": "gold"}),
        op("/metadata/annotations", {"note": "${MEMBER_CLUSTER_NAME}"}, "add"),
        op("/metadata", {"name": "innocent", "namespace": "team-a", "labels": {"a": "b"}}),
        op("/data", {"k": "changed"}),
    ]
    rendered = render_manifest(configmap(), cluster=EU1, replicas=None, overrides=[override(ops)])
    assert rendered["metadata"] == {"name": "innocent", "namespace": "team-a", "labels": {"a": "b"}}
    assert rendered["data"] == {"k": "changed"}


def test_identity_problem_is_none_for_the_same_object() -> None:
    assert tenancy.identity_problem(configmap(), configmap()) is None
    assert "kind 'ConfigMap' -> 'Secret'" in (
        tenancy.identity_problem(configmap(), {**configmap(), "kind": "Secret"}) or ""
    )


def test_tenant_role_is_namespaced_and_grants_nothing_cluster_wide() -> None:
    role = tenancy.tenant_role(namespace="team-a")
    assert role["kind"] == "Role" and role["metadata"]["namespace"] == "team-a"
    granted = {(g, r) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]}
    assert ("work.waybill.dev", "works") not in granted
    assert ("policy.waybill.dev", "clusterpropagationpolicies") not in granted
    assert ("rbac.authorization.k8s.io", "rolebindings") not in granted
    assert all("*" not in rule["verbs"] and "*" not in rule["resources"] for rule in role["rules"])
