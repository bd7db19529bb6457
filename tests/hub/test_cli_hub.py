"""The hub-side CLI on kubesim: join (least-privilege identity), get, status, plan, unjoin."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubesim import SimServer
from shared.api import names
from shared.kube.client import KubeClient
from shared.kube.errors import Forbidden
from tests.hub.fleet import eventually, heartbeat, running_hub
from tests.hub.helpers import deployment, policy
from waybill import cli


async def waybill(*argv: str) -> int:
    return await asyncio.to_thread(cli.main, list(argv))


async def test_join_gives_the_agent_exactly_its_namespace(hub_sim: SimServer, tmp_path: Path) -> None:
    hub_config = str(hub_sim.kubeconfig_path)
    for name in ("eu1", "us1"):
        out = tmp_path / f"{name}.kubeconfig"
        code = await waybill(
            "join",
            name,
            "--kubeconfig",
            hub_config,
            "--label",
            "geo=eu",
            "--region",
            "eu-west",
            "--out",
            str(out),
        )
        assert code == 0
    async with await KubeClient.from_kubeconfig(hub_config) as hub_api:
        member = await hub_api.get(
            names.CLUSTER_API_VERSION, names.KIND_MEMBER_CLUSTER, name="eu1", namespace="member-eu1"
        )
        assert member["metadata"]["labels"] == {"geo": "eu"}
        assert member["spec"]["region"] == "eu-west"
        namespace = await hub_api.get("v1", "Namespace", name="member-eu1")
        assert namespace["metadata"]["labels"][names.LABEL_MEMBER] == "eu1"
    async with await KubeClient.from_kubeconfig(str(tmp_path / "eu1.kubeconfig")) as agent_api:
        assert (
            await agent_api.list(names.WORK_API_VERSION, names.KIND_WORK, namespace="member-eu1")
        ).items == []
        await agent_api.get(
            names.CLUSTER_API_VERSION, names.KIND_MEMBER_CLUSTER, name="eu1", namespace="member-eu1"
        )
        await agent_api.patch_status(
            names.CLUSTER_API_VERSION,
            names.KIND_MEMBER_CLUSTER,
            name="eu1",
            namespace="member-eu1",
            patch={"status": {"nodeCount": 3}},
        )
        for forbidden in (
            agent_api.list(names.WORK_API_VERSION, names.KIND_WORK, namespace="member-us1"),
            agent_api.list("apps/v1", "Deployment", namespace="default"),
            agent_api.get(
                names.CLUSTER_API_VERSION, names.KIND_MEMBER_CLUSTER, name="us1", namespace="member-us1"
            ),
            agent_api.delete(names.WORK_API_VERSION, names.KIND_WORK, name="x", namespace="member-eu1"),
        ):
            with pytest.raises(Forbidden):
                await forbidden
    # joining again is idempotent; a name that is not a DNS label is a usage error
    assert await waybill("join", "eu1", "--kubeconfig", hub_config, "--out", str(tmp_path / "again")) == 0
    assert await waybill("join", "Bad_Name", "--kubeconfig", hub_config) == 2
    assert await waybill("join", "x", "--kubeconfig", hub_config, "--label", "novalue") == 2
    assert await waybill("unjoin", "us1", "--kubeconfig", hub_config, "--wait", "1") == 0
    async with await KubeClient.from_kubeconfig(hub_config) as hub_api:
        gone = await hub_api.list("v1", "Namespace", label_selector=f"{names.LABEL_MEMBER}=us1")
        assert all(n["metadata"].get("deletionTimestamp") for n in gone.items)
    assert await waybill("unjoin", "nobody", "--kubeconfig", hub_config) == 1


async def test_get_and_status_show_the_fleet(
    hub_sim: SimServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hub_config = str(hub_sim.kubeconfig_path)
    async with running_hub(hub_config) as (_hub, hub_api):
        for name in ("eu1", "us1"):
            assert await waybill("join", name, "--kubeconfig", hub_config, "--out", str(tmp_path / name)) == 0
            await heartbeat(hub_api, f"member-{name}")  # a stand-in agent: the member is schedulable
        await hub_api.create(
            policy(
                "web",
                selectors=[{"apiVersion": "apps/v1", "kind": "Deployment"}],
                placement={"clusterAffinity": {"clusterNames": ["eu1"]}},
            )
        )
        await hub_api.create(deployment(replicas=2))

        async def placed() -> bool:
            found = await hub_api.get(
                names.WORK_API_VERSION,
                names.KIND_RESOURCE_BINDING,
                name="web-deployment",
                namespace="default",
            )
            return bool((found.get("status") or {}).get("aggregatedStatus"))

        await eventually(placed, what="binding with aggregated status")
        capsys.readouterr()
        assert await waybill("get", "clusters", "--kubeconfig", hub_config) == 0
        assert await waybill("get", "bindings", "--kubeconfig", hub_config) == 0
        assert await waybill("get", "works", "--kubeconfig", hub_config) == 0
        assert await waybill("status", "deployment/web", "--kubeconfig", hub_config) == 0
        out = capsys.readouterr().out
        assert "eu1" in out and "us1" in out
        assert "Deployment/web" in out and "eu1(2)" in out
        assert "Left out:" in out and "us1: NotInClusterNames" in out
        assert await waybill("status", "deployment/nothing", "--kubeconfig", hub_config) == 1
        assert await waybill("status", "nonsense", "--kubeconfig", hub_config) == 2


def write_yaml(path: Path, objects: list[dict[str, Any]]) -> str:
    path.write_text(yaml.safe_dump_all(objects), encoding="utf-8")
    return str(path)


def test_plan_prints_clusters_replicas_and_manifests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    members = [
        {
            "apiVersion": names.CLUSTER_API_VERSION,
            "kind": names.KIND_MEMBER_CLUSTER,
            "metadata": {"name": n, "namespace": f"member-{n}"},
        }
        for n in ("a", "b")
    ]
    spread = {"replicaScheduling": {"replicaSchedulingType": "Divided"}}
    override = {
        "apiVersion": names.POLICY_API_VERSION,
        "kind": "OverridePolicy",
        "metadata": {"name": "o", "namespace": "default"},
        "spec": {
            "overrideRules": [
                {
                    "targetCluster": {"clusterNames": ["b"]},
                    "overriders": {
                        "imageOverrider": [{"component": "Tag", "operator": "replace", "value": "2.0"}]
                    },
                }
            ]
        },
    }
    path = write_yaml(
        tmp_path / "plan.yaml",
        [
            *members,
            deployment(replicas=3),
            override,
            policy("p", selectors=[{"apiVersion": "apps/v1", "kind": "Deployment"}], placement=spread),
        ],
    )
    assert cli.main(["plan", "-f", path]) == 0
    out = capsys.readouterr().out
    assert "policy: PropagationPolicy/default/p" in out
    assert "image: nginx:2.0" in out and "replicas: 2" in out and "replicas: 1" in out
    bad = write_yaml(tmp_path / "bad.yaml", [{"just": "data"}])
    assert cli.main(["plan", "-f", bad]) == 2
    assert cli.main(["plan", "-f", str(tmp_path / "missing.yaml")]) == 2
    capsys.readouterr()
    invalid = policy(
        "twice",
        selectors=[{"apiVersion": "apps/v1", "kind": "Deployment"}],
        placement={"clusterAffinity": {"clusterNames": ["a"], "exclude": ["a"]}},
    )
    refused = write_yaml(tmp_path / "invalid.yaml", [*members, deployment(replicas=3), invalid])
    assert cli.main(["plan", "-f", refused]) == 2
    err = capsys.readouterr().err
    assert "PropagationPolicy/default/twice: spec.placement.clusterAffinity.exclude" in err
    assert "Traceback" not in err
    wrong_types = policy("typed", selectors=[{"apiVersion": "apps/v1", "kind": "Deployment"}])
    wrong_types["spec"]["resourceSelectors"] = "Deployment"  # (matching used to raise AttributeError)
    refused = write_yaml(tmp_path / "types.yaml", [*members, deployment(replicas=3), wrong_types])
    assert cli.main(["plan", "-f", refused]) == 2
    err = capsys.readouterr().err
    assert "typed" in err and "spec.resourceSelectors" in err and "Traceback" not in err


def test_hub_command_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["hub", "--kubeconfig", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    config = tmp_path / "hub.kubeconfig"
    config.write_text("apiVersion: v1\nkind: Config\n", encoding="utf-8")
    assert cli.main(["hub", "--kubeconfig", str(config), "--replica-path", "nonsense"]) == 2
    assert "GROUP/KIND=PATH" in capsys.readouterr().err
    assert cli.main(["hub", "--kubeconfig", str(config), "--workers", "0"]) == 2
    assert cli.main(["hub", "--kubeconfig", str(config), "--status-hold", "-1"]) == 2
    assert "--status-hold" in capsys.readouterr().err
