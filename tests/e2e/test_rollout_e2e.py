"""Rollouts end to end: a hub and real agents on kubesim members, driven with kubectl and the CLI.

* a 3-stage rollout over 6 members with a wait and an approval; a bad image (kubesim's
  ``kubesim.invalid`` registry never becomes ready) halts it at stage 1 with the other stages
  untouched; ``waybill rollout undo`` puts the last good version back through the same stages;
* a RollingUpdate never has more than ``maxUnavailable`` members unavailable, checked on every
  watch event of every member's Deployment;
* a ConfigMap (no ``metadata.generation``) is staged: the second stage keeps the old data while
  the first waits for its approval; undo goes through the stages again.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shared.api import names
from shared.api.meta import parse_time
from shared.kube.client import KubeClient
from shared.kube.errors import NotFound
from tests.e2e.e2e_fleet import E2EFleet, SimFactory, e2e_fleet
from tests.hub.fleet import eventually
from waybill import cli

SHOP = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}
RINGS = {"m1": "0", "m2": "1", "m3": "1", "m4": "2", "m5": "2", "m6": "2"}
V1, V2, V3, BAD = "nginx:1.25", "nginx:1.26", "nginx:1.28", "kubesim.invalid/nginx:1.27"
WAIT_SECONDS = 2


def web(image: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image}]},
            },
        },
    }


def policy(strategy: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": names.POLICY_API_VERSION,
        "kind": names.KIND_PROPAGATION_POLICY,
        "metadata": {"name": "shop", "namespace": "shop"},
        "spec": {
            "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}],
            "placement": {"replicaScheduling": {"replicaSchedulingType": "Duplicated"}},
            "rolloutStrategy": strategy,
        },
    }


STAGED = {
    "type": "Staged",
    "progressDeadlineSeconds": 4,
    "revisionHistoryLimit": 3,
    "staged": {
        "stages": [
            {
                "name": "canary",
                "labelSelector": {"matchLabels": {"ring": "0"}},
                "after": {"waitSeconds": WAIT_SECONDS},
            },
            {"name": "early", "labelSelector": {"matchLabels": {"ring": "1"}}, "after": {"approval": True}},
            {"name": "rest", "labelSelector": {"matchLabels": {"ring": "2"}}, "maxConcurrency": 2},
        ]
    },
}


async def image_on(fleet: E2EFleet, member: str) -> str | None:
    try:
        found = await fleet.member_apis[member].get("apps/v1", "Deployment", name="web", namespace="shop")
    except NotFound:
        return None
    return str(found["spec"]["template"]["spec"]["containers"][0]["image"])


async def images(fleet: E2EFleet) -> dict[str, str | None]:
    return {m: await image_on(fleet, m) for m in sorted(RINGS)}


async def binding(fleet: E2EFleet) -> dict[str, Any]:
    found: dict[str, Any] = await fleet.hub_api.get(
        names.WORK_API_VERSION, names.KIND_RESOURCE_BINDING, name="web-deployment", namespace="shop"
    )
    return found


async def rollout_at(
    fleet: E2EFleet, *, revision: int, phase: str, stage: str | None = None
) -> dict[str, Any]:
    """The binding once its rollout of ``revision`` is in ``phase`` (at ``stage``); {} before."""
    found = await binding(fleet)
    rollout = (found.get("status") or {}).get("rollout") or {}
    ok = rollout.get("revision") == revision and rollout.get("phase") == phase
    return found if ok and (stage is None or rollout.get("stage") == stage) else {}


async def waybill(fleet: E2EFleet, *args: str) -> tuple[int, str, str]:
    """Run the CLI against the hub (in a thread: it runs its own event loop)."""
    out, err = io.StringIO(), io.StringIO()

    def call() -> int:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            return cli.main([*args, "--kubeconfig", str(fleet.hub_sim.kubeconfig_path)])

    code = await asyncio.to_thread(call)
    return code, out.getvalue(), err.getvalue()


async def kubectl_waybill(fleet: E2EFleet, *args: str) -> tuple[int, str, str]:
    """``kubectl waybill ...``: the real kubectl finds the plugin next to this interpreter."""
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is not on PATH"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    command = [kubectl, "waybill", *args, "--kubeconfig", str(fleet.hub_sim.kubeconfig_path)]
    done = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=90, check=False, env=env
    )
    return done.returncode, done.stdout, done.stderr


async def start_kubectl_waybill(fleet: E2EFleet, *args: str) -> asyncio.subprocess.Process:
    """``kubectl waybill ...`` started (its output read as it comes)."""
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is not on PATH"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return await asyncio.create_subprocess_exec(
        kubectl,
        "waybill",
        *args,
        "--kubeconfig",
        str(fleet.hub_sim.kubeconfig_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )


def condition(found: Mapping[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in found["status"]["conditions"] if c["type"] == kind)


async def test_staged_rollout_waits_needs_approval_halts_on_a_bad_image_and_undoes(
    sim_factory: SimFactory, tmp_path: Path
) -> None:
    members = {name: ["--label", f"ring={ring}"] for name, ring in RINGS.items()}
    async with e2e_fleet(sim_factory, tmp_path, members) as fleet:
        await fleet.apply(SHOP, policy(STAGED), web(V1))
        # the first version goes through the stages too: the early stage needs its approval
        await eventually(
            lambda: rollout_at(fleet, revision=1, phase="Waiting", stage="early"),
            within=30,
            what="v1 at early",
        )
        assert await images(fleet) == {"m1": V1, "m2": V1, "m3": V1, "m4": None, "m5": None, "m6": None}
        code, out, _ = await waybill(
            fleet, "rollout", "approve", "deployment/web", "-n", "shop", "--stage", "early"
        )
        assert code == 0, out
        await eventually(
            lambda: rollout_at(fleet, revision=1, phase="Complete"), within=30, what="v1 complete"
        )
        assert set((await images(fleet)).values()) == {V1}

        # bad input: one-line errors naming the field
        code, _, err = await waybill(
            fleet, "rollout", "approve", "deployment/web", "-n", "shop", "--stage", "erly"
        )
        assert code == 2 and "spec.rolloutStrategy.staged.stages has no stage 'erly'" in err
        code, _, err = await waybill(
            fleet, "rollout", "approve", "deployment/web", "-n", "shop", "--stage", "rest"
        )
        assert code == 2 and "stages[2].after.approval is not set" in err
        code, _, err = await waybill(
            fleet, "rollout", "approve", "deployment/nope", "-n", "shop", "--stage", "early"
        )
        assert code == 1 and "no binding for Deployment shop/nope" in err

        # v2: canary first, the wait, then early; rest waits for the approval
        await fleet.apply(web(V2))
        waiting = await eventually(
            lambda: rollout_at(fleet, revision=2, phase="Waiting", stage="canary"),
            within=30,
            what="canary waits",
        )
        assert await images(fleet) == {"m1": V2, **{m: V1 for m in ("m2", "m3", "m4", "m5", "m6")}}
        at_early = await eventually(
            lambda: rollout_at(fleet, revision=2, phase="Waiting", stage="early"),
            within=30,
            what="v2 at early",
        )
        assert await images(fleet) == {
            **{m: V2 for m in ("m1", "m2", "m3")},
            **{m: V1 for m in ("m4", "m5", "m6")},
        }
        completed = parse_time(waiting["status"]["rollout"]["stageCompleted"])
        released = {c["name"]: parse_time(c.get("since")) for c in at_early["status"]["rollout"]["clusters"]}
        assert completed is not None and released["m2"] is not None
        assert (released["m2"] - completed).total_seconds() >= WAIT_SECONDS
        code, out, _ = await waybill(
            fleet, "rollout", "status", "deployment/web", "-n", "shop", "--watch=false"
        )
        assert code == 0 and "revision 2 (Staged) Waiting, stage early" in out
        assert "waybill rollout approve --stage early" in out
        # status follows until the rollout completes, once approved (run as the kubectl plugin)
        follower = await start_kubectl_waybill(fleet, "rollout", "status", "deployment/web", "-n", "shop")
        assert follower.stdout is not None
        first = [await asyncio.wait_for(follower.stdout.readline(), 60) for _ in range(2)]
        assert b"Waiting, stage early" in first[0] and first[1].split()[0] == b"STAGE", first
        code, _, _ = await waybill(
            fleet, "rollout", "approve", "deployment/web", "-n", "shop", "--stage", "early"
        )
        assert code == 0
        rest, _ = await asyncio.wait_for(follower.communicate(), 60)
        code, out = follower.returncode, rest.decode()
        assert code == 0 and "Complete" in out, out
        assert "  m4 (rest): Available" in out, out  # per cluster, as they change
        assert set((await images(fleet)).values()) == {V2}

        # a bad image: stage 1 halts at the progress deadline, the other stages keep v2
        await fleet.apply(web(BAD))
        halted = await eventually(
            lambda: rollout_at(fleet, revision=3, phase="Halted"), within=30, what="halt"
        )
        assert await images(fleet) == {"m1": BAD, **{m: V2 for m in ("m2", "m3", "m4", "m5", "m6")}}
        cond = condition(halted, names.CONDITION_ROLLOUT_HALTED)
        assert cond["status"] == "True"
        assert "m1 (not available within progressDeadlineSeconds (4s)" in cond["message"]
        assert "Deployment shop/web" in cond["message"]
        assert condition(halted, names.CONDITION_ROLLOUT_PROGRESSING)["status"] == "False"
        events = await fleet.hub_api.list("v1", "Event", namespace="shop")
        assert any(
            e.get("reason") == "RolloutHalted" and e["involvedObject"]["kind"] == names.KIND_RESOURCE_BINDING
            for e in events.items
        )
        code, out, _ = await kubectl_waybill(fleet, "rollout", "status", "deployment/web", "-n", "shop")
        assert code == 1 and "Halted" in out

        # history and undo: back to v2 (revision 2), through the same stages
        code, out, _ = await waybill(fleet, "rollout", "history", "deployment/web", "-n", "shop")
        assert code == 0 and V1 in out and V2 in out and BAD in out
        code, _, err = await waybill(
            fleet, "rollout", "undo", "deployment/web", "-n", "shop", "--to-revision", "9"
        )
        assert code == 2 and "--to-revision 9: no such revision (kept: 1, 2, 3)" in err
        code, out, _ = await waybill(fleet, "rollout", "undo", "deployment/web", "-n", "shop")
        assert code == 0 and "rolled back to revision 2" in out
        await eventually(
            lambda: rollout_at(fleet, revision=4, phase="Waiting", stage="early"),
            within=30,
            what="undo at early",
        )
        assert set((await images(fleet)).values()) == {V2}
        code, _, _ = await waybill(
            fleet, "rollout", "approve", "deployment/web", "-n", "shop", "--stage", "early"
        )
        assert code == 0
        done = await eventually(
            lambda: rollout_at(fleet, revision=4, phase="Complete"), within=30, what="undo done"
        )
        assert condition(done, names.CONDITION_ROLLOUT_HALTED)["status"] == "False"
        assert set((await images(fleet)).values()) == {V2}
        # revisionHistoryLimit 3: the oldest revision went
        kept = await fleet.hub_api.list(
            names.WORK_API_VERSION, names.KIND_TEMPLATE_REVISION, namespace="shop"
        )
        assert sorted(r["spec"]["revision"] for r in kept.items) == [2, 3, 4]


def _unavailable(deployment: Mapping[str, Any]) -> bool:
    """A member's Deployment not fully rolled out and available (as a person would count it)."""
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    replicas = int(spec.get("replicas", 1))
    generation = int((deployment.get("metadata") or {}).get("generation") or 0)
    return not (
        int(status.get("observedGeneration") or 0) >= generation
        and int(status.get("updatedReplicas") or 0) == replicas
        and int(status.get("availableReplicas") or 0) == replicas
    )


