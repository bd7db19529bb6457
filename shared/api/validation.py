"""The rules a CRD schema cannot express, in one place: cross-field checks on Waybill objects.

The generated schemas reject wrong types, enums, missing fields and out-of-range numbers at
``kubectl apply`` time; what is left (mutually exclusive fields, min <= max, selector operators
with or without values, variables in override values, manifests without a name...) is checked
here. ``validate_object(obj)`` parses a wire dict and returns every problem as a
``FieldProblem(path, message)`` with a camelCase field path (``spec.placement.maxClusters``);
the hub reports them as a ``Valid=False`` condition, ``waybill plan`` prints them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from shared.api import load, variables
from shared.api.cluster import MemberCluster
from shared.api.meta import KubeObject, LabelSelector
from shared.api.policy import (
    ClusterAffinity,
    OverridePolicy,
    Placement,
    PropagationPolicy,
    ReplicaSchedulingStrategy,
    ResourceSelector,
    RolloutStrategy,
)
from shared.api.work import Work


@dataclass(frozen=True)
class FieldProblem:
    """One problem: the field path (``spec.resourceSelectors[0].kind``) and what is wrong."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def path_of(loc: tuple[int | str, ...], *, root: str = "") -> str:
    """A pydantic error location as a field path: ``("spec", "items", 0)`` -> ``spec.items[0]``."""
    path = root
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part.startswith(("function-after[", "json-or-python[")) or part in ("int", "str"):
            continue
        else:
            path = f"{path}.{part}" if path else part
    return path


def problems_from_error(error: ValidationError, *, root: str = "") -> list[FieldProblem]:
    """Every error of a pydantic ValidationError, with wire field paths."""
    problems: list[FieldProblem] = []
    for item in error.errors():
        problem = FieldProblem(path_of(tuple(item["loc"]), root=root), item["msg"])
        if problem not in problems:
            problems.append(problem)
    return problems


def validate_object(obj: Mapping[str, Any]) -> list[FieldProblem]:
    """Parse a Waybill object and check every rule; an empty list means it is valid."""
    try:
        model = load(obj)
    except ValidationError as exc:
        return problems_from_error(exc)
    except ValueError as exc:
        return [FieldProblem("kind", str(exc))]
    return validate_model(model)


def validate_model(model: KubeObject) -> list[FieldProblem]:
    """The cross-field rules of an already parsed object."""
    if isinstance(model, PropagationPolicy | OverridePolicy):
        return validate_policy(model)
    if isinstance(model, Work):
        return validate_work(model)
    if isinstance(model, MemberCluster):
        return validate_member_cluster(model)
    return []


def validate_policy(policy: PropagationPolicy | OverridePolicy | Mapping[str, Any]) -> list[FieldProblem]:
    """Cross-field rules of (Cluster)Propagation/OverridePolicy, given as a model or a wire dict."""
    if isinstance(policy, Mapping):
        return validate_object(policy)
    problems: list[FieldProblem] = []
    namespaced = policy.crd.scope == "Namespaced"
    for index, selector in enumerate(policy.spec.resource_selectors):
        problems += _resource_selector(
            selector, f"spec.resourceSelectors[{index}]", policy.metadata.namespace if namespaced else None
        )
    if isinstance(policy, PropagationPolicy):
        problems += _placement(policy.spec.placement, "spec.placement")
        if policy.spec.rollout_strategy is not None:
            problems += _rollout_strategy(policy.spec.rollout_strategy, "spec.rolloutStrategy")
    else:
        problems += _overrides(policy)
    return problems


def _rollout_strategy(strategy: RolloutStrategy, path: str) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    if strategy.type == "Staged" and strategy.staged is None:
        problems.append(FieldProblem(f"{path}.staged", "required when type is Staged"))
    if strategy.type != "Staged" and strategy.staged is not None:
        problems.append(FieldProblem(f"{path}.staged", f"only for type Staged, not {strategy.type}"))
    if strategy.type != "RollingUpdate" and strategy.rolling_update is not None:
        problems.append(
            FieldProblem(f"{path}.rollingUpdate", f"only for type RollingUpdate, not {strategy.type}")
        )
    if strategy.rolling_update is not None:
        problems += _at_least_one(
            strategy.rolling_update.max_unavailable, f"{path}.rollingUpdate.maxUnavailable"
        )
    seen: set[str] = set()
    for index, stage in enumerate(strategy.staged.stages if strategy.staged else []):
        where = f"{path}.staged.stages[{index}]"
        if stage.name in seen:
            problems.append(FieldProblem(f"{where}.name", f"{stage.name!r} is used twice"))
        seen.add(stage.name)
        problems += _label_selector(stage.label_selector, f"{where}.labelSelector")
        problems += _at_least_one(stage.max_concurrency, f"{where}.maxConcurrency")
    return problems


