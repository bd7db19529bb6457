"""RBAC authorization (rbac.authorization.k8s.io/v1) as a pure decision, plus bootstrap policy.

``authorize(user=..., groups=..., verb=..., api_group=..., resource=..., subresource=...,
namespace=..., name=..., rules_source=...)`` walks the bindings that apply to the user and
returns ``Decision(allowed, reason)``. ``rules_source`` is anything with the four methods of
``RulesSource`` returning plain object dicts (``StaticRules`` wraps lists). Non-resource requests
pass ``path`` instead of a resource. ``forbidden_message(...)`` words the 403 like kube-apiserver.

``BOOTSTRAP_CLUSTER_ROLES`` / ``BOOTSTRAP_CLUSTER_ROLE_BINDINGS`` are the default policy a server
seeds at start (cluster-admin for ``system:masters``, discovery and public info for every
authenticated user, and the user-facing ``admin``/``edit``/``view`` roles). Members of
``system:masters`` are always allowed, as in kube-apiserver.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "BOOTSTRAP_CLUSTER_ROLES",
    "BOOTSTRAP_CLUSTER_ROLE_BINDINGS",
    "Decision",
    "RulesSource",
    "StaticRules",
    "authorize",
    "forbidden_message",
    "service_account_user",
]

Obj = dict[str, Any]
SUPERUSER_GROUP = "system:masters"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


class RulesSource(Protocol):
    """Read access to the RBAC objects of one cluster."""

    def roles(self, namespace: str) -> Iterable[Obj]: ...
    def role_bindings(self, namespace: str) -> Iterable[Obj]: ...
    def cluster_roles(self) -> Iterable[Obj]: ...
    def cluster_role_bindings(self) -> Iterable[Obj]: ...


@dataclass
class StaticRules:
    """A ``RulesSource`` over plain lists of objects (tests, seeding)."""

    roles_: list[Obj] = field(default_factory=list)
    cluster_roles_: list[Obj] = field(default_factory=list)
    role_bindings_: list[Obj] = field(default_factory=list)
    cluster_role_bindings_: list[Obj] = field(default_factory=list)

    def roles(self, namespace: str) -> Iterable[Obj]:
        return [r for r in self.roles_ if _ns(r) == namespace]

    def role_bindings(self, namespace: str) -> Iterable[Obj]:
        return [b for b in self.role_bindings_ if _ns(b) == namespace]

    def cluster_roles(self) -> Iterable[Obj]:
        return self.cluster_roles_

    def cluster_role_bindings(self) -> Iterable[Obj]:
        return self.cluster_role_bindings_


def _ns(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "")


def _name(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def service_account_user(namespace: str, name: str) -> str:
    """The user name a ServiceAccount authenticates as."""
    return f"system:serviceaccount:{namespace}:{name}"


# ------------------------------------------------------------------------------------ matching


def _subject_matches(subject: Obj, user: str, groups: Sequence[str], binding_ns: str) -> bool:
    kind = subject.get("kind")
    name = subject.get("name", "")
    if kind == "User":
        return bool(name == user)
    if kind == "Group":
        return name in groups
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_ns
        return bool(user == service_account_user(namespace, name))
    return False


def _verb_matches(rule: Obj, verb: str) -> bool:
    verbs = rule.get("verbs") or []
    return "*" in verbs or verb in verbs


def _resource_rule_matches(
    rule: Obj, *, verb: str, api_group: str, resource: str, subresource: str | None, name: str | None
) -> bool:
    if not _verb_matches(rule, verb):
        return False
    groups = rule.get("apiGroups") or []
    if "*" not in groups and api_group not in groups:
        return False
    combined = f"{resource}/{subresource}" if subresource else resource
    resource_ok = False
    for ruled in rule.get("resources") or []:
        if ruled in ("*", combined) or (subresource and ruled == f"*/{subresource}"):
            resource_ok = True
            break
    if not resource_ok:
        return False
    names = rule.get("resourceNames") or []
    return not names or (bool(name) and name in names)


def _non_resource_rule_matches(rule: Obj, *, verb: str, path: str) -> bool:
    if not _verb_matches(rule, verb):
        return False
    for url in rule.get("nonResourceURLs") or []:
        if url == "*" or url == path or (url.endswith("*") and path.startswith(url[:-1])):
            return True
    return False


def _selector_matches(selector: Obj, labels: dict[str, str]) -> bool:
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _cluster_role_rules(role: Obj, roles: list[Obj], seen: set[str]) -> list[Obj]:
    """A ClusterRole's rules, plus those of the roles its ``aggregationRule`` selects."""
    rules = list(role.get("rules") or [])
    selectors = (role.get("aggregationRule") or {}).get("clusterRoleSelectors") or []
    if not selectors:
        return rules
    seen = seen | {_name(role)}
    for other in roles:
        if _name(other) in seen:
            continue
        labels = (other.get("metadata") or {}).get("labels") or {}
        if any(_selector_matches(sel, labels) for sel in selectors):
            rules.extend(_cluster_role_rules(other, roles, seen))
    return rules


