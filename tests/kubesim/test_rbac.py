"""Table tests for kubesim.rbac: bindings, subjects, wildcards, subresources, messages."""

from __future__ import annotations

from typing import Any

import pytest

from kubesim import rbac

SA = rbac.service_account_user("ns", "agent")


def role(name: str, rules: list[dict[str, Any]], namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {"kind": "Role" if namespace else "ClusterRole", "metadata": meta, "rules": rules}


def binding(
    name: str, role_kind: str, role_name: str, subjects: list[dict[str, Any]], namespace: str | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {"metadata": meta, "roleRef": {"kind": role_kind, "name": role_name}, "subjects": subjects}


SOURCE = rbac.StaticRules(
    roles_=[
        role("cm-reader", [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}], "ns"),
        role(
            "work-status",
            [
                {
                    "apiGroups": ["work.waybill.dev"],
                    "resources": ["works/status"],
                    "verbs": ["update", "patch"],
                },
                {"apiGroups": ["work.waybill.dev"], "resources": ["works"], "verbs": ["get"]},
            ],
            "ns",
        ),
        role(
            "one-secret",
            [{"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["token"], "verbs": ["get"]}],
            "ns",
        ),
    ],
    cluster_roles_=[
        *rbac.BOOTSTRAP_CLUSTER_ROLES,
        role(
            "leases-anywhere",
            [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["*"]}],
        ),
        role("all-status", [{"apiGroups": ["*"], "resources": ["*/status"], "verbs": ["get"]}]),
        role("node-reader", [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]}]),
        role("metrics", [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]),
    ],
    role_bindings_=[
        binding("sa-cm", "Role", "cm-reader", [{"kind": "ServiceAccount", "name": "agent"}], "ns"),
        binding(
            "sa-work",
            "Role",
            "work-status",
            [{"kind": "ServiceAccount", "name": "agent", "namespace": "ns"}],
            "ns",
        ),
        binding("alice-secret", "Role", "one-secret", [{"kind": "User", "name": "alice"}], "ns"),
        binding("devs-leases", "ClusterRole", "leases-anywhere", [{"kind": "Group", "name": "devs"}], "ns"),
        binding("devs-nodes", "ClusterRole", "node-reader", [{"kind": "Group", "name": "devs"}], "ns"),
        binding("devs-metrics", "ClusterRole", "metrics", [{"kind": "Group", "name": "devs"}], "ns"),
        binding("dangling", "Role", "nope", [{"kind": "User", "name": "bob"}], "ns"),
    ],
    cluster_role_bindings_=[
        *rbac.BOOTSTRAP_CLUSTER_ROLE_BINDINGS,
        binding("ops-status", "ClusterRole", "all-status", [{"kind": "Group", "name": "ops"}]),
    ],
)

AUTH = ["system:authenticated"]


