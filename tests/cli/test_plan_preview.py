"""``waybill plan`` against a live hub, and ``plan --diff`` answered by real agents (pull: eu1,
push: us1), run as real processes; objects are applied with real ``kubectl``."""

from __future__ import annotations

import asyncio
import base64
import copy
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from shared.api import names
from tests.cli.cli_helpers import Result, cli_env, dump, eventually, waybill, web_objects
from waybill.fleet import Fleet

# Each test runs the CLI several times as a process (about 2 s each, more on a loaded host).
pytestmark = pytest.mark.timeout(180)


async def kubectl(fleet: Fleet, *argv: str, stdin: bytes | None = None) -> Result:
    proc = await asyncio.create_subprocess_exec(
        "kubectl",
        "--kubeconfig",
        str(fleet.hub.kubeconfig_path),
        *argv,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin), timeout=30)
    return Result(int(proc.returncode or 0), out.decode(), err.decode())


async def apply(fleet: Fleet, objects: list[dict[str, Any]]) -> None:
    result = await kubectl(fleet, "apply", "-f", "-", stdin=dump(objects))
    assert result.code == 0, result


async def member_object(fleet: Fleet, cluster: str, api_version: str, kind: str, name: str) -> Any:
    try:
        return await fleet.member_apis[cluster].get(api_version, kind, name=name, namespace="shop")
    except Exception:
        return None


async def preview_works_left(fleet: Fleet) -> list[str]:
    result = await kubectl(fleet, "get", "works", "-A", "-l", names.LABEL_PREVIEW, "-o", "name")
    assert result.code == 0, result
    return result.out.split()


