"""Works controller: (policy, member) key → the Works carrying that policy's templates (I/O shell).

Each pass renders every binding of the policy that places its template on the member, packs
the manifests (``hub.rendering.pack_works``) and writes only the Works whose content changed,
deleting parts no longer needed. A manifest that cannot be rendered (a bad override) keeps its
last good version from the current Work; the error is kept in ``render_errors`` for the status
controller to report. Orphaned bindings (policy removed) and templates of kinds not yet cached
also keep their last rendered manifest. With ``propagateDeps`` the Works also carry the
ConfigMaps, Secrets, ServiceAccounts and PVCs the policy's workloads on that member reference
(``hub.dependencies``; a dependency several policies need goes with the first of them).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from hub import (
    conditions,
    dependencies,
    interpretation,
    keys,
    manifest_sealing,
    namespace_templates,
    overrides,
    reasons,
    rendering,
    rollout_gate,
    state_preservation,
)
from hub.aggregation import ANNOTATION_GENERATIONS
from hub.clusters import ClusterView
from hub.controller_scheduling import REASON_POLICY_REMOVED
from hub.events import EventRecorder
from hub.matching import PolicyRef, TemplateId, TemplateRef
from hub.state import HubState
from hub.suspension import suspended
from shared.api import names
from shared.interpreter import InterpreterError
from shared.kube import errors
from shared.kube.types import object_key
from shared.ops.logging import get_logger
from shared.ops.metrics import counter
from shared.runtime.controller import Result

_log = get_logger("hub.works")
_WRITES = counter("hub_work_writes_total", "Work writes by the hub, by operation", labels=("op",))


class _LastGood:
    """The manifests a (policy, member)'s Works carry now, by template identity: what a member
    keeps when its manifest cannot be rendered (or must not change yet).

    The hub's Work cache keeps manifests slim (identity and digest, ``rendering.slim_work``), so
    the content comes from this controller's kept rendering when its digest is the one the Work
    carries, else from the API server (one GET per Work, only in that case).
    """

    def __init__(
        self,
        works: list[dict[str, Any]],
        *,
        kept: Callable[[str], tuple[str, dict[str, Any]] | None],
        fetch: Callable[[str, str], Awaitable[dict[str, Any] | None]],
    ) -> None:
        self._carried: dict[str, tuple[Mapping[str, Any], dict[str, Any]]] = {}  # identity → (work, manifest)
        for work in works:
            for manifest in ((work.get("spec") or {}).get("workload") or {}).get("manifests") or []:
                self._carried[str(TemplateId.of(manifest))] = (work, manifest)
        self._kept = kept
        self._fetch = fetch
        self._fetched: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}  # work → identity → manifest
        self.reads = 0  # Works read from the API server

    def __contains__(self, identity: object) -> bool:
        return identity in self._carried

    def identities(self) -> list[str]:
        return list(self._carried)

    def ref(self, identity: str) -> TemplateRef:
        return TemplateRef.of(self._carried[identity][1])

    async def get(self, identity: str) -> dict[str, Any] | None:
        found = self._carried.get(identity)
        if found is None:
            return None
        work, manifest = found
        if not rendering.is_slim(manifest):
            return manifest  # a Work this controller created and the cache has not delivered yet
        kept = self._kept(identity)
        if kept is not None and kept[0] == manifest[rendering.DIGEST_FIELD]:
            return kept[1]
        meta = work.get("metadata") or {}
        where = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        if where not in self._fetched:
            self.reads += 1
            live = await self._fetch(*where)
            carried = ((live or {}).get("spec") or {}).get("workload") or {}
            self._fetched[where] = {str(TemplateId.of(m)): m for m in carried.get("manifests") or []}
        return self._fetched[where].get(identity)


def _rv_of(obj: Mapping[str, Any] | None) -> str:
    return str(((obj or {}).get("metadata") or {}).get("resourceVersion") or "")


def _spec_version(obj: Mapping[str, Any]) -> str:
    """A policy's generation (its spec's version), else its resourceVersion."""
    meta = obj.get("metadata") or {}
    return str(meta.get("generation") or meta.get("resourceVersion") or "")


def _render_facts(view: ClusterView | None) -> tuple[Any, ...] | None:
    """What rendering reads of a member: overrides' targetCluster (name, labels, fields) and
    variables (name, labels), sealing (its key and pinned signer); not its status otherwise."""
    if view is None:
        return None
    sealing_key = json.dumps(view.sealing_key, sort_keys=True) if view.sealing_key is not None else None
    return (
        view.name,
        tuple(sorted(view.labels.items())),
        tuple(sorted(view.fields.items())),
        sealing_key,
        view.sealing_signer,
    )


def _comparable(work: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    meta = work.get("metadata") or {}
    return (work.get("spec"), meta.get("labels"), meta.get("annotations"))


def _slim(work: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = work.get("spec")
    return {**work, "spec": rendering.slim_work_spec(spec)} if isinstance(spec, Mapping) else work


def _content_digest(work: Mapping[str, Any]) -> bytes:
    """A short digest of what a Work write sets (spec, labels, annotations)."""
    text = json.dumps(_comparable(work), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def _revision(resource_version: Any) -> int | None:
    """A resourceVersion as a number, where the server uses numbers (kube-apiserver and kubesim
    do: etcd revisions); None for anything else, which then is never compared."""
    try:
        return int(str(resource_version))
    except ValueError:
        return None


def _orphan_unseen(work: Mapping[str, Any]) -> bool:
    """A Work written with deleteOption Orphan whose latest generation the agent has not applied yet."""
    if ((work.get("spec") or {}).get("deleteOption") or {}).get("propagationPolicy") != "Orphan":
        return False
    generation = (work.get("metadata") or {}).get("generation")
    applied = conditions.find((work.get("status") or {}).get("conditions"), names.CONDITION_APPLIED)
    seen = (applied or {}).get("observedGeneration")
    return generation is None or seen is None or int(seen) < int(generation)


class WorksController:
    """Reconciles works keys (``policyKind|ns|name|cluster``) into Work objects."""

    def __init__(
        self,
        *,
        state: HubState,
        enqueue_status: Callable[[keys.BindingKey], None],
        events: EventRecorder | None = None,
    ) -> None:
        self.state = state
        self.enqueue_status = enqueue_status
        self.events = events
        # (binding key, cluster) → the render error of its manifest for that cluster
        self.render_errors: dict[tuple[keys.BindingKey, str], str] = {}
        self._created: dict[tuple[str, str], dict[str, Any]] = {}  # (namespace, name) → created Work
        # (namespace, name) → (content digest, resourceVersion) of this controller's last write of a
        # Work, until the informer delivers it: a pass reading the older cached copy meanwhile
        # would otherwise write the same content again (see ``_write``)
        self._written: dict[tuple[str, str], tuple[bytes, int]] = {}
        # the last rendering of each (template, member, use), reused while its inputs are the same
        self.renders = rendering.RenderCache()
        self._render_keys: dict[keys.WorksKey, set[rendering.RenderKey]] = {}  # used by each key's last pass

    async def reconcile(self, key: keys.WorksKey) -> Result | None:
        policy_ref, cluster = key.policy, key.cluster
        namespace = self.state.namespace_of(cluster)
        if namespace is None:
            self._forget_renders(key, set())
            return None  # the member left: its namespace (and Works) go with it
        existing = {str(w["metadata"]["name"]): w for w in self.state.works_for(policy_ref, namespace)}
        # Works this controller created that the informer has not delivered yet (else: 409 on re-create)
        wanted_labels = rendering.policy_labels(policy_ref)
        informer_rv = _revision(self.state.works.resource_version)
        for (created_ns, name), created in list(self._created.items()):
            created_rv = _revision((created.get("metadata") or {}).get("resourceVersion"))
            seen = self.state.works.get(f"{created_ns}/{name}") is not None
            # The informer is already past the creation yet lacks the Work: it was deleted since
            # (e.g. with its member namespace); trusting the stale copy would never re-create it.
            passed = informer_rv is not None and created_rv is not None and informer_rv >= created_rv
            if seen or passed:
                self._created.pop((created_ns, name), None)
            elif created_ns == namespace and all(
                created["metadata"]["labels"].get(k) == v for k, v in wanted_labels.items()
            ):
                existing.setdefault(name, created)
        last_good = _LastGood(
            list(existing.values()),
            kept=lambda identity: self.renders.last((identity, cluster, "binding"))
            or self.renders.last((identity, cluster, "dependency")),
            fetch=self._read_work,
        )
        view = self.state.cluster_view(cluster)
        policy = self.state.policy(policy_ref)
        if policy is not None and suspended(policy, cluster):
            # Karmada's suspension: the member's Works stay exactly as they are (nothing created,
            # updated or deleted) until dispatching resumes; the policy's change wakes them again.
            return None
        override_policies = []
        invalid_overrides: list[tuple[dict[str, Any], str]] = []
        for override in self.state.override_policies():
            check = self.state.policy_check(override)
            if check.valid:
                override_policies.append(override)
            else:
                invalid_overrides.append((override, "; ".join(check.problems)))
        # what every rendering of this pass reads besides its template: the member (labels,
        # fields, sealing key), the override policies (valid or not), the interpreter's customizations
        inputs = (
            _render_facts(view),
            # by generation: the hub's own status writes on them change nothing rendering reads
            tuple(
                (str(o.get("kind")), object_key(o), _spec_version(o)) for o in self.state.override_policies()
            ),
            self.state.customizations.version,
        )
        used: set[rendering.RenderKey] = set()
        manifests: list[dict[str, Any]] = []
        generations: dict[str, int] = {}
        waiting = False
        rollout_strategy = rollout_gate.strategy_of(policy)
        for binding in sorted(self.state.bindings_for(policy_ref, cluster), key=keys.binding_key_of):
            binding_view = self.state.binding_view(binding)
            ref = binding_view.template
            if ref is None:
                continue
            bkey = keys.binding_key_of(binding)
            render_key = (str(ref.identity), cluster, "binding")
            used.add(render_key)  # kept while the binding places it here (rendered or held)
            identity = str(ref.identity)
            template = self.state.template(ref)
            scheduled = conditions.find(
                (binding.get("status") or {}).get("conditions"), names.CONDITION_SCHEDULED
            )
            orphaned = policy is None or (scheduled or {}).get("reason") == REASON_POLICY_REMOVED
            if template is None or orphaned or view is None:
                if template is None and self.state.template_known(ref) and not orphaned:
                    continue  # deleted: drop it (the scheduler deletes the binding too)
                waiting = waiting or (template is None and not self.state.template_known(ref))
                if (previous := await last_good.get(identity)) is not None:
                    manifests.append(previous)
                continue
            # metadata.generation, or the rollout's number for a kind without one (ConfigMap...)
            generation = rollout_gate.generation_of(template, binding, rollout_strategy)
            if rollout_gate.held(
                strategy=rollout_strategy, binding=binding, cluster=cluster, generation=generation
            ):
                # a rollout that has not reached this cluster yet: it keeps what it has (docs/rollouts.md)
                kept = rollout_gate.stamped_generation(existing.values(), str(ref.identity))
                if (previous := await last_good.get(identity)) is not None:
                    manifests.append(previous)
                    if kept is not None:
                        generations[str(ref.identity)] = kept
                continue
            replicas = binding_view.clusters.get(cluster)
            annotations = (binding.get("metadata") or {}).get("annotations") or {}
            signature = (
                self._content(ref, template),
                replicas,
                len(binding_view.clusters),
                tuple(sorted(annotations.items())),
                inputs,
            )
            cached = self.renders.get(render_key, signature)
            if cached is not None:
                if self.render_errors.pop((bkey, cluster), None) is not None:
                    self.enqueue_status(bkey)
                manifests.append(cached)
                if generation is not None:
                    generations[str(ref.identity)] = int(generation)
                continue
            try:
                for override, problems in invalid_overrides:
                    if overrides.applies_to(override, template):
                        raise overrides.OverrideError(
                            policy=overrides.policy_ref(override),
                            obj=str(ref),
                            cluster=cluster,
                            field="spec",
                            message=f"the policy is invalid: {problems}",
                        )
                manifest = rendering.render_manifest(
                    template,
                    cluster=view,
                    replicas=replicas,
                    overrides=override_policies,
                    interpreter=self.state.interpreter,
                )
                # statePreservation: a workload that failed over carries the evicted member's state
                manifest = state_preservation.inject(
                    manifest,
                    annotations=(binding.get("metadata") or {}).get("annotations"),
                    cluster=cluster,
                    total_clusters=len(binding_view.clusters),
                )
                manifest = manifest_sealing.seal_for(manifest, cluster=view)  # Secrets: for this member only
                manifest = self.renders.put(render_key, signature, manifest)
            except (overrides.OverrideError, InterpreterError) as exc:
                # a failed override or ReviseReplica script: the member keeps its last good manifest
                problem, reason = (
                    (interpretation.describe(exc), interpretation.REASON_INTERPRETATION_FAILED)
                    if isinstance(exc, InterpreterError)
                    else (str(exc), reasons.OVERRIDE_FAILED)
                )
                if self.render_errors.get((bkey, cluster)) != problem:
                    self.render_errors[(bkey, cluster)] = problem
                    self.enqueue_status(bkey)
                    _log.warning("render.failed", binding=bkey, cluster=cluster, error=problem)
                    if self.events is not None:
                        await self.events.emit(binding, event_type="Warning", reason=reason, message=problem)
                if (previous := await last_good.get(identity)) is not None:
                    manifests.append(previous)
                continue
            if self.render_errors.pop((bkey, cluster), None) is not None:
                self.enqueue_status(bkey)
            manifests.append(manifest)
            if generation is not None:
                generations[str(ref.identity)] = int(generation)
        if policy is not None and view is not None and dependencies.propagates_deps(policy):
            present = {str(TemplateRef.of(m).identity) for m in manifests}
            for dep in self._dependencies(policy_ref, cluster):
                dep_ref = TemplateRef(dep.api_version, dep.kind, dep.namespace, dep.name)
                dep_template = self.state.template(dep_ref)
                if str(dep_ref.identity) in present:
                    continue
                if dep_template is None:
                    if (
                        previous := await last_good.get(str(dep_ref.identity))
                    ) is not None and not self.state.template_known(dep_ref):
                        manifests.append(previous)  # its informer is still listing: keep it for now
                    continue
                dep_key = (str(dep_ref.identity), cluster, "dependency")
                dep_signature = (self._content(dep_ref, dep_template), inputs)
                used.add(dep_key)
                if (dep_kept := self.renders.get(dep_key, dep_signature)) is not None:
                    manifests.append(dep_kept)
                    continue
                try:
                    rendered = rendering.render_manifest(
                        dep_template,
                        cluster=view,
                        replicas=None,
                        overrides=override_policies,
                        interpreter=self.state.interpreter,
                    )
                    manifests.append(self.renders.put(dep_key, dep_signature, rendered))
                except overrides.OverrideError as exc:
                    _log.warning("render.failed", dependency=str(dep_ref), cluster=cluster, error=str(exc))
                    if (previous := await last_good.get(str(dep_ref.identity))) is not None:
                        manifests.append(previous)
        self._forget_renders(key, used)
        orphaning = False
        if policy is not None and (policy.get("spec") or {}).get("preserveResourcesOnDeletion"):
            orphaning = await self._preserve_deleted(manifests, last_good, list(existing.values()))
        options = rendering.WorkOptions.for_policy((policy or {}).get("spec") or {})
        if policy is None and existing:
            strategy = (next(iter(existing.values())).get("spec") or {}).get("applyStrategy") or {}
            options = rendering.WorkOptions.of_strategy(strategy)
        desired = rendering.pack_works(
            policy=policy_ref,
            cluster=cluster,
            member_namespace=namespace,
            manifests=manifests,
            options=options,
            previous=rendering.part_assignment(policy_ref, list(existing.values())),
        )
        if orphaning:
            # preserveResourcesOnDeletion: the write that drops a deleted template's manifest tells
            # the agent to leave the object on the member; a Work left empty is kept (empty) until
            # the agent has seen that, instead of being deleted (which would remove everything).
            kept_names = {w["metadata"]["name"] for w in desired}
            for name, live in sorted(existing.items()):
                if name not in kept_names:
                    meta = live.get("metadata") or {}
                    desired.append(
                        {
                            "apiVersion": names.WORK_API_VERSION,
                            "kind": names.KIND_WORK,
                            "metadata": {
                                "name": name,
                                "namespace": namespace,
                                "labels": dict(meta.get("labels") or {}),
                                "annotations": dict(meta.get("annotations") or {}),
                            },
                            "spec": {**(live.get("spec") or {}), "workload": {"manifests": []}},
                        }
                    )
            for work in desired:
                work["spec"]["deleteOption"] = {"propagationPolicy": "Orphan"}
        for work in desired:
            # the namespaces its manifests live in, as this member gets them (labels, overrides)
            described = (
                namespace_templates.describe(
                    work["spec"]["workload"]["manifests"],
                    hub_namespace=self.state.hub_namespaces.get,
                    is_member_namespace=self.state.is_member_namespace,
                    render=lambda ns: rendering.render_manifest(
                        ns, cluster=view, replicas=None, overrides=override_policies
                    ),
                )
                if view is not None
                else None
            )
            if described is not None:
                work["metadata"]["annotations"][namespace_templates.ANNOTATION_NAMESPACES] = described
            carried = [str(TemplateId.of(m)) for m in work["spec"]["workload"]["manifests"]]
            stamp = {ref: generations[ref] for ref in sorted(carried) if ref in generations}
            work["metadata"]["annotations"][ANNOTATION_GENERATIONS] = json.dumps(stamp, separators=(",", ":"))
            # the agent's interpreter scripts (health, status reflection, retention) ride along
            carried_scripts = interpretation.agent_customizations(
                work["spec"]["workload"]["manifests"], self.state.interpreter
            )
            if carried_scripts:
                work["spec"]["interpreterCustomizations"] = carried_scripts
            await self._write(work, existing.get(work["metadata"]["name"]))
        for name in sorted(set(existing) - {w["metadata"]["name"] for w in desired}):
            self._created.pop((namespace, name), None)
            self._written.pop((namespace, name), None)
            with contextlib.suppress(errors.NotFound):
                await self.state.hub_api.delete(
                    names.WORK_API_VERSION, names.KIND_WORK, name=name, namespace=namespace
                )
            _WRITES.labels("delete").inc()
            _log.info("work.deleted", work=f"{namespace}/{name}")
        return Result(requeue_after=1.0) if waiting or orphaning else None

    def _content(self, ref: TemplateRef, template: dict[str, Any]) -> str:
        """What of ``template`` rendering reads, as a digest kept per version (not its status: the
        hub's aggregated status writes on it re-render nothing); its resourceVersion otherwise."""
        contents = self.state.template_contents.get((ref.api_version, ref.kind))
        return contents.of(object_key(template), template) if contents is not None else _rv_of(template)

    def _forget_renders(self, key: keys.WorksKey, used: set[rendering.RenderKey]) -> None:
        """Drop the kept renderings ``key``'s last pass used and this one did not."""
        for gone in self._render_keys.pop(key, set()) - used:
            self.renders.drop(gone)
        if used:
            self._render_keys[key] = used

    async def _read_work(self, namespace: str, name: str) -> dict[str, Any] | None:
        """A Work as the API server has it (the cache keeps manifests slim)."""
        try:
            found: dict[str, Any] = await self.state.hub_api.get(
                names.WORK_API_VERSION, names.KIND_WORK, name=name, namespace=namespace
            )
        except errors.NotFound:
            return None
        _log.debug("work.read", work=f"{namespace}/{name}")
        return found

    async def _preserve_deleted(
        self,
        manifests: list[dict[str, Any]],
        last_good: _LastGood,
        works: list[dict[str, Any]],
    ) -> bool:
        """Whether this write must orphan (``preserveResourcesOnDeletion``): a template was deleted, or
        the agent has not yet seen the orphaning write. Meanwhile other removals are held back (so
        only deleted templates' objects are ever orphaned): their last manifests are kept."""
        carried = {str(TemplateRef.of(m).identity) for m in manifests}
        deleted = {
            key
            for key in last_good.identities()
            if key not in carried
            and self.state.template_known(ref := last_good.ref(key))
            and self.state.template(ref) is None
        }
        pending = any(_orphan_unseen(work) for work in works)
        if not deleted and not pending:
            return False
        for key in last_good.identities():
            if key in carried or key in deleted:
                continue
            if (manifest := await last_good.get(key)) is not None:
                manifests.append(manifest)
        return True

    def _dependencies(self, policy_ref: PolicyRef, cluster: str) -> list[dependencies.DependencyRef]:
        """The dependencies (``propagateDeps``) this policy's Works on ``cluster`` carry."""
        dependents: list[tuple[PolicyRef, list[dependencies.DependencyRef]]] = []
        propagated: list[dependencies.DependencyRef] = []
        for binding in self.state.all_bindings():
            ref = keys.binding_template(binding)
            if ref is None:
                continue
            if ref.api_version == "v1" and (ref.api_version, ref.kind) in dependencies.DEPENDENCY_KINDS:
                propagated.append(
                    dependencies.DependencyRef(ref.api_version, ref.kind, ref.namespace, ref.name)
                )
            owner = keys.binding_policy(binding)
            if owner is None or cluster not in keys.binding_clusters(binding):
                continue
            owner_policy = self.state.policy(owner)
            template = self.state.template(ref)
            if owner_policy is None or template is None or not dependencies.propagates_deps(owner_policy):
                continue
            try:
                refs = interpretation.dependencies(template, self.state.interpreter)
            except InterpreterError:
                # the customization's GetDependencies fails (DependenciesResolved=False): the
                # binding's last good list, which the scheduler keeps
                refs = interpretation.listed_dependencies(binding)
            dependents.append((owner, refs))
        return dependencies.owned_dependencies(
            policy=policy_ref, dependents=dependents, propagated=propagated
        )

    async def _write(self, desired: dict[str, Any], live: Mapping[str, Any] | None) -> None:
        meta = desired["metadata"]
        if live is None:
            try:
                created = await self.state.hub_api.create(desired)
                self._created[(str(meta["namespace"]), str(meta["name"]))] = created
            except errors.AlreadyExists:
                raise errors.Conflict(
                    f"Work {meta['namespace']}/{meta['name']} exists but is not cached yet"
                ) from None
            _WRITES.labels("create").inc()
            _log.info("work.created", work=f"{meta['namespace']}/{meta['name']}")
            return
        live_meta = live.get("metadata") or {}
        merged_annotations = {**(live_meta.get("annotations") or {}), **meta["annotations"]}
        merged_labels = {**(live_meta.get("labels") or {}), **meta["labels"]}
        candidate = {
            **live,
            "spec": desired["spec"],
            "metadata": {**live_meta, "labels": merged_labels, "annotations": merged_annotations},
        }
        key = (str(meta["namespace"]), str(meta["name"]))
        written = self._written.get(key)
        live_version = _revision(live_meta.get("resourceVersion"))
        if written is not None and (live_version is None or live_version >= written[1]):
            written = None  # the informer has delivered that write (or a newer version)
            del self._written[key]
        # the cached Work's manifests are slim (identity + digest): compared as slim on both sides
        if _comparable(_slim(candidate)) == _comparable(_slim(live)):
            return
        digest = _content_digest(desired)
        if written is not None and written[0] == digest:
            return  # exactly what this controller wrote last; the cached copy is older than that write
        # A merge patch, not a PUT: the agent writes the Work's status (and finalizers) all the
        # time, so a PUT with the cached resourceVersion would mostly meet 409 Conflicts.
        patch = conditions.merge_patch(
            {
                "metadata": {
                    "labels": live_meta.get("labels") or {},
                    "annotations": live_meta.get("annotations") or {},
                },
                "spec": rendering.slim_work_spec(live.get("spec") or {}),
            },
            {
                "metadata": {"labels": merged_labels, "annotations": merged_annotations},
                "spec": rendering.slim_work_spec(desired["spec"]),
            },
        )
        if "workload" in (patch.get("spec") or {}):
            # the manifests changed (a list: replaced whole): the patch carries them in full
            patch["spec"]["workload"] = desired["spec"]["workload"]
        answer = await self.state.hub_api.patch(
            names.WORK_API_VERSION,
            names.KIND_WORK,
            name=str(meta["name"]),
            namespace=str(meta["namespace"]),
            patch=patch,
        )
        version = _revision(((answer or {}).get("metadata") or {}).get("resourceVersion"))
        if version is not None:
            self._written[key] = (digest, version)
        _WRITES.labels("update").inc()
        _log.info("work.updated", work=f"{meta['namespace']}/{meta['name']}")
