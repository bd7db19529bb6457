"""Rollout benchmark: what a staged rollout over 100 members costs the hub, versus ``All``.

One Deployment placed (Duplicated) on 100 members; its image is changed ``--runs`` times under a
policy with each ``rolloutStrategy`` in turn, and each change is timed from the template write
until every member's Work carries the new generation and reports it Applied and Available:

* ``All``: every member at once (today's behaviour);
* ``Staged``: three stages (10, 30 and 60 members, by a ``ring`` label), no waits, no approvals:
  the difference to ``All`` is the rollout's own overhead (a status round trip per stage);
* ``RollingUpdate``: ``maxUnavailable: 25%`` (4 batches), for comparison.

The members are hub-only, as in ``benchmarks/scale_bench.py`` (a labelled namespace and a
MemberCluster each), and the agents are stood in for by one in-process writer that answers every
Work at once with Applied=True and Available=True for its generation: real agents at 100 members
(100 member API servers and agents in one process) would measure agents and members, not the hub.
The hub runs in this process (``hub.app.Hub``) against a kubesim hub API server.

    python benchmarks/rollout_bench.py [--members 100] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hub import views
from hub.app import Hub
from hub.crds import ensure_crds
from kubesim import SimServer
from shared.api import names
from shared.api.meta import now_rfc3339
from shared.kube.client import KubeClient
from shared.kube.errors import ApiError
from shared.ops.logging import configure

NAMESPACE = "shop"
STRATEGIES: dict[str, dict[str, Any]] = {
    "All": {"type": "All"},
    "Staged": {
        "type": "Staged",
        "staged": {
            "stages": [
                {"name": f"ring{ring}", "labelSelector": {"matchLabels": {"ring": str(ring)}}}
                for ring in range(3)
            ]
        },
    },
    "RollingUpdate": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%"}},
}


def ring_of(index: int, count: int) -> int:
    share = index / count
    return 0 if share < 0.1 else 1 if share < 0.4 else 2


async def register_members(hub_api: KubeClient, count: int) -> None:
    for index in range(count):
        name = f"m{index:03d}"
        namespace = f"{names.MEMBER_NAMESPACE_PREFIX}{name}"
        await hub_api.create(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": namespace, "labels": {names.LABEL_MEMBER: name}},
            }
        )
        await hub_api.create(
            {
                "apiVersion": names.CLUSTER_API_VERSION,
                "kind": names.KIND_MEMBER_CLUSTER,
                "metadata": {
                    "name": name,
                    "namespace": namespace,
                    "labels": {"ring": str(ring_of(index, count))},
                },
                "spec": {"syncMode": "Pull"},
            }
        )


def work_status(work: Mapping[str, Any]) -> dict[str, Any]:
    """What an agent that applied every manifest would report."""
    now = now_rfc3339()
    generation = (work.get("metadata") or {}).get("generation")

    def cond(kind: str) -> dict[str, Any]:
        return {
            "type": kind,
            "status": "True",
            "reason": kind,
            "lastTransitionTime": now,
            "observedGeneration": generation,
        }

    manifests = []
    for ordinal, manifest in enumerate(
        ((work.get("spec") or {}).get("workload") or {}).get("manifests") or []
    ):
        group, _, version = str(manifest.get("apiVersion")).rpartition("/")
        meta = manifest.get("metadata") or {}
        manifests.append(
            {
                "identifier": {
                    "ordinal": ordinal,
                    "group": group,
                    "version": version,
                    "kind": manifest.get("kind"),
                    "resource": str(manifest.get("kind")).lower() + "s",
                    "namespace": meta.get("namespace"),
                    "name": meta.get("name"),
                },
                "conditions": [cond(names.CONDITION_APPLIED), cond(names.CONDITION_AVAILABLE)],
            }
        )
    return {
        "conditions": [cond(names.CONDITION_APPLIED), cond(names.CONDITION_AVAILABLE)],
        "manifestConditions": manifests,
    }


class StandInAgents:
    """Answer every Work generation at once (the agents of the hub-only members), and remember
    which template generations each Work carried when answered (no polling of the hub)."""

    def __init__(self, hub_api: KubeClient) -> None:
        self.hub_api = hub_api
        self.answered: dict[str, set[int]] = {}  # work key -> generations it carried, when answered
        self.changed = asyncio.Event()

    def everywhere(self, generation: int, members: int) -> bool:
        return sum(1 for carried in self.answered.values() if generation in carried) >= members

    async def run(self) -> None:
        resource_version: str | None = None
        while True:
            try:
                if resource_version is None:
                    listed = await self.hub_api.list(names.WORK_API_VERSION, names.KIND_WORK)
                    resource_version = listed.resource_version
                    for work in listed.items:
                        await self.answer(work)
                async for event in self.hub_api.watch(
                    names.WORK_API_VERSION,
                    names.KIND_WORK,
                    resource_version=resource_version,
                    timeout_seconds=60,
                ):
                    resource_version = event.resource_version or resource_version
                    if event.type in ("ADDED", "MODIFIED"):
                        await self.answer(event.object)
            except ApiError:
                resource_version = None

    async def answer(self, work: Mapping[str, Any]) -> None:
        meta = work.get("metadata") or {}
        conds = (work.get("status") or {}).get("conditions") or []
        applied: dict[str, Any] = next((c for c in conds if c.get("type") == names.CONDITION_APPLIED), {})
        if applied.get("observedGeneration") == meta.get("generation"):
            return
        with contextlib.suppress(ApiError):
            await self.hub_api.patch_status(
                names.WORK_API_VERSION,
                names.KIND_WORK,
                name=str(meta["name"]),
                namespace=str(meta["namespace"]),
                patch={"status": work_status(work)},
            )
            stamps = views.parse_generations(
                (meta.get("annotations") or {}).get(views.ANNOTATION_GENERATIONS)
            )
            self.answered[f"{meta['namespace']}/{meta['name']}"] = set(stamps.values())
            self.changed.set()


def deployment(image: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": NAMESPACE},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image}]},
            },
        },
    }


def policy(strategy: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": names.POLICY_API_VERSION,
        "kind": names.KIND_PROPAGATION_POLICY,
        "metadata": {"name": "web", "namespace": NAMESPACE},
        "spec": {
            "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}],
            "placement": {"replicaScheduling": {"replicaSchedulingType": "Duplicated"}},
            "rolloutStrategy": dict(strategy),
        },
    }


async def wait_for(agents: StandInAgents, generation: int, members: int, *, within: float = 120.0) -> None:
    deadline = time.monotonic() + within
    while not agents.everywhere(generation, members):
        agents.changed.clear()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"generation {generation} not on {members} members within {within:.0f}s")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(agents.changed.wait(), remaining)


async def measure(
    hub_api: KubeClient,
    agents: StandInAgents,
    *,
    strategy: str,
    members: int,
    runs: int,
    image_counter: list[int],
) -> tuple[list[float], list[float]]:
    live = await hub_api.get(
        names.POLICY_API_VERSION, names.KIND_PROPAGATION_POLICY, name="web", namespace=NAMESPACE
    )
    await hub_api.replace({**policy(STRATEGIES[strategy]), "metadata": live["metadata"]})
    await asyncio.sleep(1.0)  # let the hub see the policy before the first change
    times: list[float] = []
    cpu: list[float] = []
    for _ in range(runs):
        image_counter[0] += 1
        started, cpu_started = time.monotonic(), time.process_time()
        written = await hub_api.apply(
            deployment(f"nginx:1.{image_counter[0]}"), field_manager="bench", force=True
        )
        await wait_for(agents, int(written["metadata"]["generation"]), members)
        times.append(time.monotonic() - started)
        cpu.append(time.process_time() - cpu_started)
    return times, cpu


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    configure(level="warning")
    with tempfile.TemporaryDirectory(prefix="waybill-rollout-") as tmp:
        server = SimServer("hub", kubeconfig_dir=Path(tmp), history=50000)
        await server.start()
        hub_api = await KubeClient.from_kubeconfig(server.kubeconfig_path, name="bench")
        agents_api = await KubeClient.from_kubeconfig(server.kubeconfig_path, name="agents")
        try:
            await ensure_crds(hub_api)
            await hub_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
            await register_members(hub_api, args.members)
            hub = Hub(hub_api)
            hub_task = asyncio.create_task(hub.run())
            stand_in = StandInAgents(agents_api)
            agents = asyncio.create_task(stand_in.run())
            counter = [0]
            try:
                await hub_api.apply(policy(STRATEGIES["All"]), field_manager="bench", force=True)
                written = await hub_api.apply(deployment("nginx:1.0"), field_manager="bench", force=True)
                await wait_for(stand_in, int(written["metadata"]["generation"]), args.members)
                results = [
                    (
                        name,
                        await measure(
                            hub_api,
                            stand_in,
                            strategy=name,
                            members=args.members,
                            runs=args.runs,
                            image_counter=counter,
                        ),
                    )
                    for name in ("All", "Staged", "RollingUpdate", "All")
                ]
            finally:
                for task in (agents, hub_task):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
        finally:
            await agents_api.close()
            await hub_api.close()
            await server.stop()
    base = statistics.median([t for name, (times, _) in results if name == "All" for t in times])
    what = f"{args.members} members (hub only, stand-in agents), {args.runs} runs each"
    print(f"template change -> applied and reported on {what}")
    print("  (CPU: this process's CPU-seconds per change: hub, kubesim hub and stand-in agents together)")
    for name, (times, cpu) in results:
        median = statistics.median(times)
        overhead = "" if name == "All" else f"  overhead vs All: {median - base:+.2f} s"
        print(
            f"  {name:<14} median {median:.2f} s  min {min(times):.2f}  max {max(times):.2f}"
            f"  CPU median {statistics.median(cpu):.2f} s{overhead}"
        )
    print(f"  load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    asyncio.run(main())
