"""Scheduler controller: template key → match a policy → schedule → ResourceBinding (I/O shell).

Level-triggered: each pass reads the template, the policies and the members from the caches and
converges the template's binding. Spec and status are written only when they change. Outcomes:

* template gone → the binding is deleted (its Works are recomputed, so members drop the object);
* no policy claims it any more → the binding is **orphaned**: its placement and Works are kept
  as they are, and ``Scheduled=False`` (reason ``PolicyRemoved``) says so;
* bad placement (a selector or spread constraint that cannot be evaluated) → ``Scheduled=False``
  (``InvalidPlacement``) naming the policy and the field; the last placement is kept;
* minGroups cannot be met → ``Scheduled=False`` (``Unschedulable``), the last placement is kept;
* an OverridePolicy named in ``dependentOverrides`` does not exist yet → ``Scheduled=False``
  (``DependentOverridesMissing``), the last placement is kept;
* the PriorityClass named by ``schedulePriority`` does not exist → ``Scheduled=False``
  (``PriorityClassNotFound``), the last placement is kept;
* the policy names a ``schedulerName`` this hub does not run → the binding is written, its
  ``spec.clusters`` left as they are (empty, or another scheduler's), ``Scheduled=False``
  (``SchedulerNotServed``) (``hub.schedule_priority``);
* otherwise the decision is written: chosen clusters with replicas, the rejected clusters
  counted per reason (``rejectedByReason``, ``rejectedTotal``) and the first ten by name listed
  with their reason (``rejected``; see ``rejections_status``).

Writes per binding: a new binding is one create (spec; the API server ignores ``status`` on
create, as kube-apiserver does for a CRD with a status subresource) and one server-side apply
of the scheduler's status fields; a changed decision is one spec patch (when the placement
changed) and one status apply. On a start, templates wait (at most ``STARTUP_MEMBERS_WAIT``)
while a registered member still carries the not-ready taint although its agent's heartbeat is
there (the membership controller is about to lift it): scheduling them at once would place
them nowhere, then everywhere — two decisions, four writes and a Warning Event per binding.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from hub import (
    activation,
    conditions,
    dependencies,
    failover,
    interpretation,
    keys,
    matching,
    membership,
    preemption,
    reasons,
    rendering,
    schedule_priority,
    scheduling,
    state_preservation,
    status_writes,
    workload_affinity,
)
from hub.events import EventRecorder
from hub.state import HubState
from shared.api import names
from shared.api.binding import REJECTED_GROUP_NAMES, REJECTED_LISTED
from shared.kube import errors
from shared.ops.logging import get_logger
from shared.runtime.controller import Result

_log = get_logger("hub.scheduling")

REASON_POLICY_REMOVED = reasons.POLICY_REMOVED  # (kept: other modules import these names)
REASON_INVALID_PLACEMENT = reasons.INVALID_PLACEMENT

REASON_DEPENDENT_OVERRIDES_MISSING = "DependentOverridesMissing"


STARTUP_MEMBERS_WAIT = 5.0
"""On a start, how long scheduling waits for the membership controller to lift the not-ready
taint of members whose agent already renews its heartbeat."""

GRACEFUL_EVICTION_SECONDS = 600.0
"""How long an evicted copy may wait for its replacement (Karmada's --graceful-eviction-timeout)."""


def graceful_eviction_seconds(spec: Mapping[str, Any]) -> float | None:
    """The grace of a cluster-failover eviction: None for ``failover.cluster.purgeMode: Directly``."""
    mode = failover.purge_mode(((spec.get("failover") or {}).get("cluster") or {}).get("purgeMode"))
    return None if mode == "Directly" else GRACEFUL_EVICTION_SECONDS


def missing_dependent_overrides(
    policy: Mapping[str, Any], override_policies: list[dict[str, Any]]
) -> list[str]:
    """The ``dependentOverrides`` of a policy that do not exist yet: OverridePolicies of its namespace
    (ClusterOverridePolicies for a ClusterPropagationPolicy)."""
    wanted = (policy.get("spec") or {}).get("dependentOverrides") or []
    if not wanted:
        return []
    namespace = (policy.get("metadata") or {}).get("namespace") or ""
    kind = names.KIND_OVERRIDE_POLICY if namespace else names.KIND_CLUSTER_OVERRIDE_POLICY
    present = {
        str((o.get("metadata") or {}).get("name"))
        for o in override_policies
        if o.get("kind", kind) == kind
        and ((o.get("metadata") or {}).get("namespace") or "") == namespace
        and not (o.get("metadata") or {}).get("deletionTimestamp")
    }
    return [str(name) for name in wanted if name not in present]


def _scheduled(status: str, reason: str, message: str) -> conditions.WantedCondition:
    return conditions.WantedCondition(
        type=names.CONDITION_SCHEDULED, status=status, reason=reason, message=message
    )


def _summary(decision: scheduling.Decision) -> str:
    parts = [t.cluster if t.replicas is None else f"{t.cluster}({t.replicas})" for t in decision.targets]
    return ", ".join(parts) if parts else "none"


def decision_status(decision: scheduling.Decision, *, generation: int | None) -> dict[str, Any]:
    """``status.schedulingDecision`` for a decision (without the time, added when it changes)."""
    result = (
        "Scheduled"
        if decision.schedulable and not decision.unplaced_replicas
        else ("PartiallyScheduled" if decision.targets else "Unschedulable")
    )
    out: dict[str, Any] = {
        "result": result,
        "summary": _summary(decision) + (f"; {decision.message}" if decision.message else ""),
        "targets": [
            {
                "cluster": t.cluster,
                "reason": t.reason,
                **({"replicas": t.replicas} if t.replicas is not None else {}),
            }
            for t in decision.targets
        ],
        **rejections_status(decision.rejections),
    }
    if decision.affinity_name:
        out["affinityName"] = decision.affinity_name
    if generation is not None:
        out["observedGeneration"] = generation
    return out


def rejections_status(rejections: Iterable[scheduling.Rejection]) -> dict[str, Any]:
    """``rejected`` (the first ``REJECTED_LISTED`` by cluster name), ``rejectedByReason`` (every
    rejection counted per reason, most first, with one message and the first names) and
    ``rejectedTotal``. Bounded whatever the fleet's size: at 1,000 members a binding carried
    900 entries, most of the hub's memory (docs/performance.md "Hub scale")."""
    ordered = sorted(rejections, key=lambda r: (r.cluster, r.reason))
    groups: dict[str, list[scheduling.Rejection]] = {}
    for r in ordered:
        groups.setdefault(r.reason, []).append(r)
    by_reason = [
        {
            "reason": reason,
            "count": len(members),
            "message": members[0].message,
            "clusters": [r.cluster for r in members[:REJECTED_GROUP_NAMES]],
        }
        for reason, members in sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    ]
    return {
        "rejected": [r.to_dict() for r in ordered[:REJECTED_LISTED]],
        "rejectedByReason": by_reason,
        "rejectedTotal": len(ordered),
    }


def _same(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None, *, ignore: tuple[str, ...] = ()) -> bool:
    return {k: v for k, v in (a or {}).items() if k not in ignore} == {
        k: v for k, v in (b or {}).items() if k not in ignore
    }


class SchedulingController:
    """Reconciles template keys into bindings."""

    def __init__(
        self,
        *,
        state: HubState,
        enqueue_works: Callable[[keys.WorksKey], None],
        enqueue_status: Callable[[keys.BindingKey], None],
        events: EventRecorder | None = None,
        scheduler_names: Iterable[str] = (schedule_priority.DEFAULT_SCHEDULER,),
    ) -> None:
        self.state = state
        self.enqueue_works = enqueue_works
        self.enqueue_status = enqueue_status
        self.events = events
        self.scheduler_names = frozenset(scheduler_names)
        self._uses_priority: tuple[tuple[int, int], bool] | None = None
        self._members_settled = False
        self._settling = asyncio.Lock()
        self._members_changed = asyncio.Event()
        state.members.add_handler(lambda _key: self._members_changed.set())

    def priority(self, ref: matching.TemplateRef) -> int:
        """The scheduling queue's order for ``ref``: the priority of the policy that claims it
        (the holder's, else the one matching would choose); 0 while no policy sets one."""
        state = self.state
        versions = (state.policies.version, state.cluster_policies.version)
        memo = self._uses_priority
        if memo is None or memo[0] != versions:
            memo = (versions, schedule_priority.uses_priority(state.propagation_policies()))
            self._uses_priority = memo
        if not memo[1] or not state.priority_classes_ready():
            return schedule_priority.DEFAULT_PRIORITY
        binding = state.binding(state.binding_key_for(ref))
        held = keys.binding_policy(binding) if binding is not None else None
        policy = state.policy(held) if held is not None else None
        if policy is None:
            template = state.template(ref)
            chosen = (
                None
                if template is None
                else preemption.choose_policy(template, state.valid_propagation_policies(), holder=None)
            )
            policy = state.policy(chosen) if chosen is not None else None
        if policy is None:
            return schedule_priority.DEFAULT_PRIORITY
        return schedule_priority.priority_of(policy.get("spec") or {}, state.priority_class).value

    def touch_works(self, ref: matching.TemplateRef) -> None:
        """Re-render the Works carrying ``ref`` (its content changed, its placement did not)."""
        self._touch_works(self.state.binding(self.state.binding_key_for(ref)))

    def _touch_works(self, *bindings: Mapping[str, Any] | None) -> None:
        for binding in bindings:
            if not binding:
                continue
            policy = keys.binding_policy(binding)
            if policy is None:
                continue
            for cluster in keys.binding_clusters(binding):
                self.enqueue_works(keys.WorksKey(policy, cluster))

    def _member_taints_stale(self) -> bool:
        """Some member carries the not-ready taint while its agent renews its heartbeat and does not
        report ``Ready=False``: the membership controller is about to lift the taint."""
        now = datetime.now(UTC)
        for member in self.state.members.list():
            taints = (member.get("spec") or {}).get("taints") or []
            if not any(t.get("key") == names.TAINT_NOT_READY for t in taints):
                continue
            meta = member.get("metadata") or {}
            lease = self.state.leases.get(f"{meta.get('namespace')}/{names.HEARTBEAT_LEASE_NAME}")
            health = membership.assess(member=member, lease=lease, now=now, grace_seconds=0.0)
            if health.awaiting_agent or health.unreachable_taint:
                continue
            ready = conditions.find((member.get("status") or {}).get("conditions"), names.CONDITION_READY)
            if health.ready_status is None and ready is not None and ready.get("status") == "False":
                continue  # the agent says not ready: the taint stays
            return True
        return False

    async def _wait_for_members(self) -> None:
        """On a start: wait (bounded) until no member's not-ready taint is about to be lifted."""
        if self._members_settled:
            return
        async with self._settling:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + STARTUP_MEMBERS_WAIT
            while not self._members_settled:
                self._members_changed.clear()  # before looking: an event after it wakes the wait
                left = deadline - loop.time()
                if left <= 0 or not self._member_taints_stale():
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._members_changed.wait(), timeout=left)
            self._members_settled = True

    async def reconcile(self, key: matching.TemplateRef) -> Result | None:
        ref = key
        await self._wait_for_members()
        if not self.state.template_known(ref):
            return Result(requeue_after=0.5)
        template = self.state.template(ref)
        bkey = self.state.binding_key_for(ref)
        binding = self.state.binding(bkey)
        if template is None or (template.get("metadata") or {}).get("deletionTimestamp"):
            if binding is not None:
                await self._delete_binding(ref, binding)
            return None
        held = keys.binding_policy(binding) if binding is not None else None
        held_policy = self.state.policy(held) if held is not None else None
        if (
            held is not None
            and held_policy is not None
            and not (held_policy.get("metadata") or {}).get("deletionTimestamp")
            and not self.state.policy_check(held_policy).valid
        ):
            # an invalid edit of the policy holding it: it is not matched (its fields may not
            # even have the right types), the last placement is kept and the reason said
            chosen: matching.PolicyRef | None = held
        else:
            # Karmada: a claim sticks unless a policy with preemption Always may take it
            chosen = preemption.choose_policy(template, self.state.valid_propagation_policies(), holder=held)
        if chosen is None:
            if binding is not None:
                await self._orphan(binding)
            return None
        policy = self.state.policy(chosen) or {}
        generation = (template.get("metadata") or {}).get("generation")
        previous = keys.binding_clusters(binding) if binding else {}
        policy_name = str(chosen)
        check = self.state.policy_check(policy)
        if not check.valid:
            # only the policy already holding it: keep the last placement, say why
            await self._hold(
                ref,
                binding,
                chosen,
                check.reason,
                f"{policy_name}: {'; '.join(check.messages)}",
                generation=generation,
            )
            return None
        policy_spec = policy.get("spec") or {}
        priority: schedule_priority.Priority | None = None
        if schedule_priority.priority_class_name(policy_spec) is not None:
            if not self.state.priority_classes_ready():
                return Result(requeue_after=0.2)
            priority = schedule_priority.priority_of(policy_spec, self.state.priority_class)
            if priority.problem is not None:
                # Karmada's detector does not create the binding: keep the last placement, say why
                await self._hold(
                    ref,
                    binding,
                    chosen,
                    reasons.PRIORITY_CLASS_NOT_FOUND,
                    f"{policy_name}: {priority.problem}",
                    generation=generation,
                )
                return None
        recorded = {
            **schedule_priority.binding_fields(policy_spec, priority),
            # propagateDeps: the binding lists what goes along with its workload
            "dependencies": interpretation.binding_dependencies(
                policy_spec, template, self.state.interpreter, previous=_listed(binding)
            ),
        }
        if not schedule_priority.served(policy_spec, self.scheduler_names):
            # another scheduler's binding: recorded, never placed by this hub
            left = schedule_priority.not_served_message(policy_spec, self.scheduler_names)
            await self._hold(
                ref,
                binding,
                chosen,
                reasons.SCHEDULER_NOT_SERVED,
                f"{policy_name}: {left}" + ("; spec.clusters is kept as it is" if previous else ""),
                generation=generation,
                recorded=recorded,
                annotations={dependencies.ANNOTATION_DEPENDENCIES: None},
            )
            return None
        missing = missing_dependent_overrides(policy, self.state.override_policies())
        if missing:
            # Karmada: the policy takes effect only once the OverridePolicies it names exist.
            await self._hold(
                ref,
                binding,
                chosen,
                REASON_DEPENDENT_OVERRIDES_MISSING,
                f"{policy_name}: waiting for dependentOverrides {', '.join(missing)}",
                generation=generation,
            )
            return None
        # activationPreference Lazy: an unchanged template keeps the rules it was placed with.
        spec, lazy_annotations = activation.effective_spec(
            spec=policy.get("spec") or {},
            binding=binding,
            held=binding is not None and keys.binding_policy(binding) == chosen,
            content=rendering.content_digest(template)
            if activation.is_lazy(policy.get("spec") or {})
            else "",
        )
        aggregated = ((binding or {}).get("status") or {}).get("aggregatedStatus") or []
        health = {str(item.get("clusterName")): str(item.get("health") or "Unknown") for item in aggregated}
        statuses = {str(item.get("clusterName")): item.get("status") for item in aggregated}
        binding_annotations = ((binding or {}).get("metadata") or {}).get("annotations") or {}
        rules = state_preservation.rules_of(spec)
        app_failover = failover.application_failover(
            spec=spec,
            annotations=binding_annotations,
            placed=previous,
            health=health,
            now=datetime.now(UTC),
            # Karmada: the eviction waits until the state to preserve has been reported
            may_evict=(lambda c: not state_preservation.missing(rules, statuses.get(c))) if rules else None,
        )
        app = (spec.get("failover") or {}).get("application") or {}
        # the policy's typed placement (parsed once per version); a Lazy policy's recorded spec
        # is parsed below (a field that does not parse: InvalidPlacement naming it)
        live_placement = self.state.policy_view(policy).placement if spec is policy.get("spec") else None
        try:
            decision = scheduling.schedule(
                placement=(
                    live_placement if live_placement is not None else scheduling.parse_placement(spec)
                ),
                template=template,
                clusters=self.state.clusters(),
                previous=previous,
                interpreter=self.state.interpreter,
                peers=self._peers(template, spec),
                health=health,
                graceful_seconds=graceful_eviction_seconds(spec),
                app_evicted=app_failover.evicted,
                app_purge=failover.purge_mode(app.get("purgeMode")),
                app_grace_seconds=float(
                    app.get("gracePeriodSeconds") or failover.DEFAULT_GRACE_PERIOD_SECONDS
                ),
                current_affinity=(
                    ((binding.get("status") or {}).get("schedulingDecision") or {}).get("affinityName")
                    if binding is not None
                    else None
                ),
            )
        except scheduling.PlacementError as exc:
            await self._hold(
                ref,
                binding,
                chosen,
                exc.reason or REASON_INVALID_PLACEMENT,
                f"{policy_name}: {exc}",
                generation=generation,
            )
            return None
        if not decision.schedulable and decision.message.startswith("spread"):
            await self._write(
                ref,
                binding,
                chosen,
                clusters=None,
                total=decision.total_replicas,
                status=decision_status(decision, generation=generation),
                scheduled=_scheduled("False", reasons.UNSCHEDULABLE, f"{policy_name}: {decision.message}"),
                generation=generation,
            )
            return None
        clusters = [t.to_dict() for t in decision.targets]
        # statePreservation: what the member just evicted (by application or cluster failover) reported
        preserved = state_preservation.record(
            spec=spec,
            annotations=binding_annotations,
            app_evicted=set(app_failover.evicted) - failover.evicted_clusters(binding_annotations),
            cluster_evicted={
                r.cluster
                for r in decision.rejections
                if r.cluster in previous and r.reason in _TAINT_EVICTIONS
            },
            statuses=statuses,
            clusters_before=previous,
        )
        waiting = "".join(
            f"; application failover from {cluster} waits for the state to preserve "
            f"(failover.application.statePreservation: "
            f"{', '.join(state_preservation.missing(rules, statuses.get(cluster)))} not reported)"
            for cluster in app_failover.held
        )
        scheduled = (
            _scheduled("True", reasons.SCHEDULED, f"{policy_name}: {_summary(decision)}{waiting}")
            if decision.targets
            else _scheduled(
                "False",
                reasons.NO_CLUSTER_ELIGIBLE,
                f"{policy_name}: {decision.message or 'no cluster is eligible'}",
            )
        )
        await self._write(
            ref,
            binding,
            chosen,
            clusters=clusters,
            total=decision.total_replicas,
            status=decision_status(decision, generation=generation),
            scheduled=scheduled,
            generation=generation,
            annotations={
                **lazy_annotations,
                **app_failover.annotations,
                **preserved,
                dependencies.ANNOTATION_DEPENDENCIES: None,  # now spec.dependencies
            },
            recorded={
                **recorded,
                # propagateDeps: the binding lists what goes along with its workload (a
                # customization's GetDependencies; on its failure the last good list stays).
                # Lazy: the spec in force.
                "dependencies": interpretation.binding_dependencies(
                    spec, template, self.state.interpreter, previous=_listed(binding)
                ),
            },
        )
        waits = [] if app_failover.recheck_after is None else [app_failover.recheck_after]
        if decision.recheck_at is not None:
            # A NoExecute toleration runs out then: nothing else would wake this template.
            waits.append(max((decision.recheck_at - datetime.now(UTC)).total_seconds(), 0.0) + 0.05)
        return Result(requeue_after=min(waits)) if waits else None

    def _peers(self, template: Mapping[str, Any], spec: Mapping[str, Any]) -> list[workload_affinity.Peer]:
        """Other placed templates of the namespace, for ``workloadAffinity`` (none when it is unset)."""
        if not (spec.get("placement") or {}).get("workloadAffinity"):
            return []
        own = matching.TemplateRef.of(template)
        peers = []
        for binding in self.state.all_bindings():
            ref = keys.binding_template(binding)
            if ref is None or ref == own or ref.namespace != own.namespace:
                continue
            other = self.state.template(ref)
            if other is None:
                continue
            labels = (other.get("metadata") or {}).get("labels") or {}
            peers.append(workload_affinity.Peer(labels, frozenset(keys.binding_clusters(binding))))
        return peers

    # ---- writes -------------------------------------------------------------------------------

    async def _delete_binding(self, ref: matching.TemplateRef, binding: Mapping[str, Any]) -> None:
        meta = binding.get("metadata") or {}
        with contextlib.suppress(errors.NotFound):
            await self.state.hub_api.delete(
                names.WORK_API_VERSION,
                keys.binding_kind(ref),
                name=str(meta["name"]),
                namespace=meta.get("namespace"),
            )
        self.state.forget_binding(keys.binding_key_of(binding))
        _log.info("binding.deleted", template=str(ref))
        self._touch_works(binding)

    async def _orphan(self, binding: Mapping[str, Any]) -> None:
        status = dict(binding.get("status") or {})
        current = conditions.find(status.get("conditions"), names.CONDITION_SCHEDULED)
        if current is not None and current.get("reason") == REASON_POLICY_REMOVED:
            return
        policy = keys.binding_policy(binding)
        status["conditions"] = conditions.set_condition(
            status.get("conditions"),
            type=names.CONDITION_SCHEDULED,
            status="False",
            reason=REASON_POLICY_REMOVED,
            message=f"{policy} no longer claims this template; the last placement is kept (orphaned)",
        )
        await self._patch_status(binding, status)
        self._touch_works(binding)
        if self.events is not None:
            message = f"{policy} no longer claims this template; the last placement is kept (orphaned)"
            await self.events.emit(
                binding, event_type="Warning", reason=REASON_POLICY_REMOVED, message=message
            )

    async def _patch_status(self, binding: Mapping[str, Any], status: dict[str, Any]) -> None:
        # server-side apply of the scheduler's own fields: the status controller's stay its own
        written = await status_writes.apply_binding_status(
            self.state.hub_api, binding, owner=status_writes.SCHEDULER, status=status
        )
        self.state.remember_binding(written)

    async def _hold(
        self,
        ref: matching.TemplateRef,
        binding: Mapping[str, Any] | None,
        policy: matching.PolicyRef,
        reason: str,
        message: str,
        *,
        generation: int | None,
        annotations: Mapping[str, str | None] | None = None,
        recorded: Mapping[str, Any] | None = None,
    ) -> None:
        """Keep the binding's last placement and say why (``Scheduled=False``)."""
        await self._write(
            ref,
            binding,
            policy,
            clusters=None,
            total=None,
            status=None,
            scheduled=_scheduled("False", reason, message),
            generation=generation,
            annotations=annotations,
            recorded=recorded,
        )

    async def _write(
        self,
        ref: matching.TemplateRef,
        binding: Mapping[str, Any] | None,
        policy: matching.PolicyRef,
        *,
        clusters: list[dict[str, Any]] | None,
        total: int | None,
        status: dict[str, Any] | None,
        scheduled: conditions.WantedCondition | None,
        generation: int | None,
        annotations: Mapping[str, str | None] | None = None,
        recorded: Mapping[str, Any] | None = None,
    ) -> None:
        """Write the binding. ``scheduled`` None leaves its Scheduled condition as it is;
        ``recorded`` (schedulerName, schedulePriority, dependencies) None keeps the last ones."""
        old_spec = (binding or {}).get("spec") or {}
        spec: dict[str, Any] = {
            "resource": {
                "apiVersion": ref.api_version,
                "kind": ref.kind,
                "name": ref.name,
                **({"namespace": ref.namespace} if ref.namespace else {}),
                **({"generation": generation} if generation is not None else {}),
            },
            "policy": {
                "kind": policy.kind,
                "name": policy.name,
                **({"namespace": policy.namespace} if policy.namespace else {}),
            },
            "clusters": clusters if clusters is not None else list(old_spec.get("clusters") or []),
        }
        if total is not None:
            spec["replicas"] = total
        for field in _RECORDED_FIELDS:
            value = old_spec.get(field) if recorded is None else recorded.get(field)
            if value:
                spec[field] = value
        labels = {names.LABEL_MANAGED_BY: names.MANAGED_BY_VALUE, **_policy_labels(policy)}
        kind = keys.binding_kind(ref)
        name = str(((binding or {}).get("metadata") or {}).get("name") or keys.binding_name(ref))
        if binding is None:
            body: dict[str, Any] = {
                "apiVersion": names.WORK_API_VERSION,
                "kind": kind,
                "metadata": {
                    "name": name,
                    "labels": labels,
                    **(
                        {"annotations": {k: v for k, v in annotations.items() if v is not None}}
                        if annotations
                        else {}
                    ),
                },
                "spec": spec,
            }
            if ref.namespace:
                body["metadata"]["namespace"] = ref.namespace
            written = await self.state.hub_api.create(body)
            self.state.remember_binding(written)
            _log.info(
                "binding.created", template=str(ref), policy=str(policy), clusters=len(spec["clusters"])
            )
        elif (
            old_spec != spec
            or any((binding.get("metadata") or {}).get("labels", {}).get(k) != v for k, v in labels.items())
            or any(
                (binding.get("metadata") or {}).get("annotations", {}).get(k) != v
                for k, v in (annotations or {}).items()
            )
        ):
            old_labels = dict(binding["metadata"].get("labels") or {})
            old_annotations = dict(binding["metadata"].get("annotations") or {})
            new_annotations = {**old_annotations, **(annotations or {})}
            patch = conditions.merge_patch(
                {"spec": old_spec, "metadata": {"labels": old_labels, "annotations": old_annotations}},
                {
                    "spec": spec,
                    "metadata": {
                        "labels": {**old_labels, **labels},
                        "annotations": {k: v for k, v in new_annotations.items() if v is not None},
                    },
                },
            )
            # merge patch: the status controller writes /status concurrently (no 409 on stale caches)
            written = await self.state.hub_api.patch(
                names.WORK_API_VERSION, kind, name=name, namespace=ref.namespace or None, patch=patch
            )
            self.state.remember_binding(written)
            _log.info(
                "binding.updated", template=str(ref), policy=str(policy), clusters=len(spec["clusters"])
            )
        else:
            written = dict(binding)
        old_status = dict(written.get("status") or {})
        new_status = dict(old_status)
        if status is not None:
            old_decision = old_status.get("schedulingDecision")
            if _same(old_decision, status, ignore=("decidedTime",)):
                status = {**status, "decidedTime": (old_decision or {}).get("decidedTime")}
            else:
                status = {**status, "decidedTime": conditions.now_rfc3339()}
            new_status["schedulingDecision"] = {k: v for k, v in status.items() if v is not None}
        if scheduled is not None:
            new_status["conditions"] = conditions.set_condition(
                old_status.get("conditions"),
                type=names.CONDITION_SCHEDULED,
                status=scheduled.status,
                reason=scheduled.reason,
                message=scheduled.message,
                observed_generation=generation,
            )
        if new_status != old_status or binding is None:
            await self._patch_status(written, new_status)
        if self.events is not None and scheduled is not None and scheduled.status == "False":
            await self.events.emit(
                written, event_type="Warning", reason=scheduled.reason, message=scheduled.message
            )
        if binding is None or old_spec != spec:
            self._touch_works(binding, written)
            self.enqueue_status(keys.binding_key_of(written))


def _listed(binding: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """The binding's last good ``spec.dependencies``."""
    listed = ((binding or {}).get("spec") or {}).get("dependencies")
    return [entry for entry in listed if isinstance(entry, Mapping)] if isinstance(listed, list) else []


_TAINT_EVICTIONS = ("TaintNotTolerated", "TolerationExpired")
"""Rejections of a cluster that held the template: a NoExecute taint evicted it (cluster failover)."""

_RECORDED_FIELDS = ("schedulerName", "schedulePriority", "dependencies")
"""Binding spec fields copied from the policy and template, kept as they are when not recomputed."""


def _policy_labels(policy: matching.PolicyRef) -> dict[str, str]:
    from hub.rendering import label_value

    return {
        names.LABEL_POLICY_NAME: label_value(policy.name),
        names.LABEL_POLICY_NAMESPACE: label_value(policy.namespace),
    }
