"""Policy API (``policy.waybill.dev/v1alpha1``): Propagation/OverridePolicy and their cluster-scoped twins.

Field names follow Karmada's, so a Karmada policy works after changing only ``apiVersion``.
Waybill additions: ``placement.maxClusters`` and ``placement.replicaScheduling.clusterReplicaLimits``
(per-cluster ``minReplicas``/``maxReplicas``, as KubeFed's ReplicaSchedulingPreference), and the
variables ``${MEMBER_CLUSTER_NAME}`` / ``${MEMBER_CLUSTER_LABEL:<key>}`` in override values.
Rules a CRD schema cannot state live in ``shared.api.validation``.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, JsonValue

from shared.api import names
from shared.api.meta import (
    AGE_COLUMN,
    ApiModel,
    Condition,
    CrdInfo,
    KubeObject,
    LabelSelector,
    PrinterColumn,
    condition_column,
)

ConflictResolution = Literal["Abort", "Overwrite"]
Preemption = Literal["Always", "Never"]
ReplicaSchedulingType = Literal["Duplicated", "Divided"]
ReplicaDivisionPreference = Literal["Aggregated", "Weighted"]
DynamicWeightFactor = Literal["AvailableReplicas"]
SpreadByField = Literal["cluster", "region", "zone", "provider"]
TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]
TolerationOperator = Literal["Exists", "Equal"]
FieldSelectorKey = Literal["provider", "region", "zone"]
FieldSelectorOperator = Literal["In", "NotIn"]
OverriderOperator = Literal["add", "remove", "replace"]
CommandArgsOperator = Literal["add", "remove"]
ImageComponent = Literal["Registry", "Repository", "Tag"]

JSON_POINTER = r"^(/([^/~]|~[01])*)*$"


# --- selecting templates ---------------------------------------------------------------------------
class ResourceSelector(ApiModel):
    """Selects templates by apiVersion and kind, optionally narrowed by namespace, name or labels."""

    api_version: str = Field(min_length=1)
    kind: str = Field(min_length=1)
    namespace: str | None = None
    name: str | None = None
    label_selector: LabelSelector | None = None


# --- selecting clusters ----------------------------------------------------------------------------
class FieldSelectorRequirement(ApiModel):
    """A requirement on a MemberCluster's ``spec.provider``, ``spec.region`` or ``spec.zone``."""

    key: FieldSelectorKey
    operator: FieldSelectorOperator
    values: list[str] = Field(default_factory=list)


class FieldSelector(ApiModel):
    """All expressions must hold."""

    match_expressions: list[FieldSelectorRequirement] = Field(default_factory=list)


class ClusterAffinity(ApiModel):
    """Which clusters qualify: every filter that is set must hold (AND)."""

    label_selector: LabelSelector | None = None
    field_selector: FieldSelector | None = None
    cluster_names: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)


class ClusterAffinityTerm(ClusterAffinity):
    """One named group of ``placement.clusterAffinities``: tried in order, the next only if this one fails."""

    affinity_name: str = Field(min_length=1, max_length=32)


class Toleration(ApiModel):
    """Tolerates a MemberCluster taint (same matching as core/v1 Toleration)."""

    key: str | None = None
    operator: TolerationOperator | None = None
    value: str | None = None
    effect: TaintEffect | None = None
    toleration_seconds: int | None = None


class SpreadConstraint(ApiModel):
    """Spread over groups of clusters (by a field or a label): between minGroups and maxGroups groups."""

    spread_by_field: SpreadByField | None = None
    spread_by_label: str | None = None
    max_groups: int | None = Field(default=None, ge=1)
    min_groups: int | None = Field(default=None, ge=1)


class StaticClusterWeight(ApiModel):
    """A weight for the clusters ``targetCluster`` selects."""

    target_cluster: ClusterAffinity
    weight: int = Field(ge=1)


class ClusterPreferences(ApiModel):
    """How Weighted division weighs clusters: a static list, or dynamically by available replicas."""

    static_weight_list: list[StaticClusterWeight] = Field(default_factory=list)
    dynamic_weight: DynamicWeightFactor | None = None


