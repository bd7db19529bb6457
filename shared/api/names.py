"""Names shared by hub, agent and CLI: API groups and versions, kinds, labels, annotations, finalizers.

Nothing here has behaviour; import the constants instead of spelling the strings twice.
"""

from __future__ import annotations

# --- API groups and versions -------------------------------------------------------------------
VERSION = "v1alpha1"
POLICY_GROUP = "policy.waybill.dev"
WORK_GROUP = "work.waybill.dev"
CLUSTER_GROUP = "cluster.waybill.dev"
CONFIG_GROUP = "config.waybill.dev"
POLICY_API_VERSION = f"{POLICY_GROUP}/{VERSION}"
WORK_API_VERSION = f"{WORK_GROUP}/{VERSION}"
CLUSTER_API_VERSION = f"{CLUSTER_GROUP}/{VERSION}"
CONFIG_API_VERSION = f"{CONFIG_GROUP}/{VERSION}"

# --- kinds ---------------------------------------------------------------------------------------
KIND_PROPAGATION_POLICY = "PropagationPolicy"
KIND_CLUSTER_PROPAGATION_POLICY = "ClusterPropagationPolicy"
KIND_OVERRIDE_POLICY = "OverridePolicy"
KIND_CLUSTER_OVERRIDE_POLICY = "ClusterOverridePolicy"
KIND_RESOURCE_BINDING = "ResourceBinding"
KIND_CLUSTER_RESOURCE_BINDING = "ClusterResourceBinding"
KIND_WORK = "Work"
KIND_APPLIED_WORK = "AppliedWork"
KIND_MEMBER_CLUSTER = "MemberCluster"
KIND_RESOURCE_INTERPRETER_CUSTOMIZATION = "ResourceInterpreterCustomization"
KIND_TEMPLATE_REVISION = "TemplateRevision"
KIND_CLUSTER_TEMPLATE_REVISION = "ClusterTemplateRevision"

# --- labels ----------------------------------------------------------------------------------------
# On a hub namespace: this namespace registers the member cluster named by the value.
LABEL_MEMBER = "waybill.dev/member"
# On Works, bindings and applied resources: who manages it (value "waybill").
LABEL_MANAGED_BY = "waybill.dev/managed-by"
MANAGED_BY_VALUE = "waybill"
# On bindings and Works: the policy that claimed the template ("<namespace>/<name>" or "<name>").
LABEL_POLICY = "waybill.dev/policy"
LABEL_POLICY_NAME = "waybill.dev/policy-name"
LABEL_POLICY_NAMESPACE = "waybill.dev/policy-namespace"
# On a Work: the member cluster it is for, and the binding(s) it carries.
LABEL_CLUSTER = "waybill.dev/cluster"
LABEL_BINDING = "waybill.dev/binding"
# On a template (set by the hub): the binding that holds its schedule.
LABEL_BINDING_NAME = "waybill.dev/binding-name"
# On resources the agent applied on a member: the Work that carries them.
LABEL_WORK_NAME = "waybill.dev/work-name"
LABEL_WORK_NAMESPACE = "waybill.dev/work-namespace"
# On a preview Work (``waybill plan --diff``): the preview it belongs to. Such a Work has no
# managed-by label (the hub's controllers never see it) and only ever a ReportDiff strategy.
LABEL_PREVIEW = "waybill.dev/preview"

# On a (Cluster)TemplateRevision: the template it keeps (kind, name; namespace is the revision's own).
LABEL_REVISION_KIND = "rollout.waybill.dev/template-kind"
LABEL_REVISION_NAME = "rollout.waybill.dev/template-name"

# --- annotations ---------------------------------------------------------------------------------
# On a namespace the agent created on a member for a namespaced template (removed only if this is set).
ANNOTATION_CREATED_NAMESPACE = "waybill.dev/created-namespace"
# On a Work: the hub's Namespace (labels, annotations, overrides applied) of each namespace its
# manifests live in, as JSON {name: {metadata: {labels, annotations}, spec}}: what the agent
# creates a missing namespace from (hub.namespace_templates).
ANNOTATION_NAMESPACE_TEMPLATES = "work.waybill.dev/namespaces"
# On a Work: how many parts a policy's Works were split into for one cluster, and this one's index.
ANNOTATION_WORK_PART = "waybill.dev/work-part"
# On a template: the policy that claimed it (for `kubectl get -o yaml` readers).
ANNOTATION_CLAIMED_BY = "waybill.dev/claimed-by"
# On a preview Work: when it may be deleted by anyone (RFC 3339), should its CLI not remove it.
ANNOTATION_PREVIEW_EXPIRES = "waybill.dev/preview-expires"

# On a binding, written by `waybill rollout pause|resume|approve`: the rollout is paused ("true");
# the stages approved, as JSON {"<stage>": <revision>}.
ANNOTATION_ROLLOUT_PAUSED = "rollout.waybill.dev/paused"
ANNOTATION_ROLLOUT_APPROVALS = "rollout.waybill.dev/approvals"

# --- finalizers ----------------------------------------------------------------------------------
FINALIZER_HUB = "waybill.dev/hub"
FINALIZER_AGENT = "waybill.dev/agent"
# Held by `waybill unjoin` on the Works it deletes, until the agent reports them removed.
FINALIZER_UNJOIN = "waybill.dev/unjoin"
# The Work condition the agent sets on a deleted Work (held by another finalizer) once it has
# removed — or, with deleteOption Orphan, let go of — everything it applied for it.
CONDITION_REMOVED = "Removed"
FINALIZER_MEMBER_CLUSTER = "cluster.waybill.dev/cleanup"

# --- taints set by the hub on MemberCluster.spec.taints -----------------------------------------
TAINT_UNREACHABLE = "cluster.waybill.dev/unreachable"
TAINT_NOT_READY = "cluster.waybill.dev/not-ready"

# --- field managers, defaults ----------------------------------------------------------------------
FIELD_MANAGER_AGENT = "waybill-agent"
FIELD_MANAGER_HUB = "waybill-hub"
MEMBER_NAMESPACE_PREFIX = "member-"
HEARTBEAT_LEASE_NAME = "waybill-agent"

# --- condition types -------------------------------------------------------------------------------
CONDITION_READY = "Ready"
CONDITION_JOINED = "Joined"
CONDITION_APPLIED = "Applied"
CONDITION_AVAILABLE = "Available"
CONDITION_DEGRADED = "Degraded"
CONDITION_SCHEDULED = "Scheduled"
CONDITION_VALID = "Valid"
CONDITION_CLUSTERS_RESOLVED = "ClustersResolved"
CONDITION_DRIFTED = "Drifted"
CONDITION_ROLLOUT_PROGRESSING = "RolloutProgressing"
CONDITION_ROLLOUT_HALTED = "RolloutHalted"
# A manifest's spec.replicas is left to a manager on the member (agent.replica_owners); its
# message is "spec.replicas is left to <owner> on the member (the member runs N)".
CONDITION_REPLICAS_MANAGED = "ReplicasManagedOnMember"
