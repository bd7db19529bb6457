"""Karmada's preemption: a claimed template stays with its policy unless another may preempt it (pure).

Once a policy claims a template, Karmada keeps that claim while the policy exists and still
selects the template, even when a policy with a higher priority appears later. Only a policy
with ``preemption: Always`` takes it over, by these rules (Karmada's documentation):

1. a PropagationPolicy preempts a lower-priority PropagationPolicy;
2. a PropagationPolicy preempts any ClusterPropagationPolicy, whatever the priorities;
3. a ClusterPropagationPolicy preempts a lower-priority ClusterPropagationPolicy;
4. a ClusterPropagationPolicy never preempts a PropagationPolicy.

Among several that may preempt, the usual ranking of ``hub.matching`` picks one. A template no
policy holds yet goes to the best-ranked policy, whatever its preemption setting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from hub import matching
from hub.matching import PolicyLike, PolicyView, as_view


def may_preempt(challenger: PolicyLike, holder: PolicyLike) -> bool:
    """Whether ``challenger`` may take a template ``holder`` claimed."""
    new, old = as_view(challenger), as_view(holder)
    if new.preemption != "Always":
        return False
    new_namespaced = new.ref.kind == matching.NAMESPACED_POLICY
    old_namespaced = old.ref.kind == matching.NAMESPACED_POLICY
    if new_namespaced and not old_namespaced:
        return True
    if old_namespaced and not new_namespaced:
        return False
    return new.priority > old.priority


def choose_policy(
    template: Mapping[str, Any],
    policies: Iterable[PolicyLike],
    *,
    holder: matching.PolicyRef | None,
) -> matching.PolicyRef | None:
    """The policy that claims ``template`` when ``holder`` claimed it so far (None: nobody did)."""
    candidates: list[PolicyView] = [
        v for v in map(as_view, policies) if matching.claim_rank(v, template) is not None
    ]
    current = next((v for v in candidates if v.ref == holder), None)
    if current is None:
        return matching.choose_policy(template, candidates)
    challengers = [v for v in candidates if v is not current and may_preempt(v, current)]
    if not challengers:
        return holder
    return matching.choose_policy(template, challengers)
