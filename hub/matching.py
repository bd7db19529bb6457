"""Which propagation policy claims a resource template (pure).

A template is claimed by at most one policy. Candidates are ranked by, in order:

1. scope: a namespaced PropagationPolicy in the template's namespace always beats a
   ClusterPropagationPolicy (cluster policies apply only where no namespaced policy claims);
2. ``spec.priority`` (higher wins, default 0);
3. specificity of the best matching resource selector: name (3) > labelSelector (2) > kind only (1);
4. name order (``namespace/name`` ascending) as the final, stable tie-break.

Claims are recomputed from current state every time (level-triggered), so they move when
policies are created, edited or deleted. What happens to a template that loses its policy is
decided by the bindings controller (see docs/hub.md: the last placement is kept and the binding
is marked orphaned).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hub import selectors, tenancy
from shared.kube.types import split_api_version

NAMESPACED_POLICY = "PropagationPolicy"
CLUSTER_POLICY = "ClusterPropagationPolicy"

SPECIFICITY_NAME = 3
SPECIFICITY_LABELS = 2
SPECIFICITY_KIND = 1


@dataclass(frozen=True, order=True, slots=True)
class TemplateId:
    """Version-independent identity of a template: what bindings, indexes and Works key on.

    Two kinds of the same name in different API groups (``Certificate`` of ``cert-manager.io``
    and of ``example.com``) are different templates; two versions of one group are the same.
    """

    group: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> TemplateId:
        """The identity of an object (a template or a manifest)."""
        meta = obj.get("metadata") or {}
        return cls(
            group=split_api_version(str(obj.get("apiVersion", "")))[0],
            kind=str(obj.get("kind", "")),
            namespace=str(meta.get("namespace") or ""),
            name=str(meta.get("name", "")),
        )

    @property
    def identity(self) -> TemplateId:
        return self

    def __str__(self) -> str:
        kind = f"{self.kind}.{self.group}" if self.group else self.kind
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{kind}/{where}{self.name}"


@dataclass(frozen=True, order=True, slots=True)
class TemplateRef:
    """A resource template on the hub, with the version it is read at (see ``identity``)."""

    api_version: str
    kind: str
    namespace: str  # "" for cluster-scoped templates
    name: str

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> TemplateRef:
        meta = obj.get("metadata") or {}
        return cls(
            api_version=str(obj.get("apiVersion", "")),
            kind=str(obj.get("kind", "")),
            namespace=str(meta.get("namespace") or ""),
            name=str(meta.get("name", "")),
        )

    @property
    def group(self) -> str:
        return split_api_version(self.api_version)[0]

    @property
    def identity(self) -> TemplateId:
        return TemplateId(self.group, self.kind, self.namespace, self.name)

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind}/{where}{self.name}"


@dataclass(frozen=True, order=True, slots=True)
class PolicyRef:
    """Identity of a (Cluster)PropagationPolicy."""

    kind: str
    namespace: str  # "" for ClusterPropagationPolicy
    name: str

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> PolicyRef:
        meta = obj.get("metadata") or {}
        return cls(
            kind=str(obj.get("kind", "")),
            namespace=str(meta.get("namespace") or ""),
            name=str(meta.get("name", "")),
        )

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind}/{where}{self.name}"


def selector_specificity(selector: Mapping[str, Any], template: Mapping[str, Any]) -> int:
    """How specifically one resource selector matches ``template``: 0 if it does not match."""
    ref = TemplateRef.of(template)
    if selector.get("apiVersion") != ref.api_version or selector.get("kind") != ref.kind:
        return 0
    wanted_namespace = selector.get("namespace")
    if wanted_namespace and wanted_namespace != ref.namespace:
        return 0
    name = selector.get("name")
    if name:
        return SPECIFICITY_NAME if name == ref.name else 0
    label_selector = selector.get("labelSelector")
    if label_selector is not None:
        labels = (template.get("metadata") or {}).get("labels") or {}
        try:
            matched = selectors.labels_match(label_selector, labels)
        except selectors.SelectorError:
            return 0
        return SPECIFICITY_LABELS if matched else 0
    return SPECIFICITY_KIND


def policy_specificity(policy: Mapping[str, Any], template: Mapping[str, Any]) -> int:
    """The best specificity among a policy's resource selectors (0: the policy does not match)."""
    ref = TemplateRef.of(template)
    pref = PolicyRef.of(policy)
    if not tenancy.may_act_on(
        policy_kind=pref.kind, policy_namespace=pref.namespace, template_namespace=ref.namespace
    ):
        return 0  # a namespaced policy only sees templates in its own namespace
    spec = policy.get("spec") or {}
    return max((selector_specificity(s, template) for s in spec.get("resourceSelectors") or []), default=0)


def _is_being_deleted(policy: Mapping[str, Any]) -> bool:
    return bool((policy.get("metadata") or {}).get("deletionTimestamp"))


def claim_rank(policy: Mapping[str, Any], template: Mapping[str, Any]) -> tuple[int, int, int] | None:
    """Sort key (bigger is better) of a policy for a template, or None if it does not match."""
    if _is_being_deleted(policy):
        return None
    specificity = policy_specificity(policy, template)
    if specificity == 0:
        return None
    scope = 1 if PolicyRef.of(policy).kind == NAMESPACED_POLICY else 0
    priority = int((policy.get("spec") or {}).get("priority") or 0)
    return (scope, priority, specificity)


def choose_policy(template: Mapping[str, Any], policies: Iterable[Mapping[str, Any]]) -> PolicyRef | None:
    """The policy that claims ``template`` among ``policies``, or None."""
    best: tuple[tuple[int, int, int], PolicyRef] | None = None
    for policy in policies:
        rank = claim_rank(policy, template)
        if rank is None:
            continue
        ref = PolicyRef.of(policy)
        if (
            best is None
            or rank > best[0]
            or (rank == best[0] and (ref.namespace, ref.name) < (best[1].namespace, best[1].name))
        ):
            best = (rank, ref)
    return best[1] if best else None


def claims(
    templates: Iterable[Mapping[str, Any]], policies: Iterable[Mapping[str, Any]]
) -> dict[TemplateRef, PolicyRef]:
    """Claim every template that some policy matches (templates nobody claims are absent)."""
    policy_list = list(policies)
    result: dict[TemplateRef, PolicyRef] = {}
    for template in templates:
        chosen = choose_policy(template, policy_list)
        if chosen is not None:
            result[TemplateRef.of(template)] = chosen
    return result


def selected_kinds(policies: Iterable[Mapping[str, Any]]) -> set[tuple[str, str]]:
    """The (apiVersion, kind) pairs that policies' resource selectors name: the kinds to watch."""
    kinds: set[tuple[str, str]] = set()
    for policy in policies:
        for selector in (policy.get("spec") or {}).get("resourceSelectors") or []:
            if selector.get("apiVersion") and selector.get("kind"):
                kinds.add((str(selector["apiVersion"]), str(selector["kind"])))
    return kinds