def _role_rules(ref: Obj, binding_ns: str, source: RulesSource) -> tuple[list[Obj], str | None]:
    kind, name = ref.get("kind"), ref.get("name")
    if kind == "ClusterRole":
        roles = source_items(source.cluster_roles())
        for role in roles:
            if _name(role) == name:
                return _cluster_role_rules(role, roles, set()), None
        return [], f'clusterrole.rbac.authorization.k8s.io "{name}" not found'
    for role in source.roles(binding_ns):
        if _name(role) == name:
            return list(role.get("rules") or []), None
    return [], f'role.rbac.authorization.k8s.io "{name}" not found'


def authorize(
    *,
    user: str,
    groups: Sequence[str],
    verb: str,
    api_group: str = "",
    resource: str = "",
    subresource: str | None = None,
    namespace: str | None = None,
    name: str | None = None,
    path: str | None = None,
    rules_source: RulesSource,
) -> Decision:
    """Allow iff some binding reaching the user grants the verb (see module docstring).

    A request with ``path`` and no ``resource`` is a non-resource request (``/version``).
    """
    if SUPERUSER_GROUP in groups:
        return Decision(True, f"allowed by group {SUPERUSER_GROUP}")
    errors: list[str] = []

    def grants(rules: list[Obj], *, cluster_wide: bool) -> bool:
        for rule in rules:
            if not resource and path is not None:
                if cluster_wide and _non_resource_rule_matches(rule, verb=verb, path=path):
                    return True
            elif _resource_rule_matches(
                rule, verb=verb, api_group=api_group, resource=resource, subresource=subresource, name=name
            ):
                return True
        return False

    for binding in source_items(rules_source.cluster_role_bindings()):
        if not any(_subject_matches(s, user, groups, "") for s in binding.get("subjects") or []):
            continue
        rules, error = _role_rules(binding.get("roleRef") or {}, "", rules_source)
        if error:
            errors.append(error)
        if grants(rules, cluster_wide=True):
            return Decision(
                True,
                f'allowed by ClusterRoleBinding "{_name(binding)}" of ClusterRole '
                f'"{(binding.get("roleRef") or {}).get("name")}" to {user}',
            )
    if namespace and resource:
        for binding in source_items(rules_source.role_bindings(namespace)):
            if not any(_subject_matches(s, user, groups, namespace) for s in binding.get("subjects") or []):
                continue
            ref = binding.get("roleRef") or {}
            rules, error = _role_rules(ref, namespace, rules_source)
            if error:
                errors.append(error)
            if grants(rules, cluster_wide=False):
                return Decision(
                    True,
                    f'allowed by RoleBinding "{_name(binding)}/{namespace}" of '
                    f'{ref.get("kind")} "{ref.get("name")}" to {user}',
                )
    unique = list(dict.fromkeys(errors))
    if not unique:
        return Decision(False, "")
    joined = unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"
    return Decision(False, f"RBAC: {joined}")


def source_items(items: Iterable[Obj]) -> list[Obj]:
    """Materialise a source's iterable once (sources may be generators over a store)."""
    return [i for i in items if isinstance(i, dict)]


def forbidden_message(
    *,
    user: str,
    verb: str,
    api_group: str = "",
    resource: str = "",
    subresource: str | None = None,
    namespace: str | None = None,
    name: str | None = None,
    path: str | None = None,
    reason: str = "",
) -> str:
    """The 403 ``Forbidden`` message kube-apiserver returns for a denied request."""
    if not resource:
        message = f'forbidden: User "{user}" cannot {verb} path "{path or ""}"'
    else:
        combined = f"{resource}/{subresource}" if subresource else resource
        qualified = f"{resource}.{api_group}" if api_group else resource
        subject = f'{qualified} "{name}"' if name else qualified
        where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
        message = (
            f'{subject} is forbidden: User "{user}" cannot {verb} resource "{combined}" '
            f'in API group "{api_group}" {where}'
        )
    return f"{message}: {reason}" if reason else message


# ------------------------------------------------------------------------------ bootstrap policy


def _cluster_role(
    name: str, rules: list[Obj], *, labels: dict[str, str] | None = None, aggregate_from: str | None = None
) -> Obj:
    meta: Obj = {
        "name": name,
        "labels": {"kubernetes.io/bootstrapping": "rbac-defaults", **(labels or {})},
        "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"},
    }
    role: Obj = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": meta,
        "rules": rules,
    }
    if aggregate_from:
        role["aggregationRule"] = {
            "clusterRoleSelectors": [{"matchLabels": {f"rbac.authorization.k8s.io/{aggregate_from}": "true"}}]
        }
    return role


