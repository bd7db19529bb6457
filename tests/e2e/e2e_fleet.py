"""End-to-end helpers: a kubesim hub and members, joined with ``waybill join``, the hub and agents
running in this process, and kubectl against the hub."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agent.config import AgentConfig
from agent.runner import Agent
from hub.app import Hub
from hub.crds import ensure_crds
from kubesim import SimServer
from shared.kube.client import KubeClient
from waybill import cli

SimFactory = Callable[..., Awaitable[SimServer]]


@dataclass
class E2EFleet:
    hub_sim: SimServer
    hub_api: KubeClient
    hub: Hub
    members: dict[str, SimServer] = field(default_factory=dict)
    member_apis: dict[str, KubeClient] = field(default_factory=dict)
    agents: dict[str, Agent] = field(default_factory=dict)
    agent_hub_apis: dict[str, KubeClient] = field(default_factory=dict)

    async def kubectl(self, *args: str, stdin: str | None = None) -> str:
        """Run the real kubectl against the hub; fail the test on a non-zero exit."""
        binary = shutil.which("kubectl")
        assert binary, "kubectl is not on PATH"
        command = [binary, "--kubeconfig", str(self.hub_sim.kubeconfig_path), *args]
        result = await asyncio.to_thread(
            subprocess.run, command, input=stdin, capture_output=True, text=True, timeout=30, check=False
        )
        assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
        return result.stdout

    async def apply(self, *objects: dict[str, Any]) -> None:
        await self.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(objects))


async def join(hub_sim: SimServer, name: str, out: Path, *extra: str) -> None:
    code = await asyncio.to_thread(
        cli.main, ["join", name, "--kubeconfig", str(hub_sim.kubeconfig_path), "--out", str(out), *extra]
    )
    assert code == 0


async def start_agent(fleet: E2EFleet, name: str, hub_kubeconfig: Path, **config: Any) -> Agent:
    hub_api = await KubeClient.from_kubeconfig(hub_kubeconfig, name=f"hub-{name}")
    member_api = fleet.member_apis[name]
    agent = Agent(
        hub_api=hub_api,
        member_api=member_api,
        config=AgentConfig(
            cluster=name,
            heartbeat_interval=0.5,
            lease_duration_seconds=2,
            member_status_interval=1.0,
            **config,
        ),
    )
    await agent.start()
    fleet.agents[name] = agent
    fleet.agent_hub_apis[name] = hub_api
    return agent


async def stop_agent(fleet: E2EFleet, name: str) -> None:
    agent = fleet.agents.pop(name)
    await agent.stop()
    await fleet.agent_hub_apis.pop(name).close()


@contextlib.asynccontextmanager
async def e2e_fleet(
    sim_factory: SimFactory,
    tmp_path: Path,
    members: dict[str, list[str]],
    grace_seconds: float = 40.0,
    without_workloads: Iterable[str] = (),
    **hub_options: Any,
) -> AsyncIterator[E2EFleet]:
    """Hub + members (``name → join args``), joined by the CLI, with the hub and agents running.
    Members named in ``without_workloads`` simulate no workload controllers (status is the test's)."""
    hub_sim = await sim_factory("hub", tls=True)  # kubectl sends bearer tokens only over TLS
    hub_api = await KubeClient.from_kubeconfig(hub_sim.kubeconfig_path, name="hub")
    await ensure_crds(hub_api)
    hub = Hub(hub_api, grace_seconds=grace_seconds, **hub_options)
    fleet = E2EFleet(hub_sim=hub_sim, hub_api=hub_api, hub=hub)
    hub_task = asyncio.create_task(hub.run())
    try:
        for name, extra in members.items():
            fleet.members[name] = await sim_factory(
                name, workloads=name not in set(without_workloads), workload_delay=0.05
            )
            fleet.member_apis[name] = await KubeClient.from_kubeconfig(
                fleet.members[name].kubeconfig_path, name=f"member-{name}"
            )
            out = tmp_path / f"{name}-hub.kubeconfig"
            await join(hub_sim, name, out, *extra)
            await start_agent(fleet, name, out)
        yield fleet
    finally:
        for name in list(fleet.agents):
            await stop_agent(fleet, name)
        hub_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await hub_task
        for api in fleet.member_apis.values():
            await api.close()
        await hub_api.close()
