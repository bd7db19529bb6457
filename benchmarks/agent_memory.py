"""Agent memory: where the heap an agent grows by per applied object is allocated.

A kubesim hub and member and an agent, all in this process; tracemalloc runs while the agent
applies ``WORKS`` Works of ``PER_WORK`` ConfigMaps; the net new allocations are grouped by the
first frame in this repository's code (kubesim's own are the simulated servers, not the agent).

    python benchmarks/agent_memory.py [WORKS] [PER_WORK]     (default 10 100)
"""

from __future__ import annotations

import asyncio
import collections
import gc
import sys
import tempfile
import tracemalloc
from pathlib import Path

import agent_bench as bench

from agent.config import AgentConfig
from agent.runner import Agent
from kubesim import SimServer
from shared.kube.client import KubeClient
from shared.ops.logging import configure

ROOT = str(Path(__file__).resolve().parents[1]) + "/"


def deep_size(obj: object, seen: set[int] | None = None) -> int:
    """Bytes of ``obj`` and everything it holds (each object counted once; interned strings too)."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if isinstance(obj, dict):
        size += sum(deep_size(k, seen) + deep_size(v, seen) for k, v in obj.items())
    elif isinstance(obj, list | tuple | set | frozenset):
        size += sum(deep_size(v, seen) for v in obj)
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        size += deep_size(vars(obj), seen)
    return size


def holdings(agent: Agent) -> dict[str, int]:
    """What the agent keeps, by holder: the informer caches and the syncer's and controller's memories."""
    out: dict[str, int] = {}
    informers = {"hub:Work": agent.works, "member:AppliedWork": agent.applied_works}
    if agent.cache is not None:
        informers.update({f"member:{kind}": inf for (_, kind), inf in agent.cache._informers.items()})
    for name, informer in informers.items():
        if informer is not None:
            out[f"informer {name} ({len(informer.keys())} objects)"] = deep_size(informer._cache)
    syncer = agent.syncer
    if syncer is not None:
        out["AppliedWorks kept (records, Work copies as text)"] = deep_size(syncer.records._known)
        out["syncer: written resourceVersions and digests"] = deep_size(syncer._written)
        out["syncer: converged passes"] = deep_size(syncer._converged)
        out["syncer: drift memory"] = deep_size(syncer.drift_memory)
    if agent.cache is not None:
        out["member cache: own writes not yet delivered"] = deep_size(agent.cache._written)
    return out


async def main(works: int, per_work: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        hub = SimServer("hub", kubeconfig_dir=workdir)
        member = SimServer(bench.CLUSTER, workloads=True, kubeconfig_dir=workdir)
        await hub.start()
        await member.start()
        hub_api = await KubeClient.from_kubeconfig(hub.kubeconfig_path, name="bench-hub")
        scoped = await bench.join(hub, hub_api, workdir)
        agent_hub = await KubeClient.from_kubeconfig(scoped, name="agent-hub")
        agent_member = await KubeClient.from_kubeconfig(member.kubeconfig_path, name="agent-member")
        agent = Agent(
            hub_api=agent_hub,
            member_api=agent_member,
            config=AgentConfig(cluster=bench.CLUSTER, member_namespace=bench.NAMESPACE),
        )
        await agent.start()
        gc.collect()
        tracemalloc.start(12)
        before = tracemalloc.take_snapshot()
        took = await bench.hold_works(hub_api, works=works, per_work=per_work)
        await asyncio.sleep(3.0)
        gc.collect()
        after = tracemalloc.take_snapshot()
        owners: collections.Counter[str] = collections.Counter()
        for stat in after.compare_to(before, "traceback"):
            if stat.size_diff <= 0:
                continue
            owner = "other"
            for frame in stat.traceback:
                if frame.filename.startswith(ROOT) and "/.venv/" not in frame.filename:
                    owner = f"{frame.filename[len(ROOT):]}:{frame.lineno}"
                    break
            owners[owner] += stat.size_diff
        total = sum(owners.values())
        objects = works * per_work
        print(f"{works} Works x {per_work} ConfigMaps applied in {took:.1f} s")
        per_object = total / objects / 1e3
        print(f"net new heap {total / 1e6:.1f} MB ({per_object:.1f} KB per object), by first frame:")
        for where, size in owners.most_common(20):
            print(f"  {size / 1e6:8.2f} MB  {where}")
        print("kept by the agent (deep size, each object once per holder):")
        for holder, size in holdings(agent).items():
            print(f"  {size / 1e6:8.2f} MB  {holder}")
        await agent.stop()
        for client in (agent_hub, agent_member, hub_api):
            await client.close()
        await hub.close()
        await member.close()


if __name__ == "__main__":
    configure(level="warning")
    counts = [int(a) for a in sys.argv[1:3]] + [10, 100][len(sys.argv[1:3]) :]
    asyncio.run(main(counts[0], counts[1]))
