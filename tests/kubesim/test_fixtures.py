"""The pytest plugin's fixtures and helpers themselves."""

from __future__ import annotations

import pytest
import yaml

from kubesim import SimServer
from kubesim.testing import Api, SimFactory, wait_for


async def test_hub_sim_is_started_without_workloads(hub_sim: SimServer) -> None:
    assert hub_sim.name == "hub" and hub_sim.running and not hub_sim.workloads
    api = Api(hub_sim)
    try:
        status, nodes = await api.get("/api/v1/nodes")
        assert status == 200 and nodes["items"] == []
    finally:
        await api.close()


async def test_sim_factory_servers_are_independent(sim_factory: SimFactory) -> None:
    eu1 = await sim_factory("eu1", workloads=True, nodes=2)
    us1 = await sim_factory("us1")
    assert eu1.url != us1.url
    assert eu1.kubeconfig_path.name == "eu1.kubeconfig"
    config = yaml.safe_load(eu1.kubeconfig_path.read_text())
    assert config["clusters"][0]["cluster"]["server"] == eu1.url
    api = Api(eu1)
    try:

        async def two_nodes() -> bool:
            _, nodes = await api.get("/api/v1/nodes")
            return len(nodes["items"]) == 2

        await wait_for(two_nodes)
    finally:
        await api.close()


async def test_wait_for_fails_after_deadline() -> None:
    async def never() -> bool:
        return False

    with pytest.raises(AssertionError, match="not met within"):
        await wait_for(never, deadline=0.05)
