"""Every condition reason and Event reason the hub writes, in one place (pure constants).

Users match on these strings (``kubectl wait``, alerts, ``waybill status``): changing one is an
API change. Condition types live in ``shared.api.names``.
"""

from __future__ import annotations

# binding Scheduled
SCHEDULED = "Scheduled"
POLICY_REMOVED = "PolicyRemoved"
INVALID_PLACEMENT = "InvalidPlacement"
INVALID_POLICY = "InvalidPolicy"
UNSUPPORTED = "Unsupported"  # a Karmada field Waybill does not implement (hub.unsupported)
UNSCHEDULABLE = "Unschedulable"
NO_CLUSTER_ELIGIBLE = "NoClusterEligible"
PRIORITY_CLASS_NOT_FOUND = "PriorityClassNotFound"  # schedulePriority names a missing PriorityClass
SCHEDULER_NOT_SERVED = "SchedulerNotServed"  # schedulerName names a scheduler this hub does not run
# binding Applied / Available
NO_CLUSTERS = "NoClusters"
APPLIED_EVERYWHERE = "AppliedEverywhere"
NOT_APPLIED_EVERYWHERE = "NotAppliedEverywhere"
AVAILABLE_EVERYWHERE = "AvailableEverywhere"
NOT_AVAILABLE_EVERYWHERE = "NotAvailableEverywhere"
MEMBER_UNREACHABLE = "MemberUnreachable"  # also the Event on templates (hub.member_presence)
# binding Rendered
RENDERED = "Rendered"
OVERRIDE_FAILED = "OverrideFailed"
# policy Valid / ClustersResolved
VALID = "Valid"
UNKNOWN_CLUSTERS = "UnknownClusters"
CLUSTERS_RESOLVED = "ClustersResolved"
# MemberCluster Ready
LEASE_EXPIRED = "LeaseExpired"
AWAITING_AGENT = "AwaitingAgent"
HEARTBEAT_RESUMED = "HeartbeatResumed"
