"""Served APIs within seconds (issue #10, deliverable 3), end to end on kubesim.

Agents run with the default one-minute member status interval, so only the CRD watch can make
the hub learn in time that the members serve a new kind. Measured: from the CRD being Established
on both members to the custom resource existing on both (printed), and the removal of a CRD
reaching the MemberCluster status.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

from agent.config import AgentConfig
from agent.runner import Agent
from shared.api import names
from shared.kube.client import KubeClient
from shared.kube.errors import NotFound
from tests.e2e.e2e_fleet import E2EFleet, SimFactory, e2e_fleet, stop_agent
from tests.hub.fleet import eventually

GADGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "gadgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget", "listKind": "GadgetList"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                },
            }
        ],
    },
}
MEMBERS: dict[str, list[str]] = {"a": [], "b": []}


async def _restart_agents_with_slow_status(fleet: E2EFleet, tmp_path: Path) -> None:
    """The e2e helper writes member status every second; use the default minute instead."""
    for name in list(fleet.agents):
        await stop_agent(fleet, name)
        hub_api = await KubeClient.from_kubeconfig(tmp_path / f"{name}-hub.kubeconfig", name=f"hub-{name}")
        agent = Agent(
            hub_api=hub_api,
            member_api=fleet.member_apis[name],
            config=AgentConfig(cluster=name, heartbeat_interval=0.5, lease_duration_seconds=5),
        )
        assert agent.config.member_status_interval == 60.0
        await agent.start()
        fleet.agents[name] = agent
        fleet.agent_hub_apis[name] = hub_api


async def _serves_gadget(fleet: E2EFleet, name: str) -> bool:
    found = await fleet.hub_api.get(
        names.CLUSTER_API_VERSION, names.KIND_MEMBER_CLUSTER, name=name, namespace=f"member-{name}"
    )
    enablements = (found.get("status") or {}).get("apiEnablements") or []
    return any(
        r["name"] == "gadgets"
        for e in enablements
        if e["groupVersion"] == "example.com/v1"
        for r in e.get("resources") or []
    )


async def _established(api: KubeClient) -> bool:
    crd = await api.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name="gadgets.example.com")
    return any(
        c.get("type") == "Established" and c.get("status") == "True"
        for c in (crd.get("status") or {}).get("conditions") or []
    )


async def test_custom_resource_placed_within_5s_of_its_crd_established(
    sim_factory: SimFactory, tmp_path: Path
) -> None:
    async with e2e_fleet(sim_factory, tmp_path, MEMBERS) as fleet:
        await _restart_agents_with_slow_status(fleet, tmp_path)
        await fleet.hub_api.create(copy.deepcopy(GADGET_CRD))

        async def hub_serves() -> bool:
            fleet.hub_api.invalidate_discovery()
            await fleet.hub_api.resource_info("example.com/v1", "Gadget")
            return True

        await eventually(hub_serves, what="Gadget served on the hub")
        # The agents' first (startup) status write is done: it does not list Gadget yet.
        for name in MEMBERS:
            await eventually(lambda n=name: _has_enablements(fleet, n), what=f"{name} reported its APIs once")
            assert not await _serves_gadget(fleet, name)
        await fleet.apply(
            {
                "apiVersion": names.POLICY_API_VERSION,
                "kind": "PropagationPolicy",
                "metadata": {"name": "gadgets", "namespace": "default"},
                "spec": {"resourceSelectors": [{"apiVersion": "example.com/v1", "kind": "Gadget"}]},
            },
            {
                "apiVersion": "example.com/v1",
                "kind": "Gadget",
                "metadata": {"name": "g1", "namespace": "default"},
                "spec": {"size": 3},
            },
        )
        for name in MEMBERS:
            await fleet.member_apis[name].create(copy.deepcopy(GADGET_CRD))
        for name in MEMBERS:
            await eventually(
                lambda n=name: _established(fleet.member_apis[n]), what=f"CRD Established on {name}"
            )
        established_at = time.monotonic()

        async def placed(name: str) -> bool:
            try:
                await fleet.member_apis[name].get("example.com/v1", "Gadget", name="g1", namespace="default")
            except NotFound:
                return False
            return True

        for name in MEMBERS:
            await eventually(lambda n=name: placed(n), within=10, what=f"g1 on {name}")
        elapsed = time.monotonic() - established_at
        print(f"\ncustom resource on every member {elapsed:.2f}s after its CRD was Established there")
        assert elapsed < 5.0

        # A removed API is reported at once too (well before the one-minute status write).
        await fleet.member_apis["b"].delete(
            "apiextensions.k8s.io/v1", "CustomResourceDefinition", name="gadgets.example.com"
        )
        removed_at = time.monotonic()

        async def b_stopped_serving() -> bool:
            return not await _serves_gadget(fleet, "b")

        await eventually(b_stopped_serving, within=10, what="b reports it no longer serves Gadget")
        print(f"removal reported {time.monotonic() - removed_at:.2f}s after the CRD was deleted")
        assert time.monotonic() - removed_at < 5.0
        assert await _serves_gadget(fleet, "a")


async def _has_enablements(fleet: E2EFleet, name: str) -> bool:
    found = await fleet.hub_api.get(
        names.CLUSTER_API_VERSION, names.KIND_MEMBER_CLUSTER, name=name, namespace=f"member-{name}"
    )
    return bool((found.get("status") or {}).get("apiEnablements"))
