"""Which propagation policy claims a resource template (pure).

A template is claimed by at most one policy. Candidates are ranked by, in order:

1. scope: a namespaced PropagationPolicy in the template's namespace always beats a
   ClusterPropagationPolicy (cluster policies apply only where no namespaced policy claims);
2. ``spec.priority`` (higher wins, default 0);
3. specificity of the best matching resource selector: name (3) > labelSelector (2) > kind only (1);
4. name order (``namespace/name`` ascending) as the final, stable tie-break.

Policies are read as :class:`PolicyView`: one parse of the wire object into its
``shared.api.policy`` model per version (cached by ``hub.state`` like ``ClusterView``) gives both
the validation result (:class:`PolicyCheck`) and the typed spec that matching, preemption and
scheduling read. The functions here also take a wire dict (parsed on each call: tests, one-offs).

Claims are recomputed from current state every time (level-triggered), so they move when
policies are created, edited or deleted. What happens to a template that loses its policy is
decided by the bindings controller (see docs/hub.md: the last placement is kept and the binding
is marked orphaned).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pydantic import ValidationError

from hub import reasons, selectors, tenancy, unsupported
from shared.api import load
from shared.api.policy import OverridePolicy, Placement, PropagationPolicy, ResourceSelector
from shared.api.validation import FieldProblem, problems_from_error, validate_model
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


# ---------------------------------------------------------------- typed policies


@dataclass(frozen=True)
class PolicyCheck:
    """A policy's problems (``field: message``, empty when valid) and the clusters it names."""

    problems: tuple[str, ...]
    named_clusters: frozenset[str]
    unsupported: tuple[str, ...] = ()
    """Karmada fields the policy uses that Waybill does not implement (``hub.unsupported``)."""

    @property
    def valid(self) -> bool:
        return not self.problems and not self.unsupported

    @property
    def reason(self) -> str:
        """The ``Valid=False`` reason: the API's rules first, then unsupported fields."""
        return reasons.INVALID_POLICY if self.problems else reasons.UNSUPPORTED

    @property
    def messages(self) -> tuple[str, ...]:
        return self.problems or self.unsupported

    def unknown_clusters(self, members: Iterable[str]) -> list[str]:
        """Clusters named in ``clusterNames`` that are not members (typos like ``us-1``)."""
        return sorted(self.named_clusters - set(members))


PolicyModel = PropagationPolicy | OverridePolicy


def _parse(obj: Mapping[str, Any]) -> tuple[PolicyModel | None, list[FieldProblem]]:
    """The one parse of a policy: its model (None when it does not parse) and every problem."""
    try:
        model = load(obj)
    except ValidationError as exc:
        return None, problems_from_error(exc)
    except ValueError as exc:
        return None, [FieldProblem("kind", str(exc))]
    if not isinstance(model, PropagationPolicy | OverridePolicy):
        return None, [FieldProblem("kind", f"{obj.get('kind')!r} is not a policy kind")]
    return model, validate_model(model)


@dataclass(frozen=True, eq=False)
class PolicyView:
    """One version of a (Cluster)Propagation/OverridePolicy, parsed once (``hub.state`` caches it
    per resourceVersion): its validation and its typed model.

    ``model`` is None when the object does not parse (``check`` says why); such a policy selects
    nothing. ``obj`` is the wire dict it was made from (read-only).
    """

    obj: Mapping[str, Any]
    ref: PolicyRef
    check: PolicyCheck
    model: PolicyModel | None
    deleting: bool

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> PolicyView:
        model, found = _parse(obj)
        problems = tuple(str(p) for p in found)
        missing = (
            () if problems or model is None else tuple(str(p) for p in unsupported.unsupported_fields(model))
        )
        return cls(
            obj=obj,
            ref=PolicyRef.of(obj),
            check=PolicyCheck(
                problems=problems, named_clusters=_named_clusters(obj.get("spec")), unsupported=missing
            ),
            model=model,
            deleting=bool((obj.get("metadata") or {}).get("deletionTimestamp")),
        )

    @property
    def valid(self) -> bool:
        return self.check.valid

    @property
    def namespaced(self) -> bool:
        """A PropagationPolicy (or OverridePolicy): it acts only in its own namespace."""
        return self.ref.kind in (NAMESPACED_POLICY, "OverridePolicy")

    @property
    def propagation(self) -> PropagationPolicy | None:
        return self.model if isinstance(self.model, PropagationPolicy) else None

    @property
    def priority(self) -> int:
        return self.propagation.spec.priority if self.propagation is not None else 0

    @property
    def preemption(self) -> str | None:
        return self.propagation.spec.preemption if self.propagation is not None else None

    @property
    def resource_selectors(self) -> list[ResourceSelector]:
        return [] if self.model is None else self.model.spec.resource_selectors

    @property
    def placement(self) -> Placement | None:
        """The typed placement of a propagation policy that parsed (None otherwise)."""
        return self.propagation.spec.placement if self.propagation is not None else None

    @cached_property
    def selected_kinds(self) -> frozenset[tuple[str, str]]:
        return frozenset((s.api_version, s.kind) for s in self.resource_selectors)


