"""kubesim benchmarks: write throughput, watch fan-out latency, idle memory, mass start-up.

Run: ``python benchmarks/kubesim_bench.py`` (prints one line per figure, plus the targets).
Targets: >= 2,000 writes/s, < 50 ms fan-out to 100 watchers, < 2 MB per idle server holding
100 objects, 200 servers started in < 5 s in one process.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import time
import tracemalloc

import aiohttp

from kubesim import SimServer

CM = "/api/v1/namespaces/default/configmaps"


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


async def main(args: argparse.Namespace) -> None:
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


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--watchers", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--mem-servers", type=int, default=20)
    parser.add_argument("--servers", type=int, default=200)
    asyncio.run(main(parser.parse_args()))
