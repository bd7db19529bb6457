"""Member lifecycle end to end on kubesim: unjoin with the agent alive, with --keep-workloads, with
the agent dead (report, then --force), and a namespace that never stays Terminating."""

from __future__ import annotations

import asyncio
from typing import Any

from shared.api import names
from shared.kube.errors import NotFound
from tests.cli.cli_helpers import dump, eventually, waybill, web_objects
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
    assert "removed 1 object(s)" in result.out and "member eu1 unjoined" in result.out, result
    assert await member_deployment(fleet, "eu1") is None
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