class ClusterReplicaLimit(ApiModel):
    """Waybill addition: bounds on the replicas a Divided schedule gives each selected cluster.

    The first entry that selects a cluster applies to it. ``minReplicas`` is given first (when the
    total allows), ``maxReplicas`` caps the cluster and the remainder goes to the others.
    """

    target_cluster: ClusterAffinity
    min_replicas: int | None = Field(default=None, ge=0)
    max_replicas: int | None = Field(default=None, ge=0)


class ReplicaSchedulingStrategy(ApiModel):
    """How a template's replicas are spread: every cluster gets them all, or they are divided."""

    replica_scheduling_type: ReplicaSchedulingType = "Divided"
    replica_division_preference: ReplicaDivisionPreference | None = None
    weight_preference: ClusterPreferences | None = None
    cluster_replica_limits: list[ClusterReplicaLimit] = Field(default_factory=list)


class Placement(ApiModel):
    """Where a policy's templates go."""

    cluster_affinity: ClusterAffinity | None = None
    cluster_affinities: list[ClusterAffinityTerm] = Field(default_factory=list)
    cluster_tolerations: list[Toleration] = Field(default_factory=list)
    spread_constraints: list[SpreadConstraint] = Field(default_factory=list)
    replica_scheduling: ReplicaSchedulingStrategy | None = None
    max_clusters: int | None = Field(default=None, ge=1)


class PropagationSpec(ApiModel):
    """What to propagate and where."""

    resource_selectors: list[ResourceSelector] = Field(min_length=1)
    priority: int = 0
    preemption: Preemption | None = None
    propagate_deps: bool = False
    conflict_resolution: ConflictResolution | None = None
    dependent_overrides: list[str] = Field(default_factory=list)
    scheduler_name: str | None = None
    placement: Placement = Field(default_factory=Placement)


PropagationPolicySpec = PropagationSpec


class PolicyStatus(ApiModel):
    """What the hub observed about a policy: validity and how many templates it claims."""

    observed_generation: int | None = None
    conditions: list[Condition] = Field(default_factory=list)
    claimed_templates: int | None = Field(default=None, ge=0)


_POLICY_COLUMNS = (
    PrinterColumn(name="Priority", json_path=".spec.priority", type="integer"),
    PrinterColumn(name="Conflict-Resolution", json_path=".spec.conflictResolution"),
    PrinterColumn(name="Templates", json_path=".status.claimedTemplates", type="integer"),
    condition_column("Valid", names.CONDITION_VALID),
    AGE_COLUMN,
)


class PropagationPolicy(KubeObject):
    """Propagates templates in the policy's namespace to member clusters."""

    crd: ClassVar[CrdInfo] = CrdInfo(
        group=names.POLICY_GROUP,
        version=names.VERSION,
        kind=names.KIND_PROPAGATION_POLICY,
        plural="propagationpolicies",
        singular="propagationpolicy",
        scope="Namespaced",
        short_names=("pp",),
        printer_columns=_POLICY_COLUMNS,
        description="Propagates templates of its namespace to member clusters (Karmada field names).",
    )

    spec: PropagationSpec
    status: PolicyStatus | None = None


class ClusterPropagationPolicy(PropagationPolicy):
    """Propagates templates of any namespace, and cluster-scoped templates; namespaced policies win."""

    crd: ClassVar[CrdInfo] = CrdInfo(
        group=names.POLICY_GROUP,
        version=names.VERSION,
        kind=names.KIND_CLUSTER_PROPAGATION_POLICY,
        plural="clusterpropagationpolicies",
        singular="clusterpropagationpolicy",
        scope="Cluster",
        short_names=("cpp",),
        printer_columns=_POLICY_COLUMNS,
        description="Propagates templates of any namespace and cluster-scoped templates to member clusters.",
    )


# --- overrides ----------------------------------------------------------------------------------
class ImagePredicate(ApiModel):
    """Which image field to override (a JSON pointer to it)."""

    path: str = Field(min_length=1, pattern=JSON_POINTER)


