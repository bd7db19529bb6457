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
  for its generation on the hub (target < 30 s, issue #15; Karmada ~4 min on 12 cores), the
  hub's CPU seconds until then, and every write the hub made until then (kubesim's request
  audit, the hub's own identity), in total and per template: the binding writes are pinned at
  small scale by ``tests/perf/test_hub_binding_writes.py``.

Members in ``placement`` and ``works`` are registered the way labelling a namespace registers
them (namespace + MemberCluster); they have no agent, so each gets a stand-in heartbeat Lease
(renewed at registration, valid for an hour): a member without a first heartbeat carries the
not-ready NoSchedule taint and is not scheduled to. Only hub-side work is measured there.

* ``fleet`` (``--members N``, default 5,000): hub only, N registered members (the first 1,000
  labelled ``tier=gold``, every member ``slot=<index mod 10>``). First placement: a Deployment
  and a policy selecting the gold members; time until its 1,000 Works exist (target < 5 s).
  Then 1,000 ConfigMap templates under 10 policies, policy ``p<i>`` placing its 100 templates on
  the members of ``slot=i`` (N/10 each, so every member carries 100 templates in one Work):
  time until every Work is written. Then one policy change re-placing all of its templates
  (``p0`` from slot 0 to slot 1: N/10 Works created, N/10 emptied of them and deleted), and
  then all ten policies changed at once (every template re-placed, every Work rewritten). For
  each step: seconds until the last Work write it needs, the hub's CPU seconds over the step,
  its RSS after it, and per member (CPU ms and RSS KiB per member), so 1,000 and 5,000 members
  can be compared (cost per member should not grow). The hub API (kubesim) is read in
  process, not listed over HTTP, so polling costs nothing measurable.

    python benchmarks/scale_bench.py [--scenarios placement,works,coldstart,fleet] [--members N]
        [--placement-only]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
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


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


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


PROFILE_DIR: Path | None = None  # --profile: the hub runs under cProfile, its stats written here


def spawn(args: list[str], *, log: Path) -> subprocess.Popen[bytes]:
    wrap: list[str] = []
    if PROFILE_DIR is not None and args[0] == "hub":
        wrap = ["-m", "cProfile", "-o", str(PROFILE_DIR / "hub.prof")]
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, *wrap, "-m", "waybill", *args], stdout=out, stderr=out)


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


async def register_members(hub_api: KubeClient, *, count: int, gold: int, slots: int = 0) -> None:
    """``count`` members as a labelled namespace + MemberCluster + heartbeat Lease; the first
    ``gold`` get tier=gold (and with ``slots``, every member ``slot=<index mod slots>``)."""
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
        if slots:
            labels["slot"] = str(index % slots)
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
            # the hub's requests (it runs with the admin kubeconfig; the agents and this script
            # have their own identities: join's scoped tokens, "bench")
            hub.audit.reset()
            hub.audit.enable()
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
            hub_cpu = cpu_seconds(procs[0].pid)
            works = await count_works(hub_api)
            hub.audit.disable()
            print(
                f"coldstart: {templates:,} templates x 2 members converged (applied on both members, "
                f"Applied=True on all {works} Works) in {took:.1f} s (target < 30 s)"
            )
            print(
                f"coldstart: hub RSS {rss_mib(procs[0].pid):.0f} MiB, "
                f"agent RSS {rss_mib(procs[1].pid):.0f} / {rss_mib(procs[2].pid):.0f} MiB, "
                f"hub CPU {hub_cpu:.1f} s, load average {os.getloadavg()[0]:.1f}"
            )
            print_hub_writes(hub, templates=templates)
        finally:
            for proc in procs:
                stop(proc)
            for api in member_apis.values():
                await api.close()
            for sim in members.values():
                await sim.stop()


class WorkWatch:
    """The hub API's Works, read from kubesim's store in this process (no HTTP, no copies)."""

    def __init__(self, hub: SimServer) -> None:
        self.store = hub.store
        self.rtype = hub.store.registry.lookup(names.WORK_GROUP, names.VERSION, "works")
        self.last_write = 0.0
        self.writes = 0
        self._unsubscribe = hub.store.subscribe(self._on_event)

    def _on_event(self, event: Any) -> None:
        if event.rtype.key == self.rtype.key:
            self.last_write = time.monotonic()
            self.writes += 1

    def manifests_by_slot(self) -> dict[str, dict[str, int]]:
        """policy name -> member namespace -> manifests that policy's Works carry there."""
        out: dict[str, dict[str, int]] = {}
        for work in self.store.scan(self.rtype):
            labels = work["metadata"].get("labels") or {}
            policy_name = labels.get(names.LABEL_POLICY_NAME) or ""
            per = out.setdefault(policy_name, {})
            namespace = work["metadata"]["namespace"]
            per[namespace] = per.get(namespace, 0) + len(work["spec"]["workload"]["manifests"])
        return out

    def close(self) -> None:
        self._unsubscribe()