def labelled(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """web_objects with a label ``tier: web`` on the Deployment (so a change can drop it)."""
    out = copy.deepcopy(objects)
    out[1]["metadata"]["labels"] = {**out[1]["metadata"]["labels"], "tier": "web"}
    return out


async def placed(fleet: Fleet, objects: list[dict[str, Any]], *, clusters: list[str]) -> None:
    await apply(fleet, objects)
    for cluster in clusters:

        async def there(cluster: str = cluster) -> Any:
            return await member_object(fleet, cluster, "apps/v1", "Deployment", "web")

        await eventually(there, what=f"web on {cluster}")


async def test_a_policy_alone_is_planned_over_the_live_templates(fleet: Fleet, tmp_path: Path) -> None:
    hub = str(fleet.hub.kubeconfig_path)
    objects = web_objects(cluster_names=["eu1"])
    await placed(fleet, objects, clusters=["eu1"])
    widened = copy.deepcopy(objects[2])
    widened["spec"]["placement"]["clusterAffinity"]["clusterNames"] = ["eu1", "us1"]
    path = tmp_path / "policy.yaml"
    path.write_bytes(dump([widened]))
    result = await waybill("plan", "-f", str(path), "--kubeconfig", hub, "--no-manifests")
    assert result.code == 0, result
    assert "== Deployment/shop/web (live on the hub)" in result.out, result
    # a namespaced policy cannot claim the (cluster-scoped) Namespace it names, on the hub or here
    assert "Namespace/shop" not in result.out, result
    section = result.out.split("== Deployment/shop/web")[1].split("==")[0]
    assert "policy: PropagationPolicy/shop/web\n" in section, result
    # planned replicas, and the current placement beside them (from the binding)
    rows = [line.split() for line in section.splitlines()]
    assert ["CLUSTER", "REPLICAS", "NOW"] in rows, result
    assert ["eu1", "2", "2"] in rows and ["us1", "2", "not", "placed"] in rows, result
    # the file's policy replaces its live version instead of competing with it
    assert result.out.count("== Deployment/shop/web") == 1, result
    # nothing was written: the live policy still places web on eu1 only
    live = await kubectl(fleet, "get", "pp", "web", "-n", "shop", "-o", "jsonpath={.spec.placement}")
    assert '"clusterNames":["eu1"]' in live.out.replace(" ", ""), live
    # a new policy of higher priority would claim web: the plan says which one claims it now
    rival = copy.deepcopy(widened)
    rival["metadata"]["name"] = "rival"
    rival["spec"]["priority"] = 10
    path.write_bytes(dump([rival]))
    moved = await waybill("plan", "-f", str(path), "--kubeconfig", hub, "--no-manifests")
    assert moved.code == 0, moved
    assert "policy: PropagationPolicy/shop/rival (now: PropagationPolicy/shop/web)" in moved.out, moved
    # a kind the hub does not serve is a warning, the rest is planned
    unserved = copy.deepcopy(widened)
    unserved["spec"]["resourceSelectors"].append({"apiVersion": "example.com/v1", "kind": "Widget"})
    path.write_bytes(dump([unserved]))
    warned = await waybill("plan", "-f", str(path), "--kubeconfig", hub, "--no-manifests")
    assert warned.code == 0 and "== Deployment/shop/web (live on the hub)" in warned.out, warned
    assert "warning: the hub does not serve example.com/v1 Widget" in warned.err, warned
    # a template the hub's API server refuses: exit 2, naming it (checked by a dry run, not stored)
    broken = copy.deepcopy(objects[1])
    broken["spec"]["replicas"] = "many"
    path.write_bytes(dump([broken]))
    invalid = await waybill("plan", "-f", str(path), "--kubeconfig", hub, "--no-manifests")
    assert invalid.code == 2 and "Deployment/shop/web: the hub refuses it" in invalid.err, invalid
    assert len(invalid.err.strip().splitlines()) == 1 and "Traceback" not in invalid.err, invalid
    # one the hub cannot check (its namespace does not exist there) is planned as written
    elsewhere = copy.deepcopy(objects[1])
    elsewhere["metadata"]["namespace"] = "nowhere"
    path.write_bytes(dump([elsewhere]))
    unchecked = await waybill("plan", "-f", str(path), "--kubeconfig", hub, "--no-manifests")
    assert unchecked.code == 0 and "== Deployment/nowhere/web\n" in unchecked.out, unchecked
    assert "warning: Deployment/nowhere/web: planned as written (the hub could not check it" in unchecked.err
    # without a hub, a policy-only file is still one clear line
    path.write_bytes(dump([widened]))
    offline = await waybill("plan", "-f", str(path))
    assert offline.code == 2 and "--kubeconfig" in offline.err and "Traceback" not in offline.err, offline
    # a policy the hub would refuse: exit 2, naming the object and field
    bad = copy.deepcopy(widened)
    bad["spec"]["placement"]["clusterAffinity"]["exclude"] = ["eu1"]
    path.write_bytes(dump([bad]))
    refused = await waybill("plan", "-f", str(path), "--kubeconfig", hub)
    assert refused.code == 2, refused
    assert "PropagationPolicy/shop/web: spec.placement.clusterAffinity.exclude" in refused.err, refused


async def test_plan_diff_shows_field_changes_per_member_and_leaves_no_work(
    fleet: Fleet, tmp_path: Path
) -> None:
    hub = str(fleet.hub.kubeconfig_path)
    objects = labelled(web_objects(cluster_names=["eu1", "us1"]))
    await placed(fleet, objects, clusters=["eu1", "us1"])
    changed = copy.deepcopy(objects[1])
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    del changed["metadata"]["labels"]["tier"]
    path = tmp_path / "image.yaml"
    path.write_bytes(dump([changed]))
    result = await waybill(
        "plan", "-f", str(path), "--kubeconfig", hub, "--diff", "--diff-timeout", "20", "--no-manifests"
    )
    assert result.code == 0, result
    for cluster in ("eu1", "us1"):
        section = result.out.split(f"== diff on {cluster}:")[1].split("== ")[0]
        assert "Deployment/shop/web: 2 field(s)" in section, result
        assert "/spec/template/spec/containers/0/image: nginx:1 -> nginx:2" in section, result
        # a field the agent applies today that the new manifest drops: server-side apply removes it
        assert "/metadata/labels/tier: web -> (unset)" in section, result
    assert await preview_works_left(fleet) == []
    for cluster in ("eu1", "us1"):  # the preview wrote nothing on the members
        live = await member_object(fleet, cluster, "apps/v1", "Deployment", "web")
        assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1"
        assert live["metadata"]["labels"]["tier"] == "web"
    # the real Works are untouched and still applied
    managed = f"{names.LABEL_MANAGED_BY}={names.MANAGED_BY_VALUE}"
    works = await kubectl(fleet, "get", "works", "-A", "-l", managed, "-o", "name")
    assert len(works.out.split()) == 2, works
    # the template unchanged, a new ConfigMap the changed policy also selects
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "shop"}}
    config["data"] = {"k": "v"}
    selecting = copy.deepcopy(objects[2])
    selecting["spec"]["resourceSelectors"].append({"apiVersion": "v1", "kind": "ConfigMap", "name": "cfg"})
    # on us1 someone made cfg by hand: the policy's conflictResolution (Abort) would not take it over
    await fleet.member_apis["us1"].create({**config, "data": {"k": "theirs"}})
    path.write_bytes(dump([objects[1], config, selecting]))
    same = await waybill("plan", "-f", str(path), "--kubeconfig", hub, "--diff", "--no-manifests")
    assert same.code == 0, same
    assert same.out.count("Deployment/shop/web: no change") == 2, same
    eu1 = same.out.split("== diff on eu1:")[1].split("== ")[0]
    us1 = same.out.split("== diff on us1:")[1].split("== ")[0]
    assert "ConfigMap/shop/cfg: would be created (not on the member)" in eu1, same
    left_alone = "(not created by Waybill; whenToTakeOver=Never would leave it alone)"
    assert f"ConfigMap/shop/cfg: 1 field(s) differ {left_alone}" in us1, same
    assert "/data/k: theirs -> v" in us1, same
    assert await member_object(fleet, "eu1", "v1", "ConfigMap", "cfg") is None


