"""pytest plugin: kubesim servers as fixtures.

Enabled from tests/conftest.py (``pytest_plugins = ["kubesim.testing"]``):

- ``sim_factory``: ``await sim_factory("eu1", workloads=True, ...)`` starts a ``SimServer`` (same
  keyword arguments) writing its kubeconfig under the test's tmp_path; all are closed at teardown;
- ``hub_sim``: a started hub server (no workload controllers).

``Api`` is a raw HTTP client for conformance-style tests (``(status, body)`` per call), and
``cm()`` / ``deployment()`` build small manifests.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio

from kubesim.server import SimServer

SimFactory = Callable[..., Awaitable[SimServer]]


@pytest_asyncio.fixture
async def sim_factory(tmp_path: Path) -> AsyncIterator[SimFactory]:
    servers: list[SimServer] = []

    async def make(name: str = "sim", **kwargs: Any) -> SimServer:
        kwargs.setdefault("kubeconfig_dir", tmp_path / "kubeconfigs")
        server = SimServer(name, **kwargs)
        await server.start()
        servers.append(server)
        return server

    yield make
    for server in reversed(servers):
        await server.close()


@pytest_asyncio.fixture
async def hub_sim(sim_factory: SimFactory) -> SimServer:
    return await sim_factory("hub")


class Api:
    """Raw HTTP against one server: every call returns ``(status, body)``; body is JSON when it parses."""

    def __init__(self, server: SimServer, *, token: str | None = None) -> None:
        self.server = server
        headers = {"Authorization": f"Bearer {token or server.admin_token}"} if token != "" else {}
        self.session = aiohttp.ClientSession(
            base_url=server.url, headers=headers, timeout=aiohttp.ClientTimeout(total=10)
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        data = None
        hdrs = dict(headers or {})
        if body is not None:
            data = body if isinstance(body, str | bytes) else json.dumps(body)
            hdrs["Content-Type"] = content_type
        async with self.session.request(method, path, data=data, headers=hdrs, params=params) as resp:
            text = await resp.text()
            try:
                return resp.status, json.loads(text)
            except ValueError:
                return resp.status, text

    async def get(self, path: str, **kw: Any) -> tuple[int, Any]:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, body: Any, **kw: Any) -> tuple[int, Any]:
        return await self.request("POST", path, body=body, **kw)

    async def put(self, path: str, body: Any, **kw: Any) -> tuple[int, Any]:
        return await self.request("PUT", path, body=body, **kw)

    async def patch(
        self, path: str, body: Any, *, content_type: str = "application/merge-patch+json", **kw: Any
    ) -> tuple[int, Any]:
        return await self.request("PATCH", path, body=body, content_type=content_type, **kw)

    async def delete(self, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        return await self.request("DELETE", path, body=body, **kw)

    async def close(self) -> None:
        await self.session.close()


CM = "/api/v1/namespaces/default/configmaps"
DEPLOY = "/apis/apps/v1/namespaces/default/deployments"


def cm(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": dict(data)}


def deployment(name: str, *, replicas: int = 1, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
        },
    }


async def wait_for(
    predicate: Callable[[], Awaitable[bool]], *, deadline: float = 5.0, interval: float = 0.02
) -> None:
    """Poll ``predicate`` until it returns True; fail with AssertionError after ``deadline`` seconds."""
    import asyncio

    loop = asyncio.get_running_loop()
    limit = loop.time() + deadline
    while not await predicate():
        if loop.time() > limit:
            raise AssertionError(f"condition not met within {deadline}s")
        await asyncio.sleep(interval)
