"""Rollout controller: binding key → ``status.rollout``, the rollout conditions, revisions (I/O shell).

For a binding whose policy sets ``rolloutStrategy``:

1. record the template's current generation as a TemplateRevision (a ClusterTemplateRevision
   for a cluster-scoped template; kept: the last ``revisionHistoryLimit``), whatever the type.
   A kind without ``metadata.generation`` (ConfigMap, ClusterRole, ...) gets a number instead:
   the newest kept revision's while its content is the same, else the next (``_number``), and
   ``status.rollout.contentDigest`` says which content the number is for (the works
   controller's gate, ``hub.rollout_gate.generation_of``, reads it); Secrets are not staged
   (``NotStaged``: their data is not copied into revisions);
2. for RollingUpdate and Staged, read each chosen cluster's Work (which generation it carries,
   how the agent reports the manifest) and the cluster's labels, decide (``hub.rollout.decide``),
   and apply ``status.rollout`` with the ``RolloutProgressing`` / ``RolloutHalted`` conditions under
   its own field manager (``waybill-hub-rollout``: the scheduler's and the status controller's
   fields are left alone);
3. record an Event on the binding and the template when the rollout halts; once the binding
   informer delivers the new status, wake the Works of every cluster whose gate
   (``hub.rollout_gate.held``) opened (the works controller reads bindings from that cache).

A binding whose policy drops its strategy (or sets All) loses ``status.rollout`` and the two
conditions (an apply of nothing this manager owns removes them).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from hub import conditions, keys, rollout, rollout_gate, rollout_metrics, status_writes
from hub.events import EventRecorder
from hub.matching import PolicyRef, TemplateRef
from hub.state import HubState
from hub.views import WorkView, changed_templates
from shared.api import names, revision
from shared.kube import errors
from shared.ops.logging import get_logger
from shared.runtime.controller import Result

_log = get_logger("hub.rollout")
Obj = dict[str, Any]

ROLLOUT = status_writes.StatusOwner(
    manager="waybill-hub-rollout",
    fields=("rollout",),
    condition_types=(names.CONDITION_ROLLOUT_PROGRESSING, names.CONDITION_ROLLOUT_HALTED),
)
# Status writes that only report progress (no cluster released, same phase and stage) are made
# at most this often per binding; a write that releases clusters or changes the phase is not held.
MIN_REPORT_INTERVAL = 0.5
REASON_NOT_TRACKED = "NotTracked"  # agent.availability: a kind without a health rule
REASON_FAILED = "Failed"


def observe(
    cluster: str, *, labels: Mapping[str, str], ref: TemplateRef, work: WorkView | None
) -> rollout.ClusterObservation:
    """One cluster as ``hub.rollout`` reads it, from the Work that carries the template there."""
    identity = ref.identity
    if work is None or not work.carries(identity):
        return rollout.ClusterObservation(name=cluster, labels=labels, health="Unknown")
    generation = work.rendered_generation(identity)
    manifest = work.manifest_conditions.get(identity) or {}
    applied = conditions.find(manifest.get("conditions"), names.CONDITION_APPLIED)
    available = conditions.find(manifest.get("conditions"), names.CONDITION_AVAILABLE)
    health: rollout.Health = "Progressing"
    message = ""
    if not work.current or applied is None:
        message = "not applied yet"
    elif applied.get("status") == "False":
        health, message = "Failed", f"Applied: {applied.get('reason')}: {applied.get('message', '')}"
    elif available is not None and available.get("status") == "True":
        health = "NotTracked" if available.get("reason") == REASON_NOT_TRACKED else "Available"
    elif available is not None and available.get("reason") == REASON_FAILED:
        health, message = "Failed", f"Available: {available.get('reason')}: {available.get('message', '')}"
    elif available is not None:
        message = str(available.get("message") or available.get("reason") or "")
    return rollout.ClusterObservation(
        name=cluster,
        labels=labels,
        revision=generation,
        health=health,
        message=message.rstrip(": "),
        has_previous=True,
    )


def approvals_of(binding: Mapping[str, Any]) -> dict[str, int]:
    raw = ((binding.get("metadata") or {}).get("annotations") or {}).get(names.ANNOTATION_ROLLOUT_APPROVALS)
    try:
        parsed = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    if not isinstance(parsed, dict):
        return {}
    return {str(k): v for k, v in parsed.items() if isinstance(v, int) and not isinstance(v, bool)}


def paused(binding: Mapping[str, Any]) -> bool:
    annotations = (binding.get("metadata") or {}).get("annotations") or {}
    return annotations.get(names.ANNOTATION_ROLLOUT_PAUSED) == "true"


def _strategy_raw(policy: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    raw = ((policy or {}).get("spec") or {}).get("rolloutStrategy")
    return raw if isinstance(raw, Mapping) else None


class RolloutController:
    """Reconciles binding keys into rollout status, revisions, and opened gates."""

    def __init__(
        self,
        *,
        state: HubState,
        enqueue_works: Callable[[keys.WorksKey], None],
        events: EventRecorder | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.state = state
        self.enqueue_works = enqueue_works
        self.events = events
        self.clock = clock
        self._recorded: set[tuple[str, str, int]] = set()  # (namespace, binding name, generation)
        # binding → (content digest, revision number) of a template without metadata.generation
        self._numbered: dict[keys.BindingKey, tuple[str, int]] = {}
        self._enqueue: Callable[[keys.BindingKey], None] | None = None
        self._last_write: dict[keys.BindingKey, float] = {}  # binding → when its rollout was last written
        self.monotonic = time.monotonic

    # ---- wiring: which events wake a binding's rollout -------------------------------------------
    def wire(self, enqueue: Callable[[keys.BindingKey], None]) -> None:
        state = self.state
        self._enqueue = enqueue

        def binding_changed(informer_key: str, old: Obj | None, new: Obj | None) -> None:
            if new is not None and self._interested(new):
                enqueue(keys.BindingKey.from_informer_key(informer_key))
            if old is not None and new is not None:
                # the works controller reads bindings from this cache: wake the Works of the
                # clusters released (or no longer released) once the cache holds the change
                policy = keys.binding_policy(new)
                if policy is not None:
                    self._wake(old, policy, keys.binding_clusters(new), after=new)

        def work_changed(key: str, old: Obj | None, new: Obj | None) -> None:
            before = state.work_views.of(key, old) if old is not None else None
            after = state.work_views.of(key, new) if new is not None else None
            for ref in changed_templates(before, after):
                bkey = state.binding_key_for(ref)
                binding = state.binding(bkey)
                if binding is not None and self._interested(binding):
                    enqueue(bkey)

        def member_changed(key: str, old: Obj | None, new: Obj | None) -> None:
            labels = [((o or {}).get("metadata") or {}).get("labels") for o in (old, new)]
            if labels[0] != labels[1]:
                for binding in state.all_bindings():
                    if self._interested(binding):
                        enqueue(keys.BindingKey.of(binding))

        def policy_changed(kind: str) -> Callable[[str, Obj | None, Obj | None], None]:
            def handler(key: str, old: Obj | None, new: Obj | None) -> None:
                if _strategy_raw(old) is None and _strategy_raw(new) is None:
                    return
                namespace, _, name = key.rpartition("/")
                for binding in state.bindings_of_policy(PolicyRef(kind, namespace, name)):
                    enqueue(keys.BindingKey.of(binding))

            return handler

        state.policies.add_update_handler(policy_changed(names.KIND_PROPAGATION_POLICY))
        state.cluster_policies.add_update_handler(policy_changed(names.KIND_CLUSTER_PROPAGATION_POLICY))
        state.bindings.add_update_handler(binding_changed)
        state.cluster_bindings.add_update_handler(binding_changed)
        state.works.add_update_handler(work_changed)
        state.members.add_update_handler(member_changed)

    def template_changed(self, ref: TemplateRef, old: Obj | None, new: Obj | None) -> None:
        """A template event (the hub's template informers call this). A kind without
        ``metadata.generation`` whose content changed needs a new revision number, and its binding
        does not change (a new generation is written into the binding by the scheduler, which
        wakes the rollout; nothing would here)."""
        if old is None or new is None or isinstance((new.get("metadata") or {}).get("generation"), int):
            return
        if self._enqueue is None or revision.same_content(old, new):
            return
        key = self.state.binding_key_for(ref)
        binding = self.state.binding(key)
        if binding is not None and self._interested(binding):
            self._enqueue(key)

    def _interested(self, binding: Mapping[str, Any]) -> bool:
        if "rollout" in (binding.get("status") or {}):
            return True
        policy_ref = keys.binding_policy(binding)
        policy = self.state.policy(policy_ref) if policy_ref is not None else None
        return _strategy_raw(policy) is not None

    # ---- reconcile ---------------------------------------------------------------------------------
    async def reconcile(self, key: keys.BindingKey) -> Result | None:
        binding = self.state.binding(key)
        if binding is None:
            self._last_write.pop(key, None)
            self._numbered.pop(key, None)
            return None
        view = self.state.binding_view(binding)
        ref, policy_ref = view.template, view.policy
        if ref is None or policy_ref is None:
            return None
        policy = self.state.policy(policy_ref)
        template = self.state.template(ref)
        generation = ((template or {}).get("metadata") or {}).get("generation")
        raw = _strategy_raw(policy)
        status = binding.get("status") or {}
        digest: str | None = None
        not_staged = rollout_gate.not_staged(ref.api_version, ref.kind)
        if template is not None and raw is not None and not isinstance(generation, int) and not not_staged:
            # ConfigMaps, Services, ClusterRoles...: no metadata.generation; the revisions number
            # the template's content instead (the same number while the content stays the same)
            digest = revision.content_digest(template)
            generation = await self._number(key, template, digest, status.get("rollout"))
        if template is not None and raw is not None and isinstance(generation, int):
            await self._record_revision(key, template, generation, raw.get("revisionHistoryLimit"))
        strategy = rollout_gate.strategy_of(policy)
        if strategy is not None and template is not None and not_staged and not isinstance(generation, int):
            # Secrets: not copied into revisions, so not staged; say so rather than roll them
            # out silently at once
            await self._not_rolled_out(binding, status, not_staged)
            return None
        if strategy is None or template is None or not isinstance(generation, int):
            if strategy is None and self._owns_something(status):
                await self._apply(binding, {"conditions": status.get("conditions") or []}, clear=True)
                self._wake(binding, policy_ref, view.clusters)
            return None
        decision = rollout.decide(
            rollout.RolloutInput(
                template=f"{ref.kind} {ref.namespace + '/' if ref.namespace else ''}{ref.name}",
                generation=generation,
                strategy=strategy,
                clusters=[self._observe(cluster, ref, policy_ref) for cluster in sorted(view.clusters)],
                previous=status.get("rollout"),
                now=self.clock(),
                fleet_labels=[dict(c.labels) for c in self.state.clusters()],
                paused=paused(binding),
                approvals=approvals_of(binding),
                content_digest=digest,
            )
        )
        conds = status.get("conditions")
        for wanted in decision.conditions:
            conds = conditions.set_condition(
                conds, type=wanted.type, status=wanted.status, reason=wanted.reason, message=wanted.message
            )
        old_owned = ROLLOUT.owned(status)
        new_owned = ROLLOUT.owned({"rollout": decision.status, "conditions": conds})
        if _comparable(old_owned) != _comparable(new_owned):
            now = self.monotonic()
            last = self._last_write.get(key)
            if (
                last is not None
                and now - last < MIN_REPORT_INTERVAL
                and _same_step(status.get("rollout"), decision)
            ):
                return Result(requeue_after=MIN_REPORT_INTERVAL - (now - last))
            self._last_write[key] = now
            was_halted = (status.get("rollout") or {}).get("phase") == "Halted" and (
                status.get("rollout") or {}
            ).get("revision") == generation
            await self._apply(binding, {"rollout": decision.status, "conditions": conds})
            rollout_metrics.record(status.get("rollout"), decision.status, now=self.clock())
            _log.info(
                "rollout.status",
                binding=str(key),
                revision=generation,
                phase=decision.status.get("phase"),
                stage=decision.status.get("stage"),
                released=len(decision.released),
            )
            if decision.halted and not was_halted:
                await self._halt_event(binding, template, decision)
        if decision.requeue_after is not None:
            return Result(requeue_after=max(decision.requeue_after, 0.05))
        return None

    async def _not_rolled_out(self, binding: Obj, status: Mapping[str, Any], why: str) -> None:
        conds = conditions.set_condition(
            status.get("conditions"),
            type=names.CONDITION_ROLLOUT_PROGRESSING,
            status="False",
            reason=rollout.REASON_NOT_ROLLED_OUT,
            message=f"{why}: changes reach every cluster at once",
        )
        conds = conditions.set_condition(
            conds, type=names.CONDITION_ROLLOUT_HALTED, status="False", reason=rollout.REASON_NOT_HALTED
        )
        if _comparable(ROLLOUT.owned(status)) != _comparable(ROLLOUT.owned({"conditions": conds})):
            await self._apply(binding, {"conditions": conds})

    def _observe(self, cluster: str, ref: TemplateRef, policy: PolicyRef) -> rollout.ClusterObservation:
        namespace = self.state.namespace_of(cluster)
        cluster_view = self.state.cluster_view(cluster)
        labels = dict(cluster_view.labels) if cluster_view is not None else {}
        work = self.state.work_carrying(ref, namespace, policy=policy) if namespace else None
        return observe(cluster, labels=labels, ref=ref, work=work)

    @staticmethod
    def _owns_something(status: Mapping[str, Any]) -> bool:
        owned = ROLLOUT.owned(status)
        return "rollout" in status or bool(owned.get("conditions"))

    async def _apply(self, binding: Obj, status: Mapping[str, Any], *, clear: bool = False) -> Obj:
        wanted = {"conditions": []} if clear else status
        written = await status_writes.apply_binding_status(
            self.state.hub_api, binding, owner=ROLLOUT, status=wanted
        )
        if clear and "rollout" in (written.get("status") or {}):
            # an apply that drops a map can leave it behind emptied (`rollout: {clusters: []}`)
            meta = binding.get("metadata") or {}
            written = await self.state.hub_api.patch_status(
                names.WORK_API_VERSION,
                str(binding.get("kind")),
                name=str(meta.get("name")),
                namespace=meta.get("namespace") or None,
                patch={"status": {"rollout": None}},
            )
        self.state.remember_binding(written)
        return written

    def _wake(
        self,
        before: Mapping[str, Any],
        policy: PolicyRef,
        clusters: Mapping[str, Any],
        *,
        after: Mapping[str, Any] | None = None,
    ) -> None:
        """Render the Works of the clusters whose release changed (or all, when the strategy went)."""
        for cluster in sorted(clusters):
            old = rollout_gate.released_revision(before, cluster)
            new = rollout_gate.released_revision(after, cluster) if after is not None else None
            if after is None or old != new:
                self.enqueue_works(keys.WorksKey(policy, cluster))

    async def _halt_event(self, binding: Obj, template: Obj, decision: rollout.RolloutDecision) -> None:
        message = next(
            (c.message for c in decision.conditions if c.type == names.CONDITION_ROLLOUT_HALTED), "halted"
        )
        _log.warning("rollout.halted", binding=str(keys.BindingKey.of(binding)), message=message)
        if self.events is None:
            return
        for obj in (binding, template):
            await self.events.emit(obj, event_type="Warning", reason=rollout.REASON_HALTED, message=message)

    async def _kept(self, key: keys.BindingKey, template: Mapping[str, Any]) -> list[Obj]:
        """The template's kept revisions, oldest first."""
        meta = template.get("metadata") or {}
        found = await self.state.hub_api.list(
            names.WORK_API_VERSION,
            revision.revision_kind(key.namespace),
            namespace=key.namespace or None,
            label_selector=revision.label_selector(
                str(template.get("apiVersion")), str(template.get("kind")), str(meta.get("name"))
            ),
        )
        return sorted(
            (
                r
                for r in found.items
                if (r.get("spec") or {}).get("template", {}).get("name") == meta.get("name")
            ),
            key=lambda r: int((r.get("spec") or {}).get("revision") or 0),
        )

    async def _number(
        self, key: keys.BindingKey, template: Mapping[str, Any], digest: str, previous: Any
    ) -> int:
        """The revision number of a template without ``metadata.generation``: the newest kept
        revision's while the content is the same as that revision's, else the next one. Read
        from what is stored (the binding's ``status.rollout``, else the revision objects), so it
        survives hub restarts; remembered per binding."""
        remembered = self._numbered.get(key)
        if remembered is not None and remembered[0] == digest:
            return remembered[1]
        rollout_status = previous if isinstance(previous, Mapping) else {}
        written = rollout_status.get("revision")
        if isinstance(written, int) and rollout_status.get("contentDigest") == digest:
            number = written
        else:
            kept = await self._kept(key, template)
            newest = kept[-1] if kept else None
            newest_number = int((newest or {}).get("spec", {}).get("revision") or 0)
            if newest is not None and newest["spec"].get("content") == revision.content_of(template):
                number = newest_number
            else:
                floor = [newest_number, remembered[1] if remembered else 0]
                if isinstance(written, int):
                    floor.append(written)
                number = max(floor) + 1
        self._numbered[key] = (digest, number)
        return number

    async def _record_revision(
        self, key: keys.BindingKey, template: Mapping[str, Any], generation: int, limit: Any
    ) -> None:
        """One revision per generation (a ClusterTemplateRevision for a cluster-scoped template),
        the oldest pruned beyond ``revisionHistoryLimit``."""
        marker = (key.namespace, key.name, generation)
        if marker in self._recorded:
            return
        body = revision.revision_body(template=template, binding_name=key.name, revision=generation)
        with contextlib.suppress(errors.AlreadyExists):
            await self.state.hub_api.create(body)
        keep = limit if isinstance(limit, int) and limit > 0 else revision.DEFAULT_HISTORY_LIMIT
        kept = await self._kept(key, template)
        for old in kept[: max(len(kept) - keep, 0)]:
            with contextlib.suppress(errors.NotFound):
                await self.state.hub_api.delete(
                    names.WORK_API_VERSION,
                    revision.revision_kind(key.namespace),
                    name=str(old["metadata"]["name"]),
                    namespace=key.namespace or None,
                )
        self._recorded.add(marker)


def _same_step(previous: Mapping[str, Any] | None, decision: rollout.RolloutDecision) -> bool:
    """Whether ``decision`` only reports progress over ``previous``: same revision, phase and
    stage, and no cluster released (or withdrawn)."""
    before = previous or {}
    released = {
        c.get("name") for c in before.get("clusters") or [] if c.get("revision") == before.get("revision")
    }
    return (
        before.get("revision") == decision.status.get("revision")
        and before.get("phase") == decision.status.get("phase")
        and before.get("stage") == decision.status.get("stage")
        and released == set(decision.released)
    )


def _comparable(owned: Mapping[str, Any]) -> Any:
    """The owned status without condition timestamps (set_condition keeps them when unchanged)."""
    conds = [{k: v for k, v in c.items() if k != "lastTransitionTime"} for c in owned.get("conditions") or []]
    return (owned.get("rollout"), sorted(conds, key=lambda c: str(c.get("type"))))
