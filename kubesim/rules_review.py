"""SelfSubjectRulesReview (``kubectl auth can-i --list``): the RBAC rules that apply to a user.

Pure: ``rules_for(user=..., groups=..., namespace=..., source=...)`` walks ClusterRoleBindings and
the namespace's RoleBindings that name the user, one of its groups or its ServiceAccount, and
collects the referenced roles' rules (ClusterRole aggregation included). ``system:masters``
gets everything, as kube-apiserver reports it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from kubesim import selectors

Obj = dict[str, Any]


class Source(Protocol):
    def roles(self, namespace: str) -> Iterable[Obj]: ...
    def role_bindings(self, namespace: str) -> Iterable[Obj]: ...
    def cluster_roles(self) -> Iterable[Obj]: ...
    def cluster_role_bindings(self) -> Iterable[Obj]: ...


def _subject_matches(subject: Obj, *, user: str, groups: Sequence[str], binding_ns: str) -> bool:
    kind = subject.get("kind")
    if kind == "User":
        return bool(subject.get("name") == user)
    if kind == "Group":
        return subject.get("name") in groups
    if kind == "ServiceAccount":
        ns = subject.get("namespace") or binding_ns
        return user == f"system:serviceaccount:{ns}:{subject.get('name')}"
    return False


def _cluster_role_rules(name: str, roles: list[Obj]) -> list[Obj]:
    role = next((r for r in roles if r["metadata"]["name"] == name), None)
    if role is None:
        return []
    rules = list(role.get("rules") or [])
    for sel in (role.get("aggregationRule") or {}).get("clusterRoleSelectors") or []:
        for other in roles:
            if other is not role and selectors.match_selector_dict(sel, other["metadata"].get("labels")):
                rules += other.get("rules") or []
    return rules


def role_rules(ref: Obj, *, namespace: str, source: Source) -> list[Obj]:
    """The rules a ``roleRef`` points at (a Role in ``namespace`` or a ClusterRole, aggregated)."""
    if ref.get("kind") == "ClusterRole":
        return _cluster_role_rules(
            ref.get("name", ""), [r for r in source.cluster_roles() if isinstance(r, dict)]
        )
    role = next((r for r in source.roles(namespace) if r["metadata"]["name"] == ref.get("name")), None)
    return list((role or {}).get("rules") or [])


def rules_for(*, user: str, groups: Sequence[str], namespace: str, source: Source) -> Obj:
    """The ``status`` of a SelfSubjectRulesReview."""
    if "system:masters" in groups:
        return {
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": False,
        }
    cluster_roles = [r for r in source.cluster_roles() if isinstance(r, dict)]
    rules: list[Obj] = []
    for binding in source.cluster_role_bindings():
        if any(
            _subject_matches(s, user=user, groups=groups, binding_ns="")
            for s in binding.get("subjects") or []
        ):
            rules += _cluster_role_rules((binding.get("roleRef") or {}).get("name", ""), cluster_roles)
    for binding in source.role_bindings(namespace):
        if not any(
            _subject_matches(s, user=user, groups=groups, binding_ns=namespace)
            for s in binding.get("subjects") or []
        ):
            continue
        ref = binding.get("roleRef") or {}
        if ref.get("kind") == "ClusterRole":
            found = _cluster_role_rules(ref.get("name", ""), cluster_roles)
        else:
            role = next(
                (r for r in source.roles(namespace) if r["metadata"]["name"] == ref.get("name")), None
            )
            found = list((role or {}).get("rules") or [])
        rules += [r for r in found if not r.get("nonResourceURLs")]
    resource_rules, non_resource = [], []
    for rule in rules:
        if rule.get("nonResourceURLs"):
            non_resource.append(
                {"verbs": rule.get("verbs") or [], "nonResourceURLs": rule["nonResourceURLs"]}
            )
        else:
            entry = {k: rule[k] for k in ("verbs", "apiGroups", "resources", "resourceNames") if rule.get(k)}
            resource_rules.append(entry)
    return {"resourceRules": resource_rules, "nonResourceRules": non_resource, "incomplete": False}
