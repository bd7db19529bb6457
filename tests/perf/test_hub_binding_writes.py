"""Binding writes of a cold start, pinned: N templates x 2 members with their agents.

The templates and their policy exist, the two members are joined (``waybill join``'s code) and
their agents already renew their heartbeat when the hub starts (the members still carry the
not-ready taint the join gave them: the hub's membership controller lifts it). kubesim's request
audit counts every write the hub makes to ResourceBindings until every binding says
``Applied=True`` on both members and the hub has nothing left to do for them (the causal fence:
no binding key waits or runs in the scheduler or the status controller, no Works key in the
works controller). The floor, given that binding status is a subresource (the API server ignores
``status`` on create): one create, one apply of the scheduler's status, one apply of the
aggregated status per binding. Main before this test made 5.3 per template (a second scheduling
decision for bindings scheduled before the not-ready taint was lifted, with a spec patch and a
Warning Event, and 2-4 aggregated-status applies while the members' reports came in).

The status hold is set long (``Hold(hold=5, report_wait=30)``) so that a loaded machine, where
the two members' reports land further apart than the default 0.5 s, does not add a write: the
count pins what the design allows, ``benchmarks/scale_bench.py --scenarios coldstart`` prints
what the defaults do at 5,000 templates.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agent.config import AgentConfig
from agent.runner import Agent
from hub import keys, status_hold
from hub.app import Hub
from hub.crds import ensure_crds
from kubesim import SimServer
from shared.api import names
from shared.kube.client import KubeClient
from tests.agent.fleet import eventually
from waybill import cli

TEMPLATES = 20
MEMBERS = ("eu1", "us1")
HUB_USER = "kubernetes-admin"  # the hub runs with the admin kubeconfig; agents with join's tokens
# writes per template to ResourceBindings: (verb, subresource) -> ceiling
CEILINGS = {("create", "None"): 1, ("apply", "status"): 2}
FLOOR = 3  # create + the scheduler's status + the aggregated status

SimFactory = Callable[..., Awaitable[SimServer]]


@dataclass
class ColdStart:
    hub_sim: SimServer
    hub_api: KubeClient
    members: dict[str, SimServer]
    agents: dict[str, Agent] = field(default_factory=dict)
    clients: list[KubeClient] = field(default_factory=list)


def configmap(index: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"cm-{index:03d}", "namespace": "bench", "labels": {"app": "bench"}},
        "data": {"value": str(index)},
    }


POLICY = {
    "apiVersion": names.POLICY_API_VERSION,
    "kind": "PropagationPolicy",
    "metadata": {"name": "all", "namespace": "bench"},
    "spec": {
        "resourceSelectors": [
            {"apiVersion": "v1", "kind": "ConfigMap", "labelSelector": {"matchLabels": {"app": "bench"}}}
        ],
        "placement": {"clusterAffinity": {"clusterNames": list(MEMBERS)}},
    },
}


async def start_agent(cold: ColdStart, name: str, kubeconfig: Path) -> None:
    hub_api = await KubeClient.from_kubeconfig(kubeconfig, name=f"hub-{name}")
    member_api = await KubeClient.from_kubeconfig(cold.members[name].kubeconfig_path, name=name)
    cold.clients += [hub_api, member_api]
    agent = Agent(
        hub_api=hub_api,
        member_api=member_api,
        config=AgentConfig(
            cluster=name, heartbeat_interval=600.0, lease_duration_seconds=3600, member_status_interval=600.0
        ),
    )
    await agent.start()
    cold.agents[name] = agent


@contextlib.asynccontextmanager
async def cold_start(sim_factory: SimFactory, tmp_path: Path) -> AsyncIterator[ColdStart]:
    """Templates, policy, joined members and their running agents; no hub yet."""
    hub_sim = await sim_factory("hub")
    hub_api = await KubeClient.from_kubeconfig(hub_sim.kubeconfig_path, name="hub")
    await ensure_crds(hub_api)
    cold = ColdStart(hub_sim, hub_api, {name: await sim_factory(name) for name in MEMBERS})
    cold.clients.append(hub_api)
    try:
        await hub_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}})
        for index in range(TEMPLATES):
            await hub_api.create(configmap(index))
        await hub_api.create(POLICY)
        for name in MEMBERS:
            out = tmp_path / f"{name}-hub.kubeconfig"
            argv = ["join", name, "--kubeconfig", str(hub_sim.kubeconfig_path), "--out", str(out)]
            assert await asyncio.to_thread(cli.main, argv) == 0
            await start_agent(cold, name, out)

        async def heartbeats() -> bool:
            leases = await hub_api.list("coordination.k8s.io/v1", "Lease")
            return {lease["metadata"]["namespace"] for lease in leases.items} >= {
                f"{names.MEMBER_NAMESPACE_PREFIX}{name}" for name in MEMBERS
            }

        await eventually(heartbeats)
        yield cold
    finally:
        for agent in cold.agents.values():
            await agent.stop()
        for client in cold.clients:
            await client.close()


@contextlib.asynccontextmanager
async def running_hub(cold: ColdStart, hold: status_hold.Hold) -> AsyncIterator[Hub]:
    hub = Hub(cold.hub_api)
    hub.status_ctl.hold = hold
    task = asyncio.create_task(hub.run())
    try:
        yield hub
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def applied_everywhere(binding: dict[str, Any]) -> bool:
    status = binding.get("status") or {}
    entries = {i.get("clusterName"): i for i in status.get("aggregatedStatus") or []}
    return all((entries.get(name) or {}).get("applied") for name in MEMBERS) and any(
        c.get("type") == names.CONDITION_APPLIED and c.get("status") == "True"
        for c in status.get("conditions") or []
    )


def idle(hub: Hub, bindings: list[dict[str, Any]]) -> bool:
    """Nothing waits or runs for these bindings in the scheduler, status or works controllers."""
    for binding in bindings:
        bkey = keys.binding_key_of(binding)
        ref = keys.binding_template(binding)
        policy = keys.binding_policy(binding)
        assert ref is not None and policy is not None
        if any(q.is_waiting(bkey) or q.is_processing(bkey) for q in (hub.status.queue, hub.rollout.queue)):
            return False
        if hub.scheduler.queue.is_waiting(ref) or hub.scheduler.queue.is_processing(ref):
            return False
        for cluster in MEMBERS:
            works_key = keys.WorksKey(policy, cluster)
            if hub.works.queue.is_waiting(works_key) or hub.works.queue.is_processing(works_key):
                return False
    return True


def binding_writes(hub_sim: SimServer) -> Counter[tuple[str, str]]:
    counts = hub_sim.audit.counts(
        "verb",
        "subresource",
        where=lambda e: e.user == HUB_USER
        and e.resource == "resourcebindings"
        and e.verb not in ("get", "list", "watch"),
    )
    return Counter({(verb, sub): n for (verb, sub), n in counts.items()})


async def test_a_cold_start_writes_each_binding_three_times(
    sim_factory: SimFactory, tmp_path: Path
) -> None:
    async with cold_start(sim_factory, tmp_path) as cold:
        cold.hub_sim.audit.reset()
        cold.hub_sim.audit.enable()
        async with running_hub(cold, status_hold.Hold(hold=5.0, report_wait=30.0)) as hub:

            async def settled() -> list[dict[str, Any]] | None:
                found = await cold.hub_api.list(
                    names.WORK_API_VERSION, names.KIND_RESOURCE_BINDING, namespace="bench"
                )
                done = len(found.items) == TEMPLATES and all(applied_everywhere(b) for b in found.items)
                return found.items if done and idle(hub, found.items) else None

            await eventually(settled, within=45)
            writes = binding_writes(cold.hub_sim)
            work_writes = cold.hub_sim.audit.counts(
                "verb",
                where=lambda e: e.user == HUB_USER
                and e.resource == "works"
                and e.verb not in ("get", "list", "watch"),
            )
        total = sum(writes.values())
        assert total <= FLOOR * TEMPLATES, f"{total / TEMPLATES:.2f} binding writes per template: {writes}"
        for (verb, sub), top in CEILINGS.items():
            assert writes[(verb, sub)] <= top * TEMPLATES, (verb, sub, writes)
        assert set(writes) <= set(CEILINGS), f"new kind of binding write: {writes}"
        # the floor: every binding was created and got both statuses
        assert writes[("create", "None")] == TEMPLATES and writes[("apply", "status")] == 2 * TEMPLATES
        # and each member's Work is written once, with every template in it (the works controller
        # waits for the policy's bindings; wave 4 rewrote it as the bindings arrived: 72-90 Work
        # patches at 200 templates, 166-238 with the binding writes above cut)
        assert dict(work_writes) == {("create",): len(MEMBERS)}, f"Work writes of a cold start: {work_writes}"


@pytest.mark.parametrize("report_wait", [30.0])
async def test_a_report_is_held_for_hold_seconds_not_for_the_other_members(
    sim_factory: SimFactory, tmp_path: Path, report_wait: float
) -> None:
    """us1's agent stops after its heartbeat (the Lease lasts an hour: us1 stays reachable and never
    reports). eu1's report is written ``hold`` after it was seen — well before ``report_wait``."""
    async with cold_start(sim_factory, tmp_path) as cold:
        await cold.agents.pop("us1").stop()
        loop = asyncio.get_running_loop()
        async with running_hub(cold, status_hold.Hold(hold=0.5, report_wait=report_wait)):
            started = loop.time()

            async def eu1_reported() -> dict[str, Any] | None:
                found = await cold.hub_api.get(
                    names.WORK_API_VERSION,
                    names.KIND_RESOURCE_BINDING,
                    name="cm-000-configmap",
                    namespace="bench",
                )
                entries = {
                    i["clusterName"]: i for i in (found.get("status") or {}).get("aggregatedStatus") or []
                }
                return entries if (entries.get("eu1") or {}).get("applied") else None

            entries = await eventually(eu1_reported, within=report_wait - 5)
            assert loop.time() - started < report_wait
            assert entries["us1"]["applied"] is False and entries["us1"]["errors"] == ["not applied yet"]
