"""kubesim benchmarks: write throughput, watch fan-out latency, idle memory, mass start-up.

Run: ``python benchmarks/kubesim_bench.py`` (prints one line per figure, plus the targets).
Targets: >= 2,000 writes/s, < 50 ms fan-out to 100 watchers, < 2 MB per idle server holding
100 objects, 200 servers started in < 5 s in one process.

``--large`` runs only the large custom-resource scenario (``large_cr_writes``): Work objects
(crds/works.work.waybill.dev.yaml) of 1,000 ConfigMap manifests (~800 KiB) written in a loop
(create, merge-patch of the spec, merge-patch of /status with 1,000 manifestConditions,
server-side apply) while one watcher per namespace and a few cluster-wide watchers follow them;
prints write latency p50/p99 and the time until every concerned watcher has the event.

``--change [--members N] [--runs R]`` measures kubesim's CPU per write for the writes of one
template change: it runs ``benchmarks/request_counts.py``'s measurement (the real hub, agents
and simulated members in this process, one Deployment template change under a Duplicated
policy) and times, with the thread's CPU clock, every write kubesim serves in the window —
each API write from routing to the response object (admission, patching, server-side apply
and managedFields, the commit and its watch events queued), and each write of kubesim's own
controllers (the simulated Deployment controller's status) — grouped by server, verb and
resource. Run it with another kubesim first on ``PYTHONPATH`` to compare two versions.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import io
import json
import statistics
import tempfile
import time
import tracemalloc
from collections import defaultdict
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from kubesim import SimServer

CM = "/api/v1/namespaces/default/configmaps"
WORK_CRD = Path(__file__).resolve().parent.parent / "crds" / "works.work.waybill.dev.yaml"


def _cm(name: str) -> bytes:
    return json.dumps(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"key": "value"}}
    ).encode()


async def writes_per_second(total: int, concurrency: int) -> float:
    server = SimServer("bench-writes")
    await server.start()
    headers = {"Authorization": f"Bearer {server.admin_token}", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(server.url, headers=headers, connector=connector) as session:
        counter = iter(range(total))

        async def worker() -> None:
            for i in counter:
                async with session.post(CM, data=_cm(f"cm-{i}")) as resp:
                    assert resp.status == 201, await resp.text()

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    await server.close()
    return total / elapsed


async def fanout_latency(watchers: int, rounds: int) -> tuple[float, float, float]:
    server = SimServer("bench-fanout")
    await server.start()
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    connector = aiohttp.TCPConnector(limit=watchers + 4)
    async with aiohttp.ClientSession(
        server.url, headers=headers, connector=connector, timeout=aiohttp.ClientTimeout(total=None)
    ) as session:
        async with session.get(CM) as resp:
            rv = (await resp.json())["metadata"]["resourceVersion"]
        streams = [
            await session.get(CM, params={"watch": "1", "resourceVersion": rv}) for _ in range(watchers)
        ]
        latencies = []
        for i in range(rounds):
            start = time.perf_counter()
            async with session.post(
                CM, data=_cm(f"fan-{i}"), headers={"Content-Type": "application/json"}
            ) as r:
                assert r.status == 201
            await asyncio.gather(*(s.content.readline() for s in streams))
            latencies.append((time.perf_counter() - start) * 1000)
        for s in streams:
            s.close()
    await server.close()
    ordered = sorted(latencies)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1], ordered[-1]


async def idle_memory(servers: int, objects: int) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    started = []
    for n in range(servers):
        server = SimServer(f"bench-mem-{n}")
        await server.start()
        rtype = server.store.registry.lookup("", "v1", "configmaps")
        assert rtype is not None
        for i in range(objects):
            server.store.create(rtype, json.loads(_cm(f"obj-{i}")), namespace="default", manager="bench")
        started.append(server)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    for server in started:
        await server.close()
    return (after - before) / servers / 1e6


async def mass_startup(servers: int) -> float:
    start = time.perf_counter()
    started = []
    for n in range(servers):
        server = SimServer(f"bench-start-{n}")
        await server.start()
        started.append(server)
    elapsed = time.perf_counter() - start
    await asyncio.gather(*(s.close() for s in started))
    return elapsed


def _work(name: str, manifests: int, round_: int) -> dict[str, object]:
    filler = "x" * 600
    return {
        "apiVersion": "work.waybill.dev/v1alpha1",
        "kind": "Work",
        "metadata": {"name": name, "labels": {"waybill.dev/member": name}},
        "spec": {
            "workload": {
                "manifests": [
                    {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "metadata": {
                            "name": f"cm-{i}",
                            "namespace": "apps",
                            "labels": {"app": "web", "waybill.dev/template": f"t-{i}"},
                        },
                        "data": {"round": str(round_), "payload": filler},
                    }
                    for i in range(manifests)
                ]
            }
        },
    }


def _work_status(manifests: int, round_: int) -> dict[str, object]:
    when = "2026-01-01T00:00:00Z"
    cond = {"type": "Applied", "status": "True", "reason": "Applied", "lastTransitionTime": when}
    return {
        "status": {
            "conditions": [{**cond, "observedGeneration": round_}],
            "manifestConditions": [
                {
                    "identifier": {"ordinal": i, "version": "v1", "kind": "ConfigMap", "name": f"cm-{i}"},
                    "conditions": [{**cond, "message": f"round {round_}"}],
                }
                for i in range(manifests)
            ],
        }
    }


async def large_cr_writes(
    namespaces: int, cluster_watchers: int, manifests: int, rounds: int
) -> tuple[list[float], list[float], int, dict[str, list[float]]]:
    """Write latencies (ms), fan-out latencies (ms), the Work's JSON size in bytes and the write
    latencies by kind of write."""
    server = SimServer("bench-large")
    await server.start()
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    connector = aiohttp.TCPConnector(limit=namespaces + cluster_watchers + 4)
    timeout = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(
        server.url, headers=headers, connector=connector, timeout=timeout, read_bufsize=1 << 22
    ) as session:
        crd = yaml.safe_load(WORK_CRD.read_text())
        async with session.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd) as r:
            assert r.status == 201, await r.text()
        names = [f"member-{n}" for n in range(namespaces)]
        for ns in names:
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
            async with session.post("/api/v1/namespaces", json=body) as r:
                assert r.status == 201, await r.text()
        works = "/apis/work.waybill.dev/v1alpha1"
        async with session.get(f"{works}/works") as r:
            assert r.status == 200, await r.text()
            rv = (await r.json())["metadata"]["resourceVersion"]
        watch = {"watch": "1", "resourceVersion": rv}
        ns_streams = [await session.get(f"{works}/namespaces/{ns}/works", params=watch) for ns in names]
        all_streams = [await session.get(f"{works}/works", params=watch) for _ in range(cluster_watchers)]
        writes: list[float] = []
        by_kind: dict[str, list[float]] = {}
        fanouts: list[float] = []
        size = len(json.dumps(_work("member-0", manifests, 0)))

        async def write(kind: str, method: str, path: str, body: object, content_type: str) -> None:
            data = json.dumps(body).encode()
            start = time.perf_counter()
            waiters = [s.content.readline() for s in all_streams]
            async with session.request(method, path, data=data, headers={"Content-Type": content_type}) as r:
                assert r.status in (200, 201), await r.text()
                await r.read()
            writes.append((time.perf_counter() - start) * 1000)
            by_kind.setdefault(kind, []).append(writes[-1])
            await asyncio.gather(*waiters, stream.content.readline())
            fanouts.append((time.perf_counter() - start) * 1000)

        for i in range(rounds):
            n = i % namespaces
            ns, stream = names[n], ns_streams[n]
            item = f"{works}/namespaces/{ns}/works/{names[n]}"
            if i < namespaces:
                await write(
                    "create",
                    "POST",
                    f"{works}/namespaces/{ns}/works",
                    _work(ns, manifests, 0),
                    "application/json",
                )
            spec = {"spec": _work(ns, manifests, i + 1)["spec"]}
            await write("merge patch", "PATCH", item, spec, "application/merge-patch+json")
            await write(
                "/status",
                "PATCH",
                f"{item}/status",
                _work_status(manifests, i),
                "application/merge-patch+json",
            )
            await write(
                "apply",
                "PATCH",
                f"{item}?fieldManager=bench&force=true",
                _work(ns, manifests, i + 2),
                "application/apply-patch+yaml",
            )
        for s in ns_streams + all_streams:
            s.close()
    await server.close()
    return writes, fanouts, size, by_kind


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


async def large_main(args: argparse.Namespace) -> None:
    writes, fanouts, size, by_kind = await large_cr_writes(
        args.namespaces, args.cluster_watchers, args.manifests, args.large_rounds
    )
    print(
        f"large CR writes (Work of {args.manifests} manifests, {size / 1024:.0f} KiB; "
        f"{args.namespaces} namespace + {args.cluster_watchers} cluster-wide watchers; "
        f"{len(writes)} writes): "
        f"p50 {_pct(writes, 0.5):.0f} ms, p99 {_pct(writes, 0.99):.0f} ms"
    )
    print(
        f"large CR watch fan-out (write start to every concerned watcher): "
        f"p50 {_pct(fanouts, 0.5):.0f} ms, p99 {_pct(fanouts, 0.99):.0f} ms"
    )
    print("  p50 by write: " + ", ".join(f"{k} {_pct(v, 0.5):.0f} ms" for k, v in by_kind.items()))


def change_write_cpu(members: int, runs: int) -> dict[str, list[float]]:
    """CPU seconds of each kubesim write of one template change, by server, verb and resource."""
    import request_counts  # benchmarks/request_counts.py: the real parties of one change

    from kubesim import audit, server, store

    window = [False]
    inside = [0]  # API writes under way (their store calls are theirs, not in-process writes)
    spent: dict[str, list[float]] = defaultdict(list)
    names: dict[int, str] = {}
    write_call, update, create = server.SimServer._write_call, store.Store.update, store.Store.create
    enable, disable, start = audit.Audit.enable, audit.Audit.disable, server.SimServer.start

    async def timed_write_call(self: Any, call: Any, verb: str) -> Any:
        if not window[0]:
            return await write_call(self, call, verb)
        inside[0] += 1
        started = time.thread_time()
        try:
            return await write_call(self, call, verb)
        finally:
            inside[0] -= 1
            t = call.target
            where = "hub" if self.name == "hub" else "member"
            resource = t.rtype.plural + (f"/{t.subresource}" if t.subresource else "")
            spent[f"{where} {verb} {resource}"].append(time.thread_time() - started)

    def timed(original: Any, verb: str) -> Any:
        def write(self: Any, rtype: Any, obj: Any, **kwargs: Any) -> Any:
            if not window[0] or inside[0]:
                return original(self, rtype, obj, **kwargs)
            started = time.thread_time()
            try:
                return original(self, rtype, obj, **kwargs)
            finally:
                sub = kwargs.get("subresource")
                where = "hub" if names.get(id(self)) == "hub" else "member"
                resource = rtype.plural + (f"/{sub}" if sub else "")
                manager = kwargs.get("manager") or "?"
                key = f"{where} {verb} {resource} (in process: {manager})"
                spent[key].append(time.thread_time() - started)

        return write

    async def named_start(self: Any, *args: Any, **kwargs: Any) -> Any:
        names[id(self.store)] = self.name
        return await start(self, *args, **kwargs)

    def opened(self: Any) -> None:
        window[0] = True
        enable(self)

    def closed(self: Any) -> None:
        window[0] = False
        disable(self)

    server.SimServer._write_call = timed_write_call  # type: ignore[method-assign]
    server.SimServer.start = named_start  # type: ignore[method-assign]
    store.Store.update = timed(update, "update")  # type: ignore[method-assign]
    store.Store.create = timed(create, "create")  # type: ignore[method-assign]
    audit.Audit.enable = opened  # type: ignore[method-assign]
    audit.Audit.disable = closed  # type: ignore[method-assign]
    from shared.ops.logging import configure

    configure(level="error")
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):  # joins
            asyncio.run(request_counts.measure(members=members, settle=1.0, workdir=Path(tmp)))
    return spent


def change_main(args: argparse.Namespace) -> None:
    spent = change_write_cpu(args.members, args.runs)
    import kubesim

    print(
        f"kubesim CPU per write of one template change ({args.members} members, {args.runs} runs; "
        f"kubesim from {Path(kubesim.__file__).parent}):"
    )
    total = 0.0
    for key, values in sorted(spent.items(), key=lambda kv: -sum(kv[1])):
        total += sum(values)
        print(
            f"  {key:<72} {len(values) / args.runs:>6.1f} per change  "
            f"median {statistics.median(values) * 1e6:>6.0f} µs  "
            f"mean {statistics.mean(values) * 1e6:>6.0f} µs"
        )
    print(
        f"  all writes: {total / args.runs * 1000:.1f} ms per change, "
        f"{total / args.runs / args.members * 1000:.2f} ms per member"
    )


async def main(args: argparse.Namespace) -> None:
    if args.large:
        await large_main(args)
        return
    wps = await writes_per_second(args.writes, args.concurrency)
    print(f"writes/s (HTTP create, {args.concurrency} connections): {wps:,.0f}   target >= 2,000")
    median, p95, worst = await fanout_latency(args.watchers, args.rounds)
    print(
        f"watch fan-out to {args.watchers} watchers: median {median:.1f} ms, p95 {p95:.1f} ms, "
        f"max {worst:.1f} ms   target < 50 ms"
    )
    mem = await idle_memory(args.mem_servers, 100)
    print(f"memory per idle server holding 100 objects: {mem:.2f} MB   target < 2 MB")
    elapsed = await mass_startup(args.servers)
    print(f"start-up of {args.servers} servers in one process: {elapsed:.2f} s   target < 5 s")
    await large_main(args)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--watchers", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--mem-servers", type=int, default=20)
    parser.add_argument("--servers", type=int, default=200)
    parser.add_argument("--large", action="store_true", help="only the large custom-resource scenario")
    parser.add_argument("--namespaces", type=int, default=100)
    parser.add_argument("--manifests", type=int, default=1000)
    parser.add_argument("--cluster-watchers", type=int, default=4)
    parser.add_argument("--large-rounds", type=int, default=40)
    parser.add_argument("--change", action="store_true", help="only: CPU per write of one template change")
    parser.add_argument("--members", type=int, default=10, help="--change: members (default 10)")
    parser.add_argument("--runs", type=int, default=3, help="--change: measurements (default 3)")
    parsed = parser.parse_args()
    if parsed.change:
        change_main(parsed)
    else:
        asyncio.run(main(parsed))
