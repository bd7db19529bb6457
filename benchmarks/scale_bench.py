"""Scale benchmark: the ARCHITECTURE §7 figures that need large fleets or many templates.

Each scenario runs the hub as a real ``waybill hub`` subprocess (its RSS is read from /proc)
against a kubesim hub API server in this process, and prints its figures:

* ``placement``: 1,000 registered members, a PropagationPolicy selecting 100 of them by label;
  time from applying the Deployment and policy until its Works exist in all 100 member
  namespaces (target < 5 s; KubeFleet ~20 s p90).
* ``works``: 1,000 ConfigMap templates under 10 policies x 100 members; the number of Works on
  the hub once all are written (target ≤ 1,000: one per policy per member) and the hub's RSS
  (target < 400 MB), plus how long rendering took.
* ``coldstart``: 5,000 ConfigMap templates and their policy exist before anything runs; then the
  hub and two agents (``waybill agent`` subprocesses, scoped identities from ``waybill join``)
  start. Time until every template is on both members and every Work reports ``Applied=True``
  for its generation on the hub (target < 60 s; Karmada ~4 min on 12 cores).

Members in ``placement`` and ``works`` are registered the way labelling a namespace registers
them (namespace + MemberCluster); they have no agent, so each gets a stand-in heartbeat Lease
(renewed at registration, valid for an hour): a member without a first heartbeat carries the
not-ready NoSchedule taint and is not scheduled to. Only hub-side work is measured there.

    python benchmarks/scale_bench.py [--scenarios placement,works,coldstart]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub.crds import ensure_crds
from kubesim import SimServer
from shared.api import names
from shared.kube.client import KubeClient
from shared.ops.logging import configure

POLICY_API = "policy.waybill.dev/v1alpha1"


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def wait_until(check: Callable[[], Awaitable[bool]], *, within: float, every: float = 0.1) -> float:
    started = time.monotonic()
    while True:
        if await check():
            return time.monotonic() - started
        if time.monotonic() - started > within:
            raise TimeoutError(f"not reached within {within:.0f}s")
        await asyncio.sleep(every)


def spawn(args: list[str], *, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "waybill", *args], stdout=out, stderr=out)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def heartbeat_lease(namespace: str, *, now: str) -> dict[str, Any]:
    """A stand-in agent's heartbeat: a member without one is not schedulable (AwaitingAgent)."""
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": names.HEARTBEAT_LEASE_NAME, "namespace": namespace},
        "spec": {"holderIdentity": "scale-bench", "leaseDurationSeconds": 3600, "renewTime": now},
    }


async def register_members(hub_api: KubeClient, *, count: int, gold: int) -> None:
    """``count`` members as a labelled namespace + MemberCluster + heartbeat Lease; the first
    ``gold`` get tier=gold."""
    now = datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    for index in range(count):
        name = f"m{index:04d}"
        namespace = f"{names.MEMBER_NAMESPACE_PREFIX}{name}"
        await hub_api.create(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": namespace, "labels": {names.LABEL_MEMBER: name}},
            }
        )
        labels = {"tier": "gold" if index < gold else "silver"}
        await hub_api.create(
            {
                "apiVersion": names.CLUSTER_API_VERSION,
                "kind": names.KIND_MEMBER_CLUSTER,
                "metadata": {"name": name, "namespace": namespace, "labels": labels},
                "spec": {"syncMode": "Pull"},
            }
        )
        await hub_api.create(heartbeat_lease(namespace, now=now))


@contextlib.asynccontextmanager
async def hub_server(workdir: Path) -> AsyncIterator[tuple[SimServer, KubeClient]]:
    hub = SimServer("hub", kubeconfig_dir=workdir, history=20000)
    await hub.start()
    hub_api = await KubeClient.from_kubeconfig(hub.kubeconfig_path, name="bench")
    try:
        await ensure_crds(hub_api)
        yield hub, hub_api
    finally:
        await hub_api.close()
        await hub.stop()


def hub_process(hub: SimServer, workdir: Path) -> subprocess.Popen[bytes]:
    return spawn(
        ["hub", "--kubeconfig", str(hub.kubeconfig_path), "--no-leader-elect", "--log-level", "warning"],
        log=workdir / "hub.log",
    )


