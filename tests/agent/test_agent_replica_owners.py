"""The agent option ``replica_managers`` (``waybill agent --replica-managers``), pull and push, with
server-side and client-side apply: a listed manager's replica count survives the Work's next
change (the member's new image is the fence: the agent applied after the scaler wrote)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.agent.fleet import Fleet, deployment, eventually


@pytest.mark.parametrize("strategy", ["ServerSideApply", "ClientSideApply"])
async def test_a_manager_the_agent_lists_keeps_its_replicas(fleet: Fleet, strategy: str) -> None:
    await fleet.start_agent(replica_managers=("my-scaler",))
    apply_strategy = {"type": strategy, "whenToTakeOver": "Always"}
    await fleet.create_work("web", [deployment("web", replicas=2)], applyStrategy=apply_strategy)
    await fleet.wait_work("web", "Applied")
    await fleet.member_admin.patch(
        "apps/v1",
        "Deployment",
        name="web",
        namespace="app",
        patch={"spec": {"replicas": 7}},
        field_manager="my-scaler",
    )
    await fleet.update_work_spec(
        "web", workload={"manifests": [deployment("web", replicas=3, image="nginx:2")]}
    )

    async def new_image() -> dict[str, Any] | None:
        live = await fleet.member_get("apps/v1", "Deployment", "web", "app")
        image = (
            ((live or {}).get("spec") or {}).get("template", {}).get("spec", {}).get("containers", [{}])[0]
        )
        return live if image.get("image") == "nginx:2" else None

    live = await eventually(new_image)
    assert live["spec"]["replicas"] == 7

    async def reported() -> bool:
        work = await fleet.get_work("web")
        for entry in ((work or {}).get("status") or {}).get("manifestConditions") or []:
            for c in entry.get("conditions") or []:
                if c["type"] == "ReplicasManagedOnMember":
                    return bool(c["reason"] == "ReplicaManager" and "my-scaler" in c["message"])
        return False

    await eventually(reported)
    assert (await fleet.member_get("apps/v1", "Deployment", "web", "app") or {})["spec"]["replicas"] == 7
