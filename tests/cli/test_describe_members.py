"""describe, version, cordon/uncordon/taint and completion, as real processes against a fleet."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path

from shared.api import names
from tests.cli.cli_helpers import cli_env, eventually, waybill, web_objects
from tests.cli.test_unjoin import kubectl_apply
from waybill.fleet import Fleet
from waybill.version import client_version


async def test_describe_member_and_template_with_reasons_state_drift_and_events(fleet: Fleet) -> None:
    hub = str(fleet.hub.kubeconfig_path)
    # The member already runs a different web: the agent will not take it over (IfNoDiff) and
    # reports the differences, which describe shows under Drift.
    member_api = fleet.member_apis["eu1"]
    await member_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    objects = web_objects(cluster_names=["eu1"])
    other = json.loads(json.dumps(objects[1]))
    other["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:0"
    await member_api.create(other)
    await kubectl_apply(fleet, objects)

    async def work_there() -> bool:
        works = await fleet.hub_api.list(names.WORK_API_VERSION, names.KIND_WORK, namespace="member-eu1")
        return bool(works.items and (works.items[0].get("status") or {}).get("manifestConditions"))

    await eventually(work_there, what="Work status on eu1")
    member = await waybill("describe", "cluster", "eu1", "--kubeconfig", hub)
    assert member.code == 0, member
    for text in (
        "Name:               eu1",
        "Mode:               Pull",
        "Heartbeat:",
        "Conditions:",
        "Works (1):",
        "Placed here (",
        "Deployment shop/web",
        "Events:",
    ):
        assert text in member.out, (text, member.out)
    # drift: someone edits the Deployment on eu1 behind Waybill's back; the agent reports it
    await fleet.member_apis["eu1"].patch(
        "apps/v1",
        "Deployment",
        name="web",
        namespace="shop",
        patch={"metadata": {"labels": {"app": "web", "x": "y"}}, "spec": {"replicas": 5}},
    )

    async def drift_seen() -> str | None:
        result = await waybill("describe", "deploy/web", "-n", "shop", "--kubeconfig", hub)
        assert result.code == 0, result
        return result.out if "eu1: " in result.out.split("Drift:")[1] else None

    out = await eventually(drift_seen, within=30, what="drift in describe")
    assert "Placement: Scheduled" in out
    assert re.search(r"eu1\s+chosen\s+Scheduled", out), out
    assert re.search(r"us1\s+left out\s+NotInClusterNames", out), out
    assert "CLUSTER" in out and "APPLIED" in out  # per-member state
    assert "nginx:0" in out and "nginx:1" in out, out  # member vs hub value
    assert "Events:" in out and "NotTakenOver" in out.split("Events:")[1], out  # the agent's Event
    by_binding = await waybill("describe", "rb", "web-deployment", "-n", "shop", "--kubeconfig", hub)
    assert by_binding.code == 0 and "Placement:" in by_binding.out, by_binding
    policy = await waybill("describe", "pp", "web", "-n", "shop", "--kubeconfig", hub)
    assert policy.code == 0, policy
    for text in (
        "PropagationPolicy shop/web",
        "clusterNames:",
        "Conditions:",
        "Bindings (1):",
        "Deployment shop/web -> eu1(2)",
        "Events:",
    ):
        assert text in policy.out, (text, policy.out)
    nothing = await waybill("describe", "cluster/nope", "--kubeconfig", hub)
    assert nothing.code == 1 and nothing.err.strip().startswith('error: membercluster "nope" not found')


async def test_version_reports_client_hub_and_agents(fleet: Fleet) -> None:
    hub = str(fleet.hub.kubeconfig_path)

    async def agents_reported() -> dict | None:
        result = await waybill("version", "-o", "json", "--kubeconfig", hub)
        assert result.code == 0, result
        info = json.loads(result.out)
        return info if all(v != "<not reported>" for v in info["agents"].values()) else None

    info = await eventually(agents_reported, what="agent versions")
    assert info["clientVersion"] == client_version()
    assert info["hubVersion"].startswith("v1.")
    assert info["agents"] == {"eu1": client_version(), "us1": client_version()}
    plain = await waybill("version", "--kubeconfig", hub)
    assert plain.out.startswith(f"Client Version: {client_version()}\nHub API Server Version: v1.")
    client = await waybill("version", "--client", "--kubeconfig", "/nonexistent")
    assert client.code == 0 and client.out.strip() == f"Client Version: {client_version()}"


async def test_cordon_keeps_new_placements_away_and_taint_round_trips(fleet: Fleet) -> None:
    hub = str(fleet.hub.kubeconfig_path)
    cordon = await waybill("cordon", "us1", "--kubeconfig", hub)
    assert cordon.code == 0 and cordon.out.strip() == "membercluster/us1 cordoned", cordon
    again = await waybill("cordon", "us1", "--kubeconfig", hub)
    assert again.out.strip() == "membercluster/us1 already cordoned"
    listed = await waybill("get", "clusters", "--kubeconfig", hub)
    assert "cluster.waybill.dev/unschedulable:NoSchedule" in listed.out
    await kubectl_apply(fleet, web_objects(cluster_names=["eu1", "us1"]))

    async def decided() -> dict | None:
        try:
            binding = await fleet.hub_api.get(
                names.WORK_API_VERSION, names.KIND_RESOURCE_BINDING, name="web-deployment", namespace="shop"
            )
        except Exception:
            return None
        return (binding.get("status") or {}).get("schedulingDecision")

    decision = await eventually(decided, what="scheduling decision")
    assert [t["cluster"] for t in decision["targets"]] == ["eu1"]
    assert any(r["cluster"] == "us1" and r["reason"] == "TaintNotTolerated" for r in decision["rejected"])
    assert (await waybill("uncordon", "us1", "--kubeconfig", hub)).code == 0

    async def placed_on_both() -> bool:
        found = await decided()
        return bool(found and sorted(t["cluster"] for t in found["targets"]) == ["eu1", "us1"])

    await eventually(placed_on_both, what="us1 schedulable again")

    added = await waybill("taint", "clusters", "eu1", "gpu=none:NoSchedule", "--kubeconfig", hub)
    assert added.code == 0, added
    dup = await waybill("taint", "clusters", "eu1", "gpu=other:NoSchedule", "--kubeconfig", hub)
    assert dup.code == 2 and "already exists (pass --overwrite)" in dup.err, dup
    assert (
        await waybill("taint", "mc", "eu1", "gpu=other:NoSchedule", "--overwrite", "--kubeconfig", hub)
    ).code == 0
    member = await fleet.hub_api.get(
        names.CLUSTER_API_VERSION, names.KIND_MEMBER_CLUSTER, name="eu1", namespace="member-eu1"
    )
    assert {"key": "gpu", "value": "other", "effect": "NoSchedule"} in member["spec"]["taints"]
    assert (await waybill("taint", "clusters", "eu1", "gpu-", "--kubeconfig", hub)).code == 0
    gone = await waybill("taint", "clusters", "eu1", "gpu:NoSchedule-", "--kubeconfig", hub)
    assert gone.code == 2 and "not found" in gone.err
    bad = await waybill("taint", "clusters", "eu1", "gpu=x:Sometimes", "--kubeconfig", hub)
    assert bad.code == 2 and "effect 'Sometimes' is not one of" in bad.err
    assert (await waybill("cordon", "mars", "--kubeconfig", hub)).code == 1


async def test_completion_scripts(tmp_path: Path) -> None:
    script = await waybill("completion", "bash")
    assert script.code == 0
    path = tmp_path / "waybill.bash"
    path.write_text(script.out)

    def complete(*words: str) -> list[str]:
        line = " ".join(f"'{w}'" for w in words)
        index = len(words) - 1
        body = f'source {path}; COMP_WORDS=({line}); COMP_CWORD={index}; _waybill; echo "${{COMPREPLY[@]}}"'
        return subprocess.run(["bash", "-c", body], capture_output=True, text=True, check=True).stdout.split()

    assert "describe" in await asyncio.to_thread(complete, "waybill", "de")
    assert await asyncio.to_thread(complete, "waybill", "get", "--all-n") == ["--all-namespaces"]
    assert "works" in await asyncio.to_thread(complete, "waybill", "get", "wo")
    assert await asyncio.to_thread(complete, "waybill", "completion", "z") == ["zsh"]
    zsh = await waybill("completion", "zsh")
    assert "bashcompinit" in zsh.out and "_waybill()" in zsh.out
    fish = await waybill("completion", "fish")
    assert "complete -c waybill -n __fish_use_subcommand -a promote" in fish.out
    assert (await waybill("completion", "tcsh")).code == 2


async def test_completion_offers_member_names_from_the_hub(fleet: Fleet, tmp_path: Path) -> None:
    script = await waybill("completion", "bash")
    path = tmp_path / "waybill.bash"
    path.write_text(script.out)
    body = f'source {path}; COMP_WORDS=(waybill cordon ""); COMP_CWORD=2; _waybill; echo "${{COMPREPLY[@]}}"'
    env = {
        "KUBECONFIG": str(fleet.hub.kubeconfig_path),
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
    }
    process = await asyncio.create_subprocess_exec(
        "bash", "-c", body, stdout=asyncio.subprocess.PIPE, env=cli_env(env)
    )
    out, _ = await asyncio.wait_for(process.communicate(), 30)
    assert sorted(out.decode().split()) == ["eu1", "us1"]


async def test_describe_policy_shows_clusters_that_are_not_members(fleet: Fleet) -> None:
    hub = str(fleet.hub.kubeconfig_path)
    await kubectl_apply(fleet, web_objects(cluster_names=["eu1", "us-1"]))

    async def flagged() -> str | None:
        result = await waybill("describe", "pp", "web", "-n", "shop", "--kubeconfig", hub)
        assert result.code == 0, result
        return result.out if "UnknownClusters" in result.out.split("Events:")[1] else None

    out = await eventually(flagged, within=30, what="the policy's UnknownClusters Event")
    assert re.search(r"ClustersResolved\s+False\s+UnknownClusters", out), out
    assert "us-1" in out and "Deployment shop/web -> eu1(2)" in out, out
