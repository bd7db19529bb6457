"""What the hub would do with a set of objects, without writing anything (pure; ``waybill plan``)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hub import (
    dependencies,
    interpretation,
    matching,
    overrides,
    rendering,
    rollout_checks,
    schedule_priority,
    scheduling,
    suspension,
)
from hub.clusters import ClusterView
from hub.dependencies import DependencyRef
from shared.api import names
from shared.interpreter import Interpreter, InterpreterError
from shared.kube.types import split_api_version

POLICY_KINDS = (names.KIND_PROPAGATION_POLICY, names.KIND_CLUSTER_PROPAGATION_POLICY)
OVERRIDE_KINDS = (names.KIND_OVERRIDE_POLICY, names.KIND_CLUSTER_OVERRIDE_POLICY)


@dataclass
class TemplatePlan:
    """The plan for one template: its policy, decision and rendered manifest per cluster."""

    template: matching.TemplateRef
    policy: matching.PolicyRef | None
    decision: scheduling.Decision | None = None
    manifests: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    policy_object: Mapping[str, Any] | None = None
    """The claiming policy as given (for ``suspended``)."""
    not_served: str | None = None
    """Why this hub does not place it (``schedulerName`` it does not run: SchedulerNotServed)."""
    dependency_refs: list[DependencyRef] = field(default_factory=list)
    """What ``propagateDeps`` carries along with it (the hub's ``interpretation.dependencies``)."""
    dependencies: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    """Per cluster: the dependencies this template's policy's Works carry there, rendered
    (``Kind/ns/name`` → manifest); a dependency several policies need goes with the first."""
    missing_dependencies: list[DependencyRef] = field(default_factory=list)
    """Dependencies not on the hub (nor in the file): the hub sends nothing for them."""
    rollout_problems: list[str] = field(default_factory=list)
    """Stage selectors of the policy's rolloutStrategy the fleet does not answer (and a binding
    cluster no stage selects: the binding's own ``InvalidRolloutStrategy``)."""
    rollout: rollout_checks.RolloutPlan | None = None
    """When each target would get a new generation under the policy's ``rolloutStrategy``."""

    def suspended(self, cluster: str) -> str | None:
        """The ``spec.suspension`` field that keeps ``cluster``'s Works as they are (None: none)."""
        if self.policy_object is None:
            return None
        return suspension.suspension_field(self.policy_object, cluster)


def split_objects(objects: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """Sort a bag of objects into policies, overrides, members and templates."""
    groups: dict[str, list[Mapping[str, Any]]] = {
        "policies": [],
        "overrides": [],
        "members": [],
        "templates": [],
    }
    for obj in objects:
        kind = obj.get("kind")
        group = split_api_version(str(obj.get("apiVersion", "")))[0]
        if kind in POLICY_KINDS and group == names.POLICY_GROUP:
            groups["policies"].append(obj)
        elif kind in OVERRIDE_KINDS and group == names.POLICY_GROUP:
            groups["overrides"].append(obj)
        elif kind == names.KIND_MEMBER_CLUSTER:
            groups["members"].append(obj)
        elif group not in (names.WORK_GROUP, names.CLUSTER_GROUP, names.POLICY_GROUP):
            groups["templates"].append(obj)
    return groups


def problems(groups: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[str]:
    """What the hub would refuse (``Kind/ns/name: field: message``), the messages it reports in
    the policies' ``Valid=False`` condition; [] when every (override) policy is valid."""
    found = []
    for obj in [*groups.get("policies", ()), *groups.get("overrides", ())]:
        view = matching.PolicyView.of(obj)
        if not view.valid:
            found.append(f"{view.ref}: {'; '.join(view.check.messages)}")
    return found


def _identity(obj: Mapping[str, Any]) -> tuple[str, str, str, str]:
    meta = obj.get("metadata") or {}
    return (
        str(obj.get("apiVersion", "")),
        str(obj.get("kind", "")),
        str(meta.get("namespace") or ""),
        str(meta.get("name", "")),
    )


def plan(
    *,
    templates: Sequence[Mapping[str, Any]],
    policies: Sequence[Mapping[str, Any]],
    override_policies: Sequence[Mapping[str, Any]],
    clusters: Sequence[ClusterView],
    interpreter: Interpreter | None = None,
    scheduler_names: Collection[str] = (schedule_priority.DEFAULT_SCHEDULER,),
    dependency_objects: Sequence[Mapping[str, Any]] = (),
    propagated: Collection[DependencyRef] = (),
    current: Mapping[tuple[str, str, str, str], Mapping[str, int | None]] | None = None,
    unchanged: Collection[tuple[str, str, str, str]] = (),
) -> list[TemplatePlan]:
    """Match, schedule and render every template; errors are collected, never raised.

    As the hub: a policy naming a ``schedulerName`` outside ``scheduler_names`` is not placed
    (``not_served``); members ``spec.suspension`` stops get nothing new (``suspended``, no
    manifest rendered); with ``propagateDeps`` each target also gets the template's
    dependencies, found among ``templates`` and ``dependency_objects`` (the hub's copies),
    except those another binding propagates in its own right (``propagated``, and the claimed
    ``templates`` of those kinds). ``current`` (template (group, kind, namespace, name) → its
    binding's clusters now): a template another scheduler places keeps those clusters, and its
    Works there follow the template, as on the hub. ``unchanged``: the templates whose
    generation stays (live ones the file does not change): nothing of them is rolled out."""
    # each policy parsed once: its validation and its typed placement
    claimable = [v for v in map(matching.PolicyView.of, policies) if v.valid]
    fleet_labels = [dict(c.labels) for c in clusters]
    # (no members at all: nothing to check the stages against, the plan says so already)
    rollout_problems = (
        {v.ref: rollout_checks.fleet_problems(v.obj, fleet_labels) for v in claimable} if clusters else {}
    )
    cluster_views = {c.name: c for c in clusters}
    out = []
    with_deps: list[tuple[TemplatePlan, list[DependencyRef]]] = []
    for template in sorted(templates, key=lambda t: matching.TemplateRef.of(t)):
        chosen = matching.best_policy(template, claimable)
        entry = TemplatePlan(
            template=matching.TemplateRef.of(template), policy=None if chosen is None else chosen.ref
        )
        out.append(entry)
        if chosen is None or chosen.placement is None:
            continue
        entry.policy_object = chosen.obj
        entry.rollout_problems = list(rollout_problems.get(chosen.ref) or ())
        policy_spec = chosen.obj.get("spec") or {}
        if dependencies.propagates_deps(chosen.obj):
            try:
                entry.dependency_refs = interpretation.dependencies(template, interpreter)
            except InterpreterError as exc:
                entry.errors.append(f"propagateDeps: {interpretation.describe(exc)}")
        if not schedule_priority.served(policy_spec, scheduler_names):
            # another scheduler's binding: the hub records it and never places it; its Works
            # follow the clusters the binding has (spec.clusters, written by that scheduler)
            left = schedule_priority.not_served_message(policy_spec, scheduler_names)
            entry.not_served = f"{chosen.ref}: {left}"
            ref = entry.template
            kept = (current or {}).get((ref.group, ref.kind, ref.namespace, ref.name)) or {}
            targets = [scheduling.Target(c, r) for c, r in sorted(kept.items()) if c in cluster_views]
            if not targets:
                continue
            entry.decision = scheduling.Decision(targets=targets)
        else:
            try:
                entry.decision = scheduling.schedule(
                    placement=chosen.placement,
                    template=template,
                    clusters=clusters,
                    interpreter=interpreter,
                )
            except scheduling.PlacementError as exc:
                entry.errors.append(f"{chosen.ref}: {exc}")
                continue
        if entry.dependency_refs:
            with_deps.append((entry, entry.dependency_refs))
        entry.rollout = _rollout(entry, template, cluster_views, fleet_labels, current, unchanged)
        for target in entry.decision.targets:
            if entry.suspended(target.cluster) is not None:
                continue  # Karmada's suspension: the member's Works stay as they are
            try:
                entry.manifests[target.cluster] = rendering.render_manifest(
                    template,
                    cluster=cluster_views[target.cluster],
                    replicas=target.replicas,
                    overrides=override_policies,
                    interpreter=interpreter,
                )
            except (overrides.OverrideError, InterpreterError) as exc:
                entry.errors.append(str(exc))
    _place_dependencies(
        out,
        with_deps,
        pool={_identity(o): o for o in [*dependency_objects, *templates]},
        propagated={*propagated, *_claimed_dependency_kinds(out)},
        cluster_views=cluster_views,
        override_policies=override_policies,
        interpreter=interpreter,
    )
    return out


def _rollout(
    entry: TemplatePlan,
    template: Mapping[str, Any],
    cluster_views: Mapping[str, ClusterView],
    fleet_labels: Sequence[Mapping[str, str]],
    current: Mapping[tuple[str, str, str, str], Mapping[str, int | None]] | None,
    unchanged: Collection[tuple[str, str, str, str]],
) -> rollout_checks.RolloutPlan:
    """The rollout of a new generation over the entry's targets (the binding's clusters). Without
    ``current`` (no hub) every target is taken to run a version already (a template change)."""
    assert entry.decision is not None
    ref = entry.template
    key = (ref.group, ref.kind, ref.namespace, ref.name)
    now = None if current is None else current.get(key) or {}
    targets = [
        rollout_checks.PlannedCluster(
            t.cluster, dict(cluster_views[t.cluster].labels), now is None or t.cluster in now
        )
        for t in entry.decision.targets
    ]
    planned = rollout_checks.plan_rollout(
        entry.policy_object, template, targets, fleet_labels, new_generation=key not in unchanged
    )
    if planned.problem is not None and not entry.rollout_problems:
        entry.rollout_problems.append(planned.problem)  # a binding cluster no stage selects
    return planned


def _claimed_dependency_kinds(plans: Sequence[TemplatePlan]) -> set[DependencyRef]:
    """The planned templates of a dependency kind that a policy claims: their own bindings carry them."""
    return {
        DependencyRef(p.template.api_version, p.template.kind, p.template.namespace, p.template.name)
        for p in plans
        if p.policy is not None and (p.template.api_version, p.template.kind) in dependencies.DEPENDENCY_KINDS
    }


def _place_dependencies(
    plans: Sequence[TemplatePlan],
    with_deps: Sequence[tuple[TemplatePlan, list[DependencyRef]]],
    *,
    pool: Mapping[tuple[str, str, str, str], Mapping[str, Any]],
    propagated: Collection[DependencyRef],
    cluster_views: Mapping[str, ClusterView],
    override_policies: Sequence[Mapping[str, Any]],
    interpreter: Interpreter | None,
) -> None:
    """Each target's dependencies, on the first entry of the policy whose Works carry them
    (``hub.dependencies.owned_dependencies``, as the works controller decides)."""
    dependents: dict[str, list[tuple[matching.PolicyRef, list[DependencyRef]]]] = {}
    entries: dict[tuple[str, matching.PolicyRef], list[TemplatePlan]] = {}
    for entry, refs in with_deps:
        assert entry.decision is not None and entry.policy is not None
        for target in entry.decision.targets:
            dependents.setdefault(target.cluster, []).append((entry.policy, refs))
            entries.setdefault((target.cluster, entry.policy), []).append(entry)
    missing: dict[int, set[DependencyRef]] = {}
    for (cluster, policy), owners in sorted(entries.items()):
        owned = dependencies.owned_dependencies(
            policy=policy, dependents=dependents[cluster], propagated=propagated
        )
        for dep in owned:
            entry = next(e for e in owners if dep in e.dependency_refs)
            if entry.suspended(cluster) is not None:
                continue
            found = pool.get((dep.api_version, dep.kind, dep.namespace, dep.name))
            if found is None:
                missing.setdefault(id(entry), set()).add(dep)
                continue
            try:
                rendered = rendering.render_manifest(
                    found,
                    cluster=cluster_views[cluster],
                    replicas=None,
                    overrides=override_policies,
                    interpreter=interpreter,
                )
            except (overrides.OverrideError, InterpreterError) as exc:
                entry.errors.append(str(exc))
                continue
            entry.dependencies.setdefault(cluster, {})[str(dep)] = rendered
    for entry in plans:
        entry.missing_dependencies = sorted(missing.get(id(entry), ()))
