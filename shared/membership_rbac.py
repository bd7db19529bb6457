"""The agent's hub identity, least privilege: ServiceAccount, Role and RoleBinding in its namespace.

ARCHITECTURE §3: an agent may read its Works and write their status, update its
MemberCluster's status, renew its heartbeat Lease and create Events, in its own member
namespace only. It may not write a Work itself (spec, metadata, finalizers) nor create or delete
one: the agent tracks what it applied on the member (AppliedWork records), so it needs no
finalizer on the hub, and a stolen agent token cannot change the member's orders. Both the hub's
``waybill join`` and the agent's tests build the identity from these functions, so the rules
live in one place. Pure functions returning plain dicts.
"""

from __future__ import annotations

from typing import Any

from shared.api import names

AGENT_IDENTITY = "waybill-agent"


def agent_role_rules() -> list[dict[str, Any]]:
    """The RBAC rules of the agent's Role in its member namespace."""
    return [
        {
            "apiGroups": [names.WORK_GROUP],
            "resources": ["works"],
            "verbs": ["get", "list", "watch"],
        },
        {"apiGroups": [names.WORK_GROUP], "resources": ["works/status"], "verbs": ["get", "patch", "update"]},
        {
            "apiGroups": [names.CLUSTER_GROUP],
            "resources": ["memberclusters"],
            "verbs": ["get", "list", "watch"],
        },
        {
            "apiGroups": [names.CLUSTER_GROUP],
            "resources": ["memberclusters/status"],
            "verbs": ["get", "patch", "update"],
        },
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "verbs": ["get", "create", "update", "patch"],
        },
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
        {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
    ]


def _labels(cluster: str) -> dict[str, str]:
    return {names.LABEL_MANAGED_BY: names.MANAGED_BY_VALUE, names.LABEL_CLUSTER: cluster}


def agent_service_account(*, namespace: str, cluster: str, name: str = AGENT_IDENTITY) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": namespace, "labels": _labels(cluster)},
    }


def agent_role(*, namespace: str, cluster: str, name: str = AGENT_IDENTITY) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": name, "namespace": namespace, "labels": _labels(cluster)},
        "rules": agent_role_rules(),
    }


def agent_role_binding(
    *, namespace: str, cluster: str, name: str = AGENT_IDENTITY, service_account: str = AGENT_IDENTITY
) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": name, "namespace": namespace, "labels": _labels(cluster)},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": service_account, "namespace": namespace}],
    }


def agent_identity_objects(*, namespace: str, cluster: str) -> list[dict[str, Any]]:
    """ServiceAccount, Role and RoleBinding, in the order to create them."""
    return [
        agent_service_account(namespace=namespace, cluster=cluster),
        agent_role(namespace=namespace, cluster=cluster),
        agent_role_binding(namespace=namespace, cluster=cluster),
    ]
