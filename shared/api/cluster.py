"""Cluster API (``cluster.waybill.dev/v1alpha1``): MemberCluster, one per member in its hub namespace.

``waybill join`` writes the spec; the agent writes health and capacity into the status and the hub
adds ``Ready=Unknown`` and the unreachable taint when heartbeats stop. MemberCluster labels are
the cluster labels that placement selects on.
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
    ResourceList,
    condition_column,
)

SyncMode = Literal["Pull", "Push"]
TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


class Taint(ApiModel):
    """Keeps policies that do not tolerate it away from the cluster (NoExecute also evicts, when enabled)."""

    key: str = Field(min_length=1)
    value: str | None = None
    effect: TaintEffect
    """NoSchedule, PreferNoSchedule or NoExecute."""
    time_added: str | None = None
    """When the taint was added (RFC 3339), set for NoExecute."""


class MemberClusterSpec(ApiModel):
    """How the member is reached and where it is."""

    sync_mode: SyncMode = "Pull"
    """Pull (agent in the member, default) or Push (agent on the hub side)."""
    provider: str | None = None
    """Cloud provider, matched by fieldSelector key provider."""
    region: str | None = None
    """Region, matched by fieldSelector key region."""
    zone: str | None = None
    """Zone, matched by fieldSelector key zone."""
    taints: list[Taint] = Field(default_factory=list)
    """Keep policies that do not tolerate them away."""


class ClusterResources(ApiModel):
    """Capacity summed over the member's nodes: allocatable, and what is still available."""

    allocatable: ResourceList = Field(default_factory=dict)
    available: ResourceList = Field(default_factory=dict)


class ApiResource(ApiModel):
    """One resource a member serves."""

    name: str
    kind: str


class ApiEnablement(ApiModel):
    """The resources a member serves in one group/version."""

    group_version: str
    resources: list[ApiResource] = Field(default_factory=list)


class SealingKey(ApiModel):
    """The agent's public key: the hub seals Secret manifests for this member with it (shared/sealing.py)."""

    key_id: str = Field(alias="keyID", min_length=1)
    """Short hash of the public key; sealed manifests name the key they were sealed for."""
    public_key: str = Field(min_length=1)
    """The X25519 public key, base64 (32 bytes)."""
    algorithm: Literal["X25519-HKDF-SHA256-A256GCM"] = "X25519-HKDF-SHA256-A256GCM"
    """How manifests are sealed for this key."""
    created: str | None = None
    """When the agent generated the key pair (RFC 3339)."""
    signer: str = Field(min_length=1)
    """The agent's long-lived Ed25519 public key, base64; the hub pins the first one it sees."""
    signature: str = Field(min_length=1)
    """The signer's signature over publicKey, base64."""


class MemberClusterStatus(ApiModel):
    """Health and capacity, reported by the agent (and ``Ready=Unknown`` by the hub when it goes quiet)."""

    kubernetes_version: str | None = None
    """The member's Kubernetes version (gitVersion)."""
    agent_version: str | None = None
    node_count: int | None = Field(default=None, ge=0)
    """Number of nodes in the member."""
    resources: ClusterResources | None = None
    api_enablements: list[ApiEnablement] = Field(default_factory=list)
    """The API resources the member serves."""
    conditions: list[Condition] = Field(default_factory=list)
    last_heartbeat_time: str | None = None
    """When the agent last reported (RFC 3339)."""
    sealing_key: SealingKey | None = None
    """The agent's current public sealing key (rotated by the agent; see docs/security.md)."""


class MemberCluster(KubeObject):
    """A member cluster, registered by its hub namespace (label ``waybill.dev/member=<name>``)."""

    crd: ClassVar[CrdInfo] = CrdInfo(
        group=names.CLUSTER_GROUP,
        version=names.VERSION,
        kind=names.KIND_MEMBER_CLUSTER,
        plural="memberclusters",
        singular="membercluster",
        scope="Namespaced",
        short_names=("mc",),
        printer_columns=(
            PrinterColumn(name="Mode", json_path=".spec.syncMode"),
            condition_column("Ready", names.CONDITION_READY),
            PrinterColumn(name="Version", json_path=".status.kubernetesVersion"),
            PrinterColumn(name="Nodes", json_path=".status.nodeCount", type="integer"),
            PrinterColumn(name="Region", json_path=".spec.region", priority=1),
            PrinterColumn(name="Provider", json_path=".spec.provider", priority=1),
            AGE_COLUMN,
        ),
        description="A member cluster of the fleet; lives in the member's namespace on the hub.",
    )

    spec: MemberClusterSpec = Field(default_factory=MemberClusterSpec)
    status: MemberClusterStatus | None = None