def on_slot(slot: str) -> dict[str, Any]:
    return {"clusterAffinity": {"labelSelector": {"matchLabels": {"slot": slot}}}}


async def fleet_step(
    label: str,
    *,
    watch: WorkWatch,
    hub_pid: int,
    members: int,
    done: Callable[[], bool],
    within: float,
    progress: Callable[[], str] | None = None,
) -> None:
    """Wait for ``done``; print seconds to the last Work write, hub CPU and RSS (and per member).
    With ``progress``, a line every 60 s saying how far the step got (for runs that may not end)."""
    cpu0 = cpu_seconds(hub_pid)
    started = time.monotonic()
    writes0 = watch.writes
    reported = started
    while not done():
        now = time.monotonic()
        if now - started > within:
            raise TimeoutError(f"{label}: not done within {within:.0f} s")
        if progress is not None and now - reported >= 60:
            reported = now
            print(
                f"fleet {members}: ... {label}: after {now - started:.0f} s: {progress()}, "
                f"{watch.writes - writes0} Work writes, hub CPU {cpu_seconds(hub_pid) - cpu0:.1f} s, "
                f"RSS {rss_mib(hub_pid):.0f} MiB; load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        await asyncio.sleep(0.2)
    took = max(watch.last_write, started) - started
    cpu = cpu_seconds(hub_pid) - cpu0
    rss = rss_mib(hub_pid)
    print(
        f"fleet {members}: {label}: {took:.1f} s to the last Work write "
        f"({watch.writes - writes0} Work writes), "
        f"hub CPU {cpu:.1f} s ({cpu / members * 1000:.1f} ms per member), hub RSS {rss:.0f} MiB "
        f"({rss * 1024 / members:.0f} KiB per member); load {os.getloadavg()[0]:.1f}",
        flush=True,
    )


async def scenario_fleet(workdir: Path, *, members: int = 5000, placement_only: bool = False) -> None:
    slots, templates, policies = 10, 1000, 10
    gold = min(1000, members)
    async with hub_server(workdir) as (hub, hub_api):
        await register_members(hub_api, count=members, gold=gold, slots=slots)
        await hub_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}})
        for index in range(0 if placement_only else templates):
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
        watch = WorkWatch(hub)
        proc = hub_process(hub, workdir)
        try:
            started = time.monotonic()

            async def members_seen() -> bool:
                found = await hub_api.list(names.CLUSTER_API_VERSION, names.KIND_MEMBER_CLUSTER)
                return sum(1 for m in found.items if (m.get("status") or {}).get("conditions")) == members

            await wait_until(members_seen, within=1200, every=1.0)
            settled = time.monotonic() - started
            print(
                f"fleet {members}: hub started, status of all members written in {settled:.1f} s; "
                f"hub CPU {cpu_seconds(proc.pid):.1f} s, RSS {rss_mib(proc.pid):.0f} MiB",
                flush=True,
            )
            slot_of = {f"{names.MEMBER_NAMESPACE_PREFIX}m{i:04d}": str(i % slots) for i in range(members)}
            gold_namespaces = {f"{names.MEMBER_NAMESPACE_PREFIX}m{i:04d}" for i in range(gold)}
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
            await fleet_step(
                f"first placement onto {gold} of {members} members (target < 5 s)",
                watch=watch, hub_pid=proc.pid, members=members,
                done=lambda: set(watch.manifests_by_slot().get("gold", {})) == gold_namespaces, within=600,
            )
            if placement_only:
                return

            def placed_so_far() -> str:
                count = sum(sum(per.values()) for per in watch.manifests_by_slot().values())
                return f"{count} manifests in Works"

            def placed(where: dict[str, str]) -> Callable[[], bool]:
                """Every policy's Works carry its 100 templates on exactly the members of its slot."""
                def check() -> bool:
                    by_policy = watch.manifests_by_slot()
                    for index in range(policies):
                        want = {ns for ns, slot in slot_of.items() if slot == where[f"p{index}"]}
                        have = by_policy.get(f"p{index}", {})
                        if set(have) != want or any(n != templates // policies for n in have.values()):
                            return False
                    return True

                return check

            where = {f"p{index}": str(index % slots) for index in range(policies)}
            for index in range(policies):
                await hub_api.create(
                    policy(
                        f"p{index}",
                        namespace="bench",
                        selectors=[
                            {
                                "apiVersion": "v1",
                                "kind": "ConfigMap",
                                "labelSelector": {"matchLabels": {"policy": f"p{index}"}},
                            }
                        ],
                        placement=on_slot(where[f"p{index}"]),
                    )
                )
            await fleet_step(
                f"{templates} templates under {policies} policies placed "
                f"({templates * members // slots} manifests)",
                watch=watch, hub_pid=proc.pid, members=members, done=placed(where), within=3600,
                progress=placed_so_far,
            )

            async def move(names_: list[str], shift: int) -> None:
                for name in names_:
                    where[name] = str((int(where[name]) + shift) % slots)
                    await hub_api.patch(
                        POLICY_API, "PropagationPolicy", name=name, namespace="bench",
                        patch={"spec": {"placement": on_slot(where[name])}},
                    )

            await move(["p0"], 1)
            await fleet_step(
                f"one policy change re-placing its {templates // policies} templates onto other "
                f"{members // slots} members",
                watch=watch, hub_pid=proc.pid, members=members, done=placed(where), within=3600,
                progress=placed_so_far,
            )
            await move([f"p{index}" for index in range(policies)], 1)
            await fleet_step(
                f"all {policies} policies changed at once: every template re-placed",
                watch=watch, hub_pid=proc.pid, members=members, done=placed(where), within=3600,
                progress=placed_so_far,
            )
        finally:
            watch.close()
            stop(proc)


HUB_USER = "kubernetes-admin"  # the hub process runs with the admin kubeconfig


def print_hub_writes(hub: SimServer, *, templates: int) -> None:
    """The hub process's writes until convergence (kubesim's request audit), total and per template."""
    counts = hub.audit.counts(
        "verb", "resource", "subresource", where=lambda e: e.user == HUB_USER and e.verb not in READS
    )
    binding = sum(n for (_, resource, _), n in counts.items() if resource == "resourcebindings")
    print(
        f"coldstart: hub writes {sum(counts.values()):,}; binding writes {binding:,} "
        f"({binding / templates:.2f} per template):"
    )
    for (verb, resource, sub), n in sorted(counts.items(), key=lambda kv: -kv[1]):
        what = f"{verb} {resource}{'' if sub == 'None' else '/' + sub}"
        print(f"  {what:<40} {n:>7,} {n / templates:>6.2f} per template")


READS = frozenset({"get", "list", "watch"})


def print_log_tails(workdir: Path) -> None:
    for log in sorted(workdir.glob("*.log")):
        print(f"--- last lines of {log.name}:", *log.read_text().splitlines()[-15:], sep="\n")


SCENARIOS: dict[str, Callable[..., Awaitable[None]]] = {
    "placement": scenario_placement,
    "works": scenario_works,
    "coldstart": scenario_coldstart,
    "fleet": scenario_fleet,
}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default="placement,works,coldstart")
    parser.add_argument("--members", type=int, default=5000, help="fleet: registered members (default 5,000)")
    parser.add_argument(
        "--placement-only", action="store_true", help="fleet: stop after the first placement (no templates)"
    )
    parser.add_argument("--profile", metavar="DIR", help="run the hub under cProfile; print its top")
    args = parser.parse_args()
    configure(level="warning")
    global PROFILE_DIR
    if args.profile:
        PROFILE_DIR = Path(args.profile)
        await asyncio.to_thread(PROFILE_DIR.mkdir, parents=True, exist_ok=True)
    for name in args.scenarios.split(","):
        with tempfile.TemporaryDirectory(prefix=f"waybill-scale-{name}-") as tmp:
            try:
                if name == "fleet":
                    await scenario_fleet(Path(tmp), members=args.members, placement_only=args.placement_only)
                else:
                    await SCENARIOS[name](Path(tmp))
            except Exception:
                print_log_tails(Path(tmp))
                raise
    if PROFILE_DIR is not None:
        import pstats

        await asyncio.sleep(2.0)  # the stopped hub writes its stats on the way out
        stats = pstats.Stats(str(PROFILE_DIR / "hub.prof"))
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(r"/(hub|shared)/", 30)


if __name__ == "__main__":
    asyncio.run(main())