async def test_rolling_update_never_exceeds_max_unavailable(sim_factory: SimFactory, tmp_path: Path) -> None:
    members = {f"r{i}": ["--label", "env=prod"] for i in range(1, 6)}
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}
    async with e2e_fleet(sim_factory, tmp_path, members) as fleet:
        await fleet.apply(SHOP, policy(strategy), web(V1))
        await eventually(
            lambda: rollout_at(fleet, revision=1, phase="Complete"), within=30, what="v1 complete"
        )
        state: dict[str, bool] = {}
        peak = 0
        seen_unavailable = 0
        done = asyncio.Event()
        versions: dict[str, str] = {}
        violations: list[str] = []

        async def follow(name: str, api: KubeClient) -> None:
            nonlocal peak, seen_unavailable
            current = await api.get("apps/v1", "Deployment", name="web", namespace="shop")
            state[name] = _unavailable(current)
            resource_version = current["metadata"]["resourceVersion"]
            while not done.is_set():
                async for event in api.watch(
                    "apps/v1",
                    "Deployment",
                    namespace="shop",
                    field_selector="metadata.name=web",
                    resource_version=resource_version,
                    timeout_seconds=30,
                ):
                    if event.type == "BOOKMARK":
                        resource_version = event.resource_version
                        continue
                    resource_version = event.resource_version
                    state[name] = _unavailable(event.object)
                    versions[name] = event.object["spec"]["template"]["spec"]["containers"][0]["image"]
                    count = sum(state.values())
                    peak = max(peak, count)
                    seen_unavailable += state[name]
                    if count > 1:
                        violations.append(f"{count} members unavailable at once: {dict(state)}")

        watchers = [asyncio.create_task(follow(n, api)) for n, api in fleet.member_apis.items()]
        try:
            await eventually(lambda: asyncio.sleep(0, len(state) == len(members)), what="watches open")
            await fleet.apply(web(V2))
            await eventually(
                lambda: rollout_at(fleet, revision=2, phase="Complete"), within=60, what="v2 complete"
            )
            await eventually(
                lambda: asyncio.sleep(0, versions == {n: V2 for n in members} and not any(state.values())),
                what="every member on v2 and available",
            )
        finally:
            done.set()
            for task in watchers:
                task.cancel()
            results = await asyncio.gather(*watchers, return_exceptions=True)
        assert not [r for r in results if not isinstance(r, asyncio.CancelledError)], results
        assert violations == []
        assert peak == 1 and seen_unavailable >= len(members), (peak, seen_unavailable)

        # paused: a new revision reaches no member until resumed
        code, out, _ = await waybill(fleet, "rollout", "pause", "deployment/web", "-n", "shop")
        assert code == 0 and "paused" in out
        await fleet.apply(web(V3))
        paused = await eventually(
            lambda: rollout_at(fleet, revision=3, phase="Paused"), within=20, what="paused"
        )
        assert not [c for c in paused["status"]["rollout"]["clusters"] if c.get("revision") == 3]
        assert condition(paused, names.CONDITION_ROLLOUT_PROGRESSING)["status"] == "Unknown"
        for name in members:
            assert await _image_is(fleet, name, V2)
        code, out, _ = await waybill(fleet, "rollout", "resume", "deployment/web", "-n", "shop")
        assert code == 0 and "resumed" in out
        await eventually(
            lambda: rollout_at(fleet, revision=3, phase="Complete"), within=60, what="v3 complete"
        )
        for name in members:
            assert await _image_is(fleet, name, V3)

        # back to All: the rollout status and conditions go, the next change reaches every member
        live = await fleet.hub_api.get(
            names.POLICY_API_VERSION, names.KIND_PROPAGATION_POLICY, name="shop", namespace="shop"
        )
        await fleet.hub_api.replace({**policy({"type": "All"}), "metadata": live["metadata"]})

        async def cleared() -> bool:
            status = (await binding(fleet)).get("status") or {}
            kinds = {c["type"] for c in status.get("conditions") or []}
            return not status.get("rollout") and names.CONDITION_ROLLOUT_PROGRESSING not in kinds

        await eventually(cleared, within=20, what="rollout status removed")
        await fleet.apply(web(V1))
        for name in members:
            await eventually(lambda name=name: _image_is(fleet, name, V1), within=20, what=f"{name} on v1")


