"""Acts on what ``hub.member_reports`` and ``hub.manifest_sealing`` decide about a member's report
(thin I/O shell): pins the member's sealing signer (trust on first use, in an annotation the
agent cannot write), and writes the ``CapacityTrusted`` and ``SealingKeyTrusted`` conditions.

Called by the members controller on every pass over a member; it writes only when something
changes, the status conditionally on the MemberCluster it read (the agent writes this status
too: on a conflict the agent's own write brings the member back to the queue).
"""

from __future__ import annotations

import contextlib

from hub import conditions, manifest_sealing, member_reports, status_writes
from hub.state import HubState
from shared import sealing
from shared.api import names
from shared.kube import errors
from shared.ops.logging import get_logger

_log = get_logger("hub.report_trust")


async def sync_member_reports(state: HubState, *, namespace: str, cluster: str) -> None:
    member = state.members.get(f"{namespace}/{cluster}")
    if member is None:
        return
    meta = member.get("metadata") or {}
    status = member.get("status") or {}
    raw_key = status.get("sealingKey") if isinstance(status.get("sealingKey"), dict) else None
    pinned = (meta.get("annotations") or {}).get(sealing.PIN_ANNOTATION)
    signer = manifest_sealing.signer_to_pin(raw_key, pinned=pinned)
    if signer is not None:
        await state.hub_api.patch(
            names.CLUSTER_API_VERSION,
            names.KIND_MEMBER_CLUSTER,
            name=cluster,
            namespace=namespace,
            patch={"metadata": {"annotations": {sealing.PIN_ANNOTATION: signer}}},
        )
        _log.info("member.sealing_signer_pinned", cluster=cluster, signer=signer)
        return  # the pin's own event brings the member back, with the conditions to write
    wanted = {
        member_reports.CONDITION_CAPACITY_TRUSTED: member_reports.capacity_condition(status),
        manifest_sealing.CONDITION_SEALING_KEY_TRUSTED: manifest_sealing.key_condition(
            raw_key, pinned=pinned
        ),
    }
    new_conditions = status.get("conditions")
    for kind, condition in wanted.items():
        if condition is None:
            continue
        current = conditions.find(new_conditions, kind)
        if (
            current is not None
            and (current.get("status"), current.get("reason"), current.get("message")) == condition
        ):
            continue
        new_conditions = conditions.set_condition(
            new_conditions, type=kind, status=condition[0], reason=condition[1], message=condition[2]
        )
    if new_conditions is status.get("conditions"):
        return
    with contextlib.suppress(errors.Conflict):
        await state.hub_api.patch_status(
            names.CLUSTER_API_VERSION,
            names.KIND_MEMBER_CLUSTER,
            name=cluster,
            namespace=namespace,
            patch={
                "metadata": {"resourceVersion": meta.get("resourceVersion")},
                "status": {"conditions": status_writes.member_conditions(new_conditions or [], own=wanted)},
            },
        )
        _log.info(
            "member.report_conditions", cluster=cluster, conditions=sorted(k for k, v in wanted.items() if v)
        )
