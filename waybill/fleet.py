"""An embedded fleet: a kubesim hub and members, the hub controller and one agent per member,
all in this process — what ``waybill demo`` and the benchmarks run.

Members are registered exactly as a user would (``waybill join`` with labels, producing a
scoped hub kubeconfig per agent), and each agent runs with that scoped identity. Pull and push
members run the same agent; the mode is recorded on the MemberCluster.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.config import AgentConfig
from agent.runner import Agent
from hub.process import HubOptions, run_hub
from kubesim import SimServer
from shared.kube.client import KubeClient
from waybill import cmd_join
from waybill.cli import build_parser


@dataclass(frozen=True)
class MemberSpec:
    """A member of the embedded fleet: its name, cluster labels and agent mode."""

    name: str
    labels: dict[str, str] = field(default_factory=dict)
    region: str | None = None
    mode: str = "pull"


@dataclass
class Fleet:
    """A running embedded fleet. Build it with :func:`start_fleet`, end it with :meth:`stop`."""

    directory: Path
    hub: SimServer
    members: dict[str, SimServer]
    hub_api: KubeClient
    member_apis: dict[str, KubeClient]
    agents: dict[str, Agent]
    _hub_stop: asyncio.Event
    _hub_task: asyncio.Task[int]
    _agent_clients: list[KubeClient]

    async def stop(self) -> None:
        """Stop agents, hub controller and servers (in that order), closing every client."""
        for agent in self.agents.values():
            with contextlib.suppress(Exception):
                await agent.stop()
        self._hub_stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._hub_task, timeout=10)
        for client in [*self._agent_clients, self.hub_api, *self.member_apis.values()]:
            with contextlib.suppress(Exception):
                await client.close()
        for server in [*self.members.values(), self.hub]:
            await server.stop()


def _join_args(spec: MemberSpec, *, hub_kubeconfig: Path, out: Path) -> Any:
    argv = ["join", spec.name, "--kubeconfig", str(hub_kubeconfig), "--out", str(out), "--mode", spec.mode]
    for key, value in sorted(spec.labels.items()):
        argv += ["--label", f"{key}={value}"]
    if spec.region:
        argv += ["--region", spec.region]
    return build_parser().parse_args(argv)


async def start_fleet(
    members: Sequence[MemberSpec],
    *,
    directory: Path,
    workload_delay: float = 0.3,
    heartbeat_interval: float = 2.0,
    lease_duration_seconds: int = 40,
) -> Fleet:
    """Start a hub and ``members`` on kubesim (TLS, so kubectl works against every kubeconfig in
    ``directory``), run the hub controller, join every member and start its agent."""
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    hub = SimServer("hub", tls=True, kubeconfig_dir=directory)
    sims = {m.name: SimServer(m.name, tls=True, workloads=True, workload_delay=workload_delay,
                              kubeconfig_dir=directory) for m in members}
    await hub.start()
    for sim in sims.values():
        await sim.start()
    hub_api = await KubeClient.from_kubeconfig(hub.kubeconfig_path, name="hub")
    hub_stop = asyncio.Event()
    hub_task = asyncio.ensure_future(
        run_hub(HubOptions(kubeconfig=str(hub.kubeconfig_path), leader_elect=False), hub_stop)
    )
    member_apis: dict[str, KubeClient] = {}
    agents: dict[str, Agent] = {}
    agent_clients: list[KubeClient] = []
    for spec in members:
        out = directory / f"{spec.name}-agent-hub.kubeconfig"
        args = _join_args(spec, hub_kubeconfig=hub.kubeconfig_path, out=out)
        with contextlib.redirect_stdout(None):
            code = await cmd_join.join(hub_api, args, hub_kubeconfig=str(hub.kubeconfig_path))
        if code != 0:
            raise RuntimeError(f"joining member {spec.name} failed with exit code {code}")
        agent_hub_api = await KubeClient.from_kubeconfig(out, name=f"hub-as-{spec.name}")
        member_api = await KubeClient.from_kubeconfig(sims[spec.name].kubeconfig_path, name=spec.name)
        agent_member_api = await KubeClient.from_kubeconfig(sims[spec.name].kubeconfig_path, name=spec.name)
        agent_clients += [agent_hub_api, agent_member_api]
        member_apis[spec.name] = member_api
        agent = Agent(
            hub_api=agent_hub_api,
            member_api=agent_member_api,
            config=AgentConfig(
                cluster=spec.name,
                heartbeat_interval=heartbeat_interval,
                lease_duration_seconds=lease_duration_seconds,
            ),
        )
        await agent.start()
        agents[spec.name] = agent
    return Fleet(
        directory=directory,
        hub=hub,
        members=sims,
        hub_api=hub_api,
        member_apis=member_apis,
        agents=agents,
        _hub_stop=hub_stop,
        _hub_task=hub_task,
        _agent_clients=agent_clients,
    )