def _cluster_binding(name: str, role: str, groups: list[str]) -> Obj:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {
            "name": name,
            "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
            "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"},
        },
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": g} for g in groups],
    }


_READ = ["get", "list", "watch"]
_WRITE = ["create", "delete", "deletecollection", "patch", "update"]
_CORE_WORKLOADS: list[tuple[str, list[str]]] = [
    (
        "",
        [
            "configmaps",
            "endpoints",
            "persistentvolumeclaims",
            "pods",
            "replicationcontrollers",
            "replicationcontrollers/scale",
            "serviceaccounts",
            "services",
            "secrets",
        ],
    ),
    (
        "apps",
        [
            "daemonsets",
            "deployments",
            "deployments/scale",
            "replicasets",
            "replicasets/scale",
            "statefulsets",
            "statefulsets/scale",
        ],
    ),
    ("autoscaling", ["horizontalpodautoscalers"]),
    ("batch", ["cronjobs", "jobs"]),
    ("networking.k8s.io", ["ingresses", "networkpolicies"]),
    ("policy", ["poddisruptionbudgets"]),
    ("coordination.k8s.io", ["leases"]),
]
_VIEW_ONLY: list[tuple[str, list[str]]] = [
    (
        "",
        [
            "events",
            "limitranges",
            "namespaces",
            "resourcequotas",
            "pods/log",
            "pods/status",
            "services/status",
            "persistentvolumeclaims/status",
            "resourcequotas/status",
        ],
    ),
    ("apps", ["daemonsets/status", "deployments/status", "replicasets/status", "statefulsets/status"]),
    ("batch", ["cronjobs/status", "jobs/status"]),
]


def _rules(
    groups: list[tuple[str, list[str]]], verbs: list[str], *, skip: frozenset[str] = frozenset()
) -> list[Obj]:
    return [
        {"apiGroups": [g], "resources": [r for r in res if r not in skip], "verbs": verbs}
        for g, res in groups
    ]


_DISCOVERY_URLS = [
    "/api",
    "/api/*",
    "/apis",
    "/apis/*",
    "/healthz",
    "/livez",
    "/openapi",
    "/openapi/*",
    "/readyz",
    "/version",
    "/version/",
]
_PUBLIC_URLS = ["/healthz", "/livez", "/readyz", "/version", "/version/"]

BOOTSTRAP_CLUSTER_ROLES: list[Obj] = [
    _cluster_role(
        "cluster-admin",
        [
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
            {"nonResourceURLs": ["*"], "verbs": ["*"]},
        ],
    ),
    _cluster_role("system:discovery", [{"nonResourceURLs": _DISCOVERY_URLS, "verbs": ["get"]}]),
    _cluster_role("system:public-info-viewer", [{"nonResourceURLs": _PUBLIC_URLS, "verbs": ["get"]}]),
    _cluster_role(
        "system:basic-user",
        [
            {
                "apiGroups": ["authorization.k8s.io"],
                "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                "verbs": ["create"],
            },
            {
                "apiGroups": ["authentication.k8s.io"],
                "resources": ["selfsubjectreviews"],
                "verbs": ["create"],
            },
        ],
    ),
    _cluster_role(
        "view",
        _rules(_CORE_WORKLOADS, _READ, skip=frozenset({"secrets"})) + _rules(_VIEW_ONLY, _READ),
        labels={"rbac.authorization.k8s.io/aggregate-to-edit": "true"},
        aggregate_from="aggregate-to-view",
    ),
    _cluster_role(
        "edit",
        _rules(_CORE_WORKLOADS, _READ + _WRITE)
        + _rules(_VIEW_ONLY, _READ)
        + [{"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]}],
        labels={"rbac.authorization.k8s.io/aggregate-to-admin": "true"},
        aggregate_from="aggregate-to-edit",
    ),
    _cluster_role(
        "admin",
        _rules(_CORE_WORKLOADS, _READ + _WRITE)
        + _rules(_VIEW_ONLY, _READ)
        + [
            {"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]},
            {
                "apiGroups": ["rbac.authorization.k8s.io"],
                "resources": ["roles", "rolebindings"],
                "verbs": _READ + _WRITE,
            },
            {
                "apiGroups": ["authorization.k8s.io"],
                "resources": ["localsubjectaccessreviews"],
                "verbs": ["create"],
            },
        ],
        aggregate_from="aggregate-to-admin",
    ),
]

BOOTSTRAP_CLUSTER_ROLE_BINDINGS: list[Obj] = [
    _cluster_binding("cluster-admin", "cluster-admin", [SUPERUSER_GROUP]),
    _cluster_binding("system:discovery", "system:discovery", ["system:authenticated"]),
    _cluster_binding("system:basic-user", "system:basic-user", ["system:authenticated"]),
    _cluster_binding(
        "system:public-info-viewer",
        "system:public-info-viewer",
        ["system:authenticated", "system:unauthenticated"],
    ),
]