async def test_a_member_whose_agent_is_down_is_reported_as_not_answering(
    fleet: Fleet, tmp_path: Path
) -> None:
    hub = str(fleet.hub.kubeconfig_path)
    objects = web_objects(cluster_names=["eu1", "us1"])
    await placed(fleet, objects, clusters=["eu1", "us1"])
    await fleet.agents["us1"].stop()
    changed = copy.deepcopy(objects[1])
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    path = tmp_path / "image.yaml"
    path.write_bytes(dump([changed]))
    result = await waybill(
        "plan", "-f", str(path), "--kubeconfig", hub, "--diff", "--diff-timeout", "6", "--no-manifests"
    )
    assert result.code == 1, result
    assert "== diff on us1: no answer within 6 s (its agent may be down" in result.out, result
    answered = result.out.split("== diff on eu1")[1]
    assert "/spec/template/spec/containers/0/image: nginx:1 -> nginx:2" in answered, result
    assert await preview_works_left(fleet) == []


async def test_ctrl_c_removes_the_preview_works(fleet: Fleet, tmp_path: Path) -> None:
    hub = str(fleet.hub.kubeconfig_path)
    objects = web_objects(cluster_names=["us1"])
    await placed(fleet, objects, clusters=["us1"])
    await fleet.agents["us1"].stop()  # nobody answers: the CLI waits
    path = tmp_path / "image.yaml"
    path.write_bytes(dump([objects[1]]))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "waybill", "plan", "-f", str(path), "--kubeconfig", hub, "--diff",
        "--diff-timeout", "120", "--no-manifests",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=cli_env(),
    )  # fmt: skip
    try:

        async def written() -> list[str]:
            return await preview_works_left(fleet)

        await eventually(written, within=30, what="the preview Work on the hub")
        process.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 130, err
    assert await preview_works_left(fleet) == []


async def test_a_secret_change_shows_redacted_values(fleet: Fleet, tmp_path: Path) -> None:
    hub = str(fleet.hub.kubeconfig_path)
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "shop"},
        "data": {"password": base64.b64encode(b"old-secret-value").decode()},
    }
    objects = web_objects(cluster_names=["eu1", "us1"])
    objects[2]["spec"]["resourceSelectors"].append({"apiVersion": "v1", "kind": "Secret", "name": "db"})
    await placed(fleet, [*objects, secret], clusters=["eu1", "us1"])
    for cluster in ("eu1", "us1"):

        async def there(cluster: str = cluster) -> Any:
            return await member_object(fleet, cluster, "v1", "Secret", "db")

        await eventually(there, what=f"the Secret on {cluster}")
    changed = {**secret, "data": None, "stringData": {"password": "new-secret-value"}}
    del changed["data"]
    path = tmp_path / "secret.yaml"
    path.write_bytes(dump([changed]))
    result = await waybill(
        "plan", "-f", str(path), "--kubeconfig", hub, "--diff", "--diff-timeout", "20", "--no-manifests"
    )
    assert result.code == 0, result
    for cluster in ("eu1", "us1"):
        section = result.out.split(f"== diff on {cluster}:")[1].split("== ")[0]
        assert "Secret/shop/db: 1 field(s)" in section, result
        assert "/data/password: (redacted) -> (redacted)" in section, result
    for value in (b"old-secret-value", b"new-secret-value"):
        assert value.decode() not in result.out + result.err
        assert base64.b64encode(value).decode() not in result.out + result.err
    assert await preview_works_left(fleet) == []