def _at_least_one(value: int | str | None, path: str) -> list[FieldProblem]:
    """A count of clusters at a time that must let one through: 0 would release nothing, ever
    (it is not silently read as 1); a percentage is of the clusters, at most 100%."""
    if value is None:
        return []
    text = str(value)
    if text.endswith("%"):
        if int(text[:-1]) > 100:
            return [FieldProblem(path, f"{text} is more than 100% of the clusters")]
        return []
    if int(text) == 0:
        return [FieldProblem(path, "0 would release no cluster: at least 1 (or a percentage)")]
    return []


# --- selectors ------------------------------------------------------------------------------------
def _label_selector(selector: LabelSelector | None, path: str) -> list[FieldProblem]:
    problems = []
    for index, requirement in enumerate(selector.match_expressions if selector else []):
        where = f"{path}.matchExpressions[{index}].values"
        if requirement.operator in ("In", "NotIn") and not requirement.values:
            problems.append(FieldProblem(where, f"must be non-empty when operator is {requirement.operator}"))
        if requirement.operator in ("Exists", "DoesNotExist") and requirement.values:
            problems.append(FieldProblem(where, f"must be empty when operator is {requirement.operator}"))
    return problems


def _resource_selector(selector: ResourceSelector, path: str, namespace: str | None) -> list[FieldProblem]:
    problems = _label_selector(selector.label_selector, f"{path}.labelSelector")
    if namespace is not None and selector.namespace not in (None, "", namespace):
        problems.append(
            FieldProblem(
                f"{path}.namespace",
                f"a namespaced policy selects only templates of its own namespace ({namespace!r}), "
                f"not {selector.namespace!r}",
            )
        )
    return problems


def _cluster_affinity(affinity: ClusterAffinity | None, path: str) -> list[FieldProblem]:
    if affinity is None:
        return []
    problems = _label_selector(affinity.label_selector, f"{path}.labelSelector")
    expressions = affinity.field_selector.match_expressions if affinity.field_selector else []
    for index, requirement in enumerate(expressions):
        if not requirement.values:
            problems.append(
                FieldProblem(
                    f"{path}.fieldSelector.matchExpressions[{index}].values",
                    f"must be non-empty when operator is {requirement.operator}",
                )
            )
    both = sorted(set(affinity.cluster_names) & set(affinity.exclude))
    if both:
        message = f"clusters both named and excluded: {', '.join(both)}"
        problems.append(FieldProblem(f"{path}.exclude", message))
    return problems


# --- placement ------------------------------------------------------------------------------------
def _placement(placement: Placement, path: str) -> list[FieldProblem]:
    problems = _cluster_affinity(placement.cluster_affinity, f"{path}.clusterAffinity")
    if placement.cluster_affinity is not None and placement.cluster_affinities:
        message = "clusterAffinity and clusterAffinities cannot both be set"
        problems.append(FieldProblem(f"{path}.clusterAffinities", message))
    for name, count in Counter(term.affinity_name for term in placement.cluster_affinities).items():
        if count > 1:
            problems.append(FieldProblem(f"{path}.clusterAffinities", f"affinityName {name!r} is not unique"))
    for index, term in enumerate(placement.cluster_affinities):
        problems += _cluster_affinity(term, f"{path}.clusterAffinities[{index}]")
    for index, toleration in enumerate(placement.cluster_tolerations):
        where = f"{path}.clusterTolerations[{index}]"
        if toleration.operator == "Exists" and toleration.value:
            problems.append(FieldProblem(f"{where}.value", "must be empty when operator is Exists"))
        # An empty key with Equal is valid (Karmada's own examples use it): core/v1 matching then
        # tolerates every key whose value equals the toleration's.
    problems += _spread_constraints(placement, path)
    if placement.replica_scheduling is not None:
        problems += _replica_scheduling(placement.replica_scheduling, f"{path}.replicaScheduling")
    return problems


