"""Policy API (``policy.waybill.dev/v1alpha1``): Propagation/OverridePolicy and their cluster-scoped twins.

Field names follow Karmada's, so a Karmada policy works after changing only ``apiVersion``.
Waybill additions: ``placement.maxClusters`` and ``placement.replicaScheduling.clusterReplicaLimits``
(per-cluster ``minReplicas``/``maxReplicas``, as KubeFed's ReplicaSchedulingPreference), the
variables ``${MEMBER_CLUSTER_NAME}`` / ``${MEMBER_CLUSTER_LABEL:<key>}`` in override values, and
``rolloutStrategy`` (how a template change reaches the clusters: all at once, rolling, or in stages;
see docs/rollouts.md).
Rules a CRD schema cannot state live in ``shared.api.validation``.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field, JsonValue, model_validator

from shared.api import names
from shared.api.meta import (
    AGE_COLUMN,
    ApiModel,
    Condition,
    CrdInfo,
    KubeObject,
    LabelSelector,
    PrinterColumn,
    SchemaHint,
    condition_column,
)

ConflictResolution = Literal["Abort", "Overwrite"]
WhenToApply = Literal["Always", "IfNotDrifted"]
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
# Karmada renamed Immediately -> Directly and Graciously -> Gracefully; both spellings are accepted.
PurgeMode = Literal["Directly", "Gracefully", "Never", "Immediately", "Graciously"]
ClusterPurgeMode = Literal["Directly", "Gracefully", "Immediately", "Graciously"]
ActivationPreference = Literal["Lazy"]
PriorityClassSource = Literal["KubePriorityClass"]
RolloutStrategyType = Literal["All", "RollingUpdate", "Staged"]

JSON_POINTER = r"^(/([^/~]|~[01])*)*$"


# --- selecting templates ---------------------------------------------------------------------------
class ResourceSelector(ApiModel):
    """Selects templates by apiVersion and kind, optionally narrowed by namespace, name or labels."""

    api_version: str = Field(min_length=1)
    """API version of the templates, e.g. apps/v1."""
    kind: str = Field(min_length=1)
    """Kind of the templates, e.g. Deployment."""
    namespace: str | None = None
    """Namespace of the templates (a namespaced policy: only its own)."""
    name: str | None = None
    """Name of one template; most specific selector."""
    label_selector: LabelSelector | None = None
    """Templates whose labels match (ignored when name is set)."""


# --- selecting clusters ----------------------------------------------------------------------------
class FieldSelectorRequirement(ApiModel):
    """A requirement on a MemberCluster's ``spec.provider``, ``spec.region`` or ``spec.zone``."""

    key: FieldSelectorKey
    """The MemberCluster field: provider, region or zone."""
    operator: FieldSelectorOperator
    values: list[str] = Field(default_factory=list)


class FieldSelector(ApiModel):
    """All expressions must hold."""

    match_expressions: list[FieldSelectorRequirement] = Field(default_factory=list)


class ClusterAffinity(ApiModel):
    """Which clusters qualify: every filter that is set must hold (AND)."""

    label_selector: LabelSelector | None = None
    """Clusters whose MemberCluster labels match."""
    field_selector: FieldSelector | None = None
    """Clusters whose spec.provider/region/zone match."""
    cluster_names: list[str] = Field(default_factory=list)
    """Only these clusters (empty: any)."""
    exclude: list[str] = Field(default_factory=list)
    """Never these clusters."""


class OverflowClusterAffinity(ClusterAffinity):
    """A further group a ``clusterAffinities`` term may overflow into when its own clusters lack room."""

    affinity_name: str = Field(min_length=1, max_length=32)
    """Name of this overflow group."""


class ClusterAffinityTerm(ClusterAffinity):
    """One named group of ``placement.clusterAffinities``: tried in order, the next only if this one fails."""

    affinity_name: str = Field(min_length=1, max_length=32)
    """Name of this group, reported in the binding's schedulingDecision."""
    overflow_affinities: list[OverflowClusterAffinity] = Field(default_factory=list)
    """Karmada: groups that take replicas the primary group has no room for (not supported yet)."""


class Toleration(ApiModel):
    """Tolerates a MemberCluster taint (same matching as core/v1 Toleration)."""

    key: str | None = None
    """Taint key to tolerate; empty with operator Exists tolerates every taint."""
    operator: TolerationOperator | None = None
    """Equal (default: key and value match) or Exists (key matches)."""
    value: str | None = None
    effect: TaintEffect | None = None
    """Effect to tolerate; empty tolerates every effect."""
    toleration_seconds: int | None = None
    """For NoExecute: how long the workload may stay after the taint appears."""


