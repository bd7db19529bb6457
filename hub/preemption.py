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


def _priority(policy: Mapping[str, Any]) -> int:
    return int((policy.get("spec") or {}).get("priority") or 0)


def may_preempt(challenger: Mapping[str, Any], holder: Mapping[str, Any]) -> bool:
    """Whether ``challenger`` may take a template ``holder`` claimed."""
    if (challenger.get("spec") or {}).get("preemption") != "Always":
        return False
    challenger_namespaced = challenger.get("kind") == matching.NAMESPACED_POLICY
    holder_namespaced = holder.get("kind") == matching.NAMESPACED_POLICY
    if challenger_namespaced and not holder_namespaced:
        return True
    if holder_namespaced and not challenger_namespaced:
        return False
    return _priority(challenger) > _priority(holder)


def choose_policy(
    template: Mapping[str, Any],
    policies: Iterable[Mapping[str, Any]],
    *,
    holder: matching.PolicyRef | None,
) -> matching.PolicyRef | None:
    """The policy that claims ``template`` when ``holder`` claimed it so far (None: nobody did)."""
    candidates = [p for p in policies if matching.claim_rank(p, template) is not None]
    current = next((p for p in candidates if matching.PolicyRef.of(p) == holder), None)
    if current is None:
        return matching.choose_policy(template, candidates)
    challengers = [p for p in candidates if p is not current and may_preempt(p, current)]
    if not challengers:
        return holder
    return matching.choose_policy(template, challengers)