async def count_works(hub_api: KubeClient) -> int:
    return len((await hub_api.list(names.WORK_API_VERSION, names.KIND_WORK)).items)


def policy(
    name: str, *, namespace: str, selectors: list[dict[str, Any]], placement: dict[str, Any]
) -> dict[str, Any]:
    return {
        "apiVersion": POLICY_API,
        "kind": "PropagationPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"resourceSelectors": selectors, "placement": placement},
    }


async def scenario_placement(workdir: Path) -> None:
    async with hub_server(workdir) as (hub, hub_api):
        await register_members(hub_api, count=1000, gold=100)
        proc = hub_process(hub, workdir)
        try:

            async def members_seen() -> bool:
                found = await hub_api.list(names.CLUSTER_API_VERSION, names.KIND_MEMBER_CLUSTER)
                seen = sum(1 for m in found.items if (m.get("status") or {}).get("conditions"))
                print(f"  ... hub has written status of {seen} / 1000 members", end="\r", flush=True)
                return seen == 1000

            settle = await wait_until(members_seen, within=120, every=0.5)
            await hub_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}})
            started = time.monotonic()
            await hub_api.create(
                policy(
                    "gold",
                    namespace="bench",
                    selectors=[{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}],
                    placement={"clusterAffinity": {"labelSelector": {"matchLabels": {"tier": "gold"}}}},
                )
            )
            await hub_api.create(
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": {"name": "web", "namespace": "bench"},
                    "spec": {
                        "replicas": 1,
                        "selector": {"matchLabels": {"app": "web"}},
                        "template": {
                            "metadata": {"labels": {"app": "web"}},
                            "spec": {"containers": [{"name": "web", "image": "nginx"}]},
                        },
                    },
                }
            )

            async def placed() -> bool:
                return await count_works(hub_api) >= 100

            await wait_until(placed, within=120, every=0.05)
            took = time.monotonic() - started
            works = await count_works(hub_api)
            print(f"placement: 1,000 members registered (hub status for all written in {settle:.1f} s)")
            print(
                f"placement: first placement onto 100 of 1,000 members: {took:.2f} s "
                f"({works} Works; target < 5 s) — hub RSS {rss_mib(proc.pid):.0f} MiB"
            )
        finally:
            stop(proc)


async def scenario_works(workdir: Path) -> None:
    async with hub_server(workdir) as (hub, hub_api):
        await register_members(hub_api, count=100, gold=100)
        await hub_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}})
        for group in range(10):
            for index in range(100):
                await hub_api.create(
                    {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "metadata": {
                            "name": f"cm-{group}-{index:03d}",
                            "namespace": "bench",
                            "labels": {"group": f"g{group}"},
                        },
                        "data": {"value": "x" * 64},
                    }
                )
            await hub_api.create(
                policy(
                    f"p{group}",
                    namespace="bench",
                    selectors=[
                        {
                            "apiVersion": "v1",
                            "kind": "ConfigMap",
                            "labelSelector": {"matchLabels": {"group": f"g{group}"}},
                        }
                    ],
                    placement={"clusterAffinity": {"labelSelector": {"matchLabels": {"tier": "gold"}}}},
                )
            )
        started = time.monotonic()
        proc = hub_process(hub, workdir)
        try:

            async def rendered() -> bool:
                works = (await hub_api.list(names.WORK_API_VERSION, names.KIND_WORK)).items
                manifests = sum(
                    len(((w.get("spec") or {}).get("workload") or {}).get("manifests") or []) for w in works
                )
                return manifests >= 1000 * 100

            await wait_until(rendered, within=600, every=1.0)
            took = time.monotonic() - started
            works = await count_works(hub_api)
            print(
                f"works: 1,000 templates x 10 policies x 100 members rendered in {took:.1f} s: "
                f"{works} Works on the hub (target <= 1,000; one per template per member would be 100,000)"
            )
            print(f"works: hub RSS at that scale {rss_mib(proc.pid):.0f} MiB (target < 400 MB)")
        finally:
            stop(proc)


