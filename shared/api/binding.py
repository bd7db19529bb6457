"""Binding API (``work.waybill.dev/v1alpha1``): ResourceBinding and ClusterResourceBinding, the schedules.

One binding per claimed template, written by the hub: ``spec`` says which template, which policy,
and which clusters get how many replicas; ``status`` says why (the scheduling decision, with the
reason each rejected cluster was left out) and how it is going per cluster (aggregated from the
Works). Built for people: ``kubectl get rb`` shows the kind, the clusters and the conditions.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from shared.api import names
from shared.api.meta import (
    AGE_COLUMN,
    ApiModel,
    Condition,
    CrdInfo,
    KubeObject,
    PrinterColumn,
    RawObject,
    condition_column,
)

Health = Literal["Healthy", "Unhealthy", "Unknown"]
SchedulingResult = Literal["Scheduled", "PartiallyScheduled", "Unschedulable"]


class ObjectReference(ApiModel):
    """The template a binding schedules (resourceVersion/generation as last scheduled)."""

    api_version: str = Field(min_length=1)
    kind: str = Field(min_length=1)
    namespace: str | None = None
    name: str = Field(min_length=1)
    uid: str | None = None
    resource_version: str | None = None
    generation: int | None = None


class PolicyReference(ApiModel):
    """The policy that claimed the template."""

    kind: Literal["PropagationPolicy", "ClusterPropagationPolicy"]
    namespace: str | None = None
    name: str = Field(min_length=1)


class TargetCluster(ApiModel):
    """A chosen cluster and its replicas (None for templates without replicas)."""

    name: str = Field(min_length=1)
    replicas: int | None = Field(default=None, ge=0)


class BindingSchedulePriority(ApiModel):
    """Karmada's binding priority: the scheduler takes higher ones first."""

    priority: int = 0
    """The value of the policy's PriorityClass (``schedulePriority``)."""


class DependencyReference(ApiModel):
    """An object that goes along with the template (``propagateDeps``), in its namespace."""

    api_version: str = Field(min_length=1)
    kind: str = Field(min_length=1)
    namespace: str | None = None
    name: str = Field(min_length=1)


class ResourceBindingSpec(ApiModel):
    """The schedule: template, policy, total replicas, and the chosen clusters."""

    resource: ObjectReference
    """The template."""
    policy: PolicyReference | None = None
    """The policy that claimed it."""
    replicas: int | None = Field(default=None, ge=0)
    """The template's total replicas; unset for kinds without replicas."""
    clusters: list[TargetCluster] = Field(default_factory=list)
    """The chosen clusters and their replicas."""
    scheduler_name: str | None = None
    """The scheduler that places this binding, from the policy's ``schedulerName``."""
    schedule_priority: BindingSchedulePriority | None = None
    """From the policy's ``schedulePriority``: the order in which bindings are scheduled."""
    dependencies: list[DependencyReference] = Field(default_factory=list)
    """``propagateDeps``: the objects the template references, sent to its clusters with it."""


class ClusterDecision(ApiModel):
    """Why a cluster was chosen (``reason`` e.g. ``Weighted``) or left out (e.g. ``TaintNotTolerated``)."""

    cluster: str = Field(min_length=1)
    reason: str
    message: str = ""
    replicas: int | None = Field(default=None, ge=0)


REJECTED_LISTED = 10
"""At most this many rejected clusters are listed one by one (the first by name)."""
REJECTED_GROUP_NAMES = 5
"""At most this many cluster names are listed per rejection reason (the first by name)."""


class RejectionGroup(ApiModel):
    """The clusters left out for one reason: how many, one example message, the first names."""

    reason: str
    count: int = Field(ge=1)
    message: str = ""
    """The message of the first cluster (by name) left out for this reason."""
    clusters: list[str] = Field(default_factory=list)
    """The first ``REJECTED_GROUP_NAMES`` clusters (by name) left out for this reason."""


class SchedulingDecision(ApiModel):
    """The scheduler's last decision, written for humans."""

    result: SchedulingResult
    summary: str = ""
    """One line for kubectl get: clusters and replicas."""
    affinity_name: str | None = None
    """The clusterAffinities group that was used."""
    targets: list[ClusterDecision] = Field(default_factory=list)
    rejected: list[ClusterDecision] = Field(default_factory=list)
    """Candidate clusters left out, with the reason: the first ``REJECTED_LISTED`` by cluster
    name (``rejectedByReason`` counts them all)."""
    rejected_by_reason: list[RejectionGroup] = Field(default_factory=list)
    """Every cluster left out, grouped by reason (most clusters first)."""
    rejected_total: int | None = Field(default=None, ge=0)
    """How many clusters were left out (``rejected`` lists at most ``REJECTED_LISTED``)."""
    decided_time: str | None = None
    observed_generation: int | None = None


class ClusterDrift(ApiModel):
    """The template's last drift on one cluster (from the Work's ``lastDrift``)."""

    observed_time: str
    corrected: bool
    fields: list[str] = Field(default_factory=list)
    """The drifted fields (paths; values are in the Work status)."""
    field_count: int = Field(default=0, ge=0)
    changed_by: list[str] = Field(default_factory=list)
    """The managedFields managers that changed them."""


