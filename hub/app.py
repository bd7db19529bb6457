"""The hub: informers, five controllers, and the wiring between them (I/O shell).

Controllers (each a keyed, level-triggered ``shared.runtime.Controller``):

* ``hub-members``   member namespace → MemberCluster, Ready condition, unreachable taint
* ``hub-scheduler`` template → policy match → schedule → ResourceBinding
* ``hub-works``     (policy, member) → Works in the member namespace
* ``hub-status``    binding → aggregated status on the binding and the template
* ``hub-policies``  policy → claimed template count, Valid condition

Informer handlers only enqueue keys. Template kinds are watched dynamically: whenever the
policies change, every (apiVersion, kind) their resource selectors name gets an informer.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

from hub import conditions as hub_conditions
from hub import keys, matching
from hub.clusters import ClusterView
from hub.controller_members import MembersController
from hub.controller_policies import PolicyStatusController
from hub.controller_scheduling import SchedulingController
from hub.controller_status import StatusController
from hub.controller_works import WorksController
from hub.events import EventRecorder
from hub.matching import PolicyRef, TemplateRef
from hub.replica_paths import DEFAULT_REPLICA_PATHS
from hub.state import HubState
from shared.api import names
from shared.kube import errors
from shared.kube.client import KubeClient
from shared.kube.informer import Informer
from shared.ops.logging import get_logger
from shared.runtime.controller import Controller, Result

_log = get_logger("hub.app")

# Never propagated: the hub's own bookkeeping and Kubernetes' per-namespace objects.
SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease", "waybill-system"})
SYSTEM_OBJECTS = frozenset({("ConfigMap", "kube-root-ca.crt"), ("ServiceAccount", "default")})
STATUS_BATCH_SECONDS = 0.05
POLICY_STATUS_BATCH_SECONDS = 0.5
STARTUP_SCHEDULE_WAIT = 30.0
CONFLICT_RETRY_SECONDS = 0.1
SCHEDULER_BACKLOG = 64  # templates waiting to be scheduled before Works are held back
WORKS_DEFER_SECONDS = 0.25
WORKS_MAX_DEFER = 10.0
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


def _capacity_sensitive(policy: Mapping[str, Any]) -> bool:
    scheduling = ((policy.get("spec") or {}).get("placement") or {}).get("replicaScheduling") or {}
    preference = scheduling.get("replicaDivisionPreference")
    dynamic = (scheduling.get("weightPreference") or {}).get("dynamicWeight")
    return preference == "Aggregated" or bool(dynamic)


class Hub:
    """Everything the ``waybill hub`` process runs (except leader election and the ops server)."""

    def __init__(
        self,
        hub_api: KubeClient,
        *,
        replica_paths: Mapping[tuple[str, str], str] = DEFAULT_REPLICA_PATHS,
        grace_seconds: float = 40.0,
        workers: int = 16,
    ) -> None:
        self.state = HubState(hub_api)
        self.events = EventRecorder(hub_api)
        self.members_ctl = MembersController(state=self.state, grace_seconds=grace_seconds)
        self.members = Controller("hub-members", self.members_ctl.reconcile, workers=2)
        self.works_ctl = WorksController(
            state=self.state,
            enqueue_status=self._enqueue_status,
            replica_paths=replica_paths,
            events=self.events,
        )
        self.works = Controller("hub-works", self._render_works, workers=workers)
        self._works_deferred: dict[str, float] = {}  # works key → when it was first held back
        self.scheduler_ctl = SchedulingController(
            state=self.state,
            enqueue_works=self.works.enqueue,
            enqueue_status=self._enqueue_status,
            replica_paths=replica_paths,
            events=self.events,
        )
        self.scheduler = Controller("hub-scheduler", self._schedule, workers=workers)
        self.policies_ctl = PolicyStatusController(state=self.state)
        self.policy_status = Controller("hub-policies", self.policies_ctl.reconcile, workers=1)
        self.status_ctl = StatusController(
            state=self.state,
            render_errors=self.works_ctl.render_errors,
            enqueue_policy=self._enqueue_policy_status,
            clock=time.monotonic,
        )
        self.status = Controller("hub-status", self.status_ctl.reconcile, workers=workers)
        self._facts: dict[str, tuple[Any, ...] | None] = {}
        self._ns_seen: dict[str, str] = {}  # member namespace → the cluster it was labelled for
        self._capacity: dict[str, Any] = {}
        self._policy_specs: dict[str, str] = {}  # "kind/key" → digest of spec (+ deletion)
        self._placements: dict[
            str, tuple[PolicyRef | None, tuple[tuple[str, int | None], ...], Any, Any]
        ] = {}
        self._wire()

    @property
    def controllers(self) -> list[Controller]:
        return [self.members, self.scheduler, self.works, self.status, self.policy_status]

    async def _render_works(self, key: str) -> Any:
        """Works, unless the scheduler has a backlog: then each (policy, member) Work would be
        rewritten (all its manifests) for every few bindings the backlog produces; hold it back
        until the backlog drains (at most ``WORKS_MAX_DEFER`` seconds)."""
        if len(self.scheduler.queue) > SCHEDULER_BACKLOG:
            now = time.monotonic()
            first = self._works_deferred.setdefault(key, now)
            if now - first < WORKS_MAX_DEFER:
                return Result(requeue_after=WORKS_DEFER_SECONDS)
        self._works_deferred.pop(key, None)
        return await self.works_ctl.reconcile(key)

    def _enqueue_status(self, key: str) -> None:
        self.status.enqueue(key)

    async def _schedule(self, key: str) -> Any:
        ref = keys.parse_template_key(key)
        if self._ignored(ref):
            return None
        try:
            return await self.scheduler_ctl.reconcile(key)
        except errors.Conflict:
            # the status controller wrote the binding in between: again from a fresher copy
            self.state.forget_binding(keys.binding_key(ref))
            return Result(requeue_after=CONFLICT_RETRY_SECONDS)

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
        return ref.api_version.split("/")[0] in WAYBILL_GROUPS

    # ---- wiring ---------------------------------------------------------------------------------

    def _wire(self) -> None:
        state = self.state
        state.namespaces.add_handler(self._member_changed)
        state.leases.add_handler(lambda key: self.members.enqueue(key.split("/")[0]))
        state.members.add_handler(lambda key: self._member_changed(key.split("/")[0]))
        for informer, kind in (
            (state.policies, names.KIND_PROPAGATION_POLICY),
            (state.cluster_policies, names.KIND_CLUSTER_PROPAGATION_POLICY),
        ):
            informer.add_handler(self._make_policy_handler(kind))
        state.overrides.add_handler(lambda _key: self._all_works())
        state.cluster_overrides.add_handler(lambda _key: self._all_works())
        state.bindings.add_handler(self._binding_changed)
        state.cluster_bindings.add_handler(lambda name: self._binding_changed(f"/{name}"))
        # Work status arrives from many members at once: gather it into fewer binding status
        # writes, and wake only the bindings whose manifest (or its status) changed.
        state.works.add_handler(self._work_changed)

    def _enqueue_policy_status(self, key: str) -> None:
        # counts need not be instant: one status write per policy per batch window
        self.policy_status.queue.add_after(key, POLICY_STATUS_BATCH_SECONDS)

    def _make_policy_handler(self, kind: str) -> Any:
        informer = (
            self.state.policies if kind == names.KIND_PROPAGATION_POLICY else self.state.cluster_policies
        )

        def handler(key: str) -> None:
            namespace, _, name = key.rpartition("/")
            self._enqueue_policy_status(keys.policy_key(PolicyRef(kind, namespace, name)))
            policy = informer.get(key)
            digest = (
                None
                if policy is None
                else json.dumps(
                    [policy.get("spec"), (policy.get("metadata") or {}).get("deletionTimestamp")],
                    sort_keys=True,
                    default=str,
                )
            )
            identity = f"{kind}/{key}"
            if self._policy_specs.get(identity) == digest and (
                digest is not None or identity in self._policy_specs
            ):
                return  # a status-only change (ours): nothing to reschedule
            if digest is None:
                self._policy_specs.pop(identity, None)
            else:
                self._policy_specs[identity] = digest
            self._sync_template_kinds()
            self._all_templates()

        return handler

    def _work_changed(self, key: str) -> None:
        for ref in self.state.work_index.update(key, self.state.works.get(key)):
            self.status.queue.add_after(keys.binding_key(ref), STATUS_BATCH_SECONDS)

    def _binding_changed(self, informer_key: str) -> None:
        """Works, status and policy counts, when the placement or the scheduling outcome changed
        (not on the status controller's own aggregated-status writes)."""
        namespace, _, name = informer_key.rpartition("/")
        bkey = f"{namespace}|{name}"
        binding = self.state.binding(bkey)
        previous = self._placements.get(bkey)
        current = None
        if binding is not None:
            scheduled = hub_conditions.find(
                (binding.get("status") or {}).get("conditions"), names.CONDITION_SCHEDULED
            )
            current = (
                keys.binding_policy(binding),
                tuple(sorted(keys.binding_clusters(binding).items())),
                keys.binding_template(binding),
                (scheduled or {}).get("reason"),
            )
        if current == previous:
            return
        self.status.enqueue(bkey)
        for placement in (previous, current):
            if placement is not None and placement[0] is not None:
                self._enqueue_policy_status(keys.policy_key(placement[0]))
        for placement in (previous, current):
            if placement is not None and placement[0] is not None:
                for cluster, _replicas in placement[1]:
                    self.works.enqueue(keys.works_key(placement[0], cluster))
        if current is None:
            self._placements.pop(bkey, None)
            return
        self._placements[bkey] = current
        ref = current[2]
        if ref is not None and (ref.api_version, ref.kind) not in self.state.templates:
            self._sync_template_kinds()

    @staticmethod
    def _binding_works_keys(binding: Mapping[str, Any]) -> Iterable[str]:
        policy = keys.binding_policy(binding)
        if policy is None:
            return []
        return [keys.works_key(policy, cluster) for cluster in keys.binding_clusters(binding)]

    @staticmethod
    def _binding_policy_keys(binding: Mapping[str, Any]) -> Iterable[str]:
        policy = keys.binding_policy(binding)
        return [keys.policy_key(policy)] if policy else []

    def _all_templates(self) -> None:
        for ref, _ in self.state.all_templates():
            self.scheduler.enqueue(keys.template_key(ref))

    def _all_works(self) -> None:
        for binding in self.state.all_bindings():
            for key in self._binding_works_keys(binding):
                self.works.enqueue(key)

    def _member_changed(self, namespace: str) -> None:
        """A member namespace or MemberCluster changed: health, and rescheduling if needed.

        Only the member(s) this namespace names (before and now) are looked at: O(1) per event.
        """
        self.members.enqueue(namespace)
        labelled = self.state.labelled_cluster(namespace)
        candidates = {c for c in (self._ns_seen.get(namespace), labelled) if c}
        if labelled is None:
            self._ns_seen.pop(namespace, None)
        else:
            self._ns_seen[namespace] = labelled
        gone: list[str] = []
        changed: list[str] = []
        capacity: list[str] = []
        for cluster in sorted(candidates):
            if self.state.namespace_of(cluster) is None:
                if cluster in self._facts or cluster in self._capacity:
                    gone.append(cluster)
                continue
            view = self.state.cluster_view(cluster)
            facts = _facts(view)
            if self._facts.get(cluster, "unseen") != facts:
                changed.append(cluster)
                self._facts[cluster] = facts
            if view is not None and self._capacity.get(cluster) != view.available:
                capacity.append(cluster)
                self._capacity[cluster] = view.available
        for cluster in gone:
            self._facts.pop(cluster, None)
            self._capacity.pop(cluster, None)
        if gone or changed:
            _log.info("fleet.changed", changed=sorted(changed), gone=sorted(gone))
            self._all_templates()
            for cluster in changed:
                for binding in self.state.all_bindings():
                    policy = keys.binding_policy(binding)
                    if policy is not None and cluster in keys.binding_clusters(binding):
                        self.works.enqueue(keys.works_key(policy, cluster))
        elif capacity:
            sensitive = {PolicyRef.of(p) for p in self.state.propagation_policies() if _capacity_sensitive(p)}
            for binding in self.state.all_bindings():
                ref = keys.binding_template(binding)
                if ref is not None and keys.binding_policy(binding) in sensitive:
                    self.scheduler.enqueue(keys.template_key(ref))

    def _sync_template_kinds(self) -> None:
        wanted = matching.selected_kinds(self.state.propagation_policies())
        for binding in self.state.all_bindings():
            ref = keys.binding_template(binding)
            if ref is not None:
                wanted.add((ref.api_version, ref.kind))
        for api_version, kind in sorted(wanted - set(self.state.templates)):
            if api_version.split("/")[0] in WAYBILL_GROUPS:
                continue
            informer = Informer(self.state.hub_api, api_version, kind, name=f"hub:template:{kind}")
            informer.add_handler(self._make_template_handler(api_version, kind))
            self.state.templates[(api_version, kind)] = informer
            informer.start()
            _log.info("templates.watch", api_version=api_version, kind=kind)

    def _make_template_handler(self, api_version: str, kind: str) -> Any:
        def handler(key: str) -> None:
            namespace, _, name = key.rpartition("/")
            self.scheduler.enqueue(keys.template_key(TemplateRef(api_version, kind, namespace, name)))

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
            for informer in [*self.state.fixed_informers, *self.state.templates.values()]:
                await informer.stop()
