"""Request counts for one template change: what each party asks of each API server.

A kubesim hub and ``--members`` members (simulated workload controllers), joined with
``waybill join``'s code path (each agent has its own scoped hub identity), the hub controller
and the agents running in this process. A Deployment template under a Duplicated policy is
propagated and settles; then the measurement window opens, the template's image is changed
once, and the window closes when the hub's template status shows the new generation observed
on every member and every member runs the new image, plus a short settle time for writes that
trail the last report. Heartbeats and member status are slowed far past the window, so what is
counted is the cost of the change.

Printed (and with ``--json`` written as one JSON object): requests by party and verb on the hub
API server (party ``hub`` = the hub controller, ``agent`` = all agents together), requests by
verb on the member API servers (the agents), bytes written, watch events delivered, and each
figure per member. The floor per member is one Work write by the hub, one apply on the member
and one Work status write by the agent, plus what aggregation needs.

    python benchmarks/request_counts.py [--members 3] [--settle 1.0] [--available-hold S] [--profile] [--json]

``--profile`` runs cProfile over the window and prints the CPU it saw by component (Waybill's
packages, kubesim, libraries): everything runs in this process, so that is the whole cost of
the change on every party.

This script reads the members under its own identity (``bench-driver``), which is not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

HUB_USER = "kubernetes-admin"  # the hub controller runs with the admin kubeconfig
DRIVER_USER = "bench-driver"  # this script's own requests (not counted for any party)
NAMESPACE = "bench"


def template(image: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": NAMESPACE},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image}]},
            },
        },
    }


def policy(api_version: str) -> dict[str, Any]:
    return {
        "apiVersion": api_version,
        "kind": "PropagationPolicy",
        "metadata": {"name": "web", "namespace": NAMESPACE},
        "spec": {
            "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}],
            "placement": {"replicaScheduling": {"replicaSchedulingType": "Duplicated"}},
        },
    }


def party(user: str) -> str:
    if user == HUB_USER:
        return "hub"
    if user.startswith("system:serviceaccount:"):
        return "agent"
    return "other"


async def wait_for(check: Any, *, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while True:
        if await check():
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def cpu_by_component(profile: Any) -> dict[str, float]:
    """Own CPU seconds of a cProfile run, by where the code lives (Waybill package or library)."""
    import pstats

    stats = pstats.Stats(profile)
    out: Counter[str] = Counter()
    for (path, _, func), row in stats.stats.items():  # type: ignore[attr-defined]
        parts = Path(path).parts
        if "site-packages" in parts:
            where = parts[parts.index("site-packages") + 1]
        elif path == "~":
            where = "builtins: " + func.split(" of ")[0].strip("<>").replace("method ", "")[:30]
        elif any(p in parts for p in ("kubesim", "agent", "hub", "shared", "waybill")):
            where = next(p for p in parts if p in ("kubesim", "agent", "hub", "shared", "waybill"))
        else:
            where = "stdlib: " + Path(path).stem
        out[where] += row[2]
    return dict(out.most_common())


def top_functions(profile: Any, count: int = 25) -> list[str]:
    import pstats

    stats = pstats.Stats(profile)
    rows = sorted(stats.stats.items(), key=lambda item: item[1][3], reverse=True)  # type: ignore[attr-defined]
    wanted = [r for r in rows if any(p in r[0][0] for p in ("/kubesim/", "/agent/", "/hub/", "/shared/"))]
    return [
        f"{cum * 1000:8.1f} ms cum {own * 1000:7.1f} ms own {calls:>7} calls  {func}  "
        f"{Path(path).parent.name}/{Path(path).name}:{line}"
        for (path, line, func), (_, calls, own, cum, _) in wanted[:count]
    ]


async def measure(
    *, members: int, settle: float, workdir: Path, available_hold: float | None = None, profile: bool = False
) -> dict[str, Any]:
    from agent.config import AgentConfig
    from agent.runner import Agent
    from hub.app import Hub
    from hub.crds import ensure_crds
    from kubesim import SimServer
    from shared.api import names
    from shared.kube.client import KubeClient
    from waybill import cli

    servers: list[SimServer] = []
    clients: list[KubeClient] = []
    agents: list[Agent] = []
    hub_task: asyncio.Task[None] | None = None
    try:
        hub_sim = SimServer("hub", kubeconfig_dir=workdir)
        await hub_sim.start()
        servers.append(hub_sim)
        hub_api = await KubeClient.from_kubeconfig(hub_sim.kubeconfig_path, name="hub")
        clients.append(hub_api)
        driver_kubeconfig = hub_sim.write_kubeconfig(
            workdir / "driver.kubeconfig",
            token=hub_sim.issue_token(user=DRIVER_USER, groups=("system:masters",)),
            user=DRIVER_USER,
        )
        driver = await KubeClient.from_kubeconfig(driver_kubeconfig, name="driver")
        clients.append(driver)
        await ensure_crds(hub_api)
        hub = Hub(hub_api)
        hub_task = asyncio.create_task(hub.run())
        member_sims: dict[str, SimServer] = {}
        member_apis: dict[str, KubeClient] = {}
        member_drivers: dict[str, KubeClient] = {}
        for i in range(members):
            name = f"m{i}"
            member = SimServer(name, workloads=True, workload_delay=0.0, kubeconfig_dir=workdir / name)
            await member.start()
            servers.append(member)
            member_sims[name] = member
            member_apis[name] = await KubeClient.from_kubeconfig(member.kubeconfig_path, name=name)
            clients.append(member_apis[name])
            # this script's own reads of the member, under an identity that is not counted
            member_driver_kubeconfig = member.write_kubeconfig(
                workdir / name / "driver.kubeconfig",
                token=member.issue_token(user=DRIVER_USER, groups=("system:masters",)),
                user=DRIVER_USER,
            )
            member_drivers[name] = await KubeClient.from_kubeconfig(
                member_driver_kubeconfig, name=f"driver-{name}"
            )
            clients.append(member_drivers[name])
            out = workdir / f"{name}-hub.kubeconfig"
            code = await asyncio.to_thread(
                cli.main, ["join", name, "--kubeconfig", str(hub_sim.kubeconfig_path), "--out", str(out)]
            )
            if code != 0:
                raise RuntimeError(f"waybill join {name} failed")
            agent_hub_api = await KubeClient.from_kubeconfig(out, name=f"hub-{name}")
            clients.append(agent_hub_api)
            agent = Agent(
                hub_api=agent_hub_api,
                member_api=member_apis[name],
                # heartbeats and member status far outside the measurement window
                config=AgentConfig(
                    cluster=name, heartbeat_interval=600.0, lease_duration_seconds=3600,
                    member_status_interval=600.0,
                    **({} if available_hold is None else {"available_hold": available_hold}),
                ),
            )
            await agent.start()
            agents.append(agent)

        await driver.apply(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
            field_manager="bench",
        )
        await driver.apply(policy(names.POLICY_API_VERSION), field_manager="bench")
        await driver.apply(template("nginx:1.0"), field_manager="bench")

        async def converged(image: str) -> bool:
            live = await driver.get("apps/v1", "Deployment", name="web", namespace=NAMESPACE)
            status = live.get("status") or {}
            if status.get("observedGeneration") != live["metadata"]["generation"]:
                return False
            for api in member_drivers.values():
                try:
                    obj = await api.get("apps/v1", "Deployment", name="web", namespace=NAMESPACE)
                except Exception:
                    return False
                if obj["spec"]["template"]["spec"]["containers"][0]["image"] != image:
                    return False
            return True

        await wait_for(lambda: converged("nginx:1.0"), within=60, what="first propagation")
        await asyncio.sleep(settle)  # let trailing status writes of the first propagation finish

        for server in servers:
            server.audit.reset()
            server.audit.enable()
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile(time.process_time)  # CPU, not wall (no idle in poll)
            profiler.enable()
        started = time.monotonic()
        await driver.apply(template("nginx:2.0"), field_manager="bench")
        await wait_for(lambda: converged("nginx:2.0"), within=60, what="the change")
        elapsed = time.monotonic() - started
        await asyncio.sleep(settle)  # writes that trail the last report (throttled status writes)
        for server in servers:
            server.audit.disable()
        cpu: dict[str, float] = {}
        top: list[str] = []
        if profiler is not None:
            profiler.disable()
            cpu = cpu_by_component(profiler)
            top = top_functions(profiler)

        hub_audit = hub_sim.audit
        hub_requests: Counter[str] = Counter()
        for (user, verb), n in hub_audit.counts("user", "verb").items():
            who = party(user)
            if who != "other":
                hub_requests[f"{who} {verb}"] += n
        member_requests: Counter[str] = Counter()
        member_bytes = 0
        member_events = 0
        for sim in member_sims.values():
            agent_only = sim.audit.counts("verb", "resource", where=lambda e: e.user != DRIVER_USER)
            for (verb, resource), n in agent_only.items():
                member_requests[f"{verb} {resource}"] += n
            users = {e.user for e in sim.audit.entries} - {DRIVER_USER}
            member_bytes += sum(sim.audit.bytes_written(user=u) for u in users)
            member_events += sum(sim.audit.watch_events.values())
        hub_events: Counter[str] = Counter()
        for user, n in hub_audit.watch_events.items():
            hub_events[party(user)] += n
        hub_resources: Counter[str] = Counter()
        by_resource = hub_audit.counts("user", "verb", "resource", "subresource")
        for (user, verb, resource, sub), n in by_resource.items():
            who = party(user)
            if who != "other":
                hub_resources[f"{who} {verb} {resource}{'' if sub == 'None' else '/' + sub}"] += n
        return {
            "members": members,
            "seconds": round(elapsed, 3),
            "hub_requests": dict(sorted(hub_requests.items())),
            "hub_requests_by_resource": dict(sorted(hub_resources.items())),
            "member_requests": dict(sorted(member_requests.items())),
            "hub_bytes_written": {
                "hub": hub_audit.bytes_written(user=HUB_USER),
                "agent": sum(
                    hub_audit.bytes_written(user=u)
                    for u in {e.user for e in hub_audit.entries}
                    if party(u) == "agent"
                ),
            },
            "member_bytes_written": member_bytes,
            "hub_watch_events": dict(sorted(hub_events.items())),
            "member_watch_events": member_events,
            **({"cpu_seconds_by_component": {k: round(v, 4) for k, v in cpu.items()}} if cpu else {}),
            **({"top_functions": top} if top else {}),
        }
    finally:
        for agent in agents:
            with contextlib.suppress(Exception):
                await agent.stop()
        if hub_task is not None:
            hub_task.cancel()
            with contextlib.suppress(BaseException):
                await hub_task
        for client in clients:
            with contextlib.suppress(Exception):
                await client.close()
        for server in reversed(servers):
            with contextlib.suppress(Exception):
                await server.close()


def report(result: dict[str, Any]) -> str:
    n = result["members"]
    lines = [f"one template change, {n} members, converged in {result['seconds']} s"]
    lines.append("hub API server, by party and verb (total / per member):")
    for key, value in result["hub_requests"].items():
        lines.append(f"  {key:<28} {value:>6} {value / n:>8.2f}")
    lines.append("hub API server, by party, verb and resource:")
    for key, value in result["hub_requests_by_resource"].items():
        lines.append(f"  {key:<48} {value:>6} {value / n:>8.2f}")
    lines.append("member API servers (agents), by verb and resource:")
    for key, value in result["member_requests"].items():
        lines.append(f"  {key:<28} {value:>6} {value / n:>8.2f}")
    lines.append(f"hub bytes written: {result['hub_bytes_written']}")
    lines.append(f"member bytes written: {result['member_bytes_written']}")
    lines.append(f"watch events delivered on the hub: {result['hub_watch_events']}")
    lines.append(f"watch events delivered on members: {result['member_watch_events']}")
    if "cpu_seconds_by_component" in result:
        total = sum(result["cpu_seconds_by_component"].values())
        lines.append(
            f"CPU in the window (everything runs in this process): {total * 1000:.0f} ms, "
            f"{total * 1000 / n:.1f} ms per member; own time by component (top 15):"
        )
        for key, value in list(result["cpu_seconds_by_component"].items())[:15]:
            lines.append(f"  {key:<40} {value * 1000:>8.1f} ms {value / total:>6.1%}")
        lines.append("Waybill and kubesim functions by inclusive CPU (top 25):")
        lines += [f"  {row}" for row in result.get("top_functions", [])]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=3)
    parser.add_argument("--settle", type=float, default=1.0)
    parser.add_argument(
        "--available-hold", type=float, default=None,
        help="the agents' AgentConfig.available_hold (default: its default)",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the window: CPU by component")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    args = parser.parse_args(argv)
    from shared.ops.logging import configure

    configure(level="warning")
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(measure(
            members=args.members, settle=args.settle, workdir=Path(tmp), available_hold=args.available_hold,
            profile=args.profile,
        ))
    print(json.dumps(result, sort_keys=True) if args.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
