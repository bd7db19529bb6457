"""What the hub would do with a set of objects, without writing anything (pure; ``waybill plan``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hub import matching, overrides, rendering, scheduling
from hub.clusters import ClusterView
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


def plan(
    *,
    templates: Sequence[Mapping[str, Any]],
    policies: Sequence[Mapping[str, Any]],
    override_policies: Sequence[Mapping[str, Any]],
    clusters: Sequence[ClusterView],
    interpreter: Interpreter | None = None,
) -> list[TemplatePlan]:
    """Match, schedule and render every template; errors are collected, never raised."""
    # each policy parsed once: its validation and its typed placement
    claimable = [v for v in map(matching.PolicyView.of, policies) if v.valid]
    out = []
    for template in sorted(templates, key=lambda t: matching.TemplateRef.of(t)):
        chosen = matching.best_policy(template, claimable)
        entry = TemplatePlan(
            template=matching.TemplateRef.of(template), policy=None if chosen is None else chosen.ref
        )
        out.append(entry)
        if chosen is None or chosen.placement is None:
            continue
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
        cluster_views = {c.name: c for c in clusters}
        for target in entry.decision.targets:
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
    return out
