"""``waybill get`` / ``status`` with kubectl's conventions, run as real processes."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import pytest
import yaml

from shared.api import names
from tests.cli.cli_helpers import dump, eventually, waybill
from waybill.fleet import Fleet


async def placed(fleet: Fleet) -> None:
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
    from tests.cli.cli_helpers import web_objects

    _, err = await proc.communicate(dump(web_objects(cluster_names=["eu1"])))
    assert proc.returncode == 0, err

    async def applied() -> bool:
        try:
            await fleet.member_apis["eu1"].get("apps/v1", "Deployment", name="web", namespace="shop")
        except Exception:
            return False
        return True

    await eventually(applied, what="web on eu1")


@pytest.mark.timeout(180)  # many CLI subprocesses: 25-48 s on a loaded 2-core machine
async def test_get_output_formats_names_and_kind_aliases(fleet: Fleet) -> None:
    hub = str(fleet.hub.kubeconfig_path)
    await placed(fleet)
    for word in ("clusters", "cluster", "mc", "memberclusters.cluster.waybill.dev", "MemberCluster"):
        result = await waybill("get", word, "--kubeconfig", hub)
        assert result.code == 0, result
        assert "eu1" in result.out and "us1" in result.out and "MODE" in result.out, result
    one = await waybill("get", "cluster", "eu1", "-o", "json", "--kubeconfig", hub)
    assert one.code == 0, one
    body = json.loads(one.out)
    assert body["kind"] == names.KIND_MEMBER_CLUSTER and body["metadata"]["name"] == "eu1"
    assert "managedFields" not in body["metadata"]
    listed = yaml.safe_load((await waybill("get", "mc", "-o", "yaml", "--kubeconfig", hub)).out)
    assert listed["kind"] == "List" and sorted(i["metadata"]["name"] for i in listed["items"]) == [
        "eu1",
        "us1",
    ]
    name = await waybill("get", "clusters", "-o", "name", "-l", "env=prod", "--kubeconfig", hub)
    assert name.out.split() == ["membercluster.cluster.waybill.dev/eu1"], name
    path = await waybill(
        "get",
        "mc",
        "-o",
        "jsonpath={range .items[*]}{.metadata.name}:{.spec.region}{'\\n'}{end}",
        "--kubeconfig",
        hub,
    )
    assert path.out.splitlines() == ["eu1:eu", "us1:us"], path
    wide = await waybill("get", "clusters", "-o", "wide", "--kubeconfig", hub)
    assert "LABELS" in wide.out and "env=prod" in wide.out, wide
    works = await waybill("get", "work", "-n", "member-eu1", "--kubeconfig", hub)
    assert works.code == 0 and "member-eu1" not in works.out.splitlines()[0] and "eu1" in works.out, works
    all_works = await waybill("get", "works", "-A", "--kubeconfig", hub)
    assert all_works.out.splitlines()[0].startswith("NAMESPACE"), all_works
    bindings = await waybill("get", "rb,works", "--kubeconfig", hub)
    assert "Deployment/web" in bindings.out and "eu1" in bindings.out, bindings
    missing = await waybill("get", "cluster", "nope", "--kubeconfig", hub)
    assert missing.code == 1 and missing.err.strip() == 'error: membercluster "nope" not found', missing
    bad = await waybill("get", "pods", "--kubeconfig", hub)
    assert bad.code == 2 and "not a Waybill kind" in bad.err and "Traceback" not in bad.err, bad
    bad_output = await waybill("get", "mc", "-o", "table", "--kubeconfig", hub)
    assert bad_output.code == 2 and "-o 'table'" in bad_output.err, bad_output


async def test_status_accepts_kubectl_kind_words(fleet: Fleet) -> None:
    hub = str(fleet.hub.kubeconfig_path)
    await placed(fleet)
    for word in ("deploy", "deployment", "deployments", "Deployment", "deployments.apps", "deploy.v1.apps"):
        result = await waybill("status", f"{word}/web", "-n", "shop", "--kubeconfig", hub)
        assert result.code == 0, (word, result)
        assert "Template:  Deployment shop/web" in result.out, result
    as_json = await waybill("status", "deploy/web", "-n", "shop", "-o", "json", "--kubeconfig", hub)
    assert json.loads(as_json.out)["kind"] == names.KIND_RESOURCE_BINDING
    unknown = await waybill("status", "gizmo/web", "-n", "shop", "--kubeconfig", hub)
    assert unknown.code == 2 and "does not serve a kind named 'gizmo'" in unknown.err, unknown


async def test_multi_file_kubeconfig_and_context(fleet: Fleet, tmp_path: Path) -> None:
    hub_config = yaml.safe_load(fleet.hub.kubeconfig_path.read_text())
    # File one: only a context named "fleet" pointing at the hub's cluster and user, from file two.
    ctx = hub_config["contexts"][0]["context"]
    first = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "fleet",
        "contexts": [{"name": "fleet", "context": ctx}],
    }
    second = {**hub_config, "current-context": "nowhere"}
    one, two = tmp_path / "one.yaml", tmp_path / "two.yaml"
    one.write_text(yaml.safe_dump(first))
    two.write_text(yaml.safe_dump(second))
    env = {"KUBECONFIG": f"{one}:{tmp_path / 'missing.yaml'}:{two}"}
    result = await waybill("get", "clusters", "-o", "name", env=env)
    assert result.code == 0, result
    assert "membercluster.cluster.waybill.dev/eu1" in result.out
    # --context picks a context defined in the second file
    hub_context = hub_config["contexts"][0]["name"]
    assert (await waybill("get", "clusters", "--context", hub_context, env=env)).code == 0
    wrong = await waybill("get", "clusters", "--context", "nope", env=env)
    assert wrong.code == 2 and "context 'nope' is not in the kubeconfig" in wrong.err, wrong


async def test_watch_prints_changes(fleet: Fleet) -> None:
    hub = str(fleet.hub.kubeconfig_path)
    template = "jsonpath={.metadata.name}={.metadata.labels.touched}"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "waybill",
        "get",
        "clusters",
        "-w",
        "-o",
        template,
        "--kubeconfig",
        hub,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        # As kubectl -w: each listed object on its own line, then one line per change.
        first = await asyncio.wait_for(process.stdout.readline(), 20)
        assert first.decode().strip() == "eu1=", first
        await fleet.hub_api.patch(
            names.CLUSTER_API_VERSION,
            names.KIND_MEMBER_CLUSTER,
            name="us1",
            namespace="member-us1",
            patch={"metadata": {"labels": {"touched": "yes"}}},
        )
        async with asyncio.timeout(20):
            while True:  # agents' status writes are changes too; wait for ours
                line = (await process.stdout.readline()).decode().strip()
                assert line, "watch ended"
                if line == "us1=yes":
                    break
        process.send_signal(signal.SIGINT)  # Ctrl-C ends a watch quietly
        _, err = await asyncio.wait_for(process.communicate(), 20)
        assert process.returncode == 130 and b"Traceback" not in err, err
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
