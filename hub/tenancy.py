"""Waybill's tenancy model on the hub (pure): who may act on which template, and what may change.

A hub namespace is a tenant. The rules (docs/security.md, "Tenancy"):

1. **Scope.** A namespaced policy (PropagationPolicy, OverridePolicy) acts only on templates of
   its own namespace; cluster-scoped templates are placed and overridden only by cluster-scoped
   policies (ClusterPropagationPolicy, ClusterOverridePolicy), which a cluster admin grants.
   ``may_act_on`` is the one decision; matching and overriding both call it.
2. **Identity is fixed by the template.** Overrides may change labels, annotations and spec, but
   after every overrider the manifest's apiVersion, kind, namespace and name must still be the
   template's: otherwise an OverridePolicy in ``team-a`` could turn its ConfigMap into a
   ClusterRoleBinding, or move it into ``kube-system`` on every member. ``identity_problem``
   says what changed; the override code turns it into an ``OverrideError`` naming the policy,
   the rule and the path, so only that cluster's manifest fails (and the last good one stays).

Nothing here reads the API: callers pass plain objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.api import names

CLUSTER_SCOPED_POLICIES = frozenset(
    {names.KIND_CLUSTER_PROPAGATION_POLICY, names.KIND_CLUSTER_OVERRIDE_POLICY}
)
NAMESPACED_POLICIES = frozenset({names.KIND_PROPAGATION_POLICY, names.KIND_OVERRIDE_POLICY})


@dataclass(frozen=True)
class Identity:
    """What makes a manifest the object it is on a member."""

    api_version: str
    kind: str
    namespace: str  # "" for cluster-scoped objects
    name: str

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> Identity:
        meta = obj.get("metadata")
        meta = meta if isinstance(meta, Mapping) else {}
        return cls(
            api_version=_text(obj.get("apiVersion")),
            kind=_text(obj.get("kind")),
            namespace=_text(meta.get("namespace")),
            name=_text(meta.get("name")),
        )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else repr(value))


def may_act_on(*, policy_kind: str, policy_namespace: str, template_namespace: str) -> bool:
    """Whether a policy of this kind and namespace may place or override a template of that namespace."""
    if policy_kind in CLUSTER_SCOPED_POLICIES:
        return True
    if policy_kind in NAMESPACED_POLICIES:
        return bool(policy_namespace) and policy_namespace == template_namespace
    return False  # an unknown kind acts on nothing


_FIELDS = (
    ("apiVersion", "api_version"),
    ("kind", "kind"),
    ("metadata.namespace", "namespace"),
    ("metadata.name", "name"),
)


def identity_problem(
    template: Mapping[str, Any], rendered: Mapping[str, Any], *, path: Any = None
) -> str | None:
    """Why ``rendered`` is no longer the template's object (None: same identity).

    ``path`` is the overrider's JSON pointer, when it has one, so the message names it.
    """
    before, after = Identity.of(template), Identity.of(rendered)
    changed = [
        f"{field} {getattr(before, attr)!r} -> {getattr(after, attr)!r}"
        for field, attr in _FIELDS
        if getattr(before, attr) != getattr(after, attr)
    ]
    if not changed:
        return None
    where = f"path {path or '(the whole object)'}: " if path is not None else ""
    return (
        f"{where}an override may not change a manifest's identity (apiVersion, kind, namespace, name are the "
        f"template's): {', '.join(changed)}"
    )


def tenant_role_rules() -> list[dict[str, Any]]:
    """What a platform team grants a tenant in its own hub namespace (docs/security.md).

    Templates of the namespaced kinds the tenant ships, its own Propagation/OverridePolicies,
    and read access to the bindings that report where its templates went. Nothing cluster-scoped
    and no Works: the member namespaces' Works are the hub's and the agents' business.
    """
    return [
        {
            "apiGroups": ["", "apps", "batch"],
            "resources": [
                "configmaps",
                "secrets",
                "services",
                "serviceaccounts",
                "deployments",
                "statefulsets",
                "daemonsets",
                "jobs",
                "cronjobs",
            ],
            "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
        },
        {
            "apiGroups": [names.POLICY_GROUP],
            "resources": ["propagationpolicies", "overridepolicies"],
            "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
        },
        {
            "apiGroups": [names.WORK_GROUP],
            "resources": ["resourcebindings"],
            "verbs": ["get", "list", "watch"],
        },
        {"apiGroups": [""], "resources": ["events"], "verbs": ["get", "list", "watch"]},
    ]


def tenant_role(*, namespace: str, name: str = "waybill-tenant") -> dict[str, Any]:
    """The Role of ``tenant_role_rules`` in ``namespace`` (bind it to the tenant's users or groups)."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": name, "namespace": namespace},
        "rules": tenant_role_rules(),
    }
