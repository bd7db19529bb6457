"""Where the hub's memory goes with many placed manifests (tracemalloc, everything in one process).

A kubesim hub API server and the hub (``hub.app.Hub``) in this process; N members registered
(namespace + MemberCluster + a stand-in heartbeat, no agents), 1,000 ConfigMap templates under
10 policies, policy ``p<i>`` placing its 100 templates on the members of slot ``i`` (the
``fleet`` scenario of ``scale_bench.py`` in small). tracemalloc runs from before the policies
are created until every Work carries its templates; the net new heap is printed grouped by the
most recent frame in the hub's or the shared code (kubesim's own memory, the simulated server,
is not the hub's and is grouped as ``kubesim``).

    python benchmarks/hub_memory.py [MEMBERS]   (default 100: 100,000 placed manifests)
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import sys
import tempfile
import time
import tracemalloc
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub.app import Hub
from hub.crds import ensure_crds
from kubesim import SimServer
from shared.api import names
from shared.kube.client import KubeClient
from shared.ops.logging import configure

ROOT = str(Path(__file__).resolve().parent.parent) + "/"
TEMPLATES, POLICIES = 1000, 10


@contextlib.asynccontextmanager
async def running_hub(kubeconfig: str) -> AsyncIterator[tuple[Hub, KubeClient]]:
    hub_api = await KubeClient.from_kubeconfig(kubeconfig)
    await ensure_crds(hub_api)
    hub = Hub(hub_api)
    task = asyncio.create_task(hub.run())
    try:
        yield hub, hub_api
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await hub_api.close()


async def add_member(hub_api: KubeClient, name: str, *, labels: dict[str, str]) -> None:
    """Registered as labelling a namespace does, with a stand-in heartbeat valid for an hour."""
    namespace = f"{names.MEMBER_NAMESPACE_PREFIX}{name}"
    await hub_api.create(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": namespace, "labels": {names.LABEL_MEMBER: name}},
        }
    )
    member = {
        "apiVersion": names.CLUSTER_API_VERSION,
        "kind": names.KIND_MEMBER_CLUSTER,
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"syncMode": "Pull"},
    }
    await hub_api.apply(member, field_manager="bench-join", force=True)
    lease = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": names.HEARTBEAT_LEASE_NAME, "namespace": namespace},
        "spec": {
            "holderIdentity": "stand-in-agent",
            "leaseDurationSeconds": 3600,
            "renewTime": datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        },
    }
    await hub_api.apply(lease, field_manager="bench-agent", force=True)


def _owner(traceback: tracemalloc.Traceback) -> str:
    for frame in reversed(traceback):  # most recent first
        name = frame.filename
        if not name.startswith(ROOT) or "/.venv/" in name:
            continue
        where = name[len(ROOT) :]
        if where.startswith("kubesim/"):
            return "kubesim"
        if where.startswith(("hub/", "shared/")):
            return f"{where}:{frame.lineno}"
    return "other"


async def main(members: int) -> None:
    with tempfile.TemporaryDirectory(prefix="waybill-hub-memory-") as tmp:
        sim = SimServer("hub", kubeconfig_dir=Path(tmp))
        await sim.start()
        try:
            async with running_hub(str(sim.kubeconfig_path)) as (hub, hub_api):
                for index in range(members):
                    await add_member(hub_api, f"m{index:04d}", labels={"slot": str(index % POLICIES)})
                for index in range(TEMPLATES):
                    await hub_api.create(
                        {
                            "apiVersion": "v1",
                            "kind": "ConfigMap",
                            "metadata": {
                                "name": f"cm-{index:05d}",
                                "namespace": "default",
                                "labels": {"policy": f"p{index % POLICIES}"},
                            },
                            "data": {"index": str(index)},
                        }
                    )
                await asyncio.sleep(2.0)
                gc.collect()
                tracemalloc.start(8)
                before = tracemalloc.take_snapshot()
                started = time.monotonic()
                for index in range(POLICIES):
                    slot = {"slot": str(index)}
                    await hub_api.create(
                        {
                            "apiVersion": names.POLICY_API_VERSION,
                            "kind": names.KIND_PROPAGATION_POLICY,
                            "metadata": {"name": f"p{index}", "namespace": "default"},
                            "spec": {
                                "resourceSelectors": [
                                    {
                                        "apiVersion": "v1",
                                        "kind": "ConfigMap",
                                        "labelSelector": {"matchLabels": {"policy": f"p{index}"}},
                                    }
                                ],
                                "placement": {"clusterAffinity": {"labelSelector": {"matchLabels": slot}}},
                            },
                        }
                    )
                want = members * TEMPLATES // POLICIES
                rtype = sim.store.registry.lookup(names.WORK_GROUP, names.VERSION, "works")
                assert rtype is not None

                def placed() -> int:
                    return sum(len(w["spec"]["workload"]["manifests"]) for w in sim.store.scan(rtype))

                while placed() < want:  # noqa: ASYNC110 - polling another party's store
                    await asyncio.sleep(0.5)
                took = time.monotonic() - started
                await asyncio.sleep(3.0)
                gc.collect()
                after = tracemalloc.take_snapshot()
                owners: collections.Counter[str] = collections.Counter()
                for stat in after.compare_to(before, "traceback"):
                    if stat.size_diff > 0:
                        owners[_owner(stat.traceback)] += stat.size_diff
                tracemalloc.stop()
                hub_total = sum(size for where, size in owners.items() if where != "kubesim")
                print(f"{members} members: {want} manifests placed in {took:.1f} s")
                kubesim = owners["kubesim"] / 1e6
                print(
                    f"net new heap of the hub {hub_total / 1e6:.1f} MB "
                    f"({hub_total / want:.0f} B per placed manifest); kubesim {kubesim:.1f} MB"
                )
                for where, size in owners.most_common(25):
                    print(f"  {size / 1e6:8.2f} MB  {where}")
                sizes: dict[str, Any] = {
                    "renderings kept": len(hub.works_ctl.renders),
                    "renderings made": hub.works_ctl.renders.renders,
                }
                print("  ", sizes)
        finally:
            await sim.stop()


if __name__ == "__main__":
    configure(level="warning")
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100))