def _named_clusters(spec: Any) -> frozenset[str]:
    placement = spec.get("placement") if isinstance(spec, Mapping) else None
    if not isinstance(placement, Mapping):
        return frozenset()
    terms = [placement.get("clusterAffinity"), *(placement.get("clusterAffinities") or [])]
    found: set[str] = set()
    for term in terms:
        if isinstance(term, Mapping):
            found.update(str(n) for n in term.get("clusterNames") or [] if isinstance(n, str))
    return frozenset(found)


def check_policy(policy: Mapping[str, Any]) -> PolicyCheck:
    """Validate a (Cluster)Propagation/OverridePolicy with the API's rules (``validate_model``)."""
    return PolicyView.of(policy).check


PolicyLike = PolicyView | Mapping[str, Any]


def as_view(policy: PolicyLike) -> PolicyView:
    """``policy`` as a view (a wire dict is parsed here; the hub passes its cached views)."""
    return policy if isinstance(policy, PolicyView) else PolicyView.of(policy)


# ---------------------------------------------------------------- claims


def _selector(selector: ResourceSelector | Mapping[str, Any]) -> ResourceSelector | None:
    if isinstance(selector, ResourceSelector):
        return selector
    try:
        return ResourceSelector.from_dict(selector)
    except ValidationError:
        return None


def _specificity(selector: ResourceSelector, ref: TemplateRef, labels: Mapping[str, str]) -> int:
    if selector.api_version != ref.api_version or selector.kind != ref.kind:
        return 0
    if selector.namespace and selector.namespace != ref.namespace:
        return 0
    if selector.name:
        return SPECIFICITY_NAME if selector.name == ref.name else 0
    if selector.label_selector is not None:
        try:
            matched = selectors.labels_match(selector.label_selector, labels)
        except selectors.SelectorError:
            return 0
        return SPECIFICITY_LABELS if matched else 0
    return SPECIFICITY_KIND


def _labels(template: Mapping[str, Any]) -> Mapping[str, str]:
    return (template.get("metadata") or {}).get("labels") or {}


def selector_specificity(selector: ResourceSelector | Mapping[str, Any], template: Mapping[str, Any]) -> int:
    """How specifically one resource selector matches ``template``: 0 if it does not match (or
    does not parse)."""
    parsed = _selector(selector)
    return 0 if parsed is None else _specificity(parsed, TemplateRef.of(template), _labels(template))


def _policy_specificity(view: PolicyView, ref: TemplateRef, labels: Mapping[str, str]) -> int:
    if not tenancy.may_act_on(
        policy_kind=view.ref.kind, policy_namespace=view.ref.namespace, template_namespace=ref.namespace
    ):
        return 0  # a namespaced policy only sees templates in its own namespace
    return max((_specificity(s, ref, labels) for s in view.resource_selectors), default=0)


def policy_specificity(policy: PolicyLike, template: Mapping[str, Any]) -> int:
    """The best specificity among a policy's resource selectors (0: the policy does not match)."""
    return _policy_specificity(as_view(policy), TemplateRef.of(template), _labels(template))


def _rank(view: PolicyView, ref: TemplateRef, labels: Mapping[str, str]) -> tuple[int, int, int] | None:
    if view.deleting:
        return None
    specificity = _policy_specificity(view, ref, labels)
    if specificity == 0:
        return None
    return (1 if view.ref.kind == NAMESPACED_POLICY else 0, view.priority, specificity)


def claim_rank(policy: PolicyLike, template: Mapping[str, Any]) -> tuple[int, int, int] | None:
    """Sort key (bigger is better) of a policy for a template, or None if it does not match."""
    return _rank(as_view(policy), TemplateRef.of(template), _labels(template))


def best_policy(template: Mapping[str, Any], policies: Iterable[PolicyView]) -> PolicyView | None:
    """The view of the policy that claims ``template`` among ``policies``, or None."""
    ref, labels = TemplateRef.of(template), _labels(template)
    best: tuple[tuple[int, int, int], PolicyView] | None = None
    for view in policies:
        rank = _rank(view, ref, labels)
        if rank is None:
            continue
        if (
            best is None
            or rank > best[0]
            or (
                rank == best[0]
                and (view.ref.namespace, view.ref.name) < (best[1].ref.namespace, best[1].ref.name)
            )
        ):
            best = (rank, view)
    return best[1] if best else None


def choose_policy(template: Mapping[str, Any], policies: Iterable[PolicyLike]) -> PolicyRef | None:
    """The policy that claims ``template`` among ``policies``, or None."""
    chosen = best_policy(template, (as_view(p) for p in policies))
    return None if chosen is None else chosen.ref


def claims(
    templates: Iterable[Mapping[str, Any]], policies: Iterable[PolicyLike]
) -> dict[TemplateRef, PolicyRef]:
    """Claim every template that some policy matches (templates nobody claims are absent)."""
    views = [as_view(p) for p in policies]
    result: dict[TemplateRef, PolicyRef] = {}
    for template in templates:
        chosen = best_policy(template, views)
        if chosen is not None:
            result[TemplateRef.of(template)] = chosen.ref
    return result


def selected_kinds(policies: Iterable[PolicyLike]) -> set[tuple[str, str]]:
    """The (apiVersion, kind) pairs that policies' resource selectors name: the kinds to watch."""
    kinds: set[tuple[str, str]] = set()
    for policy in policies:
        kinds.update(as_view(policy).selected_kinds)
    return kinds
