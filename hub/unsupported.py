"""Karmada policy fields Waybill does not implement yet, found in a policy (pure).

Waybill's schema carries every field of Karmada's four policy kinds, so ``kubectl apply`` of a
Karmada file succeeds. A field that is in the schema but not implemented must never be accepted
and ignored: ``unsupported_fields(policy)`` names each one a policy *uses* (set to something
other than its no-op value), and the hub reports them as ``Valid=False`` with reason
``Unsupported``; such a policy claims no template (see docs/karmada.md).

``FEATURES`` is the single list of those fields; docs/karmada.md's field table is checked
against it by tests/karmada/test_docs_table.py, so the docs cannot claim more than the code does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from shared.api import load
from shared.api.policy import OverridePolicy, OverrideSpec, PropagationPolicy, PropagationSpec
from shared.api.validation import FieldProblem

REASON_UNSUPPORTED = "Unsupported"
DEFAULT_SCHEDULER = "default-scheduler"


@dataclass(frozen=True)
class Feature:
    """One Karmada field Waybill does not implement: its documented path and how to find its uses."""

    path: str
    """The field as docs/karmada.md names it, e.g. ``spec.failover.application``."""
    why: str
    """What Waybill would have to do, shown in the condition message."""
    uses: Callable[[PropagationSpec], Iterator[str]]
    """The concrete paths (with list indices) where a spec uses the field."""


def _when(flag: bool, path: str) -> Iterator[str]:
    if flag:
        yield path


def _overflow(spec: PropagationSpec) -> Iterator[str]:
    for index, term in enumerate(spec.placement.cluster_affinities):
        if term.overflow_affinities:
            yield f"spec.placement.clusterAffinities[{index}].overflowAffinities"


def _toleration_seconds(spec: PropagationSpec) -> Iterator[str]:
    for index, toleration in enumerate(spec.placement.cluster_tolerations):
        if toleration.toleration_seconds is not None:
            yield f"spec.placement.clusterTolerations[{index}].tolerationSeconds"


def _suspension(spec: PropagationSpec) -> Iterator[str]:
    suspension = spec.suspension
    if suspension is None:
        return
    yield from _when(bool(suspension.dispatching), "spec.suspension.dispatching")
    on_clusters = suspension.dispatching_on_clusters
    yield from _when(
        on_clusters is not None and bool(on_clusters.cluster_names), "spec.suspension.dispatchingOnClusters"
    )


FEATURES: tuple[Feature, ...] = (
    Feature(
        "spec.propagateDeps",
        "dependencies (ConfigMaps, Secrets, ServiceAccounts, PVCs) are not propagated along",
        lambda s: _when(s.propagate_deps, "spec.propagateDeps"),
    ),
    Feature(
        "spec.association",
        "dependencies (deprecated spelling of propagateDeps) are not propagated along",
        lambda s: _when(s.association, "spec.association"),
    ),
    Feature(
        "spec.failover.application",
        "application failover (evicting an unhealthy workload) is not implemented",
        lambda s: _when(
            s.failover is not None and s.failover.application is not None, "spec.failover.application"
        ),
    ),
    Feature(
        "spec.failover.cluster",
        "per-policy cluster failover behaviour is not implemented",
        lambda s: _when(s.failover is not None and s.failover.cluster is not None, "spec.failover.cluster"),
    ),
    Feature(
        "spec.placement.clusterTolerations[].tolerationSeconds",
        "timed NoExecute eviction is not implemented",
        _toleration_seconds,
    ),
    Feature("spec.suspension.dispatching", "suspending dispatch is not implemented", _suspension),
    Feature(
        "spec.preserveResourcesOnDeletion",
        "keeping member objects when the template is deleted is not implemented",
        lambda s: _when(bool(s.preserve_resources_on_deletion), "spec.preserveResourcesOnDeletion"),
    ),
    Feature(
        "spec.activationPreference",
        "Lazy activation is not implemented",
        lambda s: _when(s.activation_preference is not None, "spec.activationPreference"),
    ),
    Feature(
        "spec.schedulePriority",
        "priority-ordered scheduling is not implemented",
        lambda s: _when(s.schedule_priority is not None, "spec.schedulePriority"),
    ),
    Feature(
        "spec.placement.workloadAffinity",
        "workload affinity groups are not implemented",
        lambda s: _when(s.placement.workload_affinity is not None, "spec.placement.workloadAffinity"),
    ),
    Feature(
        "spec.placement.clusterAffinities[].overflowAffinities",
        "overflow affinity groups are not implemented",
        _overflow,
    ),
    Feature(
        "spec.dependentOverrides",
        "waiting for named OverridePolicies is not implemented",
        lambda s: _when(bool(s.dependent_overrides), "spec.dependentOverrides"),
    ),
    Feature(
        "spec.schedulerName",
        f"Waybill has one scheduler ({DEFAULT_SCHEDULER})",
        lambda s: _when(s.scheduler_name not in (None, "", DEFAULT_SCHEDULER), "spec.schedulerName"),
    ),
)


def _field_overriders(spec: OverrideSpec) -> Iterator[str]:
    for index, rule in enumerate(spec.override_rules):
        if rule.overriders.field_overrider:
            yield f"spec.overrideRules[{index}].overriders.fieldOverrider"
    if spec.overriders is not None and spec.overriders.field_overrider:
        yield "spec.overriders.fieldOverrider"


@dataclass(frozen=True)
class OverrideFeature:
    """One OverridePolicy field Waybill does not implement."""

    path: str
    why: str
    uses: Callable[[OverrideSpec], Iterator[str]]


OVERRIDE_FEATURES: tuple[OverrideFeature, ...] = (
    OverrideFeature(
        "spec.overrideRules[].overriders.fieldOverrider",
        "overriding JSON/YAML inside string fields is not wired in yet",
        _field_overriders,
    ),
)


def documented_paths() -> list[str]:
    """Every unsupported field as docs/karmada.md's table names it."""
    paths = []
    for feature in FEATURES:
        paths.append(feature.path)
        if feature.path == "spec.suspension.dispatching":
            paths.append("spec.suspension.dispatchingOnClusters")  # one check yields both fields
    return paths + [feature.path for feature in OVERRIDE_FEATURES]


def unsupported_in_spec(spec: PropagationSpec) -> list[FieldProblem]:
    """Every unsupported field a PropagationSpec uses, with its concrete path."""
    problems: list[FieldProblem] = []
    for feature in FEATURES:
        for path in feature.uses(spec):
            problems.append(FieldProblem(path, f"not supported by Waybill: {feature.why}"))
    return problems


def unsupported_fields(policy: PropagationPolicy | OverridePolicy | Mapping[str, Any]) -> list[FieldProblem]:
    """Every unsupported field a policy uses; [] for a policy that does not parse (validation reports it)."""
    if isinstance(policy, Mapping):
        try:
            parsed = load(policy)
        except (ValidationError, ValueError):
            return []
        if not isinstance(parsed, PropagationPolicy | OverridePolicy):
            return []
        policy = parsed
    if isinstance(policy, PropagationPolicy):
        return unsupported_in_spec(policy.spec)
    problems: list[FieldProblem] = []
    for feature in OVERRIDE_FEATURES:
        problems += [
            FieldProblem(where, f"not supported by Waybill: {feature.why}")
            for where in feature.uses(policy.spec)
        ]
    return problems


def condition_message(problems: list[FieldProblem]) -> str:
    """One line naming every unsupported field, for the ``Valid=False`` condition."""
    return "; ".join(str(problem) for problem in problems)