class AggregatedStatusItem(ApiModel):
    """How the template is doing on one cluster, gathered from that cluster's Work status."""

    cluster_name: str = Field(min_length=1)
    work_name: str | None = None
    applied: bool = False
    available: bool | None = None
    health: Health = "Unknown"
    status: RawObject | None = None
    """Status feedback reported by the member (field name to value)."""
    drifted: bool | None = None
    """The member's object drifted since the current manifest was applied (see lastDrift)."""
    last_drift: ClusterDrift | None = None
    errors: list[str] = Field(default_factory=list)
    """Why the template is not applied there, if it is not."""
    last_report_time: str | None = None
    """Set while the member is unreachable: when its agent last reported (its heartbeat). Health
    is then ``Unknown``, ``available`` is left out, the rest is the member's last report."""
    held: bool | None = None
    """The member runs the last good manifest (the current one failed to render for it);
    ``status`` is what it really runs."""
    replicas_managed_by: str | None = None
    """``spec.replicas`` is left to a manager on the member (an HPA, a scale-subresource writer or
    a listed manager); ``status`` has the member's actual replicas."""


RolloutPhase = Literal["Progressing", "Waiting", "Paused", "Halted", "Complete", "Invalid"]
ClusterRolloutState = Literal["Pending", "Progressing", "Available", "Failed"]


class ClusterRollout(ApiModel):
    """Where one cluster is in the rollout (Waybill extension)."""

    LIST_MAP_KEYS: ClassVar[tuple[str, ...]] = ("name",)

    name: str = Field(min_length=1)
    stage: str | None = None
    """The stage the cluster belongs to (Staged)."""
    revision: int | None = None
    """The template generation released to the cluster (unset: not released yet)."""
    state: ClusterRolloutState = "Pending"
    since: str | None = None
    """When the cluster was released (RFC 3339)."""
    message: str | None = None


class RolloutStatus(ApiModel):
    """The rollout of the template's current generation (written by the hub's rollout controller)."""

    # optional in the schema: the controller writes them all, but a server-side apply that drops
    # the rollout may leave an emptied map behind
    strategy: Literal["RollingUpdate", "Staged"] | None = None
    revision: int | None = None
    """The template generation being rolled out."""
    phase: RolloutPhase | None = None
    stage: str | None = None
    """The stage in progress (Staged), or the last one once complete."""
    started: str | None = None
    """When the rollout of this revision started (RFC 3339)."""
    stage_completed: str | None = None
    """When the current stage's clusters all became available (its waits count from then)."""
    clusters: list[ClusterRollout] = Field(default_factory=list)
    message: str | None = None
    content_digest: str | None = None
    """For a kind without ``metadata.generation`` (ConfigMap, Service, ...): the digest of the
    template content ``revision`` numbers (``shared.api.revision.content_digest``)."""


class ResourceBindingStatus(ApiModel):
    """Scheduling decision, per-cluster state, and conditions (Scheduled, Applied, Available)."""

    observed_generation: int | None = None
    scheduling_decision: SchedulingDecision | None = None
    aggregated_status: list[AggregatedStatusItem] = Field(default_factory=list)
    conditions: list[Condition] = Field(default_factory=list)
    rollout: RolloutStatus | None = None
    """Waybill: the progress of a RollingUpdate or Staged rollout."""


_BINDING_COLUMNS = (
    PrinterColumn(name="Kind", json_path=".spec.resource.kind"),
    PrinterColumn(name="Replicas", json_path=".spec.replicas", type="integer"),
    PrinterColumn(name="Clusters", json_path=".status.schedulingDecision.summary"),
    condition_column("Scheduled", names.CONDITION_SCHEDULED),
    condition_column("Applied", names.CONDITION_APPLIED),
    condition_column("Available", names.CONDITION_AVAILABLE),
    PrinterColumn(name="Policy", json_path=".spec.policy.name", priority=1),
    AGE_COLUMN,
)


class ResourceBinding(KubeObject):
    """The schedule of one namespaced template (in the template's namespace)."""

    crd: ClassVar[CrdInfo] = CrdInfo(
        group=names.WORK_GROUP,
        version=names.VERSION,
        kind=names.KIND_RESOURCE_BINDING,
        plural="resourcebindings",
        singular="resourcebinding",
        scope="Namespaced",
        short_names=("rb",),
        printer_columns=_BINDING_COLUMNS,
        description="Where one namespaced template goes, why, and how it is doing there.",
    )

    spec: ResourceBindingSpec
    status: ResourceBindingStatus | None = None


class ClusterResourceBinding(ResourceBinding):
    """The schedule of one cluster-scoped template."""

    crd: ClassVar[CrdInfo] = CrdInfo(
        group=names.WORK_GROUP,
        version=names.VERSION,
        kind=names.KIND_CLUSTER_RESOURCE_BINDING,
        plural="clusterresourcebindings",
        singular="clusterresourcebinding",
        scope="Cluster",
        short_names=("crb",),
        printer_columns=_BINDING_COLUMNS,
        description="Where one cluster-scoped template goes, why, and how it is doing there.",
    )