def preview_work(name: str, *, expires: str) -> dict[str, Any]:
    return {
        "apiVersion": names.WORK_API_VERSION,
        "kind": names.KIND_WORK,
        "metadata": {
            "name": name,
            "namespace": "member-eu1",
            "labels": {names.LABEL_PREVIEW: name},
            "annotations": {names.ANNOTATION_PREVIEW_EXPIRES: expires},
        },
        "spec": {
            "workload": {
                "manifests": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}]
            },
            "applyStrategy": {"type": "ReportDiff"},
        },
    }


async def test_the_hub_leaves_preview_works_alone_and_expired_ones_are_swept(
    fleet: Fleet, tmp_path: Path
) -> None:
    hub = str(fleet.hub.kubeconfig_path)
    objects = web_objects(cluster_names=["eu1"])
    await placed(fleet, objects, clusters=["eu1"])
    stale = preview_work("waybill-preview-stale", expires="2000-01-01T00:00:00Z")
    other = preview_work("waybill-preview-other", expires="2100-01-01T00:00:00Z")  # another user's
    await apply(fleet, [stale, other])
    # A template change makes the works controller rewrite eu1's Works: once the member runs the
    # new image it has reconciled that namespace, and left both preview Works as they were.
    changed = copy.deepcopy(objects[1])
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    await apply(fleet, [changed])

    async def rolled() -> bool:
        live = await member_object(fleet, "eu1", "apps/v1", "Deployment", "web")
        return bool(live) and live["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2"

    await eventually(rolled, what="nginx:2 on eu1")
    generations = await kubectl(
        fleet, "get", "works", "-n", "member-eu1", "-l", names.LABEL_PREVIEW,
        "-o", "jsonpath={range .items[*]}{.metadata.name}={.metadata.generation} {end}",
    )  # fmt: skip
    assert sorted(generations.out.split()) == ["waybill-preview-other=1", "waybill-preview-stale=1"], (
        generations
    )
    path = tmp_path / "same.yaml"
    path.write_bytes(dump([changed]))
    result = await waybill("plan", "-f", str(path), "--kubeconfig", hub, "--diff", "--no-manifests")
    assert result.code == 0 and "Deployment/shop/web: no change" in result.out, result
    assert await preview_works_left(fleet) == ["work.work.waybill.dev/waybill-preview-other"]


async def test_an_override_policy_alone_is_previewed_per_member(fleet: Fleet, tmp_path: Path) -> None:
    hub = str(fleet.hub.kubeconfig_path)
    objects = web_objects(cluster_names=["eu1", "us1"])
    await placed(fleet, objects, clusters=["eu1", "us1"])
    override = {
        "apiVersion": names.POLICY_API_VERSION,
        "kind": "OverridePolicy",
        "metadata": {"name": "us-image", "namespace": "shop"},
        "spec": {
            "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}],
            "overrideRules": [
                {
                    "targetCluster": {"clusterNames": ["us1"]},
                    "overriders": {
                        "imageOverrider": [{"component": "Tag", "operator": "replace", "value": "2"}]
                    },
                }
            ],
        },
    }
    path = tmp_path / "override.yaml"
    path.write_bytes(dump([override]))
    result = await waybill("plan", "-f", str(path), "--kubeconfig", hub, "--diff", "--no-manifests")
    assert result.code == 0, result
    assert "== Deployment/shop/web (live on the hub)" in result.out, result
    eu1 = result.out.split("== diff on eu1:")[1].split("== ")[0]
    us1 = result.out.split("== diff on us1:")[1].split("== ")[0]
    assert "Deployment/shop/web: no change" in eu1, result
    assert "/spec/template/spec/containers/0/image: nginx:1 -> nginx:2" in us1, result
    # without resourceSelectors it would touch every template in its scope: said, not guessed
    del override["spec"]["resourceSelectors"]
    path.write_bytes(dump([override]))
    unselective = await waybill("plan", "-f", str(path), "--kubeconfig", hub, "--no-manifests")
    assert unselective.code == 2 and "no resource templates" in unselective.err, unselective
    assert "OverridePolicy/shop/us-image has no resourceSelectors" in unselective.err, unselective
    # a narrowed policy: the member it leaves would lose the template
    narrowed = copy.deepcopy(objects[2])
    narrowed["spec"]["placement"]["clusterAffinity"]["clusterNames"] = ["eu1"]
    path.write_bytes(dump([narrowed]))
    leaving = await waybill("plan", "-f", str(path), "--kubeconfig", hub, "--diff", "--no-manifests")
    assert leaving.code == 0, leaving
    assert "== diff on us1: 1 of 1 manifests would change" in leaving.out, leaving
    assert "Deployment/shop/web: would be removed (no longer placed on this member)" in leaving.out, leaving
    assert "Deployment/shop/web: no change" in leaving.out.split("== diff on eu1:")[1], leaving


async def test_what_the_user_may_not_read_or_write_is_a_warning_or_a_member_not_previewed(
    fleet: Fleet, tmp_path: Path
) -> None:
    # eu1's agent identity may read Works in member-eu1 only: no members, policies, templates,
    # interpreter customizations or bindings, no Work writes
    scoped = str(fleet.directory / "eu1-agent-hub.kubeconfig")
    objects = web_objects(cluster_names=["eu1"])
    eu1 = {
        "apiVersion": names.CLUSTER_API_VERSION,
        "kind": names.KIND_MEMBER_CLUSTER,
        "metadata": {"name": "eu1", "namespace": "member-eu1"},
    }
    path = tmp_path / "all.yaml"
    path.write_bytes(dump([*objects[1:], eu1]))
    result = await waybill("plan", "-f", str(path), "--kubeconfig", scoped, "--no-manifests")
    assert result.code == 0, result
    assert "== Deployment/shop/web\n   policy: PropagationPolicy/shop/web" in result.out, result
    refused = [line for line in result.err.splitlines() if line.startswith("warning: may not list ")]
    for what in ("MemberCluster", "PropagationPolicy", "ResourceInterpreterCustomization", "ResourceBinding"):
        assert any(f" {what} " in line for line in refused), result
    assert "Deployment/shop/web: planned as written (the hub could not check it: Forbidden" in result.err, (
        result
    )
    diff = await waybill("plan", "-f", str(path), "--kubeconfig", scoped, "--diff", "--no-manifests")
    assert diff.code == 1, diff
    assert "== diff on eu1: cannot write its preview Work: Forbidden" in diff.out, diff


async def test_dependencies_and_suspension_are_previewed_as_the_hub_would_apply_them(
    fleet: Fleet, tmp_path: Path
) -> None:
    """propagateDeps: the hub's ConfigMap the Deployment now references goes along, per member,
    marked as a dependency (read from the hub, not from the file); spec.suspension on us1: us1
    is not asked and nothing is said to change there."""
    hub = str(fleet.hub.kubeconfig_path)
    objects = web_objects(cluster_names=["eu1", "us1"])
    await placed(fleet, objects, clusters=["eu1", "us1"])
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "shop"}}
    await apply(fleet, [{**config, "data": {"k": "v"}}])  # on the hub only: no policy claims it
    changed = copy.deepcopy(objects[1])
    changed["spec"]["template"]["spec"]["containers"][0]["envFrom"] = [{"configMapRef": {"name": "cfg"}}]
    deps = copy.deepcopy(objects[2])
    deps["spec"]["propagateDeps"] = True
    deps["spec"]["suspension"] = {"dispatchingOnClusters": {"clusterNames": ["us1"]}}
    path = tmp_path / "deps.yaml"
    path.write_bytes(dump([changed, deps]))
    result = await waybill(
        "plan", "-f", str(path), "--kubeconfig", hub, "--diff", "--diff-timeout", "20", "--no-manifests"
    )
    assert result.code == 0, result
    assert "   dependencies (propagateDeps):\n     ConfigMap/shop/cfg -> eu1\n" in result.out, result
    assert "(suspended by spec.suspension.dispatchingOnClusters.clusterNames: gets nothing new)" in result.out
    eu1 = result.out.split("== diff on eu1:")[1].split("== ")[0]
    assert (
        "ConfigMap/shop/cfg (dependency of Deployment/shop/web): would be created (not on the member)" in eu1
    )
    assert "Deployment/shop/web: 1 field(s) differ" in eu1, result
    us1 = result.out.split("== diff on us1:")[1].split("== ")[0]
    assert us1.startswith(" 0 of 1 manifests would change\n"), result
    assert "Deployment/shop/web: nothing would be applied (the member keeps what it has)" in us1, result
    assert "ConfigMap" not in us1, result
    assert await preview_works_left(fleet) == []
    assert await member_object(fleet, "eu1", "v1", "ConfigMap", "cfg") is None  # nothing written
