"""Hub benchmark: template change → applied on every member → status back on the hub.

Runs kubesim servers (a hub and N members with simulated workload controllers) and N agents
in this process, and the hub as a real ``waybill hub`` subprocess (so its memory can be read
on its own). Members join through ``waybill join``'s code path (scoped agent identity). For
each fleet size it prints the propagation latency p50/p99 — from patching a Deployment
template (a new image, so a new generation) until the hub shows that generation as observed
by every member in the template's own ``status.observedGeneration`` — and the hub's RSS.

    python benchmarks/hub_bench.py [--sizes 10,100] [--samples 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from agent.config import AgentConfig
from agent.runner import Agent
from hub.crds import ensure_crds
from kubesim import SimServer
from shared.api import names
from shared.kube.client import KubeClient
from shared.ops.logging import configure
from waybill import cmd_join

PAGE = os.sysconf("SC_PAGE_SIZE")


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mib(pid: int) -> float:
    fields = Path(f"/proc/{pid}/statm").read_text(encoding="utf-8").split()
    return int(fields[1]) * PAGE / 2**20


def template(image: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "bench"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image}]},
            },
        },
    }


POLICY = {
    "apiVersion": names.POLICY_API_VERSION,
    "kind": "PropagationPolicy",
    "metadata": {"name": "bench", "namespace": "bench"},
    "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment"}], "placement": {}},
}


async def observed(hub_api: KubeClient, generation: int, *, within: float) -> float:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        live = await hub_api.get("apps/v1", "Deployment", name="web", namespace="bench")
        if (live.get("status") or {}).get("observedGeneration") == generation:
            return time.monotonic()
        await asyncio.sleep(0.005)
    raise TimeoutError(f"generation {generation} not observed on every member within {within}s")


async def run_size(size: int, samples: int, workdir: Path) -> dict[str, float]:
    servers: list[SimServer] = []
    agents: list[Agent] = []
    clients: list[KubeClient] = []
    hub_process: asyncio.subprocess.Process | None = None
    try:
        hub_sim = SimServer("hub", kubeconfig_dir=workdir)
        await hub_sim.start()
        servers.append(hub_sim)
        hub_api = await KubeClient.from_kubeconfig(hub_sim.kubeconfig_path, name="bench")
        clients.append(hub_api)
        await ensure_crds(hub_api)
        for index in range(size):
            name = f"m{index:03d}"
            member = SimServer(name, workloads=True, workload_delay=0.0, nodes=1, kubeconfig_dir=workdir)
            await member.start()
            servers.append(member)
            out = workdir / f"{name}-hub.kubeconfig"
            args = argparse.Namespace(
                name=name,
                namespace=None,
                mode="pull",
                provider=None,
                region=None,
                zone=None,
                label=[],
                out=str(out),
                token_seconds=3600,
            )
            with contextlib.redirect_stdout(io.StringIO()):
                assert await cmd_join.join(hub_api, args, hub_kubeconfig=str(hub_sim.kubeconfig_path)) == 0
            agent_hub = await KubeClient.from_kubeconfig(out, name=f"hub-{name}")
            member_api = await KubeClient.from_kubeconfig(member.kubeconfig_path, name=f"member-{name}")
            clients += [agent_hub, member_api]
            agent = Agent(
                hub_api=agent_hub,
                member_api=member_api,
                config=AgentConfig(cluster=name, member_namespace=f"member-{name}"),
            )
            await agent.start()
            agents.append(agent)
        hub_process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "waybill",
            "hub",
            "--kubeconfig",
            str(hub_sim.kubeconfig_path),
            "--no-leader-elect",
            "--log-level",
            "warning",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        await hub_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}})
        await hub_api.create(POLICY)
        started = time.monotonic()
        created = await hub_api.create(template("nginx:0"))
        first = await observed(hub_api, int(created["metadata"]["generation"]), within=120) - started
        latencies = []
        hub_cpu, own_cpu, wall = cpu_seconds(hub_process.pid), time.process_time(), time.monotonic()
        for sample in range(1, samples + 1):
            t0 = time.monotonic()
            patched = await hub_api.patch(
                "apps/v1",
                "Deployment",
                name="web",
                namespace="bench",
                patch={
                    "spec": {
                        "template": {"spec": {"containers": [{"name": "web", "image": f"nginx:{sample}"}]}}
                    }
                },
                patch_type="strategic",
            )
            latencies.append(await observed(hub_api, int(patched["metadata"]["generation"]), within=60) - t0)
        rss = rss_mib(hub_process.pid)
        wall = time.monotonic() - wall
        hub_share = (cpu_seconds(hub_process.pid) - hub_cpu) / wall
        own_share = (time.process_time() - own_cpu) / wall
        latencies.sort()
        return {
            "members": size,
            "first": first,
            "p50": statistics.median(latencies),
            "p99": latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))],
            "rss": rss,
            "hub_cpu": hub_share,
            "fleet_cpu": own_share,
        }
    finally:
        if hub_process is not None:
            hub_process.terminate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(hub_process.wait(), 10)
        for agent in agents:
            await agent.stop()
        for client in clients:
            await client.close()
        for server in reversed(servers):
            await server.close()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10,100")
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args()
    configure(level="warning")
    print(
        f"{'members':>8} {'first placement':>16} {'p50':>9} {'p99':>9} {'hub RSS':>9} {'hub CPU':>8} "
        f"{'sims+agents CPU':>16}"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as workdir:
            result = await run_size(size, args.samples, Path(workdir))
        print(
            f"{result['members']:>8} {result['first'] * 1000:>13.0f} ms {result['p50'] * 1000:>6.0f} ms "
            f"{result['p99'] * 1000:>6.0f} ms {result['rss']:>5.0f} MiB {result['hub_cpu']:>7.0%} "
            f"{result['fleet_cpu']:>15.0%}",
            flush=True,
        )


if __name__ == "__main__":
    asyncio.run(main())
