"""Status controller: binding key → aggregated status on the binding and the template (I/O shell).

Reads the Works that carry the binding's template on each chosen member, folds their status
into ``status.aggregatedStatus`` and the Applied / Available / Rendered conditions (applied only
when changed), then writes the template's own ``status`` for well-known kinds (summed replica
counts; ``observedGeneration`` only when every member caught up).

A status in which not every placed member has reported the template's current generation is
held (``hub.status_hold``): written once they all have, or after a short deadline (sooner for
bad news), so the members' reports of one change go in one binding write and one template write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from hub import (
    aggregation,
    conditions,
    dependencies,
    interpretation,
    keys,
    member_presence,
    reasons,
    rollout_gate,
    status_hold,
    status_writes,
    template_events,
)
from hub.matching import PolicyRef, TemplateRef
from hub.state import HubState
from shared.api import names
from shared.kube import errors
from shared.ops.logging import get_logger
from shared.ops.metrics import histogram
from shared.runtime.controller import Result

_log = get_logger("hub.status")
CONDITION_RENDERED = "Rendered"
_PROPAGATION = histogram(
    "hub_propagation_seconds",
    "Template generation change seen by the hub → applied on every chosen member, as observed by the hub",
)


def _subset_equal(wanted: Mapping[str, Any], live: Mapping[str, Any]) -> bool:
    return all(live.get(k) == v for k, v in wanted.items())


class StatusController:
    """Reconciles binding keys (``namespace|name``) into binding and template status."""

    def __init__(
        self,
        *,
        state: HubState,
        render_errors: Mapping[tuple[keys.BindingKey, str], str],
        enqueue_policy: Callable[[PolicyRef], None],
        clock: Callable[[], float],
        events: template_events.TemplateEvents | None = None,
        hold: status_hold.Hold = status_hold.Hold(),
    ) -> None:
        self.hold = hold  # how long a status not every member has reported yet may wait
        self.events = events  # drift, apply failures, not taken over: Events on the template
        self.state = state
        self.presence_events = member_presence.PresenceEvents(events)  # MemberUnreachable
        self.render_errors = render_errors
        self.enqueue_policy = enqueue_policy
        self.clock = clock
        self._pending: dict[tuple[keys.BindingKey, int], float] = {}  # (binding key, generation) → first seen
        self._held: dict[keys.BindingKey, status_hold.Pending] = {}  # unwritten changes since the last write

    async def reconcile(self, key: keys.BindingKey) -> Result | None:
        binding = self.state.binding(key)
        if binding is None:
            self._held.pop(key, None)
            return None
        view = self.state.binding_view(binding)
        ref, policy = view.template, view.policy
        if ref is None or policy is None:
            return None
        template = self.state.template(ref)
        # metadata.generation, or the rollout's number for a staged kind without one (ConfigMap...):
        # a member still held on the previous revision is not up to date
        generation = rollout_gate.generation_of(
            template or {}, binding, rollout_gate.strategy_of(self.state.policy(policy))
        )
        items: list[dict[str, Any]] = []
        errors_seen: list[str] = []
        for cluster in sorted(view.clusters):
            namespace = self.state.namespace_of(cluster)
            work = self.state.work_carrying(ref, namespace, policy=policy) if namespace else None
            item = aggregation.cluster_item(cluster=cluster, ref=ref, work=work, generation=generation)
            item = member_presence.mark_item(item, self._presence(cluster, namespace), cluster=cluster)
            if work is not None:
                item = member_presence.mark_replicas(item, work.manifest_conditions.get(ref.identity))
            render_error = self.render_errors.get((key, cluster))
            if render_error:
                item = member_presence.mark_held(item)  # it keeps running its last good manifest
                item["errors"] = [*item.get("errors", []), render_error]
                errors_seen.append(render_error)
            items.append(item)
        if self.events is not None:
            await self.events.observe(ref, items)
        old_status = dict(binding.get("status") or {})
        new_status = dict(old_status)
        new_status["aggregatedStatus"] = [member_presence.status_item(i) for i in items]
        conds = old_status.get("conditions")
        known = member_presence.known_items(items)  # an unreachable member's last report is not counted
        outcome = interpretation.status_outcome(
            template=template,
            items=known,
            interpreter=self.state.interpreter,
            propagates_deps=dependencies.propagates_deps(self.state.policy(policy) or {}),
            existing=conds,
        )
        template_status = outcome.template_status
        if template_status is not None and len(known) != len(items):
            # not every member is known to have caught up
            template_status = {k: v for k, v in template_status.items() if k != "observedGeneration"}
        for wanted in [
            *member_presence.adjust_conditions(aggregation.binding_conditions(items), items),
            *outcome.conditions,
        ]:
            conds = conditions.set_condition(
                conds, type=wanted.type, status=wanted.status, reason=wanted.reason, message=wanted.message
            )
        if errors_seen:
            conds = conditions.set_condition(
                conds,
                type=CONDITION_RENDERED,
                status="False",
                reason=interpretation.render_reason(errors_seen),
                message="; ".join(errors_seen),
            )
        elif conditions.find(conds, CONDITION_RENDERED) is not None:
            conds = conditions.set_condition(
                conds, type=CONDITION_RENDERED, status="True", reason=reasons.RENDERED
            )
        new_status["conditions"] = conds
        if new_status != old_status:
            now = self.clock()
            if not status_hold.complete(items):
                # not every member has reported this generation: hold it (hub.status_hold)
                pending = self._held.setdefault(key, status_hold.Pending(since=now))
                pending.observe(
                    now=now,
                    reported=status_hold.reported(items),
                    worse=status_hold.worse(old_status, new_status),
                )
                due = pending.deadline(self.hold)
                if now < due:
                    self._observe(key, generation, items)
                    return Result(requeue_after=due - now)
            # the binding and the template status are independent writes: both at once; the
            # binding's is a server-side apply of this controller's own fields (the scheduler
            # owns the rest), so a stale copy cannot undo the scheduler's update
            binding_write = status_writes.apply_binding_status(
                self.state.hub_api, binding, owner=status_writes.AGGREGATOR, status=new_status
            )
            written, _ = await asyncio.gather(
                binding_write,
                self._template_status(ref, template, template_status),
                return_exceptions=True,
            )
            self._observe(key, generation, items)
            if isinstance(written, BaseException):
                raise written
            self._held.pop(key, None)
            self.state.remember_binding(written)
            self.enqueue_policy(policy)
            await self.presence_events.record(ref, items)
            return None
        self._held.pop(key, None)  # what is written is what it would write
        self._observe(key, generation, items)
        await self._template_status(ref, template, template_status)
        await self.presence_events.record(ref, items)
        return None

    def _presence(self, cluster: str, namespace: str | None) -> member_presence.Presence:
        if namespace is None:
            return member_presence.REPORTING
        member = self.state.members.get(f"{namespace}/{cluster}")
        lease = self.state.leases.get(f"{namespace}/{names.HEARTBEAT_LEASE_NAME}")
        return member_presence.presence_of(member, lease)

    def _observe(self, key: keys.BindingKey, generation: Any, items: list[dict[str, Any]]) -> None:
        if not isinstance(generation, int):
            return
        marker = (key, generation)
        now = self.clock()
        self._pending.setdefault(marker, now)
        if items and all(i.get("upToDate") for i in items):
            _PROPAGATION.observe(now - self._pending.pop(marker))
            for stale in [m for m in self._pending if m[0] == key and m[1] < generation]:
                self._pending.pop(stale, None)

    async def _template_status(
        self, ref: TemplateRef, template: Mapping[str, Any] | None, wanted: dict[str, Any] | None
    ) -> None:
        if template is None:
            return
        if wanted is None or _subset_equal(wanted, template.get("status") or {}):
            return
        try:
            await self.state.hub_api.patch_status(
                ref.api_version,
                ref.kind,
                name=ref.name,
                namespace=ref.namespace or None,
                patch={"status": wanted},
            )
        except errors.NotFound:
            return
        except errors.ApiError as exc:
            _log.warning("template.status_failed", template=str(ref), error=str(exc))
