"""Config API (`config.waybill.dev/v1alpha1`): ResourceInterpreterCustomization, cluster-scoped.

Karmada's `config.karmada.io/v1alpha1` kind with the same field names: `spec.target` names the
kind it describes (`apiVersion`, `kind`), `spec.customizations` holds one Lua script per
operation. `shared.interpreter` runs the scripts in a sandbox; a customization overrides the
built-in rule of its operation for that kind, operations it leaves out keep the built-in rule.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.api import names
from shared.api.meta import AGE_COLUMN, ApiModel, CrdInfo, KubeObject, PrinterColumn


class CustomizationTarget(ApiModel):
    """The kind the customization applies to."""

    api_version: str = Field(min_length=1)
    """API version of the target kind (`apps/v1`, `example.com/v1alpha1`)."""
    kind: str = Field(min_length=1)
    """Kind of the target resources."""


class LocalValueRetention(ApiModel):
    """Retention: keep values a member's own controllers set."""

    lua_script: str = Field(min_length=1)
    """Lua defining `function Retain(desiredObj, observedObj)` returning the object to apply."""


class ReplicaResourceRequirement(ApiModel):
    """ReplicaResource: the declared replicas and what each replica needs."""

    lua_script: str = Field(min_length=1)
    """Lua defining `function GetReplicas(obj)` returning `replica, requirement` (requirement may be nil)."""


class ReplicaRevision(ApiModel):
    """ReplicaRevision: set a cluster's share of replicas."""

    lua_script: str = Field(min_length=1)
    """Lua defining `function ReviseReplica(obj, desiredReplica)` returning the revised object."""


class StatusReflection(ApiModel):
    """StatusReflection: which status a member reports."""

    lua_script: str = Field(min_length=1)
    """Lua defining `function ReflectStatus(observedObj)` returning a status table."""


class StatusAggregation(ApiModel):
    """StatusAggregation: the template's status from the members' statuses."""

    lua_script: str = Field(min_length=1)
    """Lua defining `function AggregateStatus(desiredObj, statusItems)` returning the object, status set."""


class HealthInterpretation(ApiModel):
    """HealthInterpretation: is an object on a member healthy."""

    lua_script: str = Field(min_length=1)
    """Lua defining `function InterpretHealth(observedObj)` returning a boolean."""


class DependencyInterpretation(ApiModel):
    """DependencyInterpretation: the objects this one needs (for propagateDeps)."""

    lua_script: str = Field(min_length=1)
    """Lua defining `function GetDependencies(desiredObj)` returning a list of references."""


class CustomizationRules(ApiModel):
    """One Lua script per operation; each one set replaces the built-in rule of that operation."""

    retention: LocalValueRetention | None = None
    replica_resource: ReplicaResourceRequirement | None = None
    replica_revision: ReplicaRevision | None = None
    status_reflection: StatusReflection | None = None
    status_aggregation: StatusAggregation | None = None
    health_interpretation: HealthInterpretation | None = None
    dependency_interpretation: DependencyInterpretation | None = None


class ResourceInterpreterCustomizationSpec(ApiModel):
    """The target kind and its interpretation rules."""

    target: CustomizationTarget
    customizations: CustomizationRules


class ResourceInterpreterCustomization(KubeObject):
    """How Waybill reads a kind: replicas, revision, retention, status, health and dependencies, in Lua."""

    crd: ClassVar[CrdInfo] = CrdInfo(
        group=names.CONFIG_GROUP,
        version=names.VERSION,
        kind=names.KIND_RESOURCE_INTERPRETER_CUSTOMIZATION,
        plural="resourceinterpretercustomizations",
        singular="resourceinterpretercustomization",
        scope="Cluster",
        short_names=("ric",),
        printer_columns=(
            PrinterColumn(name="Target-API-Version", json_path=".spec.target.apiVersion"),
            PrinterColumn(name="Target-Kind", json_path=".spec.target.kind"),
            AGE_COLUMN,
        ),
        # Like Karmada's: the kind is pure configuration, nothing writes a status.
        status_subresource=False,
        description=(
            "Lua rules telling Waybill how to read a kind (Karmada's ResourceInterpreterCustomization)."
        ),
    )

    spec: ResourceInterpreterCustomizationSpec