async def join(hub: SimServer, name: str, workdir: Path) -> Path:
    out = workdir / f"{name}-agent-hub.kubeconfig"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "waybill",
        "join",
        name,
        "--kubeconfig",
        str(hub.kubeconfig_path),
        "--out",
        str(out),
        stdout=asyncio.subprocess.DEVNULL,
    )
    if await proc.wait() != 0:
        raise RuntimeError(f"waybill join {name} failed")
    return out


async def scenario_coldstart(workdir: Path) -> None:
    templates = 5000
    async with hub_server(workdir) as (hub, hub_api):
        members = {name: SimServer(name, kubeconfig_dir=workdir, history=20000) for name in ("eu1", "us1")}
        for sim in members.values():
            await sim.start()
        member_apis = {
            name: await KubeClient.from_kubeconfig(sim.kubeconfig_path, name=name)
            for name, sim in members.items()
        }
        procs: list[subprocess.Popen[bytes]] = []
        try:
            scoped = {name: await join(hub, name, workdir) for name in members}
            await hub_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}})
            for index in range(templates):
                await hub_api.create(
                    {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "metadata": {
                            "name": f"cm-{index:05d}",
                            "namespace": "bench",
                            "labels": {"app": "bench"},
                        },
                        "data": {"value": f"{index}"},
                    }
                )
            await hub_api.create(
                policy(
                    "all",
                    namespace="bench",
                    selectors=[
                        {
                            "apiVersion": "v1",
                            "kind": "ConfigMap",
                            "labelSelector": {"matchLabels": {"app": "bench"}},
                        }
                    ],
                    placement={"clusterAffinity": {"clusterNames": list(members)}},
                )
            )
            started = time.monotonic()
            procs.append(hub_process(hub, workdir))
            for name, sim in members.items():
                procs.append(
                    spawn(
                        [
                            "agent",
                            "--cluster",
                            name,
                            "--hub-kubeconfig",
                            str(scoped[name]),
                            "--kubeconfig",
                            str(sim.kubeconfig_path),
                            "--log-level",
                            "warning",
                            "--metrics-port",
                            "0",
                        ],
                        log=workdir / f"agent-{name}.log",
                    )
                )

            async def converged() -> bool:
                for api in member_apis.values():
                    found = await api.list("v1", "ConfigMap", namespace="bench", label_selector="app=bench")
                    if len(found.items) < templates:
                        return False
                works = (await hub_api.list(names.WORK_API_VERSION, names.KIND_WORK)).items
                if not works:
                    return False
                for work in works:
                    generation = (work.get("metadata") or {}).get("generation")
                    applied = [
                        c
                        for c in (work.get("status") or {}).get("conditions") or []
                        if c.get("type") == "Applied"
                        and c.get("status") == "True"
                        and c.get("observedGeneration") == generation
                    ]
                    if not applied:
                        return False
                return True

            await wait_until(converged, within=300, every=1.0)
            took = time.monotonic() - started
            works = await count_works(hub_api)
            print(
                f"coldstart: {templates:,} templates x 2 members converged (applied on both members, "
                f"Applied=True on all {works} Works) in {took:.1f} s (target < 60 s)"
            )
            print(
                f"coldstart: hub RSS {rss_mib(procs[0].pid):.0f} MiB, "
                f"agent RSS {rss_mib(procs[1].pid):.0f} / {rss_mib(procs[2].pid):.0f} MiB"
            )
        finally:
            for proc in procs:
                stop(proc)
            for api in member_apis.values():
                await api.close()
            for sim in members.values():
                await sim.stop()


def print_log_tails(workdir: Path) -> None:
    for log in sorted(workdir.glob("*.log")):
        print(f"--- last lines of {log.name}:", *log.read_text().splitlines()[-15:], sep="\n")


SCENARIOS = {"placement": scenario_placement, "works": scenario_works, "coldstart": scenario_coldstart}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    args = parser.parse_args()
    configure(level="warning")
    for name in args.scenarios.split(","):
        with tempfile.TemporaryDirectory(prefix=f"waybill-scale-{name}-") as tmp:
            try:
                await SCENARIOS[name](Path(tmp))
            except Exception:
                print_log_tails(Path(tmp))
                raise


if __name__ == "__main__":
    asyncio.run(main())
