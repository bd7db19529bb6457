"""Agent benchmark: Work creation -> Applied=True on the hub, and the idle agent's CPU and memory.

Runs a kubesim hub and member (with simulated workload controllers) in this process and the
agent as a real ``waybill agent`` subprocess (pull arrangement: scoped hub token from the
TokenRequest API, member admin kubeconfig). Prints, for Works of 1, 100 and 1,000 ConfigMaps,
the time from the Work's creation until its ``Applied`` condition is True for its generation,
then the agent's RSS and CPU over an idle window (targets, ARCHITECTURE §7: < 2 mCPU, < 80 MB).

    python benchmarks/agent_bench.py [--sizes 1,100,1000] [--idle-seconds 30]

``--scale WORKS,PER_WORK`` (e.g. ``100,100``: 10,000 applied objects) first makes the agent hold
WORKS Works of PER_WORK ConfigMaps, then runs the above with it, and then measures a full
resync twice: the agent restarted (cold: informers list, every Work is reconciled) and, in
the restarted agent (``--resync-interval`` 10 s), the periodic re-apply of every Work (warm).
For each it prints the passes, the time, the agent's CPU seconds and every request it made to
the member and the hub by verb and resource (kubesim's audit): a resync of an unchanged world
should write nothing — an AppliedWork, object or status write there is a defect.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kubesim import SimServer
from shared import membership_rbac
from shared.api import names
from shared.api.crdgen import all_crds
from shared.kube.client import KubeClient
from shared.kube.errors import NotFound

CLUSTER = "eu1"
NAMESPACE = f"{names.MEMBER_NAMESPACE_PREFIX}{CLUSTER}"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def configmap(work: str, index: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"{work}-{index:05d}", "namespace": "bench"},
        "data": {"index": str(index)},
    }


async def join(hub: SimServer, hub_api: KubeClient, workdir: Path) -> Path:
    for crd in all_crds():
        await hub_api.create(crd)
    for crd in all_crds():
        api_version = f"{crd['spec']['group']}/{crd['spec']['versions'][0]['name']}"
        for _ in range(100):
            try:
                hub_api.invalidate_discovery(api_version)
                await hub_api.resource_info(api_version, crd["spec"]["names"]["kind"])
                break
            except NotFound:
                await asyncio.sleep(0.05)
    await hub_api.create(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": NAMESPACE, "labels": {names.LABEL_MEMBER: CLUSTER}},
        }
    )
    await hub_api.create(
        {
            "apiVersion": names.CLUSTER_API_VERSION,
            "kind": names.KIND_MEMBER_CLUSTER,
            "metadata": {"name": CLUSTER, "namespace": NAMESPACE},
            "spec": {},
        }
    )
    for obj in membership_rbac.agent_identity_objects(namespace=NAMESPACE, cluster=CLUSTER):
        await hub_api.create(obj)
    token = await hub_api.create_subresource(
        "v1",
        "ServiceAccount",
        name=membership_rbac.AGENT_IDENTITY,
        subresource="token",
        namespace=NAMESPACE,
        body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}},
    )
    return hub.write_kubeconfig(workdir / "agent-hub.kubeconfig", token=str(token["status"]["token"]))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def scrape(port: int) -> dict[str, float]:
    """The agent's counters (``/metrics``), summed per metric name."""
    import aiohttp

    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/metrics") as resp:
        text = await resp.text()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name = line.split("{")[0].split(" ")[0]
        if name.endswith("_total"):
            out[name] = out.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
    return out


async def wait_ready(port: int) -> None:
    import aiohttp

    for _ in range(300):
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{port}/readyz") as resp,
            ):
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise TimeoutError("the agent did not become ready")