def _spread_constraints(placement: Placement, path: str) -> list[FieldProblem]:
    problems = []
    fields = Counter(c.spread_by_field for c in placement.spread_constraints if c.spread_by_field)
    for index, constraint in enumerate(placement.spread_constraints):
        where = f"{path}.spreadConstraints[{index}]"
        if bool(constraint.spread_by_field) == bool(constraint.spread_by_label):
            problems.append(FieldProblem(where, "set exactly one of spreadByField and spreadByLabel"))
        low, high = constraint.min_groups, constraint.max_groups
        if low is not None and high is not None and low > high:
            message = f"minGroups {low} is greater than maxGroups {high}"
            problems.append(FieldProblem(f"{where}.minGroups", message))
        limit = placement.max_clusters
        if constraint.spread_by_field == "cluster" and limit is not None and low is not None and low > limit:
            message = f"minGroups {low} is greater than placement.maxClusters {limit}"
            problems.append(FieldProblem(f"{where}.minGroups", message))
    for field_name, count in fields.items():
        if count > 1:
            message = f"spreadByField {field_name!r} repeats"
            problems.append(FieldProblem(f"{path}.spreadConstraints", message))
    if fields and "cluster" not in fields:
        problems.append(
            FieldProblem(
                f"{path}.spreadConstraints",
                "spreading by region, zone or provider needs a spreadByField: cluster constraint too",
            )
        )
    return problems


def _replica_scheduling(strategy: ReplicaSchedulingStrategy, path: str) -> list[FieldProblem]:
    problems = []
    divided = strategy.replica_scheduling_type == "Divided"
    if not divided and strategy.replica_division_preference is not None:
        message = "applies only when replicaSchedulingType is Divided"
        problems.append(FieldProblem(f"{path}.replicaDivisionPreference", message))
    if not divided and strategy.cluster_replica_limits:
        problems.append(
            FieldProblem(f"{path}.clusterReplicaLimits", "applies only when replicaSchedulingType is Divided")
        )
    weights = strategy.weight_preference
    if weights is not None:
        if strategy.replica_division_preference != "Weighted":
            message = "applies only when replicaDivisionPreference is Weighted"
            problems.append(FieldProblem(f"{path}.weightPreference", message))
        if weights.static_weight_list and weights.dynamic_weight:
            problems.append(
                FieldProblem(f"{path}.weightPreference", "set staticWeightList or dynamicWeight, not both")
            )
        for index, entry in enumerate(weights.static_weight_list):
            problems += _cluster_affinity(
                entry.target_cluster, f"{path}.weightPreference.staticWeightList[{index}].targetCluster"
            )
    for index, limit in enumerate(strategy.cluster_replica_limits):
        where = f"{path}.clusterReplicaLimits[{index}]"
        problems += _cluster_affinity(limit.target_cluster, f"{where}.targetCluster")
        if limit.min_replicas is None and limit.max_replicas is None:
            problems.append(FieldProblem(where, "set minReplicas, maxReplicas or both"))
        low, high = limit.min_replicas, limit.max_replicas
        if low is not None and high is not None and low > high:
            message = f"minReplicas {low} is greater than maxReplicas {high}"
            problems.append(FieldProblem(f"{where}.minReplicas", message))
    return problems


# --- overrides ------------------------------------------------------------------------------------
_IDENTITY_PATHS = ("/apiVersion", "/kind", "/metadata/name", "/metadata/namespace")


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield path, str(key)
            yield from _strings(item, f"{path}.{key}")


