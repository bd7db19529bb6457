"""The agent's settings: which member it is, where its hub namespace is, and its timings."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.guardrails import Guardrails
from shared.api import names


@dataclass(frozen=True)
class AgentConfig:
    """Everything the agent needs to know besides its two API clients.

    ``member_namespace`` None: look it up by label ``waybill.dev/member=<cluster>`` (needs list
    on namespaces), falling back to ``member-<cluster>`` when the hub identity may not list.
    """

    cluster: str
    member_namespace: str | None = None
    field_manager: str = names.FIELD_MANAGER_AGENT
    # Managers whose fields the agent leaves alone (besides scale-subresource writers).
    respected_managers: tuple[str, ...] = ()
    # Managers whose spec.replicas the agent leaves alone (besides HPAs and scale-subresource
    # writers, and those a manifest's waybill.dev/replica-managers annotation lists): --replica-managers.
    replica_managers: tuple[str, ...] = ()
    heartbeat_interval: float = 10.0
    lease_duration_seconds: int = 40
    member_status_interval: float = 60.0
    resync_interval: float = 300.0
    resync_jitter: float = 0.2
    not_available_requeue: float = 5.0
    # A new generation's first report "applied, not available yet" waits this long for the
    # workloads to become available, so Applied and Available go to the hub in one write (0: no wait).
    available_hold: float = 0.25
    crd_established_timeout: float = 15.0
    apply_concurrency: int = 16
    list_threshold: int = 8  # cache misses of one kind and namespace: LIST once instead of GETs
    workers: int = 4
    status_limit_bytes: int = 600 * 1024
    # A Work that vanished from the hub without being seen deleted: wait this long before removing.
    orphaned_applied_work_grace: float = 600.0
    # A resource that left a Work is kept this long for another Work of the member to take it
    # over (a policy change writes the old and the new Work one after the other), then removed.
    handover_grace: float = 5.0
    handover_retry: float = 1.0  # how often a pending handover is looked at again
    holder_identity: str = field(default="")
    # What this member's administrator lets Works apply (agent/guardrails.py).
    guardrails: Guardrails = field(default_factory=Guardrails)
    # Sealing keys (agent/sealing_keys.py): the member-side Secret's namespace, and rotation age.
    sealing_key_namespace: str = "waybill-system"
    sealing_key_max_age: float | None = 90 * 24 * 3600.0

    @property
    def default_member_namespace(self) -> str:
        return f"{names.MEMBER_NAMESPACE_PREFIX}{self.cluster}"