class SpreadConstraint(ApiModel):
    """Spread over groups of clusters (by a field or a label): between minGroups and maxGroups groups."""

    spread_by_field: SpreadByField | None = None
    """Group clusters by this MemberCluster field (cluster: each cluster is a group)."""
    spread_by_label: str | None = None
    """Group clusters by the value of this MemberCluster label."""
    max_groups: int | None = Field(default=None, ge=1)
    """Use at most this many groups."""
    min_groups: int | None = Field(default=None, ge=1)
    """Use at least this many groups, or fail to schedule."""

    @model_validator(mode="after")
    def _default_to_cluster(self) -> SpreadConstraint:
        # Karmada's defaulting webhook: neither spreadByField nor spreadByLabel means "cluster".
        if not self.spread_by_field and not self.spread_by_label:
            self.spread_by_field = "cluster"
        return self


class StaticClusterWeight(ApiModel):
    """A weight for the clusters ``targetCluster`` selects."""

    target_cluster: ClusterAffinity
    weight: int = Field(ge=1)
    """Relative share of the replicas (at least 1)."""


class ClusterPreferences(ApiModel):
    """How Weighted division weighs clusters: a static list, or dynamically by available replicas."""

    static_weight_list: list[StaticClusterWeight] = Field(default_factory=list)
    """Fixed weights per cluster group; unlisted clusters get none."""
    dynamic_weight: DynamicWeightFactor | None = None
    """AvailableReplicas: weigh clusters by how many replicas they can still fit."""


class ClusterReplicaLimit(ApiModel):
    """Waybill addition: bounds on the replicas a Divided schedule gives each selected cluster.

    The first entry that selects a cluster applies to it. ``minReplicas`` is given first (when the
    total allows), ``maxReplicas`` caps the cluster and the remainder goes to the others.
    """

    target_cluster: ClusterAffinity
    min_replicas: int | None = Field(default=None, ge=0)
    """Give the cluster at least this many replicas when the total allows."""
    max_replicas: int | None = Field(default=None, ge=0)
    """Never give the cluster more than this many replicas."""


class ReplicaSchedulingStrategy(ApiModel):
    """How a template's replicas are spread: every cluster gets them all, or they are divided."""

    replica_scheduling_type: ReplicaSchedulingType = "Divided"
    """Duplicated: every cluster gets all replicas; Divided (default): they are split."""
    replica_division_preference: ReplicaDivisionPreference | None = None
    """For Divided: Aggregated (as few clusters as capacity allows) or Weighted."""
    weight_preference: ClusterPreferences | None = None
    cluster_replica_limits: list[ClusterReplicaLimit] = Field(default_factory=list)
    """Waybill: per-cluster minReplicas/maxReplicas for Divided schedules."""


class WorkloadAffinityTerm(ApiModel):
    """Workloads whose templates carry the same value of this label go to the same clusters."""

    group_by_label_key: str = Field(min_length=1)
    """Template label key whose value forms the affinity group."""


class WorkloadAntiAffinityTerm(ApiModel):
    """Workloads whose templates carry the same value of this label go to different clusters."""

    group_by_label_key: str = Field(min_length=1)
    """Template label key whose value forms the anti-affinity group."""


class WorkloadAffinity(ApiModel):
    """Karmada: co-locate or separate workloads by a template label (not supported yet)."""

    affinity: WorkloadAffinityTerm | None = None
    anti_affinity: WorkloadAntiAffinityTerm | None = None


class Placement(ApiModel):
    """Where a policy's templates go."""

    cluster_affinity: ClusterAffinity | None = None
    """Which clusters qualify (all filters ANDed)."""
    cluster_affinities: list[ClusterAffinityTerm] = Field(default_factory=list)
    """Ordered fallback groups; cannot be combined with clusterAffinity."""
    cluster_tolerations: list[Toleration] = Field(default_factory=list)
    """MemberCluster taints this policy tolerates."""
    spread_constraints: list[SpreadConstraint] = Field(default_factory=list)
    """Spread over regions, zones, providers, labels or clusters."""
    replica_scheduling: ReplicaSchedulingStrategy | None = None
    """How replicas are spread; unset: every cluster gets all replicas."""
    max_clusters: int | None = Field(default=None, ge=1)
    """Waybill: choose at most this many clusters."""
    workload_affinity: WorkloadAffinity | None = None
    """Karmada: workload affinity/anti-affinity groups (not supported yet)."""


