"""Policy status controller: policy key → ``status`` of (Cluster)Propagation/OverridePolicies.

* ``claimedTemplates``: how many templates the policy claims (from the bindings index);
* ``Valid``: False naming every field the API's rules refuse (``InvalidPolicy``: the policy then
  claims nothing new, see the scheduler), or a placement the scheduler could not evaluate
  (``InvalidPlacement``), or — reason ``Unsupported`` — every Karmada field it uses that Waybill
  does not implement (``hub.unsupported``; such a policy claims nothing new either); True otherwise;
* ``ClustersResolved`` (policies whose affinity names clusters): False naming the
  ``clusterNames`` that are not members (a typo like ``us-1``); the policy still places on the
  others;
* ``RolloutStrategyValid`` (valid policies whose ``rolloutStrategy`` is Staged): False, reason
  ``InvalidRolloutStrategy``, naming each stage selector that no member cluster answers (a label
  key no member has, a stage selecting no member: ``hub.rollout_checks``); it changes as members
  join, leave or are relabelled. Static strategy problems (duplicate stage names,
  ``maxConcurrency: 0``...) are ``Valid=False`` like any other field.

A Warning Event goes on the policy for each distinct problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub import conditions, reasons, rollout_checks, status_writes
from hub.events import EventRecorder
from hub.matching import PolicyRef
from hub.state import HubState
from shared.api import meta, names
from shared.api.meta import Condition
from shared.api.policy import PolicyStatus
from shared.kube import errors
from shared.runtime.controller import Result

OVERRIDE_KINDS = (names.KIND_OVERRIDE_POLICY, names.KIND_CLUSTER_OVERRIDE_POLICY)


class PolicyStatusController:
    """Counts the templates a policy claims and reports what is wrong with it."""

    def __init__(self, *, state: HubState, events: EventRecorder | None = None) -> None:
        self.state = state
        self.events = events

    async def reconcile(self, key: PolicyRef) -> Result | None:
        ref = key
        override = ref.kind in OVERRIDE_KINDS
        policy = self.state.override_policy(ref) if override else self.state.policy(ref)
        if policy is None:
            return None
        check = self.state.policy_check(policy)
        old: dict[str, Any] = dict(policy.get("status") or {})
        status = status_writes.read_policy_status(policy)
        conds = status.conditions
        placement_problems: list[str] = []
        if not override:
            claimed = 0
            for binding in self.state.bindings_of_policy(ref):
                scheduled = conditions.find(
                    (binding.get("status") or {}).get("conditions"), names.CONDITION_SCHEDULED
                )
                if scheduled is not None and scheduled.get("reason") == reasons.POLICY_REMOVED:
                    continue
                claimed += 1
                if scheduled is not None and scheduled.get("reason") == reasons.INVALID_PLACEMENT:
                    placement_problems.append(str(scheduled.get("message", "")))
            status.claimed_templates = claimed
        generation = (policy.get("metadata") or {}).get("generation")
        if isinstance(generation, int):
            status.observed_generation = generation
        warnings: list[tuple[str, str]] = []
        if not check.valid:
            message = f"{ref}: {'; '.join(check.messages)}"
            conds = meta.set_condition(
                conds, type=names.CONDITION_VALID, status="False", reason=check.reason, message=message
            )
            warnings.append((check.reason, message))
        elif placement_problems:
            conds = meta.set_condition(
                conds,
                type=names.CONDITION_VALID,
                status="False",
                reason=reasons.INVALID_PLACEMENT,
                message=sorted(placement_problems)[0],
            )
        else:
            conds = meta.set_condition(conds, type=names.CONDITION_VALID, status="True", reason=reasons.VALID)
        if check.named_clusters and not override:
            unknown = check.unknown_clusters(self.state.member_namespaces())
            if unknown:
                message = (
                    f"{ref}: clusterNames name clusters that are not members: {', '.join(unknown)} "
                    "(placed on the others)"
                )
                conds = meta.set_condition(
                    conds,
                    type=names.CONDITION_CLUSTERS_RESOLVED,
                    status="False",
                    reason=reasons.UNKNOWN_CLUSTERS,
                    message=message,
                )
                warnings.append((reasons.UNKNOWN_CLUSTERS, message))
            else:
                conds = meta.set_condition(
                    conds,
                    type=names.CONDITION_CLUSTERS_RESOLVED,
                    status="True",
                    reason=reasons.CLUSTERS_RESOLVED,
                    message="every cluster named is a member",
                )
        conds = self._rollout_strategy(policy, ref, conds, warnings, check_valid=check.valid and not override)
        status.conditions = conds
        # the status as the model gives it (validated: a bad field raises, naming it)
        new = status_writes.from_model(PolicyStatus.model_validate(status.model_dump()))
        if new != old:
            try:
                await self.state.hub_api.patch_status(
                    names.POLICY_API_VERSION,
                    ref.kind,
                    name=ref.name,
                    namespace=ref.namespace or None,
                    # a merge patch: fields the new status lacks are removed
                    patch={"status": {**dict.fromkeys(old), **new}},
                )
            except errors.NotFound:
                return None
        if self.events is not None:
            for reason, message in warnings:
                await self.events.emit(policy, event_type="Warning", reason=reason, message=message)
        return None

    def _rollout_strategy(
        self,
        policy: Mapping[str, Any],
        ref: PolicyRef,
        conds: list[Condition],
        warnings: list[tuple[str, str]],
        *,
        check_valid: bool,
    ) -> list[Condition]:
        """``RolloutStrategyValid`` of a (valid) policy with a Staged strategy: False naming each
        stage selector no member cluster answers (``hub.rollout_checks``, the rollout decision's
        own check); absent for other policies."""
        kind = rollout_checks.CONDITION_ROLLOUT_STRATEGY_VALID
        if not (check_valid and rollout_checks.has_staged_strategy(policy)):
            return [c for c in conds if c.type != kind]
        problems = rollout_checks.fleet_problems(policy, [dict(c.labels) for c in self.state.clusters()])
        if not problems:
            return meta.set_condition(
                conds,
                type=kind,
                status="True",
                reason=rollout_checks.REASON_VALID,
                message="every stage selects a member cluster",
            )
        message = f"{ref}: {'; '.join(problems)} (its bindings release nothing new)"
        warnings.append((rollout_checks.REASON_INVALID, message))
        return meta.set_condition(
            conds, type=kind, status="False", reason=rollout_checks.REASON_INVALID, message=message
        )