@pytest.mark.parametrize(
    ("user", "groups", "request_", "allowed"),
    [
        (SA, AUTH, dict(verb="get", resource="configmaps", namespace="ns", name="x"), True),
        (SA, AUTH, dict(verb="list", resource="configmaps", namespace="ns"), True),
        (SA, AUTH, dict(verb="delete", resource="configmaps", namespace="ns", name="x"), False),
        (SA, AUTH, dict(verb="get", resource="configmaps", namespace="other", name="x"), False),
        (SA, AUTH, dict(verb="list", resource="configmaps"), False),  # all namespaces needs cluster scope
        (
            rbac.service_account_user("other", "agent"),
            AUTH,
            dict(verb="get", resource="configmaps", namespace="ns", name="x"),
            False,
        ),
        (
            SA,
            AUTH,
            dict(
                verb="update",
                api_group="work.waybill.dev",
                resource="works",
                subresource="status",
                namespace="ns",
                name="w",
            ),
            True,
        ),
        (
            SA,
            AUTH,
            dict(verb="update", api_group="work.waybill.dev", resource="works", namespace="ns", name="w"),
            False,
        ),
        (
            SA,
            AUTH,
            dict(verb="get", api_group="work.waybill.dev", resource="works", namespace="ns", name="w"),
            True,
        ),
        ("alice", AUTH, dict(verb="get", resource="secrets", namespace="ns", name="token"), True),
        ("alice", AUTH, dict(verb="get", resource="secrets", namespace="ns", name="other"), False),
        ("alice", AUTH, dict(verb="list", resource="secrets", namespace="ns"), False),
        (
            "carol",
            ["devs", *AUTH],
            dict(verb="update", api_group="coordination.k8s.io", resource="leases", namespace="ns", name="l"),
            True,
        ),
        (
            "carol",
            ["devs", *AUTH],
            dict(
                verb="update",
                api_group="coordination.k8s.io",
                resource="leases",
                namespace="kube-system",
                name="l",
            ),
            False,
        ),
        # a RoleBinding never grants cluster-scoped resources or non-resource URLs
        ("carol", ["devs", *AUTH], dict(verb="get", resource="nodes", name="n1"), False),
        ("carol", ["devs", *AUTH], dict(verb="get", path="/metrics"), False),
        (
            "dave",
            ["ops", *AUTH],
            dict(
                verb="get",
                api_group="apps",
                resource="deployments",
                subresource="status",
                namespace="a",
                name="d",
            ),
            True,
        ),
        (
            "dave",
            ["ops", *AUTH],
            dict(verb="get", api_group="apps", resource="deployments", namespace="a", name="d"),
            False,
        ),
        ("root", ["system:masters"], dict(verb="delete", resource="nodes", name="n1"), True),
        ("eve", AUTH, dict(verb="get", path="/version"), True),
        ("eve", AUTH, dict(verb="get", path="/apis/apps/v1"), True),
        ("eve", AUTH, dict(verb="get", path="/openapi/v2"), True),
        ("eve", AUTH, dict(verb="post", path="/version"), False),
        ("anon", ["system:unauthenticated"], dict(verb="get", path="/healthz"), True),
        ("anon", ["system:unauthenticated"], dict(verb="get", path="/api"), False),
        (
            "eve",
            AUTH,
            dict(verb="create", api_group="authorization.k8s.io", resource="selfsubjectaccessreviews"),
            True,
        ),
        ("eve", AUTH, dict(verb="get", resource="configmaps", namespace="ns", name="x"), False),
    ],
)
def test_authorize(user: str, groups: list[str], request_: dict[str, Any], allowed: bool) -> None:
    decision = rbac.authorize(user=user, groups=groups, rules_source=SOURCE, **request_)
    assert decision.allowed is allowed, decision


def test_dangling_role_reference_is_reported() -> None:
    decision = rbac.authorize(
        user="bob", groups=AUTH, verb="get", resource="pods", namespace="ns", name="p", rules_source=SOURCE
    )
    assert not decision.allowed
    assert decision.reason == 'RBAC: role.rbac.authorization.k8s.io "nope" not found'


def test_several_dangling_references_are_aggregated() -> None:
    source = rbac.StaticRules(
        role_bindings_=[
            binding("a", "Role", "x", [{"kind": "User", "name": "bob"}], "ns"),
            binding("b", "ClusterRole", "y", [{"kind": "User", "name": "bob"}], "ns"),
        ]
    )
    decision = rbac.authorize(
        user="bob", groups=[], verb="get", resource="pods", namespace="ns", name="p", rules_source=source
    )
    assert decision.reason == (
        'RBAC: [role.rbac.authorization.k8s.io "x" not found, '
        'clusterrole.rbac.authorization.k8s.io "y" not found]'
    )