# --- failover, suspension, priority ---------------------------------------------------------------
class DecisionConditions(ApiModel):
    """When application failover acts."""

    toleration_seconds: int | None = Field(default=None, ge=0)
    """How long the workload may stay unhealthy on a member before it is moved (default 300; 0: at once)."""


class StatePreservationRule(ApiModel):
    """One piece of state carried from the old copy to the new one, as a label."""

    alias_label_name: str = Field(min_length=1)
    """Label key under which the value is handed to the new copy."""
    json_path: str = Field(min_length=1)
    """JSONPath into the old copy's status, e.g. {.jobStatus.state}."""


class StatePreservation(ApiModel):
    """State to keep across a failover (Karmada feature gate StatefulFailoverInjection)."""

    rules: list[StatePreservationRule]


class ApplicationFailoverBehavior(ApiModel):
    """Move a workload off a member where it stays unhealthy."""

    decision_conditions: DecisionConditions
    purge_mode: PurgeMode | None = None
    """Directly: remove the old copy at once; Gracefully (default): after the new one is healthy or the
    grace period ends; Never: leave it. Immediately/Graciously are Karmada's older names."""
    grace_period_seconds: int | None = Field(default=None, ge=1)
    """For Gracefully: longest wait for the new copy before the old one is removed (default 600)."""
    state_preservation: StatePreservation | None = None


class ClusterFailoverBehavior(ApiModel):
    """How a workload leaves a failed member."""

    purge_mode: ClusterPurgeMode | None = None
    """Directly or Gracefully (default)."""
    state_preservation: StatePreservation | None = None


class FailoverBehavior(ApiModel):
    """Failover on application or cluster failure."""

    application: ApplicationFailoverBehavior | None = None
    cluster: ClusterFailoverBehavior | None = None


class SuspendClusters(ApiModel):
    """Clusters to which dispatching is suspended."""

    cluster_names: list[str] = Field(default_factory=list)


class Suspension(ApiModel):
    """Suspend dispatching to all members, or to some."""

    dispatching: bool | None = None
    """true: members get no updates (cannot be combined with dispatchingOnClusters)."""
    dispatching_on_clusters: SuspendClusters | None = None
    """Members that get no updates."""


class SchedulePriority(ApiModel):
    """Where a workload's scheduling priority comes from."""

    priority_class_source: PriorityClassSource
    """KubePriorityClass: a scheduling.k8s.io PriorityClass on the hub."""
    priority_class_name: str = Field(min_length=1)


class PolicyApplyStrategy(ApiModel):
    """How the agents apply the policy's templates (KubeFleet's ``applyStrategy`` names)."""

    when_to_apply: WhenToApply = "Always"
    """Always (default): an edit on a member is corrected; IfNotDrifted: it is left in place and
    reported (DriftDetected), until the template changes."""


# --- rollouts (a Waybill extension: KubeFleet's rolling update and staged update runs) -----------
def _check_int_or_percent(value: int | str) -> int | str:
    text = str(value)
    digits = text[:-1] if text.endswith("%") else text
    if isinstance(value, bool) or not digits.isdigit() or (isinstance(value, int) and value < 0):
        raise ValueError(f"not a count or a percentage (like 1 or 25%): {value!r}")
    return value


# A number of clusters, or a percentage of them ("25%"), like intstr fields in apps/v1.
IntOrPercent = Annotated[int | str, AfterValidator(_check_int_or_percent), SchemaHint("int-or-percent")]


class RollingUpdate(ApiModel):
    """A change reaches a few clusters at a time (KubeFleet's rolling update field names)."""

    max_unavailable: IntOrPercent | None = None
    """Most clusters that may be unavailable at once while they take the change: a count or a
    percentage of the binding's clusters, rounded down, at least 1 (default 25%)."""
    max_surge: IntOrPercent | None = None
    """Most clusters that get the template for the first time at once (new placements, which
    serve nothing yet): a count or a percentage of the binding's clusters, rounded up (default 25%)."""
    unavailable_period_seconds: int | None = Field(default=None, ge=0)
    """For kinds the agent cannot tell the health of (reason NotTracked): how long after its
    release a cluster counts as unavailable (default 60)."""


