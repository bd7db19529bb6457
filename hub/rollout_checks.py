"""Policy-level checks of ``spec.rolloutStrategy`` that depend on the fleet (pure).

Rules a schema or the validation layer can state once (``staged`` only with type Staged, unique
stage names, ``maxConcurrency: 0``...) make the policy ``Valid=False``
(``shared.api.validation``). What depends on the members — a stage selector key no member
cluster carries, a stage that selects no member cluster — changes as members join, leave or are
relabelled: it is the policy's own condition ``RolloutStrategyValid`` (False, reason
``InvalidRolloutStrategy``, naming each field), set by the policy status controller and printed
by ``waybill plan``. The check is the rollout decision's own (``hub.rollout.stage_problems``),
so the policy, its bindings (``RolloutProgressing=False``) and the plan say the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hub import rollout, rollout_gate

CONDITION_ROLLOUT_STRATEGY_VALID = "RolloutStrategyValid"
REASON_VALID = "RolloutStrategyValid"
REASON_INVALID = rollout.REASON_INVALID  # InvalidRolloutStrategy, as on the bindings


def has_staged_strategy(policy: Mapping[str, Any]) -> bool:
    """Whether the policy's (readable) rolloutStrategy is Staged: the fleet matters to it."""
    strategy = rollout_gate.strategy_of(policy)
    return strategy is not None and strategy.type == "Staged" and strategy.staged is not None


def fleet_problems(policy: Mapping[str, Any], fleet_labels: Sequence[Mapping[str, str]]) -> list[str]:
    """The stage selectors of ``policy`` that no member cluster answers, each naming its field
    (``spec.rolloutStrategy.staged.stages[1] (early).labelSelector: selects no member cluster``);
    [] for other strategies, or when every stage selects a member."""
    strategy = rollout_gate.strategy_of(policy)
    if strategy is None or strategy.type != "Staged" or strategy.staged is None:
        return []
    return rollout.stage_problems(strategy.staged.stages, fleet_labels)
