"""Membership controller: member namespace key → MemberCluster, Ready condition, unreachable taint.

A namespace labelled ``waybill.dev/member=<name>`` registers a member: the hub creates the
MemberCluster ``<name>`` there if it is missing. From the heartbeat Lease (``hub.membership``)
it sets ``Ready=Unknown`` and the ``cluster.waybill.dev/not-ready`` NoSchedule taint until the
first heartbeat (``AwaitingAgent``), the ``cluster.waybill.dev/unreachable`` one when the
Lease expires, adds the same key as NoExecute once the Lease has been expired for
``failover_eviction_seconds`` (``hub.failover``: cluster failover, as Karmada's Failover gate),
and undoes all of it when the Lease is renewed; it looks again just after the Lease would
expire or the NoExecute taint falls due. Writes happen only when something changes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from hub import conditions, failover, member_presence, membership, report_trust, status_writes
from hub.state import HubState
from shared.api import names
from shared.kube import errors
from shared.ops.logging import get_logger
from shared.runtime.controller import Result

_log = get_logger("hub.members")


def _reported_ready(member: dict[str, Any]) -> str | None:
    ready = conditions.find((member.get("status") or {}).get("conditions"), names.CONDITION_READY)
    return None if ready is None else str(ready.get("status"))


class MembersController:
    """Reconciles member namespace names."""

    def __init__(
        self,
        *,
        state: HubState,
        grace_seconds: float = 40.0,
        failover_eviction_seconds: float | None = 300.0,
        now: Callable[[], datetime] = lambda: datetime.now(tz=UTC),
    ) -> None:
        self.state = state
        self.grace_seconds = grace_seconds
        self.failover_eviction_seconds = failover_eviction_seconds
        self.now = now

    async def reconcile(self, key: str) -> Result | None:
        namespace = self.state.namespaces.get(key)
        if namespace is None or (namespace.get("metadata") or {}).get("deletionTimestamp"):
            return None
        cluster = membership.member_name_of(namespace)
        if cluster is None:
            return None
        member = self.state.members.get(f"{key}/{cluster}")
        if member is None:
            await self._create_member(key, cluster, now=self.now())
            return Result(requeue_after=0.2)
        now = self.now()
        lease = self.state.leases.get(f"{key}/{names.HEARTBEAT_LEASE_NAME}")
        health = membership.assess(member=member, lease=lease, now=now, grace_seconds=self.grace_seconds)
        taints = list((member.get("spec") or {}).get("taints") or [])
        plan = failover.desired_health_taints(
            taints,
            unreachable=health.unreachable_taint,
            not_ready=health.awaiting_agent
            or (health.ready_status is None and _reported_ready(member) == "False"),
            now=now,
            # a member that never connected runs nothing of ours: keep new work away, evict nothing
            eviction_seconds=None if health.awaiting_agent else self.failover_eviction_seconds,
        )
        wanted_taints = plan.taints
        if wanted_taints != taints:
            member = await self.state.hub_api.patch(
                names.CLUSTER_API_VERSION,
                names.KIND_MEMBER_CLUSTER,
                name=cluster,
                namespace=key,
                patch={"spec": {"taints": wanted_taints}},
            )
            _log.info("member.taint", cluster=cluster, unreachable=health.unreachable_taint)
        if health.ready_status is not None:
            status = member.get("status") or {}
            current = conditions.find(status.get("conditions"), names.CONDITION_READY)
            if current is None or (current.get("status"), current.get("reason")) != (
                health.ready_status,
                health.reason,
            ):
                new_conditions = conditions.set_condition(
                    status.get("conditions"),
                    type=names.CONDITION_READY,
                    status=health.ready_status,
                    reason=health.reason,
                    message=health.message,
                )
                await self.state.hub_api.patch_status(
                    names.CLUSTER_API_VERSION,
                    names.KIND_MEMBER_CLUSTER,
                    name=cluster,
                    namespace=key,
                    # conditional: the agent writes this status too
                    patch={
                        "metadata": {
                            "resourceVersion": (member.get("metadata") or {}).get("resourceVersion")
                        },
                        "status": {
                            "conditions": status_writes.member_conditions(
                                new_conditions, own=(names.CONDITION_READY,)
                            )
                        },
                    },
                )
                _log.info("member.ready", cluster=cluster, status=health.ready_status, reason=health.reason)
        await report_trust.sync_member_reports(self.state, namespace=key, cluster=cluster)
        wait = membership.seconds_until_expiry(lease, now=now, grace_seconds=self.grace_seconds)
        waits = [w for w in (wait, plan.recheck_after) if w is not None]
        return Result(requeue_after=min(waits)) if waits else None

    async def _create_member(self, namespace: str, cluster: str, *, now: datetime) -> None:
        # born not-ready: nothing is scheduled to it before its agent's first heartbeat
        body: dict[str, Any] = {
            "apiVersion": names.CLUSTER_API_VERSION,
            "kind": names.KIND_MEMBER_CLUSTER,
            "metadata": {"name": cluster, "namespace": namespace},
            "spec": {"syncMode": "Pull", "taints": [member_presence.not_ready_taint(now)]},
        }
        try:
            await self.state.hub_api.create(body)
            _log.info("member.registered", cluster=cluster, namespace=namespace)
        except errors.AlreadyExists:
            pass