def proc_usage(pid: int) -> tuple[float, int]:
    """(CPU seconds used, RSS bytes) of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    return cpu, rss


async def time_to_applied(hub_api: KubeClient, size: int) -> float:
    name = f"bench-{size}"
    body = {
        "apiVersion": names.WORK_API_VERSION,
        "kind": names.KIND_WORK,
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"workload": {"manifests": [configmap(name, i) for i in range(size)]}},
    }
    started = time.perf_counter()
    created = await hub_api.create(body)
    generation = created["metadata"]["generation"]
    while True:
        work = await hub_api.get(names.WORK_API_VERSION, names.KIND_WORK, name=name, namespace=NAMESPACE)
        for cond in (work.get("status") or {}).get("conditions") or []:
            if (
                cond["type"] == "Applied"
                and cond["status"] == "True"
                and cond.get("observedGeneration") == generation
            ):
                return time.perf_counter() - started
        if time.perf_counter() - started > 600:
            raise TimeoutError(f"Work of {size} manifests not applied within 600 s")
        await asyncio.sleep(0.01)


async def one_edit(hub_api: KubeClient, member: SimServer, size: int) -> tuple[float, int, int]:
    """Edit one manifest of the ``size`` Work: (seconds to Applied, object writes, AppliedWork writes)."""
    budget = 10**9  # zero-second latency rules: kubesim counts the requests they match
    writes = ("POST", "PUT", "PATCH")
    objects = [member.faults.latency(0.0, path="/configmaps", method=m, times=budget) for m in writes]
    records = [member.faults.latency(0.0, path="/appliedworks", method=m, times=budget) for m in writes]
    name = f"bench-{size}"
    manifests = [configmap(name, i) for i in range(size)]
    manifests[size // 2]["data"] = {"edited": "yes"}
    started = time.perf_counter()
    patched = await hub_api.patch(
        names.WORK_API_VERSION, names.KIND_WORK, name=name, namespace=NAMESPACE,
        patch={"spec": {"workload": {"manifests": manifests}}},
    )
    generation = patched["metadata"]["generation"]
    while True:
        work = await hub_api.get(names.WORK_API_VERSION, names.KIND_WORK, name=name, namespace=NAMESPACE)
        conds = (work.get("status") or {}).get("conditions") or []
        if any(c["type"] == "Applied" and c["status"] == "True" and c.get("observedGeneration") == generation
               for c in conds):
            break
        if time.perf_counter() - started > 600:
            raise TimeoutError("the edit was not applied within 600 s")
        await asyncio.sleep(0.01)
    took = time.perf_counter() - started
    member.faults.rules[:] = [r for r in member.faults.rules if r not in (*objects, *records)]
    def used(rules: list[Any]) -> int:
        return sum(budget - int(r.times or 0) for r in rules)

    return took, used(objects), used(records)


AGENT_LOG = os.environ.get("AGENT_BENCH_LOG")  # a file for the agents' info logs (default: discarded)


def agent_process(scoped: Path, member: SimServer, port: int, *extra: str) -> subprocess.Popen[bytes]:
    log = open(AGENT_LOG, "ab") if AGENT_LOG else subprocess.DEVNULL  # noqa: SIM115 - the child's
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "waybill",
            "agent",
            "--cluster",
            CLUSTER,
            "--hub-kubeconfig",
            str(scoped),
            "--kubeconfig",
            str(member.kubeconfig_path),
            "--namespace",
            NAMESPACE,
            "--metrics-port",
            str(port),
            "--log-level",
            "info" if AGENT_LOG else "warning",
            *extra,
        ],
        stdout=log,
        stderr=log,
    )


async def stop_agent(agent: subprocess.Popen[bytes], *, within: float = 30.0) -> tuple[int, float]:
    """SIGTERM, then wait for the exit without blocking this loop (which serves the simulated API
    servers: a blocking ``wait()`` here kept the stopping agent's last requests — its record
    flush and Lease release — from being answered until its grace period ran out). Returns the
    exit code and the seconds the stop took."""
    started = time.monotonic()
    agent.terminate()
    while agent.poll() is None:
        if time.monotonic() - started > within:
            agent.kill()
            break
        await asyncio.sleep(0.05)
    return agent.wait(), time.monotonic() - started


async def sync_count(port: int) -> float:
    """Work passes the agent has made (``agent_work_sync_seconds_count``)."""
    import aiohttp

    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/metrics") as resp:
        text = await resp.text()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("waybill_agent_work_sync_seconds_count")
    )


async def hold_works(hub_api: KubeClient, *, works: int, per_work: int) -> float:
    """Create ``works`` Works of ``per_work`` ConfigMaps; seconds until all are Applied."""
    started = time.perf_counter()
    for w in range(works):
        name = f"held-{w:03d}"
        await hub_api.create(
            {
                "apiVersion": names.WORK_API_VERSION,
                "kind": names.KIND_WORK,
                "metadata": {"name": name, "namespace": NAMESPACE},
                "spec": {"workload": {"manifests": [configmap(name, i) for i in range(per_work)]}},
            }
        )
    while True:
        listed = (await hub_api.list(names.WORK_API_VERSION, names.KIND_WORK, namespace=NAMESPACE)).items
        applied = sum(
            1
            for work in listed
            if str(work["metadata"]["name"]).startswith("held-")
            and any(
                c["type"] == "Applied"
                and c["status"] == "True"
                and c.get("observedGeneration") == work["metadata"]["generation"]
                for c in (work.get("status") or {}).get("conditions") or []
            )
        )
        if applied == works:
            return time.perf_counter() - started
        if time.perf_counter() - started > 1200:
            raise TimeoutError(f"{applied} of {works} Works applied within 1200 s")
        await asyncio.sleep(0.5)


def requests_of(*servers: SimServer) -> dict[str, int]:
    out: dict[str, int] = {}
    for server in servers:
        for (verb, resource, sub), n in server.audit.counts("verb", "resource", "subresource").items():
            key = f"{server.name} {verb} {resource}{'' if sub == 'None' else '/' + sub}"
            out[key] = out.get(key, 0) + n
    return dict(sorted(out.items()))


async def measure_resync(
    *, hub: SimServer, member: SimServer, agent: subprocess.Popen[bytes], port: int, passes: int, label: str,
    ready: bool,
) -> None:
    """Wait for ``passes`` more Work passes (after the agent is ready, if ``ready``) and print their cost."""
    for server in (hub, member):
        server.audit.reset()
        server.audit.enable()
    cpu0, _ = proc_usage(agent.pid)
    started = time.monotonic()
    if ready:
        await wait_ready(port)
        print(f"{label}: agent ready {time.monotonic() - started:.1f} s after its start")
    base = 0.0 if ready else await sync_count(port)
    while await sync_count(port) < base + passes:
        if time.monotonic() - started > 600:
            raise TimeoutError(f"{label}: fewer than {passes} passes within 600 s")
        await asyncio.sleep(0.2)
    took = time.monotonic() - started
    cpu1, rss = proc_usage(agent.pid)
    for server in (hub, member):
        server.audit.disable()
    made = requests_of(hub, member)
    verbs = ("create", "update", "patch", "apply", "delete")
    writes = {k: v for k, v in made.items() if k.split(" ")[1] in verbs}
    cpu = cpu1 - cpu0
    print(f"{label}: {passes} Work passes in {took:.1f} s, agent CPU {cpu:.2f} s, RSS {rss / 1e6:.0f} MB")
    print(f"{label}: requests {made}")
    print(f"{label}: writes {writes or 'none'}")
    written = sorted(
        {f"{e.resource}/{e.name}" for e in member.audit.entries if e.verb in verbs and e.name}
    )
    if written:
        print(f"{label}: member objects written {written[:10]}")


async def scale(
    *, works: int, per_work: int, edit_size: int, idle_seconds: float, workdir: Path
) -> None:
    hub = SimServer("hub", kubeconfig_dir=workdir)
    member = SimServer(CLUSTER, workloads=True, kubeconfig_dir=workdir)
    await hub.start()
    await member.start()
    hub_api = await KubeClient.from_kubeconfig(hub.kubeconfig_path, name="bench-hub")
    scoped = await join(hub, hub_api, workdir)
    port = free_port()
    agent = agent_process(scoped, member, port)
    try:
        await wait_ready(port)
        took = await hold_works(hub_api, works=works, per_work=per_work)
        objects = works * per_work
        print(f"{works} Works x {per_work} ConfigMaps ({objects} objects): all Applied in {took:.1f} s")
        seconds = await time_to_applied(hub_api, edit_size)
        print(f"work of {edit_size} manifests (beside them): Applied=True in {seconds * 1000:.0f} ms")
        took, written, recorded = await one_edit(hub_api, member, edit_size)
        print(
            f"one manifest edited in the {edit_size}-manifest Work: Applied=True in {took * 1000:.0f} ms, "
            f"{written} member object write(s), {recorded} AppliedWork write(s)"
        )
        await asyncio.sleep(3.0)
        cpu0, _ = proc_usage(agent.pid)
        t0 = time.monotonic()
        await asyncio.sleep(idle_seconds)
        cpu1, rss = proc_usage(agent.pid)
        millicores = (cpu1 - cpu0) / (time.monotonic() - t0) * 1000
        total = works * per_work + edit_size
        print(
            f"idle agent over {idle_seconds:.0f} s holding {total} applied objects in {works + 1} Works: "
            f"{millicores:.2f} mCPU (target < 2), RSS {rss / 1e6:.0f} MB (target < 150)"
        )
        code, took = await stop_agent(agent)
        print(f"agent stopped on SIGTERM in {took:.1f} s, exit code {code}")
        agent = agent_process(scoped, member, port, "--resync-interval", "10")
        await measure_resync(
            hub=hub, member=member, agent=agent, port=port, passes=works + 1, label="restart (cold resync)",
            ready=True,
        )
        await asyncio.sleep(2.0)
        await measure_resync(
            hub=hub, member=member, agent=agent, port=port, passes=works + 1, label="periodic resync (warm)",
            ready=False,
        )
        _, rss = proc_usage(agent.pid)
        print(f"agent RSS after the resyncs: {rss / 1e6:.0f} MB")
    finally:
        await stop_agent(agent, within=20)
        await hub_api.close()
        await hub.close()
        await member.close()


async def main(sizes: list[int], idle_seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        hub = SimServer("hub", kubeconfig_dir=workdir)
        member = SimServer(CLUSTER, workloads=True, kubeconfig_dir=workdir)
        await hub.start()
        await member.start()
        hub_api = await KubeClient.from_kubeconfig(hub.kubeconfig_path, name="bench-hub")
        scoped = await join(hub, hub_api, workdir)
        port = free_port()
        agent = subprocess.Popen(  # noqa: ASYNC220 - started once, before any timing
            [
                sys.executable,
                "-m",
                "waybill",
                "agent",
                "--cluster",
                CLUSTER,
                "--hub-kubeconfig",
                str(scoped),
                "--kubeconfig",
                str(member.kubeconfig_path),
                "--namespace",
                NAMESPACE,
                "--metrics-port",
                str(port),
                "--log-level",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            print(f"agent pid {agent.pid}; hub {hub.url}; member {member.url}")
            await wait_ready(port)
            for size in sizes:
                seconds = await time_to_applied(hub_api, size)
                millis = seconds * 1000
                print(f"work of {size:5d} manifests: created -> Applied=True on the hub in {millis:8.1f} ms")
            largest = max(sizes)
            took, written, recorded = await one_edit(hub_api, member, largest)
            print(
                f"one manifest edited in the {largest}-manifest Work: Applied=True in {took * 1000:.1f} ms, "
                f"{written} member object write(s), {recorded} AppliedWork write(s)"
            )
            await asyncio.sleep(3.0)  # let the last passes settle before measuring idle
            before = await scrape(port)
            cpu0, _ = proc_usage(agent.pid)
            t0 = time.monotonic()
            await asyncio.sleep(idle_seconds)
            cpu1, rss = proc_usage(agent.pid)
            after = await scrape(port)
            busy = {k: after[k] - before.get(k, 0.0) for k in after if after[k] != before.get(k, 0.0)}
            print(f"activity while idle: {busy}")
            millicores = (cpu1 - cpu0) / (time.monotonic() - t0) * 1000
            print(
                f"idle agent over {idle_seconds:.0f} s (with {sum(sizes)} applied objects): "
                f"{millicores:.2f} mCPU (target < 2), RSS {rss / 1e6:.1f} MB (target < 80)"
            )
        finally:
            code, took = await stop_agent(agent, within=20)
            print(f"agent stopped on SIGTERM in {took:.1f} s, exit code {code}")
            await hub_api.close()
            await hub.close()
            await member.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,100,1000")
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--scale", metavar="WORKS,PER_WORK", help="an agent holding WORKS x PER_WORK objects")
    args = parser.parse_args()
    if args.scale:
        count, per = (int(v) for v in args.scale.split(","))
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(
                scale(
                    works=count, per_work=per, edit_size=max(int(s) for s in args.sizes.split(",")),
                    idle_seconds=args.idle_seconds, workdir=Path(tmp),
                )
            )
    else:
        asyncio.run(main([int(s) for s in args.sizes.split(",")], args.idle_seconds))
