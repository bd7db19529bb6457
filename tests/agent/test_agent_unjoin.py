"""Unjoining a member whose agent is gone leaves nothing stuck on the hub (issue #13 / #17).

Before, each Work carried the agent's finalizer: with the agent dead, ``unjoin`` deleted the
Works (which waited for it forever) and then the namespace, which stayed ``Terminating``. The
agent now has no finalizer on Works, so the namespace goes. What it applied stays on the member
(nothing is deleted on a word the agent never got); deleting the member's AppliedWorks removes it
(garbage collection through their ownerReferences), as docs/agent.md says.
"""

from __future__ import annotations

import contextlib

import pytest

from shared.kube.errors import NotFound
from tests.agent.fleet import AW_API, Fleet, configmap, eventually


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
