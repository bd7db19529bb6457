"""The hub: informers, six controllers, and the wiring between them (I/O shell).

Controllers (each a keyed, level-triggered ``shared.runtime.Controller``):

* ``hub-members``   member namespace → MemberCluster, Ready condition, unreachable taint
* ``hub-scheduler`` template → policy match → schedule → ResourceBinding
* ``hub-works``     (policy, member) → Works in the member namespace
* ``hub-status``    binding → aggregated status on the binding and the template
* ``hub-policies``  policy → claimed template count, Valid condition
* ``hub-rollout``   binding → status.rollout, revisions, and which clusters get a new generation

Informer handlers only enqueue keys. Template kinds are watched dynamically: whenever the
policies change, every (apiVersion, kind) their resource selectors name gets an informer.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Iterable, Mapping
from typing import Any

from hub import (
    dependencies,
    interpretation,
    keys,
    matching,
    member_presence,
    preemption,
    rendering,
    schedule_priority,
    scheduling,
    template_events,
)
from hub.clusters import ClusterView
from hub.controller_members import MembersController
from hub.controller_policies import PolicyStatusController
from hub.controller_rollout import RolloutController
from hub.controller_scheduling import SchedulingController
from hub.controller_status import StatusController
from hub.controller_works import WorksController
from hub.events import EventRecorder
from hub.matching import PolicyRef, PolicyView, TemplateRef
from hub.replica_paths import DEFAULT_REPLICA_PATHS
from hub.state import HubState, member_of_namespace
from hub.status_hold import Hold as StatusHold
from hub.views import changed_templates
from shared.api import names
from shared.interpreter import KindKey
from shared.kube.client import KubeClient
from shared.kube.informer import Informer, Views, strip_managed_fields
from shared.kube.types import split_api_version
from shared.ops.logging import get_logger
from shared.runtime.controller import Controller, Result

_log = get_logger("hub.app")
Obj = dict[str, Any]

# Never propagated: the hub's own bookkeeping and Kubernetes' per-namespace objects.
SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease", "waybill-system"})
SYSTEM_OBJECTS = frozenset({("ConfigMap", "kube-root-ca.crt"), ("ServiceAccount", "default")})
STATUS_BATCH_SECONDS = 0.05
POLICY_STATUS_BATCH_SECONDS = 0.5
STARTUP_SCHEDULE_WAIT = 30.0
SCHEDULER_BACKLOG = 64  # templates waiting to be scheduled before Works are held back
WORKS_DEFER_SECONDS = 0.25
WORKS_MAX_DEFER = 10.0
# a Works key woken by a binding (or a policy) change waits this long, and until its policy's
# templates are scheduled, before it renders: a burst of bindings is one Work write, not one per binding
WORKS_BATCH_SECONDS = 0.05
WORKS_BATCH_MAX = 300.0  # ... but never longer than this (a policy over thousands of templates and members)
WAYBILL_GROUPS = (names.POLICY_GROUP, names.WORK_GROUP, names.CLUSTER_GROUP)


def _facts(view: ClusterView | None) -> tuple[Any, ...] | None:
    if view is None:
        return None
    return (
        sorted(view.labels.items()),
        view.provider,
        view.region,
        view.zone,
        view.taints,
        view.api_resources,
        view.sealing_key,  # a new key (or a new pin) re-seals the member's Works
        view.sealing_signer,
    )


def _policy_inputs(policy: Obj) -> tuple[Any, Any]:
    """What of a policy scheduling and rendering read (not its status)."""
    return (policy.get("spec"), (policy.get("metadata") or {}).get("deletionTimestamp"))


def _health(binding: Obj | None) -> dict[str, str]:
    items = ((binding or {}).get("status") or {}).get("aggregatedStatus") or []
    return {str(i.get("clusterName")): str(i.get("health")) for i in items if isinstance(i, Mapping)}


def _namespace_meta(namespace: Obj) -> tuple[Any, ...]:
    meta = namespace.get("metadata") or {}
    return (meta.get("labels"), meta.get("annotations"), namespace.get("spec"), meta.get("deletionTimestamp"))


def _capacity_sensitive(policy: PolicyView) -> bool:
    return policy.placement is not None and scheduling.capacity_sensitive(policy.placement)


class Hub:
    """Everything the ``waybill hub`` process runs (except leader election and the ops server)."""

    def __init__(
        self,
        hub_api: KubeClient,
        *,
        replica_paths: Mapping[tuple[str, str], str] = DEFAULT_REPLICA_PATHS,
        grace_seconds: float = 40.0,
        failover_eviction_seconds: float | None = 300.0,
        workers: int = 16,
        scheduler_names: Iterable[str] = (schedule_priority.DEFAULT_SCHEDULER,),
        status_hold: StatusHold = StatusHold(),
    ) -> None:
        # --replica-path: a shorthand for defaults-layer customizations (hub.interpretation)
        self.state = HubState(hub_api, interpreter_defaults=interpretation.shorthand_defaults(replica_paths))
        self.events = EventRecorder(hub_api)
        self.template_events = template_events.TemplateEvents(hub_api, lookup=self.state.template)
        self.members_ctl = MembersController(
            state=self.state, grace_seconds=grace_seconds, failover_eviction_seconds=failover_eviction_seconds
        )
        self.members = Controller("hub-members", self.members_ctl.reconcile, workers=2)
        self.works_ctl = WorksController(
            state=self.state,
            enqueue_status=self._enqueue_status,
            events=self.events,
        )
        self.works = Controller("hub-works", self._render_works, workers=workers)
        self._works_deferred: dict[keys.WorksKey, float] = {}  # works key → when it was first held back
        # works keys woken by binding or policy changes, not rendered since: each waits while its
        # policy has templates waiting for (or in) a scheduler pass (``_render_works``)
        self._works_batched: set[keys.WorksKey] = set()
        self._works_held: dict[PolicyRef, set[keys.WorksKey]] = {}  # released when the policy's count is 0
        # the policies each template waiting for (or in) a scheduler pass may be claimed by (its
        # binding's and the one matching chooses), and how many such templates each policy has
        self._sched_waiting: dict[TemplateRef, frozenset[PolicyRef]] = {}
        self._sched_running: dict[TemplateRef, frozenset[PolicyRef]] = {}
        self._sched_count: collections.Counter[PolicyRef] = collections.Counter()
        self._sched_versions: dict[TemplateRef, tuple[int, int]] = {}  # policy versions when noted
        self.scheduler_ctl = SchedulingController(
            state=self.state,
            enqueue_works=self._wake_works,  # after its binding writes: batched
            enqueue_status=self._enqueue_status,
            events=self.events,
            scheduler_names=scheduler_names,
        )
        # schedulePriority: templates of higher-priority policies are scheduled first
        self.scheduler = Controller(
            "hub-scheduler", self._schedule, workers=workers, priority=self.scheduler_ctl.priority
        )
        self.policies_ctl = PolicyStatusController(state=self.state, events=self.events)
        self.policy_status = Controller("hub-policies", self.policies_ctl.reconcile, workers=1)
        self.status_ctl = StatusController(
            state=self.state,
            render_errors=self.works_ctl.render_errors,
            enqueue_policy=self._enqueue_policy_status,
            clock=time.monotonic,
            events=self.template_events,
            hold=status_hold,
        )
        self.status = Controller("hub-status", self.status_ctl.reconcile, workers=workers)
        self.rollout_ctl = RolloutController(
            state=self.state, enqueue_works=self.works.enqueue, events=self.events
        )
        self.rollout = Controller("hub-rollout", self.rollout_ctl.reconcile, workers=4)
        self.rollout_ctl.wire(self.rollout.enqueue)
        self._wire()

    @property
    def controllers(self) -> list[Controller[Any]]:
        return [self.members, self.scheduler, self.works, self.status, self.policy_status, self.rollout]

    def _wake_works(self, key: keys.WorksKey) -> None:
        """Render ``key`` after the batch window, once its policy's templates are scheduled (a
        binding or a policy changed: more bindings of the same burst are likely on their way)."""
        self._works_batched.add(key)
        self.works.queue.add_after(key, WORKS_BATCH_SECONDS)

    def _enqueue_schedule(self, ref: TemplateRef) -> None:
        """Queue a template for scheduling, noting which policies' Works wait for its pass."""
        versions = (self.state.policies.version, self.state.cluster_policies.version)
        if self._sched_versions.get(ref) == versions:
            self.scheduler.enqueue(ref)  # noted already, and no policy changed since (O(1))
            return
        self._sched_versions[ref] = versions
        binding = self.state.binding(self.state.binding_key_for(ref))
        claims = {p for p in [keys.binding_policy(binding) if binding is not None else None] if p is not None}
        template = self.state.template(ref)
        if template is not None:
            chosen = preemption.choose_policy(template, self.state.valid_propagation_policies(), holder=None)
            if chosen is not None:
                claims.add(chosen)
        before = self._sched_waiting.get(ref, frozenset())
        added = frozenset(claims) - before
        if added:
            self._sched_waiting[ref] = before | added
            self._sched_count.update(added)
        self.scheduler.enqueue(ref)

    def _scheduled(self, policies: frozenset[PolicyRef]) -> None:
        for policy in policies:
            self._sched_count[policy] -= 1
            if self._sched_count[policy] > 0:
                continue
            del self._sched_count[policy]
            # the policy's last template is scheduled: its held Works render once the bindings'
            # events are in
            for works_key in self._works_held.pop(policy, set()):
                self.works.queue.add_after(works_key, WORKS_BATCH_SECONDS)

    async def _render_works(self, key: keys.WorksKey) -> Any:
        """Works, unless the scheduler is still writing bindings they will carry: then each
        (policy, member) Work would be rewritten (all its manifests) for every few bindings the
        burst produces. A key woken by a binding or policy change waits while its policy has
        templates waiting for or in a scheduler pass, and while the hub's own binding writes for
        it are not cached yet (at most ``WORKS_BATCH_MAX`` seconds); any other key waits while the
        scheduler has a backlog (at most ``WORKS_MAX_DEFER`` seconds)."""
        now = time.monotonic()
        if key in self._works_batched:
            first = self._works_deferred.setdefault(key, now)
            if now - first < WORKS_BATCH_MAX:
                if self._sched_count.get(key.policy):
                    self._works_held.setdefault(key.policy, set()).add(key)  # released by ``_scheduled``
                    return Result(requeue_after=WORKS_BATCH_MAX - (now - first))
                if self.state.placement_pending(key.policy, key.cluster):
                    return Result(requeue_after=1.0)  # the binding's event wakes it sooner
        elif len(self.scheduler.queue) > SCHEDULER_BACKLOG:
            first = self._works_deferred.setdefault(key, now)
            if now - first < WORKS_MAX_DEFER:
                return Result(requeue_after=WORKS_DEFER_SECONDS)
        self._works_deferred.pop(key, None)
        self._works_batched.discard(key)
        return await self.works_ctl.reconcile(key)

    def _enqueue_status(self, key: keys.BindingKey) -> None:
        self.status.enqueue(key)

    async def _schedule(self, key: TemplateRef) -> Any:
        ref = key
        self._sched_running[ref] = self._sched_waiting.pop(ref, frozenset())
        self._sched_versions.pop(ref, None)
        try:
            if self._ignored(ref):
                return None
            return await self.scheduler_ctl.reconcile(key)
        finally:
            self._scheduled(self._sched_running.pop(ref, frozenset()))

    def _ignored(self, ref: TemplateRef) -> bool:
        member_namespace = self.state.is_member_namespace
        if ref.namespace in SYSTEM_NAMESPACES or (ref.namespace and member_namespace(ref.namespace)):
            return True
        if (
            ref.api_version == "v1"
            and ref.kind == "Namespace"
            and (ref.name in SYSTEM_NAMESPACES or member_namespace(ref.name))
        ):
            return True
        if (ref.kind, ref.name) in SYSTEM_OBJECTS:
            return True
        return ref.group in WAYBILL_GROUPS

    # ---- wiring ---------------------------------------------------------------------------------

    def _wire(self) -> None:
        state = self.state
        state.namespaces.add_update_handler(self._namespace_changed)
        state.hub_namespaces.add_update_handler(self._hub_namespace_changed)
        state.leases.add_handler(lambda key: self.members.enqueue(key.split("/")[0]))
        state.members.add_update_handler(self._member_cluster_changed)
        for informer, kind in (
            (state.policies, names.KIND_PROPAGATION_POLICY),
            (state.cluster_policies, names.KIND_CLUSTER_PROPAGATION_POLICY),
        ):
            informer.add_update_handler(self._make_policy_handler(kind))
        for informer, kind in (
            (state.overrides, names.KIND_OVERRIDE_POLICY),
            (state.cluster_overrides, names.KIND_CLUSTER_OVERRIDE_POLICY),
        ):
            informer.add_handler(self._make_override_handler(kind))
        state.priority_classes.add_handler(lambda _name: self._priority_class_changed())
        state.bindings.add_update_handler(self._binding_changed)
        state.cluster_bindings.add_update_handler(
            lambda name, old, new: self._binding_changed(name, old, new)
        )
        # Work status arrives from many members at once: gather it into fewer binding status
        # writes, and wake only the bindings whose manifest (or its status) changed.
        state.works.add_update_handler(self._work_changed)
        # (registered after the state's CustomizationFeed: the interpreter is current by then)
        state.customizations.add_update_handler(self._customization_changed)

    def _customization_changed(self, key: str, old: Obj | None, new: Obj | None) -> None:
        """A ResourceInterpreterCustomization changed: every template of its target kind (old and
        new target, any version) is scheduled again (replicas), its Works rendered again (replica
        revision, the agent's scripts) and its status aggregated again."""
        targets = {interpretation.target_kind(obj) for obj in (old, new) if obj is not None}
        if old is not None and new is not None and old.get("spec") == new.get("spec"):
            return
        for template_ref, _ in self.state.all_templates():
            if KindKey.parse(template_ref.api_version, template_ref.kind) in targets:
                self._enqueue_schedule(template_ref)
        for binding in self.state.all_bindings():
            ref = keys.binding_template(binding)
            if ref is None or KindKey.parse(ref.api_version, ref.kind) not in targets:
                continue
            self._enqueue_schedule(ref)
            self.status.enqueue(keys.binding_key_of(binding))
            for works_key in self._binding_works_keys(binding):
                self.works.enqueue(works_key)
        _log.info("customization.changed", customization=key, targets=sorted(map(str, targets)))

    def _wake_dependency_works(self) -> None:
        """Re-render the Works of every policy that propagates dependencies (one changed)."""
        deps_policies = {
            PolicyRef.of(p) for p in self.state.propagation_policies() if dependencies.propagates_deps(p)
        }
        if not deps_policies:
            return
        for binding in self.state.all_bindings():
            if keys.binding_policy(binding) in deps_policies:
                for works_key in self._binding_works_keys(binding):
                    self.works.enqueue(works_key)

    def _enqueue_policy_status(self, key: PolicyRef) -> None:
        # counts need not be instant: one status write per policy per batch window
        self.policy_status.queue.add_after(key, POLICY_STATUS_BATCH_SECONDS)

    def _make_policy_handler(self, kind: str) -> Any:
        def handler(key: str, old: Obj | None, new: Obj | None) -> None:
            namespace, _, name = key.rpartition("/")
            ref = PolicyRef(kind, namespace, name)
            self._enqueue_policy_status(ref)
            if old is not None and new is not None and _policy_inputs(old) == _policy_inputs(new):
                return  # a status-only change (ours): nothing to reschedule or re-render
            self._sync_template_kinds()
            self._all_templates()
            # every rendering input of a policy (conflictResolution, ...) reaches its Works even
            # when no placement changes
            for binding in self.state.bindings_of_policy(ref):
                for cluster in self.state.binding_view(binding).clusters:
                    self._wake_works(keys.WorksKey(ref, cluster))

        return handler

    def _make_override_handler(self, kind: str) -> Any:
        def handler(key: str) -> None:
            namespace, _, name = key.rpartition("/")
            self._enqueue_policy_status(PolicyRef(kind, namespace, name))
            self._all_works()
            # A policy waiting for its dependentOverrides may take effect now.
            if any(
                v.propagation is not None and v.propagation.spec.dependent_overrides
                for v in self.state.propagation_policy_views()
            ):
                self._all_templates()

        return handler

    def _priority_class_changed(self) -> None:
        """A PriorityClass changed: the bindings of policies with a schedulePriority take its value."""
        if schedule_priority.uses_priority(self.state.propagation_policies()):
            self._all_templates()

    def _all_policy_status(self) -> None:
        for policy in self.state.propagation_policies():
            self._enqueue_policy_status(PolicyRef.of(policy))

    def _work_changed(self, key: str, old: Obj | None, new: Obj | None) -> None:
        views = self.state.work_views
        before = views.of(key, old) if old is not None else None
        after = views.of(key, new) if new is not None else None
        for ref in changed_templates(before, after):
            self.status.queue.add_after(self.state.binding_key_for(ref), STATUS_BATCH_SECONDS)

    def _binding_changed(self, informer_key: str, old: Obj | None, new: Obj | None) -> None:
        """Works, status and policy counts, when the placement or the scheduling outcome changed
        (not on the status controller's own aggregated-status writes)."""
        bkey = keys.BindingKey.from_informer_key(informer_key)
        previous = None if old is None else self.state.binding_view(old).placement
        current = None if new is None else self.state.binding_view(new).placement
        template = current.template if current is not None else None
        if old is None and template is not None and self.state.template(template) is None:
            # first sight (a start) of a binding whose template is not (yet) cached: it may have
            # gone while no hub was running, and only the scheduler deletes such a binding
            self._enqueue_schedule(template)
        if template is not None and _health(old) != _health(new) and current is not None:
            policy = self.state.policy(current.policy) if current.policy is not None else None
            if policy is not None and ((policy.get("spec") or {}).get("failover") or {}).get("application"):
                # application failover acts on the workload's health on each member
                self._enqueue_schedule(template)
        if current == previous:
            return
        self.status.enqueue(bkey)
        for placement in (previous, current):
            if placement is not None and placement.policy is not None:
                self._enqueue_policy_status(placement.policy)
                for cluster, _replicas in placement.clusters:
                    self._wake_works(keys.WorksKey(placement.policy, cluster))
        ref = current.template if current is not None else None
        # A workload that moved can change which policy's Works carry a shared dependency.
        self._wake_dependency_works()
        if ref is not None and (ref.api_version, ref.kind) not in self.state.templates:
            self._sync_template_kinds()

    @staticmethod
    def _binding_works_keys(binding: Mapping[str, Any]) -> Iterable[keys.WorksKey]:
        policy = keys.binding_policy(binding)
        if policy is None:
            return []
        return [keys.WorksKey(policy, cluster) for cluster in keys.binding_clusters(binding)]

    @staticmethod
    def _binding_policy_keys(binding: Mapping[str, Any]) -> Iterable[PolicyRef]:
        policy = keys.binding_policy(binding)
        return [policy] if policy else []

    def _all_templates(self) -> None:
        for ref, _ in self.state.all_templates():
            self._enqueue_schedule(ref)

    def _all_works(self) -> None:
        for binding in self.state.all_bindings():
            for key in self._binding_works_keys(binding):
                self.works.enqueue(key)

    def _namespace_changed(self, namespace: str, old: Obj | None, new: Obj | None) -> None:
        """A namespace changed: health, and a fleet change if the member it registers did."""
        self.members.enqueue(namespace)
        before = set(member_of_namespace(old)) if old is not None else set()
        after = set(member_of_namespace(new)) if new is not None else set()
        if before != after:
            self._fleet_changed(joined=sorted(after - before), gone=sorted(before - after))

    def _hub_namespace_changed(self, name: str, old: Obj | None, new: Obj | None) -> None:
        """A hub namespace's labels or annotations changed: the Works of templates in it describe it."""
        if old is not None and new is not None and _namespace_meta(old) == _namespace_meta(new):
            return
        for binding in self.state.bindings.list():
            if (binding.get("metadata") or {}).get("namespace") == name:
                for works_key in self._binding_works_keys(binding):
                    self.works.enqueue(works_key)

    def _member_cluster_changed(self, key: str, old: Obj | None, new: Obj | None) -> None:
        """A MemberCluster changed: health; rescheduling only for the facts scheduling reads.

        Only this member's old and new facts are compared: O(1) per event.
        """
        namespace, _, cluster = key.rpartition("/")
        self.members.enqueue(namespace)
        if self.state.namespace_of(cluster) != namespace:
            return  # not (or not yet) a registered member: its namespace's label decides
        if member_presence.reachability_changed(old, new):  # its entries in binding status follow
            for binding in self.state.bindings_on(cluster):
                self.status.enqueue(keys.binding_key_of(binding))
        views = self.state.cluster_views
        before = views.of(key, old) if old is not None else None
        after = views.of(key, new) if new is not None else None
        if _facts(before) != _facts(after):
            self._fleet_changed(
                joined=[cluster] if before is None else [], gone=[] if after else [cluster], changed=[cluster]
            )
        elif before is not None and after is not None and before.available != after.available:
            sensitive = {v.ref for v in self.state.propagation_policy_views() if _capacity_sensitive(v)}
            for binding in self.state.all_bindings():
                ref = keys.binding_template(binding)
                if ref is not None and keys.binding_policy(binding) in sensitive:
                    self._enqueue_schedule(ref)

    def _fleet_changed(self, *, joined: list[str], gone: list[str], changed: Iterable[str] = ()) -> None:
        """Members joined, left or changed what scheduling reads: every template is re-evaluated
        (in memory; only changed results are written) and the changed members' Works rendered."""
        _log.info("fleet.changed", joined=joined, gone=gone, changed=sorted(changed))
        self._all_templates()
        self._all_policy_status()  # clusterNames that are (no longer) members
        for cluster in {*joined, *changed}:
            for binding in self.state.bindings_on(cluster):
                policy = keys.binding_policy(binding)
                if policy is not None:
                    self.works.enqueue(keys.WorksKey(policy, cluster))

    def _sync_template_kinds(self) -> None:
        wanted = matching.selected_kinds(self.state.propagation_policy_views())
        if any(dependencies.propagates_deps(p) for p in self.state.propagation_policies()):
            wanted.update(dependencies.DEPENDENCY_KINDS)
        for binding in self.state.all_bindings():
            ref = keys.binding_template(binding)
            if ref is not None:
                wanted.add((ref.api_version, ref.kind))
        for api_version, kind in sorted(wanted - set(self.state.templates)):
            if split_api_version(api_version)[0] in WAYBILL_GROUPS:
                continue
            informer = Informer(
                self.state.hub_api,
                api_version,
                kind,
                name=f"hub:template:{kind}",
                transform=strip_managed_fields,
            )
            self.state.template_contents[(api_version, kind)] = Views(informer, rendering.content_digest)
            informer.add_update_handler(self._make_template_handler(api_version, kind))
            self.state.templates[(api_version, kind)] = informer
            informer.start()
            _log.info("templates.watch", api_version=api_version, kind=kind)

    def _make_template_handler(self, api_version: str, kind: str) -> Any:
        dependency_kind = (api_version, kind) in dependencies.DEPENDENCY_KINDS
        contents = self.state.template_contents[(api_version, kind)]

        def handler(key: str, old: Obj | None, new: Obj | None) -> None:
            namespace, _, name = key.rpartition("/")
            ref = TemplateRef(api_version, kind, namespace, name)
            self._enqueue_schedule(ref)
            # content changes that leave the generation alone (labels, annotations) reach the
            # Works too; status-only writes (ours, aggregated) cost no re-render
            if old is not None and new is not None and contents.of(key, old) != contents.of(key, new):
                # rendered at once (not batched: the placement did not change)
                for works_key in self._binding_works_keys(
                    self.state.binding(self.state.binding_key_for(ref)) or {}
                ):
                    self.works.enqueue(works_key)
                self.rollout_ctl.template_changed(ref, old, new)  # kinds without a generation
            if dependency_kind:
                self._wake_dependency_works()

        return handler

    # ---- running ----------------------------------------------------------------------------------

    async def _run_works_after_first_schedule(self) -> None:
        """Cold start: write Works once the first scheduling pass has drained (bounded wait), so
        each Work is written about once instead of once per binding as they appear."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STARTUP_SCHEDULE_WAIT
        await asyncio.sleep(0.1)  # let template informers list and enqueue
        while loop.time() < deadline:
            templates_synced = all(i.has_synced for i in self.state.templates.values())
            if templates_synced and len(self.scheduler.queue) == 0:
                break
            await asyncio.sleep(0.05)
        await self.works.run()

    async def run(self) -> None:
        """Start informers, wait for their first lists, then run the controllers until cancelled."""
        for informer in self.state.fixed_informers:
            informer.start()
        try:
            for informer in self.state.fixed_informers:
                await informer.wait_synced()
            self._sync_template_kinds()
            _log.info("hub.started", members=len(self.state.member_namespaces()))
            async with asyncio.TaskGroup() as group:
                for controller in self.controllers:
                    if controller is not self.works:
                        group.create_task(controller.run(), name=controller.name)
                group.create_task(self._run_works_after_first_schedule(), name=self.works.name)
        finally:
            for controller in self.controllers:
                controller.stop()
            for informer in [
                *self.state.fixed_informers,
                self.state.priority_classes,
                *self.state.templates.values(),
            ]:
                await informer.stop()