class ImageOverrider(ApiModel):
    """Overrides one component of ``[registry/]repository[:tag|@digest]`` images."""

    predicate: ImagePredicate | None = None
    component: ImageComponent
    operator: OverriderOperator
    value: str | None = None


class CommandArgsOverrider(ApiModel):
    """Adds or removes entries of a container's ``command`` or ``args``."""

    container_name: str = Field(min_length=1)
    operator: CommandArgsOperator
    value: list[str] = Field(default_factory=list)


class LabelAnnotationOverrider(ApiModel):
    """Adds, removes or replaces labels or annotations."""

    operator: OverriderOperator
    value: dict[str, str] = Field(default_factory=dict)


class PlaintextOverrider(ApiModel):
    """A JSON-patch-like operation on the rendered manifest: ``path`` is a JSON pointer."""

    path: str = Field(pattern=JSON_POINTER)
    operator: OverriderOperator
    value: JsonValue = None


class Overriders(ApiModel):
    """One rule's overriders, applied in this order: image, command, args, labels, annotations, plaintext."""

    image_overrider: list[ImageOverrider] = Field(default_factory=list)
    command_overrider: list[CommandArgsOverrider] = Field(default_factory=list)
    args_overrider: list[CommandArgsOverrider] = Field(default_factory=list)
    labels_overrider: list[LabelAnnotationOverrider] = Field(default_factory=list)
    annotations_overrider: list[LabelAnnotationOverrider] = Field(default_factory=list)
    plaintext: list[PlaintextOverrider] = Field(default_factory=list)


class RuleWithCluster(ApiModel):
    """Overriders for the clusters ``targetCluster`` selects (all clusters if unset)."""

    target_cluster: ClusterAffinity | None = None
    overriders: Overriders


class OverrideSpec(ApiModel):
    """Which templates to override, and the rules, applied in list order.

    ``targetCluster`` + ``overriders`` at the top level are Karmada's older single-rule form; they are
    read as one more rule after ``overrideRules`` (see ``effective_rules``).
    """

    resource_selectors: list[ResourceSelector] = Field(default_factory=list)
    override_rules: list[RuleWithCluster] = Field(default_factory=list)
    target_cluster: ClusterAffinity | None = None
    overriders: Overriders | None = None

    def effective_rules(self) -> list[RuleWithCluster]:
        """All rules in the order they apply, including the older top-level form."""
        rules = list(self.override_rules)
        if self.overriders is not None:
            rules.append(RuleWithCluster(target_cluster=self.target_cluster, overriders=self.overriders))
        return rules


OverridePolicySpec = OverrideSpec

_OVERRIDE_COLUMNS = (condition_column("Valid", names.CONDITION_VALID), AGE_COLUMN)


class OverridePolicy(KubeObject):
    """Per-cluster changes to templates of the policy's namespace."""

    crd: ClassVar[CrdInfo] = CrdInfo(
        group=names.POLICY_GROUP,
        version=names.VERSION,
        kind=names.KIND_OVERRIDE_POLICY,
        plural="overridepolicies",
        singular="overridepolicy",
        scope="Namespaced",
        short_names=("op",),
        printer_columns=_OVERRIDE_COLUMNS,
        description="Per-cluster changes to templates of its namespace (Karmada field names).",
    )

    spec: OverrideSpec
    status: PolicyStatus | None = None


class ClusterOverridePolicy(OverridePolicy):
    """Per-cluster changes to templates of any namespace and to cluster-scoped templates."""

    crd: ClassVar[CrdInfo] = CrdInfo(
        group=names.POLICY_GROUP,
        version=names.VERSION,
        kind=names.KIND_CLUSTER_OVERRIDE_POLICY,
        plural="clusteroverridepolicies",
        singular="clusteroverridepolicy",
        scope="Cluster",
        short_names=("cop",),
        printer_columns=_OVERRIDE_COLUMNS,
        description="Per-cluster changes to templates of any namespace and to cluster-scoped templates.",
    )