class StageAfter(ApiModel):
    """What must happen after a stage's clusters are available before the next stage starts."""

    wait_seconds: int | None = Field(default=None, ge=0)
    """Wait this long after the stage became available."""
    approval: bool = False
    """Wait for `waybill rollout approve KIND/NAME --stage NAME`."""


class RolloutStage(ApiModel):
    """One stage of a staged rollout: the clusters its label selector picks."""

    LIST_MAP_KEYS: ClassVar[tuple[str, ...]] = ("name",)

    name: str = Field(min_length=1, max_length=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    """Name of the stage (unique in the strategy)."""
    label_selector: LabelSelector | None = None
    """MemberCluster labels of the stage's clusters (unset: every cluster no earlier stage took)."""
    max_concurrency: IntOrPercent | None = None
    """Most clusters of the stage taking the change at once: a count or a percentage of the
    stage's clusters, rounded down, at least 1 (default: the whole stage)."""
    after: StageAfter | None = None
    """Wait time and approval before the next stage."""


class StagedRollout(ApiModel):
    """Ordered stages; a cluster belongs to the first stage whose selector picks it."""

    stages: list[RolloutStage] = Field(min_length=1)


class RolloutStrategy(ApiModel):
    """How a template change reaches the policy's clusters (a Waybill extension).

    ``All`` (the default) sends it everywhere at once. ``RollingUpdate`` and ``Staged`` release it
    cluster by cluster and move on only when the released clusters report the template
    ``Available`` for its generation; a release that is not available within
    ``progressDeadlineSeconds``, or that fails, counts as a failure, and more than ``maxFailures``
    failures halt the rollout (untouched clusters keep the previous version).
    """

    type: RolloutStrategyType = "All"
    """All (default), RollingUpdate or Staged."""
    rolling_update: RollingUpdate | None = None
    """For RollingUpdate: how many clusters at a time."""
    staged: StagedRollout | None = None
    """For Staged: the stages, in order."""
    progress_deadline_seconds: int | None = Field(default=None, ge=1)
    """How long a released cluster may take to become available before it counts as failed (default 600)."""
    max_failures: int | None = Field(default=None, ge=0)
    """How many failed clusters a rollout tolerates before it halts (default 0)."""
    revision_history_limit: int | None = Field(default=None, ge=1, le=100)
    """How many revisions of each template the hub keeps as TemplateRevisions (default 10)."""


class PropagationSpec(ApiModel):
    """What to propagate and where."""

    resource_selectors: list[ResourceSelector] = Field(min_length=1)
    """Which templates this policy claims (at least one selector)."""
    priority: int = 0
    """Higher wins when several policies match a template (default 0)."""
    preemption: Preemption | None = None
    """Always: may take templates from lower-priority policies (Karmada compatibility)."""
    propagate_deps: bool = False
    """Also propagate the objects a workload references (ConfigMaps, Secrets...)."""
    conflict_resolution: ConflictResolution | None = None
    """Abort or Overwrite an object that already exists on a member and is not Waybill's."""
    apply_strategy: PolicyApplyStrategy | None = None
    """Drift handling on the members: correct (default) or only report."""
    dependent_overrides: list[str] = Field(default_factory=list)
    """OverridePolicies that must exist first (Karmada compatibility)."""
    scheduler_name: str | None = None
    """Karmada: the scheduler to use; Waybill has one (default-scheduler)."""
    placement: Placement = Field(default_factory=Placement)
    """Where the templates go."""
    association: bool = False
    """Karmada's deprecated spelling of propagateDeps."""
    failover: FailoverBehavior | None = None
    """Karmada: application and cluster failover."""
    activation_preference: ActivationPreference | None = None
    """Lazy: policy changes reach a template only when the template itself changes."""
    suspension: Suspension | None = None
    """Suspend dispatching to members."""
    preserve_resources_on_deletion: bool | None = None
    """true: deleting a template leaves its objects on the members."""
    schedule_priority: SchedulePriority | None = None
    """Karmada: scheduling priority from a PriorityClass."""
    rollout_strategy: RolloutStrategy | None = None
    """Waybill: how template changes reach the clusters (unset: all at once, as type All)."""
    replica_managers: list[str] = Field(default_factory=list)
    """Field managers on the members whose ``spec.replicas`` the agents leave alone (besides
    HPAs and scale-subresource writers, always left alone); passed to each manifest with replicas
    as the annotation ``waybill.dev/replica-managers`` (merged with the template's own)."""


PropagationPolicySpec = PropagationSpec


class PolicyStatus(ApiModel):
    """What the hub observed about a policy: validity and how many templates it claims."""

    observed_generation: int | None = None
    conditions: list[Condition] = Field(default_factory=list)
    claimed_templates: int | None = Field(default=None, ge=0)
    """How many templates this policy currently claims."""


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
    """JSON pointer to the image field, e.g. /spec/template/spec/containers/0/image."""


class ImageOverrider(ApiModel):
    """Overrides one component of ``[registry/]repository[:tag|@digest]`` images."""

    predicate: ImagePredicate | None = None
    """Which image; unset: every container image of the workload."""
    component: ImageComponent
    """Registry, Repository or Tag (tag or digest)."""
    operator: OverriderOperator
    value: str | None = None
    """New component value (variables allowed); unset for remove."""


class CommandArgsOverrider(ApiModel):
    """Adds or removes entries of a container's ``command`` or ``args``."""

    container_name: str = Field(min_length=1)
    """The container whose command or args change."""
    operator: CommandArgsOperator
    value: list[str] = Field(default_factory=list)
    """Entries to add (appended) or remove."""


class LabelAnnotationOverrider(ApiModel):
    """Adds, removes or replaces labels or annotations."""

    operator: OverriderOperator
    value: dict[str, str] = Field(default_factory=dict)
    """Keys and values to add, replace or remove (variables allowed)."""


class PlaintextOverrider(ApiModel):
    """A JSON-patch-like operation on the rendered manifest: ``path`` is a JSON pointer."""

    path: str = Field(pattern=JSON_POINTER)
    """JSON pointer into the manifest, e.g. /spec/replicas."""
    operator: OverriderOperator
    value: JsonValue = None
    """Any JSON value (variables allowed in strings); unset for remove."""


class FieldPatchOperation(ApiModel):
    """One JSON-patch-like operation inside the document held in a string field."""

    sub_path: str = Field(pattern=JSON_POINTER)
    """JSON pointer into the parsed document, e.g. /db/port."""
    operator: OverriderOperator
    value: JsonValue = None
    """Any JSON value; unset for remove."""


class FieldOverrider(ApiModel):
    """Patches a JSON or YAML document kept in a string field (such as a ConfigMap's data entry)."""

    field_path: str = Field(min_length=1, pattern=JSON_POINTER)
    """JSON pointer to the string field, e.g. /data/config.yaml."""
    json_patches: list[FieldPatchOperation] = Field(default_factory=list, alias="json")
    """Operations on the field read as JSON."""
    yaml_patches: list[FieldPatchOperation] = Field(default_factory=list, alias="yaml")
    """Operations on the field read as YAML."""


class Overriders(ApiModel):
    """A rule's overriders, applied in order: image, command, args, labels, annotations, field, plaintext."""

    image_overrider: list[ImageOverrider] = Field(default_factory=list)
    command_overrider: list[CommandArgsOverrider] = Field(default_factory=list)
    args_overrider: list[CommandArgsOverrider] = Field(default_factory=list)
    labels_overrider: list[LabelAnnotationOverrider] = Field(default_factory=list)
    annotations_overrider: list[LabelAnnotationOverrider] = Field(default_factory=list)
    plaintext: list[PlaintextOverrider] = Field(default_factory=list)
    field_overrider: list[FieldOverrider] = Field(default_factory=list)
    """JSON/YAML sub-paths inside string fields."""


class RuleWithCluster(ApiModel):
    """Overriders for the clusters ``targetCluster`` selects (all clusters if unset)."""

    target_cluster: ClusterAffinity | None = None
    """Clusters this rule applies to; unset: all."""
    overriders: Overriders


class OverrideSpec(ApiModel):
    """Which templates to override, and the rules, applied in list order.

    ``targetCluster`` + ``overriders`` at the top level are Karmada's older single-rule form; they are
    read as one more rule after ``overrideRules`` (see ``effective_rules``).
    """

    resource_selectors: list[ResourceSelector] = Field(default_factory=list)
    """Which templates to override; empty: all the policy can see."""
    override_rules: list[RuleWithCluster] = Field(default_factory=list)
    """Rules applied in order."""
    target_cluster: ClusterAffinity | None = None
    """Older single-rule form: clusters for spec.overriders."""
    overriders: Overriders | None = None
    """Older single-rule form: applied after overrideRules."""

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