def test_allow_reason_names_the_binding() -> None:
    decision = rbac.authorize(
        user=SA, groups=AUTH, verb="get", resource="configmaps", namespace="ns", name="x", rules_source=SOURCE
    )
    assert decision.reason == f'allowed by RoleBinding "sa-cm/ns" of Role "cm-reader" to {SA}'


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (
            dict(verb="get", resource="configmaps", namespace="ns", name="x"),
            'configmaps "x" is forbidden: User "system:serviceaccount:ns:sa" cannot get '
            'resource "configmaps" in API group "" in the namespace "ns"',
        ),
        (
            dict(verb="list", resource="configmaps", namespace="ns"),
            'configmaps is forbidden: User "system:serviceaccount:ns:sa" cannot list resource "configmaps" '
            'in API group "" in the namespace "ns"',
        ),
        (
            dict(verb="list", api_group="apps", resource="deployments"),
            'deployments.apps is forbidden: User "system:serviceaccount:ns:sa" cannot list '
            'resource "deployments" in API group "apps" at the cluster scope',
        ),
        (
            dict(
                verb="update",
                api_group="work.waybill.dev",
                resource="works",
                subresource="status",
                namespace="ns",
                name="w",
            ),
            'works.work.waybill.dev "w" is forbidden: User "system:serviceaccount:ns:sa" cannot update '
            'resource "works/status" in API group "work.waybill.dev" in the namespace "ns"',
        ),
        (
            dict(verb="get", path="/metrics"),
            'forbidden: User "system:serviceaccount:ns:sa" cannot get path "/metrics"',
        ),
        (
            dict(
                verb="get",
                resource="pods",
                namespace="ns",
                name="p",
                reason='RBAC: role.rbac.authorization.k8s.io "nope" not found',
            ),
            'pods "p" is forbidden: User "system:serviceaccount:ns:sa" cannot get '
            'resource "pods" in API group "" in the namespace "ns": '
            'RBAC: role.rbac.authorization.k8s.io "nope" not found',
        ),
    ],
)
def test_forbidden_message(request_: dict[str, Any], expected: str) -> None:
    assert rbac.forbidden_message(user="system:serviceaccount:ns:sa", **request_) == expected


def test_bootstrap_policy_is_well_formed() -> None:
    names = {r["metadata"]["name"] for r in rbac.BOOTSTRAP_CLUSTER_ROLES}
    assert {"cluster-admin", "system:discovery", "view", "edit", "admin"} <= names
    for crb in rbac.BOOTSTRAP_CLUSTER_ROLE_BINDINGS:
        assert crb["roleRef"]["name"] in names
    view = next(r for r in rbac.BOOTSTRAP_CLUSTER_ROLES if r["metadata"]["name"] == "view")
    assert not any("secrets" in rule["resources"] for rule in view["rules"])


def test_cluster_role_aggregation() -> None:
    crd_view = role(
        "widgets-view", [{"apiGroups": ["example.com"], "resources": ["widgets"], "verbs": ["get"]}]
    )
    crd_view["metadata"]["labels"] = {"rbac.authorization.k8s.io/aggregate-to-view": "true"}
    crd_admin = role(
        "widgets-admin", [{"apiGroups": ["example.com"], "resources": ["widgets"], "verbs": ["*"]}]
    )
    crd_admin["metadata"]["labels"] = {"rbac.authorization.k8s.io/aggregate-to-admin": "true"}
    source = rbac.StaticRules(
        cluster_roles_=[*rbac.BOOTSTRAP_CLUSTER_ROLES, crd_view, crd_admin],
        role_bindings_=[
            binding("v", "ClusterRole", "view", [{"kind": "User", "name": "viewer"}], "ns"),
            binding("e", "ClusterRole", "edit", [{"kind": "User", "name": "editor"}], "ns"),
            binding("a", "ClusterRole", "admin", [{"kind": "User", "name": "boss"}], "ns"),
        ],
    )

    def allowed(user: str, verb: str) -> bool:
        return rbac.authorize(
            user=user,
            groups=[],
            verb=verb,
            api_group="example.com",
            resource="widgets",
            namespace="ns",
            name="w",
            rules_source=source,
        ).allowed

    # view -> edit -> admin is transitive, as with the real aggregation controller
    assert [allowed(u, "get") for u in ("viewer", "editor", "boss")] == [True, True, True]
    assert [allowed(u, "delete") for u in ("viewer", "editor", "boss")] == [False, False, True]
