"""Unjoining a member whose agent is gone leaves nothing stuck on the hub (issue #13 / #17).

Before, each Work carried the agent's finalizer: with the agent dead, ``unjoin`` deleted the
Works (which waited for it forever) and then the namespace, which stayed ``Terminating``. The
agent now has no finalizer on Works, so the namespace goes. What it applied stays on the member
(nothing is deleted on a word the agent never got); deleting the member's AppliedWorks removes it
(garbage collection through their ownerReferences), as docs/agent.md says.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from shared.kube.errors import NotFound
from tests.agent.fleet import AW_API, Fleet, condition, configmap, eventually


@pytest.mark.parametrize("fleet", ["pull"], indirect=True)
async def test_unjoin_of_a_member_whose_agent_is_gone_leaves_no_namespace_terminating(fleet: Fleet) -> None:
    agent = await fleet.start_agent()
    await fleet.create_work("w", [configmap("cfg", namespace="default")])
    await fleet.wait_work("w", "Applied")
    await fleet.stop_agent(agent)  # the member is dead
    # what ``waybill unjoin`` does, through the hub API: delete the Works, then the namespace
    listed = await fleet.hub_admin.list(AW_API, "Work", namespace=fleet.namespace)
    for work in listed.items:
        with contextlib.suppress(NotFound):
            await fleet.hub_admin.delete(
                AW_API, "Work", name=work["metadata"]["name"], namespace=fleet.namespace
            )

    async def works_gone() -> bool:
        return not (await fleet.hub_admin.list(AW_API, "Work", namespace=fleet.namespace)).items

    await eventually(works_gone, within=10)
    await fleet.hub_admin.delete("v1", "Namespace", name=fleet.namespace)

    async def namespace_gone() -> bool:
        try:
            await fleet.hub_admin.get("v1", "Namespace", name=fleet.namespace)
        except NotFound:
            return True
        return False

    await eventually(namespace_gone, within=10)
    # the member keeps what was applied; deleting its AppliedWorks there removes it
    assert await fleet.member_get("v1", "ConfigMap", "cfg", "default") is not None
    await fleet.member_admin.delete(AW_API, "AppliedWork", name=f"{fleet.namespace}.w")

    async def collected() -> bool:
        return await fleet.member_get("v1", "ConfigMap", "cfg", "default") is None

    await eventually(collected, within=10)


@pytest.mark.parametrize("orphan", [False, True], ids=["delete", "orphan"])
async def test_a_deleted_work_held_by_another_finalizer_gets_removed_true(fleet: Fleet, orphan: bool) -> None:
    """What ``waybill unjoin`` waits for with a live agent: its own finalizer holds the deleted
    Work until the agent reports ``Removed=True``."""
    await fleet.start_agent()
    spec = {"deleteOption": {"propagationPolicy": "Orphan"}} if orphan else {}
    await fleet.create_work("held", [configmap("cfg", namespace="default")], **spec)
    await fleet.wait_work("held", "Applied")
    await fleet.hub_admin.patch(
        AW_API, "Work", name="held", namespace=fleet.namespace,
        patch={"metadata": {"finalizers": ["waybill.dev/unjoin"]}},
    )
    await fleet.hub_admin.delete(AW_API, "Work", name="held", namespace=fleet.namespace)

    async def reported() -> dict[str, Any] | None:
        work = await fleet.get_work("held")
        removed = condition(work, "Removed")
        return removed if removed and removed["status"] == "True" else None

    removed = await eventually(reported, within=20)
    assert removed["reason"] == ("ResourcesOrphaned" if orphan else "ResourcesRemoved")
    live = await fleet.member_get("v1", "ConfigMap", "cfg", "default")
    assert (live is not None) == orphan
    if live is not None:
        assert "waybill.dev/work-name" not in live["metadata"].get("labels", {})
    assert await fleet.member_get(AW_API, "AppliedWork", f"{fleet.namespace}.held") is None
    await fleet.hub_admin.patch(
        AW_API, "Work", name="held", namespace=fleet.namespace, patch={"metadata": {"finalizers": None}}
    )