def _overrides(policy: OverridePolicy) -> list[FieldProblem]:
    spec = policy.spec
    problems = []
    if not spec.override_rules and spec.overriders is None:
        problems.append(FieldProblem("spec.overrideRules", "at least one rule is required"))
    rules = [(f"spec.overrideRules[{i}]", rule) for i, rule in enumerate(spec.override_rules)]
    if spec.overriders is not None:
        problems += _cluster_affinity(spec.target_cluster, "spec.targetCluster")
        rules.append(("spec", spec.effective_rules()[-1]))
    for prefix, rule in rules:
        if prefix != "spec":
            problems += _cluster_affinity(rule.target_cluster, f"{prefix}.targetCluster")
        base = f"{prefix}.overriders"
        overriders = rule.overriders
        values: list[tuple[str, Any]] = []
        for index, image in enumerate(overriders.image_overrider):
            where = f"{base}.imageOverrider[{index}]"
            problems += _operator_value(image.operator, image.value, f"{where}.value")
            values.append((f"{where}.value", image.value))
        for list_name, entries in (
            ("commandOverrider", overriders.command_overrider),
            ("argsOverrider", overriders.args_overrider),
        ):
            for index, entry in enumerate(entries):
                if not entry.value:
                    problems.append(FieldProblem(f"{base}.{list_name}[{index}].value", "must be non-empty"))
                values.append((f"{base}.{list_name}[{index}].value", entry.value))
        for list_name, maps in (
            ("labelsOverrider", overriders.labels_overrider),
            ("annotationsOverrider", overriders.annotations_overrider),
        ):
            for index, labels in enumerate(maps):
                if not labels.value:
                    problems.append(FieldProblem(f"{base}.{list_name}[{index}].value", "must be non-empty"))
                values.append((f"{base}.{list_name}[{index}].value", labels.value))
        for index, patch in enumerate(overriders.plaintext):
            where = f"{base}.plaintext[{index}]"
            problems += _operator_value(patch.operator, patch.value, f"{where}.value")
            if patch.path in _IDENTITY_PATHS or patch.path == "":
                problems.append(FieldProblem(f"{where}.path", f"{patch.path or '/'!r} cannot be overridden"))
            values.append((f"{where}.value", patch.value))
        for path, value in values:
            for where, text in _strings(value, path):
                problems += [FieldProblem(where, message) for message in variables.string_problems(text)]
    return problems


def _operator_value(operator: str, value: Any, path: str) -> list[FieldProblem]:
    if operator in ("add", "replace") and value is None:
        return [FieldProblem(path, f"required when operator is {operator}")]
    if operator == "remove" and value not in (None, ""):
        return [FieldProblem(path, "must be empty when operator is remove")]
    return []


# --- work and clusters ----------------------------------------------------------------------------
def validate_work(work: Work) -> list[FieldProblem]:
    """Every manifest names its object once; feedback rules are complete."""
    problems = []
    seen: dict[tuple[str, str, str, str], int] = {}
    for index, manifest in enumerate(work.spec.workload.manifests):
        where = f"spec.workload.manifests[{index}]"
        metadata = manifest.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        for key, value in (("apiVersion", manifest.get("apiVersion")), ("kind", manifest.get("kind"))):
            if not isinstance(value, str) or not value:
                problems.append(FieldProblem(f"{where}.{key}", "required"))
        if not isinstance(name, str) or not name:
            problems.append(FieldProblem(f"{where}.metadata.name", "required"))
            continue
        namespace = metadata.get("namespace", "") if isinstance(metadata, dict) else ""
        identity = (str(manifest.get("apiVersion")), str(manifest.get("kind")), str(namespace or ""), name)
        if identity in seen:
            problems.append(FieldProblem(where, f"duplicates manifests[{seen[identity]}]"))
        seen.setdefault(identity, index)
    for index, config in enumerate(work.spec.manifest_configs):
        for rule_index, rule in enumerate(config.feedback_rules):
            where = f"spec.manifestConfigs[{index}].feedbackRules[{rule_index}].jsonPaths"
            if rule.type == "JSONPaths" and not rule.json_paths:
                problems.append(FieldProblem(where, "must be non-empty when type is JSONPaths"))
            if rule.type == "WellKnownStatus" and rule.json_paths:
                problems.append(FieldProblem(where, "must be empty when type is WellKnownStatus"))
    return problems


def validate_member_cluster(cluster: MemberCluster) -> list[FieldProblem]:
    """Taints are unique by key and effect."""
    problems = []
    counts = Counter((taint.key, taint.effect) for taint in cluster.spec.taints)
    for (key, effect), count in counts.items():
        if count > 1:
            problems.append(FieldProblem("spec.taints", f"taint {key}:{effect} repeats"))
    return problems


__all__ = [
    "FieldProblem",
    "path_of",
    "problems_from_error",
    "validate_member_cluster",
    "validate_model",
    "validate_object",
    "validate_policy",
    "validate_work",
]
