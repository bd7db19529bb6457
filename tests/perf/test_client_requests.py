"""What Waybill's client does per request besides the request (``docs/performance.md``).

- Request bodies go to ``json.dumps`` as they are: kubernetes-asyncio's
  ``sanitize_for_serialization`` copied every dict and list of a body first (for generated
  models and datetimes, which Waybill never sends), about four times the serialisation itself
  on a 1,000-manifest Work status.
- No netrc and proxy-environment lookups in a thread per request (aiohttp's ``trust_env``, on
  in kubernetes-asyncio's session): the environment is read once, and a client whose API
  server is reached through a proxy from the environment keeps aiohttp's behaviour.
"""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from shared.kube.client import KubeClient, _without_per_request_env_lookups


async def test_bodies_are_sent_without_a_sanitising_copy(sim_factory: Callable[..., Awaitable[Any]]) -> None:
    sim = await sim_factory("hub")
    client = await KubeClient.from_kubeconfig(sim.kubeconfig_path, name="t")
    try:
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "default", "labels": {"a": "b"}},
            "data": {f"k{i}": "v" for i in range(50)},
        }
        assert client._api.sanitize_for_serialization(body) is body  # not walked, not copied
        # what the library still converts, where something hands it one
        stamp = datetime.datetime(2026, 1, 2, 3, 4, 5)
        assert client._api.sanitize_for_serialization(stamp) == "2026-01-02T03:04:05"
        created = await client.create(body)
        assert created["data"] == body["data"] and created["metadata"]["labels"] == {"a": "b"}
        add = [{"op": "add", "path": "/data/x", "value": "y"}]
        patched = await client.patch(
            "v1", "ConfigMap", name="c", namespace="default", patch=add, patch_type="json"
        )
        assert patched["data"]["x"] == "y"
    finally:
        await client.close()


async def test_no_environment_lookups_per_request(sim_factory: Callable[..., Awaitable[Any]]) -> None:
    sim = await sim_factory("hub")
    client = await KubeClient.from_kubeconfig(sim.kubeconfig_path, name="t")
    try:
        assert client._api.rest_client.pool_manager.trust_env is False
        assert (await client.list("v1", "Namespace")).items  # requests still work
    finally:
        await client.close()


class _Session:
    _trust_env = True


class _Rest:
    def __init__(self, proxy: str | None) -> None:
        self.proxy = proxy
        self.pool_manager = _Session()


class _Configuration:
    host = "https://10.1.2.3:6443"


class _ApiClient:
    def __init__(self, proxy: str | None = None) -> None:
        self.rest_client = _Rest(proxy)
        self.configuration = _Configuration()


def test_a_proxy_from_the_environment_is_still_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    proxied = _ApiClient()
    _without_per_request_env_lookups(proxied)
    assert proxied.rest_client.pool_manager._trust_env is True  # aiohttp still applies it
    monkeypatch.setenv("NO_PROXY", "10.1.2.3")
    bypassed = _ApiClient()
    _without_per_request_env_lookups(bypassed)
    assert bypassed.rest_client.pool_manager._trust_env is False
    monkeypatch.delenv("NO_PROXY")
    configured = _ApiClient(proxy="http://configured:3128")  # the kubeconfig's proxy-url wins anyway
    _without_per_request_env_lookups(configured)
    assert configured.rest_client.pool_manager._trust_env is False
