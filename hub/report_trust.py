"""Writes the ``CapacityTrusted`` condition that ``hub.member_reports`` decides (thin I/O shell).

Called by the members controller on every pass over a member; it writes only when the condition
changes, conditionally on the MemberCluster it read (the agent writes this status too: on a
conflict the agent's own write brings the member back to the queue).
"""

from __future__ import annotations

import contextlib

from hub import conditions, member_reports
from hub.state import HubState
from shared.api import names
from shared.kube import errors
from shared.ops.logging import get_logger

_log = get_logger("hub.report_trust")


async def sync_capacity_condition(state: HubState, *, namespace: str, cluster: str) -> None:
    member = state.members.get(f"{namespace}/{cluster}")
    if member is None:
        return
    status = member.get("status") or {}
    wanted = member_reports.capacity_condition(status)
    if wanted is None:
        return
    current = conditions.find(status.get("conditions"), member_reports.CONDITION_CAPACITY_TRUSTED)
    if (
        current is not None
        and (current.get("status"), current.get("reason"), current.get("message")) == wanted
    ):
        return
    new_conditions = conditions.set_condition(
        status.get("conditions"),
        type=member_reports.CONDITION_CAPACITY_TRUSTED,
        status=wanted[0],
        reason=wanted[1],
        message=wanted[2],
    )
    with contextlib.suppress(errors.Conflict):
        await state.hub_api.patch_status(
            names.CLUSTER_API_VERSION,
            names.KIND_MEMBER_CLUSTER,
            name=cluster,
            namespace=namespace,
            patch={
                "metadata": {"resourceVersion": (member.get("metadata") or {}).get("resourceVersion")},
                "status": {"conditions": new_conditions},
            },
        )
        _log.info("member.capacity_trust", cluster=cluster, trusted=wanted[0], reason=wanted[1])
