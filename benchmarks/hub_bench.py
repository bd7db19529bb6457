"""Hub benchmark: template change → applied on every member → status back on the hub.

The hub API server is a kubesim server in this process; the hub controller is a real
``waybill hub`` subprocess (so its CPU and memory can be read on their own); the members —
kubesim servers with simulated workload controllers, each with its agent, joined through
``waybill join``'s code path (scoped agent identity) — run in ``--workers`` subprocesses so the
simulated fleet is not one saturated event loop. For each fleet size it prints the propagation
latency p50/p99 — from patching a Deployment template (a new image, so a new generation) until
the hub shows that generation as observed by every member in the template's own
``status.observedGeneration`` — the first placement time, the hub's RSS, and the CPU share of
the hub, the hub API server and the fleet during the samples.

    python benchmarks/hub_bench.py [--sizes 10,100] [--samples 20] [--workers 2] [--profile DIR]
        [--available-hold S] [--heartbeats] [--uvloop] [--stand-in]

The fleet: each member simulates its workload controllers with no delay (a Deployment is
available at the controller's next write; one node), its agent runs with the defaults except
that the heartbeat Lease and member status are renewed far outside the samples (``--heartbeats``
keeps the defaults: 100 agents then renew 10 Leases a second, which a longer window counts more
of); two fleet processes (more do not help on two cores). The latency ends when the hub API
server (this process) commits the template's ``status.observedGeneration``, seen by a store
subscription: the measurement itself sends no request. ``--stand-in`` is the hub side only, for
sizes the full fleet does not fit (1,000): members registered as a labelled namespace, a
MemberCluster and a heartbeat Lease held for the run, and one subprocess answering every new
Work generation at once with Applied and Available. ``--uvloop`` runs the benchmark's processes
on uvloop if it is installed (it is not a dependency).

It also prints where the time of a change goes (``timeline``): kubesim's request audit on the
hub API server, timestamped, gives for each sample when the hub wrote the first and the last
Work, when the agents' status writes arrived (first, median, last) and when the hub wrote the
binding and template status; the medians over the samples are printed as offsets from the
template patch. ``--profile DIR`` runs the hub and the fleet workers under cProfile (slower:
not for the latency figures), and the hub API server (this process) over the samples, and
prints each one's top functions by own time.
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
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.ops.logging import configure

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


# ---------------------------------------------------------------- fleet worker (a subprocess)


async def run_worker(hub_kubeconfig: str, names_: list[str], workdir: Path) -> None:
    """Start members and their agents, print ``ready``, run until stdin closes."""
    from agent.config import AgentConfig
    from agent.runner import Agent
    from kubesim import SimServer
    from shared.kube.client import KubeClient
    from waybill import cmd_join

    servers: list[Any] = []
    agents: list[Any] = []
    clients: list[Any] = []
    hub_api = await KubeClient.from_kubeconfig(hub_kubeconfig, name="worker")
    clients.append(hub_api)
    try:
        for name in names_:
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
                assert await cmd_join.join(hub_api, args, hub_kubeconfig=hub_kubeconfig) == 0
            agent_hub = await KubeClient.from_kubeconfig(out, name=f"hub-{name}")
            member_api = await KubeClient.from_kubeconfig(member.kubeconfig_path, name=f"member-{name}")
            clients += [agent_hub, member_api]
            agent = Agent(
                hub_api=agent_hub,
                member_api=member_api,
                config=AgentConfig(
                    cluster=name, member_namespace=f"member-{name}",
                    **({} if AVAILABLE_HOLD is None else {"available_hold": AVAILABLE_HOLD}),
                    **({} if HEARTBEATS else QUIET_HEARTBEATS),
                ),
            )
            await agent.start()
            agents.append(agent)
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.read)
    finally:
        for agent in agents:
            await agent.stop()
        for client in clients:
            await client.close()
        for server in reversed(servers):
            await server.close()


# ---------------------------------------------------------------- stand-in agents (a subprocess)


def reported_status(work: dict[str, Any]) -> dict[str, Any]:
    """What an agent that applied every manifest of ``work`` and saw it available reports."""
    from shared.api import names
    from shared.api.meta import now_rfc3339

    now, generation = now_rfc3339(), (work.get("metadata") or {}).get("generation")

    def cond(kind: str) -> dict[str, Any]:
        return {"type": kind, "status": "True", "reason": kind, "lastTransitionTime": now,
                "observedGeneration": generation}

    manifests = []
    listed = ((work.get("spec") or {}).get("workload") or {}).get("manifests") or []
    for ordinal, manifest in enumerate(listed):
        group, _, version = str(manifest.get("apiVersion")).rpartition("/")
        meta = manifest.get("metadata") or {}
        manifests.append({
            "identifier": {
                "ordinal": ordinal, "group": group, "version": version, "kind": manifest.get("kind"),
                "resource": str(manifest.get("kind")).lower() + "s", "namespace": meta.get("namespace"),
                "name": meta.get("name"),
            },
            "conditions": [
                {k: v for k, v in cond(c).items() if k != "observedGeneration"}
                for c in (names.CONDITION_APPLIED, names.CONDITION_AVAILABLE)
            ],
        })
    return {
        "conditions": [cond(names.CONDITION_APPLIED), cond(names.CONDITION_AVAILABLE)],
        "manifestConditions": manifests,
    }


async def run_reporter(hub_kubeconfig: str) -> None:
    """Stand in for every member's agent: answer each new Work generation at once with Applied and
    Available (one status write, what a real agent writes when its hold catches availability)."""
    from shared.api import names
    from shared.kube.client import KubeClient
    from shared.kube.errors import ApiError

    hub_api = await KubeClient.from_kubeconfig(hub_kubeconfig, name="stand-in-agents")

    async def answer(work: dict[str, Any]) -> None:
        meta = work.get("metadata") or {}
        conds = (work.get("status") or {}).get("conditions") or []
        applied = next((c for c in conds if c.get("type") == names.CONDITION_APPLIED), {})
        if applied.get("observedGeneration") == meta.get("generation"):
            return
        with contextlib.suppress(ApiError):
            await hub_api.patch_status(
                names.WORK_API_VERSION, names.KIND_WORK, name=str(meta["name"]),
                namespace=str(meta["namespace"]), patch={"status": reported_status(work)},
            )

    async def follow() -> None:
        resource_version: str | None = None
        while True:
            try:
                if resource_version is None:
                    listed = await hub_api.list(names.WORK_API_VERSION, names.KIND_WORK)
                    resource_version = listed.resource_version
                    for work in listed.items:
                        await answer(work)
                async for event in hub_api.watch(
                    names.WORK_API_VERSION, names.KIND_WORK, resource_version=resource_version,
                    timeout_seconds=60,
                ):
                    resource_version = event.resource_version or resource_version
                    if event.type in ("ADDED", "MODIFIED"):
                        await answer(event.object)
            except ApiError:
                resource_version = None

    task = asyncio.create_task(follow())
    print("ready", flush=True)
    try:
        await asyncio.to_thread(sys.stdin.read)
    finally:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        await hub_api.close()


async def register_members(hub_api: Any, members: list[str]) -> None:
    """Members as the hub sees them without agents: a labelled namespace and a MemberCluster."""
    from shared.api import names

    for name in members:
        namespace = f"{names.MEMBER_NAMESPACE_PREFIX}{name}"
        await hub_api.create({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": namespace, "labels": {names.LABEL_MEMBER: name}},
        })
        await hub_api.create({
            "apiVersion": names.CLUSTER_API_VERSION, "kind": names.KIND_MEMBER_CLUSTER,
            "metadata": {"name": name, "namespace": namespace}, "spec": {"syncMode": "Pull"},
        })
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        await hub_api.create({  # the agent's heartbeat, held for the whole run: the member reports
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": names.HEARTBEAT_LEASE_NAME, "namespace": namespace},
            "spec": {"holderIdentity": f"stand-in-{name}", "leaseDurationSeconds": 3600,
                     "acquireTime": now, "renewTime": now},
        })


# ---------------------------------------------------------------- the measurement


PHASES = (
    "first_work", "last_work", "first_report", "median_report", "last_report", "last_binding_status",
    "template_status",
)


def phases_of(timeline: list[tuple[float, Any]], t0: float) -> dict[str, float]:
    """When (seconds after ``t0``) each step of one propagation finished on the hub API server."""
    def times(where: Any) -> list[float]:
        return sorted(at - t0 for at, e in timeline if where(e))

    works = times(lambda e: e.resource == "works" and e.subresource is None and e.verb == "patch")
    reports = times(lambda e: e.resource == "works" and e.subresource == "status")
    bindings = times(lambda e: e.resource == "resourcebindings" and e.subresource == "status")
    template = times(lambda e: e.resource == "deployments" and e.subresource == "status")
    out: dict[str, float] = {}
    if works:
        out["first_work"], out["last_work"] = works[0], works[-1]
    if reports:
        out["first_report"], out["last_report"] = reports[0], reports[-1]
        out["median_report"] = statistics.median(reports)
    if bindings:
        out["last_binding_status"] = bindings[-1]
    if template:
        out["template_status"] = template[-1]
    return out


class TemplateStatus:
    """When the hub API server (this process) committed each ``status.observedGeneration`` of the
    template: a store subscription, so the measurement sends no request and polls nothing."""

    def __init__(self, store: Any) -> None:
        self.seen: dict[int, float] = {}
        self.changed = asyncio.Event()
        store.subscribe(self._on_event)

    def _on_event(self, event: Any) -> None:
        if event.rtype.key != ("apps", "deployments") or event.obj["metadata"].get("name") != "web":
            return
        generation = (event.obj.get("status") or {}).get("observedGeneration")
        if isinstance(generation, int) and generation not in self.seen:
            self.seen[generation] = time.monotonic()
            self.changed.set()

    async def observed(self, generation: int, *, within: float) -> float:
        deadline = time.monotonic() + within
        while generation not in self.seen:
            self.changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"generation {generation} not observed on every member within {within}s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)
        return self.seen[generation]


HEARTBEATS = False  # --heartbeats: the agents' default heartbeat and member status periods
# else the heartbeat Lease and member status far outside the samples (as request_counts.py does):
# a run's CPU per change is then the change's own, not the change plus however many heartbeats
# (100 agents renew 10 Leases a second) fall into a window that is longer on a loaded machine
QUIET_HEARTBEATS: dict[str, Any] = {
    "heartbeat_interval": 600.0, "lease_duration_seconds": 3600, "member_status_interval": 600.0,
}
UVLOOP = False  # --uvloop: every process of the benchmark on uvloop's event loop (if installed)
PROFILE_DIR: Path | None = None
AVAILABLE_HOLD: float | None = None  # the agents' AgentConfig.available_hold (None: its default)


async def spawn(*argv: str, stdin: bool = False, profile_as: str = "") -> asyncio.subprocess.Process:
    wrap: list[str] = []
    if PROFILE_DIR is not None and profile_as:
        wrap = ["-m", "cProfile", "-o", str(PROFILE_DIR / f"{profile_as}.prof")]
    if UVLOOP:
        if argv[:2] == ("-m", "waybill"):  # the hub: the CLI's asyncio.run on uvloop's loop
            argv = ("-c", "import sys, uvloop; uvloop.install(); from waybill.cli import main; "
                    "sys.exit(main(sys.argv[1:]))", *argv[2:])
        else:
            argv = (*argv, "--uvloop")
    return await asyncio.create_subprocess_exec(
        sys.executable,
        *wrap,
        *argv,
        stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def run_size(
    size: int, samples: int, workers: int, workdir: Path, *, stand_in: bool = False
) -> dict[str, Any]:
    from hub.crds import ensure_crds
    from kubesim import SimServer
    from shared.api import names
    from shared.kube.client import KubeClient

    hub_sim = SimServer("hub", kubeconfig_dir=workdir)
    await hub_sim.start()
    template_status = TemplateStatus(hub_sim.store)
    hub_api = await KubeClient.from_kubeconfig(hub_sim.kubeconfig_path, name="bench")
    fleet: list[asyncio.subprocess.Process] = []
    hub_process: asyncio.subprocess.Process | None = None
    try:
        await ensure_crds(hub_api)
        members = [f"m{index:03d}" for index in range(size)]
        if stand_in:
            await register_members(hub_api, members)
            fleet.append(
                await spawn(__file__, "--reporter", str(hub_sim.kubeconfig_path), stdin=True,
                            profile_as="reporter")
            )
        for shard in range(0 if stand_in else workers):
            chunk = members[shard::workers]
            if chunk:
                fleet.append(
                    await spawn(
                        __file__,
                        *(["--available-hold", str(AVAILABLE_HOLD)] if AVAILABLE_HOLD is not None else []),
                        *(["--heartbeats"] if HEARTBEATS else []),
                        "--worker", str(hub_sim.kubeconfig_path), str(workdir), *chunk, stdin=True,
                        profile_as=f"fleet{shard}",
                    )
                )
        for process in fleet:
            assert process.stdout is not None
            line = await asyncio.wait_for(process.stdout.readline(), 300)
            assert line.strip() == b"ready", f"fleet worker failed to start: {line!r}"
        hub_process = await spawn(
            "-m",
            "waybill",
            "hub",
            "--kubeconfig",
            str(hub_sim.kubeconfig_path),
            "--no-leader-elect",
            "--log-level",
            "warning",
            profile_as="hub",
        )
        await hub_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}})
        await hub_api.create(
            {
                "apiVersion": names.POLICY_API_VERSION,
                "kind": "PropagationPolicy",
                "metadata": {"name": "bench", "namespace": "bench"},
                "spec": {
                    "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment"}],
                    "placement": {},
                },
            }
        )
        started = time.monotonic()
        created = await hub_api.create(template("nginx:0"))
        first = await template_status.observed(int(created["metadata"]["generation"]), within=300) - started
        pids = {"hub": [hub_process.pid], "api": [os.getpid()], "fleet": [p.pid for p in fleet]}
        before = {k: sum(cpu_seconds(p) for p in v) for k, v in pids.items()}
        timeline: list[tuple[float, Any]] = []
        hub_sim.audit.record = lambda entry: timeline.append((time.monotonic(), entry))  # type: ignore[method-assign]
        hub_sim.audit.enable()
        api_profile = None
        if PROFILE_DIR is not None:  # the hub API server (kubesim, this process) over the samples
            import cProfile

            api_profile = cProfile.Profile(time.process_time)
            api_profile.enable()
        phases: list[dict[str, float]] = []
        wall = time.monotonic()
        latencies = []
        requests: Counter[str] = Counter()  # what the hub API server served during the samples
        for sample in range(1, samples + 1):
            requests.update(
                f"{e.verb} {e.resource}{'/' + e.subresource if e.subresource else ''}" for _, e in timeline
            )
            timeline.clear()
            t0 = time.monotonic()
            containers = [{"name": "web", "image": f"nginx:{sample}"}]
            patched = await hub_api.patch(
                "apps/v1",
                "Deployment",
                name="web",
                namespace="bench",
                patch={"spec": {"template": {"spec": {"containers": containers}}}},
                patch_type="strategic",
            )
            generation = int(patched["metadata"]["generation"])
            latencies.append(await template_status.observed(generation, within=120) - t0)
            phases.append(phases_of(timeline, t0))
        requests.update(
            f"{e.verb} {e.resource}{'/' + e.subresource if e.subresource else ''}" for _, e in timeline
        )
        wall = time.monotonic() - wall
        if api_profile is not None and PROFILE_DIR is not None:
            api_profile.disable()
            api_profile.dump_stats(str(PROFILE_DIR / f"api-{size}.prof"))
        hub_sim.audit.disable()
        used = {k: sum(cpu_seconds(p) for p in v) - before[k] for k, v in pids.items()}
        shares = {k: v / wall for k, v in used.items()}
        latencies.sort()
        return {
            "members": size,
            "first": first,
            "p50": statistics.median(latencies),
            "p99": latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))],
            "rss": rss_mib(hub_process.pid),
            **{f"cpu_{k}": v for k, v in shares.items()},
            **{f"per_change_{k}": v / samples for k, v in used.items()},
            "load": os.getloadavg()[0],
            "requests": {k: v / samples for k, v in requests.most_common() if v / samples >= 0.5},
            **{f"at_{k}": statistics.median(p.get(k, float("nan")) for p in phases) for k in PHASES},
        }
    finally:
        for process in [*fleet, *([hub_process] if hub_process else [])]:
            if process.stdin is not None:
                process.stdin.close()
            else:
                process.terminate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 60)
        await hub_api.close()
        await hub_sim.close()


async def run_scale(*, templates: int, policies: int, members: int, workdir: Path) -> dict[str, float]:
    """Hub-only scale: members registered without agents, ``templates`` ConfigMaps under
    ``policies`` policies; time until every member's Works carry every template."""
    from hub.crds import ensure_crds
    from kubesim import SimServer
    from shared.api import names
    from shared.kube.client import KubeClient

    hub_sim = SimServer("hub", kubeconfig_dir=workdir)
    await hub_sim.start()
    hub_api = await KubeClient.from_kubeconfig(hub_sim.kubeconfig_path, name="bench")
    hub_process: asyncio.subprocess.Process | None = None
    try:
        await ensure_crds(hub_api)
        for index in range(members):
            name = f"m{index:03d}"
            await hub_api.create(
                {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {"name": f"member-{name}", "labels": {names.LABEL_MEMBER: name}},
                }
            )
            await hub_api.create(
                {
                    "apiVersion": names.CLUSTER_API_VERSION,
                    "kind": names.KIND_MEMBER_CLUSTER,
                    "metadata": {"name": name, "namespace": f"member-{name}"},
                    "spec": {},
                }
            )
        await hub_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}})
        for index in range(policies):
            await hub_api.create(
                {
                    "apiVersion": names.POLICY_API_VERSION,
                    "kind": "PropagationPolicy",
                    "metadata": {"name": f"p{index}", "namespace": "bench"},
                    "spec": {
                        "resourceSelectors": [
                            {
                                "apiVersion": "v1",
                                "kind": "ConfigMap",
                                "labelSelector": {"matchLabels": {"policy": f"p{index}"}},
                            }
                        ]
                    },
                }
            )
        for index in range(templates):
            await hub_api.create(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {
                        "name": f"cm-{index:05d}",
                        "namespace": "bench",
                        "labels": {"policy": f"p{index % policies}"},
                    },
                    "data": {"index": str(index)},
                }
            )
        started = time.monotonic()
        hub_process = await spawn(
            "-m",
            "waybill",
            "hub",
            "--kubeconfig",
            str(hub_sim.kubeconfig_path),
            "--no-leader-elect",
            "--log-level",
            "warning",
        )
        want = templates * members
        works: list[Any] = []
        while time.monotonic() - started < 600:
            works = (await hub_api.list(names.WORK_API_VERSION, names.KIND_WORK)).items
            if sum(len(w["spec"]["workload"]["manifests"]) for w in works) == want:
                break
            await asyncio.sleep(0.5)
        else:
            raise TimeoutError("the hub did not converge within 600 s")
        return {"converged": time.monotonic() - started, "works": len(works), "rss": rss_mib(hub_process.pid)}
    finally:
        if hub_process is not None:
            hub_process.terminate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(hub_process.wait(), 30)
        await hub_api.close()
        await hub_sim.close()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10,100")
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="fleet subprocesses (default 2)")
    parser.add_argument(
        "--scale",
        metavar="TEMPLATES,POLICIES,MEMBERS",
        help="instead: hub-only cold start, e.g. 1000,10,100 (no agents)",
    )
    parser.add_argument("--profile", metavar="DIR", help="run the hub and the fleet under cProfile")
    parser.add_argument("--available-hold", type=float, help="the agents' AgentConfig.available_hold")
    parser.add_argument(
        "--stand-in", action="store_true",
        help="hub side only: members registered without member API servers or agents, one "
        "subprocess answering every Work at once (e.g. --sizes 1000)",
    )
    parser.add_argument(
        "--uvloop", action="store_true",
        help="the hub, the fleet workers and this process on uvloop (not a dependency: pip install uvloop)",
    )
    parser.add_argument(
        "--heartbeats", action="store_true",
        help="agents renew their Lease (10 s) and member status (60 s) at the defaults during the samples",
    )
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--reporter", help=argparse.SUPPRESS)
    args = parser.parse_args()
    global PROFILE_DIR, AVAILABLE_HOLD, UVLOOP, HEARTBEATS
    AVAILABLE_HOLD = args.available_hold
    HEARTBEATS = args.heartbeats
    UVLOOP = args.uvloop
    if args.profile:
        PROFILE_DIR = Path(args.profile)
        await asyncio.to_thread(PROFILE_DIR.mkdir, parents=True, exist_ok=True)
    configure(level="warning")
    if args.worker:
        hub_kubeconfig, workdir, *member_names = args.worker
        await run_worker(hub_kubeconfig, member_names, Path(workdir))
        return
    if args.reporter:
        await run_reporter(args.reporter)
        return
    if args.scale:
        templates, policies, members = (int(v) for v in args.scale.split(","))
        with tempfile.TemporaryDirectory() as workdir:
            r = await run_scale(
                templates=templates, policies=policies, members=members, workdir=Path(workdir)
            )
        print(
            f"{templates} templates x {members} members under {policies} policies: converged in "
            f"{r['converged']:.1f} s, {r['works']:.0f} Works on the hub, hub RSS {r['rss']:.0f} MiB",
            flush=True,
        )
        return
    print(
        f"{'members':>8} {'first':>8} {'p50':>8} {'p99':>8} {'hub RSS':>8} {'CPU: hub':>9} "
        f"{'hub API':>8} {'fleet':>6}"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as workdir:
            r = await run_size(size, args.samples, args.workers, Path(workdir), stand_in=args.stand_in)
        print(
            f"{r['members']:>8} {r['first'] * 1000:>5.0f} ms {r['p50'] * 1000:>5.0f} ms "
            f"{r['p99'] * 1000:>5.0f} ms "
            f"{r['rss']:>4.0f} MiB {r['cpu_hub']:>9.0%} {r['cpu_api']:>8.0%} {r['cpu_fleet']:>6.0%}",
            flush=True,
        )
        hub_ms, api_ms, fleet_ms = (r[f"per_change_{k}"] * 1000 for k in ("hub", "api", "fleet"))
        print(
            f"  CPU per change: hub {hub_ms:.0f} ms, hub API {api_ms:.0f} ms, fleet {fleet_ms:.0f} ms "
            f"({fleet_ms / size:.1f} ms per member); load average {r['load']:.1f}",
            flush=True,
        )
        print(
            "  hub API requests per change (watch events not counted): "
            + ", ".join(f"{k} {v:.1f}" for k, v in r["requests"].items()),
            flush=True,
        )
        print(
            "  timeline (median ms after the template patch): "
            + ", ".join(f"{k} {r['at_' + k] * 1000:.0f}" for k in PHASES),
            flush=True,
        )
    if PROFILE_DIR is not None:
        print_profiles(PROFILE_DIR)


def print_profiles(directory: Path, top: int = 25) -> None:
    import pstats

    for path in sorted(directory.glob("*.prof")):
        stats = pstats.Stats(str(path))
        total = sum(row[2] for row in stats.stats.values())  # type: ignore[attr-defined]
        print(f"--- {path.stem}: {total:.1f} s of own time; top {top} functions by own time")
        rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)  # type: ignore[attr-defined]
        for (file, line, func), (_, calls, own, cumulative, _) in rows[:top]:
            where = f"{Path(file).parent.name}/{Path(file).name}:{line}" if line else file
            share = own / total
            print(f"  {own:7.2f} s {share:6.1%} {cumulative:7.2f} s cum {calls:>9} calls  {func}  {where}")


if __name__ == "__main__":
    if "--uvloop" in sys.argv:
        import uvloop

        uvloop.install()
    asyncio.run(main())
