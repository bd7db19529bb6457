"""Policy status controller: policy key → ``status.claimedTemplates`` and the Valid condition.

``Valid=False`` with reason ``Unsupported`` names every Karmada field the policy uses that Waybill
does not implement (``hub.unsupported``); such a policy claims no template.
"""

from __future__ import annotations

from typing import Any

from hub import conditions, keys, unsupported
from hub.controller_scheduling import REASON_INVALID_PLACEMENT
from hub.state import HubState
from shared.api import names
from shared.kube import errors
from shared.runtime.controller import Result


class PolicyStatusController:
    """Counts the templates a policy claims and reports placement errors as ``Valid=False``."""

    def __init__(self, *, state: HubState) -> None:
        self.state = state

    async def reconcile(self, key: str) -> Result | None:
        ref = keys.parse_policy_key(key)
        policy = self.state.policy(ref)
        if policy is None:
            return None
        claimed = 0
        problems: list[str] = []
        for binding in self.state.all_bindings():
            if keys.binding_policy(binding) != ref:
                continue
            scheduled = conditions.find(
                (binding.get("status") or {}).get("conditions"), names.CONDITION_SCHEDULED
            )
            if scheduled is not None and scheduled.get("reason") == "PolicyRemoved":
                continue
            claimed += 1
            if scheduled is not None and scheduled.get("reason") == REASON_INVALID_PLACEMENT:
                problems.append(str(scheduled.get("message", "")))
        old: dict[str, Any] = dict(policy.get("status") or {})
        new = dict(old)
        new["claimedTemplates"] = claimed
        generation = (policy.get("metadata") or {}).get("generation")
        if generation is not None:
            new["observedGeneration"] = generation
        missing = unsupported.cached_unsupported(policy)
        if missing:
            # A Karmada field Waybill does not implement: refused by name, never silently ignored.
            new["conditions"] = conditions.set_condition(
                old.get("conditions"),
                type=names.CONDITION_VALID,
                status="False",
                reason=unsupported.REASON_UNSUPPORTED,
                message=unsupported.condition_message(missing),
            )
        elif problems:
            new["conditions"] = conditions.set_condition(
                old.get("conditions"),
                type=names.CONDITION_VALID,
                status="False",
                reason=REASON_INVALID_PLACEMENT,
                message=sorted(problems)[0],
            )
        else:
            new["conditions"] = conditions.set_condition(
                old.get("conditions"), type=names.CONDITION_VALID, status="True", reason="Valid"
            )
        if new != old:
            meta = policy["metadata"]
            try:
                await self.state.hub_api.patch_status(
                    names.POLICY_API_VERSION,
                    ref.kind,
                    name=ref.name,
                    namespace=meta.get("namespace"),
                    patch={"status": new},
                )
            except errors.NotFound:
                return None
        return None
