"""Member lifecycle end to end on kubesim: unjoin with the agent alive, with --keep-workloads, with
the agent dead (report, then --force), and a namespace that never stays Terminating."""

from __future__ import annotations

import asyncio
from typing import Any

from shared.api import names
from shared.kube.errors import NotFound
from tests.cli.cli_helpers import dump, eventually, waybill, web_objects
from waybill import unjoining
from waybill.fleet import Fleet


async def kubectl_apply(fleet: Fleet, objects: list[dict[str, Any]]) -> None:
    proc = await asyncio.create_subprocess_exec(
        "kubectl",
        "--kubeconfig",
        str(fleet.hub.kubeconfig_path),
        "apply",
        "-f",
        "-",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate(dump(objects))
    assert proc.returncode == 0, err


async def member_deployment(fleet: Fleet, cluster: str) -> dict[str, Any] | None:
    try:
        return await fleet.member_apis[cluster].get("apps/v1", "Deployment", name="web", namespace="shop")
    except NotFound:
        return None


async def deploy_web(fleet: Fleet, cluster: str) -> dict[str, Any]:
    await kubectl_apply(fleet, web_objects(cluster_names=[cluster]))
    return await eventually(lambda: member_deployment(fleet, cluster), what=f"web on {cluster}")  # type: ignore[no-any-return]


async def namespace_gone(fleet: Fleet, name: str) -> bool:
    try:
        await fleet.hub_api.get("v1", "Namespace", name=name)
    except NotFound:
        return True
    return False


async def lease_expired(fleet: Fleet, cluster: str) -> bool:
    from datetime import UTC, datetime

    from waybill.unjoining import agent_state

    lease = await fleet.hub_api.get(
        "coordination.k8s.io/v1", "Lease", name=names.HEARTBEAT_LEASE_NAME, namespace=f"member-{cluster}"
    )
    return not agent_state(lease, now=datetime.now(tz=UTC)).alive


async def test_unjoin_with_live_agent_removes_what_waybill_applied(fleet: Fleet) -> None:
    hub = str(fleet.hub.kubeconfig_path)
    await deploy_web(fleet, "eu1")
    result = await waybill("unjoin", "eu1", "--kubeconfig", hub)
    assert result.code == 0, result
    assert "member eu1 unjoined" in result.out, result
    assert "removed 1 object(s)" in result.out, result

    async def removed() -> bool:
        return await member_deployment(fleet, "eu1") is None

    await eventually(removed, what="web removed from eu1")
    assert await namespace_gone(fleet, "member-eu1")  # gone, not Terminating: unjoin waited


async def test_unjoin_keep_workloads_leaves_the_same_object_running(fleet: Fleet) -> None:
    hub = str(fleet.hub.kubeconfig_path)
    before = await deploy_web(fleet, "us1")
    result = await waybill("unjoin", "us1", "--keep-workloads", "--kubeconfig", hub)
    assert result.code == 0, result
    assert "Deployment shop/web" in result.out and "no longer managed" in result.out, result
    after = await member_deployment(fleet, "us1")
    assert after is not None and after["metadata"]["uid"] == before["metadata"]["uid"]
    assert await namespace_gone(fleet, "member-us1")


async def test_unjoin_with_dead_agent_reports_then_force_finishes_cleanly(fleet: Fleet) -> None:
    hub = str(fleet.hub.kubeconfig_path)
    before = await deploy_web(fleet, "eu1")
    await fleet.agents["eu1"].stop()
    await eventually(lambda: lease_expired(fleet, "eu1"), what="eu1 heartbeat expired")
    refused = await waybill("unjoin", "eu1", "--kubeconfig", hub)
    assert refused.code == 1, refused
    assert "agent of eu1 is not running" in refused.err, refused
    assert "these 1 object(s) will remain on eu1" in refused.err, refused
    assert "  Deployment shop/web" in refused.err, refused
    assert "--force" in refused.err and "Traceback" not in refused.err
    # Nothing was changed: still a member, its Work still there.
    namespace = await fleet.hub_api.get("v1", "Namespace", name="member-eu1")
    assert namespace["metadata"]["labels"][names.LABEL_MEMBER] == "eu1"
    works = (await fleet.hub_api.list(names.WORK_API_VERSION, names.KIND_WORK, namespace="member-eu1")).items
    assert works and not any(w["metadata"].get("deletionTimestamp") for w in works)

    forced = await waybill("unjoin", "eu1", "--force", "--wait", "10", "--kubeconfig", hub)
    assert forced.code == 0, forced
    assert "Deployment shop/web" in forced.out and "member eu1 unjoined" in forced.out, forced
    assert await namespace_gone(fleet, "member-eu1")  # no Work finalizer held it Terminating
    still = await member_deployment(fleet, "eu1")
    assert still is not None and still["metadata"]["uid"] == before["metadata"]["uid"]


async def test_unjoin_unknown_member_is_one_line(fleet: Fleet) -> None:
    result = await waybill("unjoin", "nobody", "--kubeconfig", str(fleet.hub.kubeconfig_path))
    assert result.code == 1 and result.err.count("\n") == 1 and "no member namespace" in result.err, result


async def _force_unjoin_dead_eu1(fleet: Fleet) -> dict[str, Any]:
    hub = str(fleet.hub.kubeconfig_path)
    before = await deploy_web(fleet, "eu1")
    await fleet.agents["eu1"].stop()
    await eventually(lambda: lease_expired(fleet, "eu1"), what="eu1 heartbeat expired")
    forced = await waybill("unjoin", "eu1", "--force", "--wait", "10", "--kubeconfig", hub)
    assert forced.code == 0, forced
    return before


async def _rejoin_and_start_agent(fleet: Fleet, tmp_path: Any) -> Any:
    from agent.config import AgentConfig
    from agent.runner import Agent
    from shared.kube.client import KubeClient

    out = tmp_path / "eu1-again.kubeconfig"
    joined = await waybill("join", "eu1", "--kubeconfig", str(fleet.hub.kubeconfig_path), "--out", str(out))
    assert joined.code == 0, joined
    hub_api = await KubeClient.from_kubeconfig(out, name="hub-as-eu1")
    member_api = await KubeClient.from_kubeconfig(fleet.members["eu1"].kubeconfig_path, name="eu1")
    agent = Agent(
        hub_api=hub_api,
        member_api=member_api,
        config=AgentConfig(
            cluster="eu1", heartbeat_interval=0.5, lease_duration_seconds=2, orphaned_applied_work_grace=1.0
        ),
    )
    await agent.start()
    return agent, hub_api, member_api


async def test_agent_started_after_force_unjoin_adopts_what_the_hub_still_wants(
    fleet: Fleet, tmp_path: Any
) -> None:
    before = await _force_unjoin_dead_eu1(fleet)
    agent, hub_api, member_api = await _rejoin_and_start_agent(fleet, tmp_path)
    try:

        async def applied_again() -> bool:
            works = await fleet.hub_api.list(names.WORK_API_VERSION, names.KIND_WORK, namespace="member-eu1")
            return any(
                c.get("type") == "Applied" and c.get("status") == "True"
                for w in works.items
                for c in (w.get("status") or {}).get("conditions") or []
            )

        await eventually(applied_again, what="the policy's Work applied on the rejoined eu1")
        live = await member_deployment(fleet, "eu1")
        assert (
            live is not None and live["metadata"]["uid"] == before["metadata"]["uid"]
        )  # adopted, not re-created
    finally:
        await agent.stop()
        await hub_api.close()
        await member_api.close()


async def test_agent_started_after_force_unjoin_removes_what_the_hub_no_longer_wants(
    fleet: Fleet, tmp_path: Any
) -> None:
    await _force_unjoin_dead_eu1(fleet)
    await fleet.hub_api.delete(
        names.POLICY_API_VERSION, names.KIND_PROPAGATION_POLICY, name="web", namespace="shop"
    )
    await fleet.hub_api.delete("apps/v1", "Deployment", name="web", namespace="shop")
    agent, hub_api, member_api = await _rejoin_and_start_agent(fleet, tmp_path)
    try:

        async def removed() -> bool:
            return await member_deployment(fleet, "eu1") is None

        # Its AppliedWork names a Work the hub no longer has: after the grace period it goes.
        await eventually(removed, within=30, what="the orphaned Deployment removed from eu1")
    finally:
        await agent.stop()
        await hub_api.close()
        await member_api.close()


async def test_join_with_an_unwritable_out_is_one_line(fleet: Fleet, tmp_path: Any) -> None:
    out = tmp_path / "no-such-dir" / "x.kubeconfig"
    result = await waybill("join", "eu3", "--out", str(out), "--kubeconfig", str(fleet.hub.kubeconfig_path))
    assert result.code == 1 and "Traceback" not in result.err, result
    assert result.err.strip().splitlines() == [
        f"error: member eu3 joined, but its agent kubeconfig could not be written to {out}: "
        "No such file or directory; run join again with another --out"
    ]


async def test_a_half_done_unjoin_is_found_and_finished_by_a_rerun(fleet: Fleet) -> None:
    # As left by an unjoin that stopped after deregistering (e.g. Works still finalizing).
    await fleet.hub_api.patch(
        "v1",
        "Namespace",
        name="member-us1",
        patch={
            "metadata": {
                "labels": {names.LABEL_MEMBER: None},
                "annotations": {unjoining.ANNOTATION_UNJOINING: "us1"},
            }
        },
    )
    result = await waybill("unjoin", "us1", "--kubeconfig", str(fleet.hub.kubeconfig_path))
    assert result.code == 0 and "member us1 unjoined" in result.out, result
    assert await namespace_gone(fleet, "member-us1")
