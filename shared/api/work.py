"""Work API (``work.waybill.dev/v1alpha1``): Work (hub, member namespace) and AppliedWork (member).

Work follows the SIG-Multicluster Work API shape: the hub writes ``spec.workload.manifests``
(whole objects, rendered for one cluster) and how to apply them; the agent writes per-manifest
conditions, status feedback and drift into the status. AppliedWork is the agent's write-ahead
record, on the member, of exactly which resources it created for a Work (with UIDs).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from shared.api import names
from shared.api.interpreter import CustomizationTarget, HealthInterpretation, LocalValueRetention
from shared.api.interpreter import StatusReflection as StatusReflectionScript
from shared.api.meta import (
    AGE_COLUMN,
    ApiModel,
    Condition,
    CrdInfo,
    EmbeddedObject,
    KubeObject,
    PrinterColumn,
    RawObject,
    condition_column,
)

ApplyStrategyType = Literal["ServerSideApply", "ClientSideApply", "ReportDiff"]
WhenToTakeOver = Literal["Always", "IfNoDiff", "Never"]
WhenToApply = Literal["Always", "IfNotDrifted"]
DeletePropagationPolicy = Literal["Foreground", "Orphan"]
FeedbackType = Literal["WellKnownStatus", "JSONPaths"]
FieldValueType = Literal["Integer", "String", "Boolean", "JsonRaw"]


class WorkloadTemplate(ApiModel):
    """The manifests to apply, each a whole Kubernetes object."""

    manifests: list[EmbeddedObject] = Field(default_factory=list)


class ApplyStrategy(ApiModel):
    """How the agent writes the manifests, and whether it takes over objects it did not create."""

    type: ApplyStrategyType = "ServerSideApply"
    """ServerSideApply (default), ClientSideApply, or ReportDiff (compare only, never write)."""
    when_to_take_over: WhenToTakeOver = "IfNoDiff"
    """Taking over objects Waybill did not create: Always, IfNoDiff (default) or Never."""
    force: bool | None = None
    """Server-side apply: take fields owned by other managers."""
    when_to_apply: WhenToApply = "Always"
    """Always (default): correct drift; IfNotDrifted: leave a drifted object as the member has it and
    report the drift (KubeFleet's name); a changed manifest is still applied."""


class DeleteOption(ApiModel):
    """What happens to applied resources when the Work (or one of its manifests) goes away."""

    propagation_policy: DeletePropagationPolicy = "Foreground"
    """Foreground (default): delete what was applied; Orphan: leave it."""


class ResourceIdentifier(ApiModel):
    """Names one manifest of the Work (group plus resource or kind, namespace, name)."""

    group: str = ""
    resource: str | None = None
    kind: str | None = None
    namespace: str | None = None
    name: str = Field(min_length=1)


class JsonPath(ApiModel):
    """A status field to report back: ``path`` is a JSONPath relative to ``.status``."""

    name: str = Field(min_length=1)
    path: str = Field(min_length=1)


class FeedbackRule(ApiModel):
    """Which status fields to report: the kind's well-known ones, or explicit JSONPaths."""

    type: FeedbackType
    """WellKnownStatus (the kind's usual fields) or JSONPaths."""
    json_paths: list[JsonPath] = Field(default_factory=list)


class ManifestConfigOption(ApiModel):
    """Per-manifest options (status feedback rules)."""

    resource_identifier: ResourceIdentifier
    feedback_rules: list[FeedbackRule] = Field(default_factory=list)


class AgentCustomizationRules(ApiModel):
    """The scripts of a ResourceInterpreterCustomization the agent runs on its member."""

    retention: LocalValueRetention | None = None
    status_reflection: StatusReflectionScript | None = None
    health_interpretation: HealthInterpretation | None = None


class WorkInterpreterCustomization(ApiModel):
    """A copy, made by the hub, of what the agent needs of a ResourceInterpreterCustomization."""

    name: str = Field(min_length=1)
    """The customization's name on the hub (conditions name it)."""
    target: CustomizationTarget
    customizations: AgentCustomizationRules = Field(default_factory=AgentCustomizationRules)


class WorkSpec(ApiModel):
    """What the agent should apply on its member, and how."""

    workload: WorkloadTemplate = Field(default_factory=WorkloadTemplate)
    """The manifests to apply."""
    apply_strategy: ApplyStrategy | None = None
    """How to apply; unset: ServerSideApply, take over IfNoDiff."""
    delete_option: DeleteOption | None = None
    """What to do with applied objects on removal; unset: Foreground."""
    manifest_configs: list[ManifestConfigOption] = Field(default_factory=list)
    """Per-manifest status feedback rules."""
    interpreter_customizations: list[WorkInterpreterCustomization] = Field(default_factory=list)
    """The hub's ResourceInterpreterCustomizations for the carried kinds, reduced to the agent's
    scripts (retention, statusReflection, healthInterpretation): agents cannot read the hub's
    cluster-scoped objects. A manifest of a kind listed here reports ``reflectedStatus``."""


class ManifestIdentifier(ApiModel):
    """Which manifest a condition is about: its index in ``spec.workload.manifests`` and its identity."""

    ordinal: int = Field(ge=0)
    """Index in spec.workload.manifests."""
    group: str = ""
    version: str = ""
    kind: str = ""
    resource: str = ""
    namespace: str | None = None
    name: str = ""


class FieldValue(ApiModel):
    """One reported value: exactly the member matching ``type`` is set (jsonRaw is JSON text)."""

    type: FieldValueType
    integer: int | None = None
    string: str | None = None
    boolean: bool | None = None
    json_raw: str | None = Field(default=None, max_length=1024)


class FeedbackValue(ApiModel):
    """A named status value reported back to the hub."""

    name: str
    field_value: FieldValue


class StatusFeedback(ApiModel):
    """The status values a manifest's feedback rules asked for."""

    values: list[FeedbackValue] = Field(default_factory=list)


class PatchDetail(ApiModel):
    """One field where the member's object differs from the hub's manifest (values as JSON text)."""

    path: str
    member_value: str | None = None
    hub_value: str | None = None


class LastDrift(ApiModel):
    """The last time someone changed, on the member, fields this manifest sets (kept until the
    next drift or until the manifest changes)."""

    observed_time: str
    """When the agent saw the drift."""
    corrected: bool
    """The agent wrote the hub's values back (false: whenToApply IfNotDrifted, or the write failed)."""
    fields: list[PatchDetail] = Field(default_factory=list)
    """The drifted fields with the member's and the hub's values (Secret values redacted)."""
    changed_by: list[str] = Field(default_factory=list)
    """The managedFields managers that wrote those fields on the member (e.g. kubectl-edit)."""
    field_count: int = Field(default=0, ge=0)
    """How many fields drifted (``fields`` may be capped)."""
    manifest_digest: str = ""
    """Digest of the manifest as applied when the drift was seen (a new manifest drops the record)."""
    observed_generation: int | None = None
    """The member object's generation after the drift."""


class ManifestCondition(ApiModel):
    """The state of one manifest on the member."""

    identifier: ManifestIdentifier
    conditions: list[Condition] = Field(default_factory=list)
    status_feedback: StatusFeedback | None = None
    reflected_status: RawObject | None = None
    """The object's status as its kind's statusReflection script (or the built-in rule) reports
    it, for kinds listed in ``spec.interpreterCustomizations``; what the hub aggregates."""
    drifts: list[PatchDetail] = Field(default_factory=list)
    """Fields someone changed on the member (corrected unless ReportDiff)."""
    diffs: list[PatchDetail] = Field(default_factory=list)
    """ReportDiff: fields where the member differs from the manifest."""
    observed_drift_time: str | None = None
    last_drift: LastDrift | None = None
    """The manifest's last drift, corrected or not, until the next drift or a new manifest."""


class WorkDriftSummary(ApiModel):
    """The Work's manifests that have a ``lastDrift`` on record."""

    drifted_manifests: int = Field(default=0, ge=0)
    drifted_field_count: int = Field(default=0, ge=0)
    drift_corrected: bool = True
    """Every recorded drift was corrected."""
    last_observed_time: str | None = None


class WorkStatus(ApiModel):
    """Applied/Available/Degraded for the whole Work, and per manifest."""

    conditions: list[Condition] = Field(default_factory=list)
    manifest_conditions: list[ManifestCondition] = Field(default_factory=list)
    drift_summary: WorkDriftSummary | None = None
    """Set while a manifest has a ``lastDrift`` on record."""


class Work(KubeObject):
    """The manifests one member cluster should run, written by the hub into that member's namespace."""

    crd: ClassVar[CrdInfo] = CrdInfo(
        group=names.WORK_GROUP,
        version=names.VERSION,
        kind=names.KIND_WORK,
        plural="works",
        singular="work",
        scope="Namespaced",
        short_names=("work",),
        printer_columns=(
            condition_column("Applied", names.CONDITION_APPLIED),
            condition_column("Available", names.CONDITION_AVAILABLE),
            condition_column("Degraded", names.CONDITION_DEGRADED, priority=1),
            AGE_COLUMN,
        ),
        description="Manifests for one member cluster (SIG-Multicluster Work API shape).",
    )

    spec: WorkSpec = Field(default_factory=WorkSpec)
    status: WorkStatus | None = None


class AppliedWorkSpec(ApiModel):
    """The hub Work this record belongs to."""

    work_name: str = Field(min_length=1)
    work_namespace: str = Field(min_length=1)


class AppliedResource(ApiModel):
    """A resource the agent created or took over for the Work (UID-checked before any delete)."""

    group: str = ""
    version: str = ""
    kind: str = ""
    resource: str = ""
    namespace: str | None = None
    name: str = Field(min_length=1)
    uid: str | None = None
    """UID of the object on the member; deletes check it."""
    digest: str | None = None
    """SHA-256 of the object as the agent last applied it (unchanged manifests are not rewritten)."""
    resource_version: str | None = None
    """The member object's resourceVersion right after that apply."""


class AppliedWorkCopy(ApiModel):
    """The hub Work this record was last written for: what a restarted agent applies while the hub is away."""

    uid: str = ""
    generation: int | None = None
    spec: WorkSpec | None = None
    """The Work's spec, when small."""
    spec_gzip: str | None = None
    """A large Work's spec: base64 of gzip-compressed JSON (keeps the record under the size limit)."""


class AppliedWorkStatus(ApiModel):
    """What the agent applied, and a copy of the Work it applied it for."""

    applied_resources: list[AppliedResource] = Field(default_factory=list)
    work: AppliedWorkCopy | None = None


class AppliedWork(KubeObject):
    """On the member: the agent's write-ahead record of the resources it applied for one hub Work."""

    crd: ClassVar[CrdInfo] = CrdInfo(
        group=names.WORK_GROUP,
        version=names.VERSION,
        kind=names.KIND_APPLIED_WORK,
        plural="appliedworks",
        singular="appliedwork",
        scope="Cluster",
        short_names=("aw",),
        printer_columns=(
            PrinterColumn(name="Work-Namespace", json_path=".spec.workNamespace"),
            PrinterColumn(name="Work", json_path=".spec.workName"),
            AGE_COLUMN,
        ),
        description="On a member: the resources the agent applied for one hub Work.",
    )

    spec: AppliedWorkSpec
    status: AppliedWorkStatus | None = None