async def _image_is(fleet: E2EFleet, member: str, image: str) -> bool:
    found = await fleet.member_apis[member].get("apps/v1", "Deployment", name="web", namespace="shop")
    return bool(found["spec"]["template"]["spec"]["containers"][0]["image"] == image)


def settings(value: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "shop"},
        "data": {"mode": value},
    }


async def mode_on(fleet: E2EFleet, member: str) -> str | None:
    try:
        found = await fleet.member_apis[member].get("v1", "ConfigMap", name="settings", namespace="shop")
    except NotFound:
        return None
    return str((found.get("data") or {}).get("mode"))


async def settings_at(fleet: E2EFleet, *, revision: int, phase: str) -> dict[str, Any]:
    found = await fleet.hub_api.get(
        names.WORK_API_VERSION, names.KIND_RESOURCE_BINDING, name="settings-configmap", namespace="shop"
    )
    rollout = (found.get("status") or {}).get("rollout") or {}
    return found if rollout.get("revision") == revision and rollout.get("phase") == phase else {}


async def test_a_configmap_is_staged_and_undone(sim_factory: SimFactory, tmp_path: Path) -> None:
    """A ConfigMap (no metadata.generation) under a Staged strategy with real agents: the second
    stage keeps the old data while the first, which reported it, waits for its approval."""
    members = {"m1": ["--label", "ring=0"], "m2": ["--label", "ring=1"]}
    strategy = {
        "type": "Staged",
        "staged": {
            "stages": [
                {
                    "name": "canary",
                    "labelSelector": {"matchLabels": {"ring": "0"}},
                    "after": {"approval": True},
                },
                {"name": "rest"},
            ]
        },
    }
    rolled = policy(strategy)
    rolled["spec"]["resourceSelectors"] = [{"apiVersion": "v1", "kind": "ConfigMap", "name": "settings"}]
    async with e2e_fleet(sim_factory, tmp_path, members) as fleet:
        await fleet.apply(SHOP, rolled, settings("one"))
        await eventually(lambda: settings_at(fleet, revision=1, phase="Waiting"), within=30, what="v1 waits")
        assert (await mode_on(fleet, "m1"), await mode_on(fleet, "m2")) == ("one", None)
        approve = ("rollout", "approve", "configmap/settings", "-n", "shop", "--stage", "canary")
        assert (await waybill(fleet, *approve))[0] == 0
        await eventually(lambda: settings_at(fleet, revision=1, phase="Complete"), within=30, what="v1 done")
        assert await mode_on(fleet, "m2") == "one"

        await fleet.apply(settings("two"))
        await eventually(lambda: settings_at(fleet, revision=2, phase="Waiting"), within=30, what="v2 waits")
        # m1 reported "two" (its stage is complete); m2 keeps "one" until the approval
        assert (await mode_on(fleet, "m1"), await mode_on(fleet, "m2")) == ("two", "one")
        code, out, _ = await waybill(
            fleet, "rollout", "status", "configmap/settings", "-n", "shop", "--watch=false"
        )
        assert code == 0 and "revision 2 (Staged) Waiting, stage canary" in out, out
        assert (await waybill(fleet, *approve))[0] == 0
        await eventually(lambda: settings_at(fleet, revision=2, phase="Complete"), within=30, what="v2 done")
        assert await mode_on(fleet, "m2") == "two"

        code, out, _ = await waybill(fleet, "rollout", "undo", "configmap/settings", "-n", "shop")
        assert code == 0 and "rolled back to revision 1" in out, out
        await eventually(
            lambda: settings_at(fleet, revision=3, phase="Waiting"), within=30, what="undo waits"
        )
        assert (await mode_on(fleet, "m1"), await mode_on(fleet, "m2")) == ("one", "two")
        assert (await waybill(fleet, *approve))[0] == 0
        await eventually(
            lambda: settings_at(fleet, revision=3, phase="Complete"), within=30, what="undo done"
        )
        assert await mode_on(fleet, "m2") == "one"
