"""Request bodies go to ``json.dumps`` as they are: no copying walk over them first.

kubernetes-asyncio's ``sanitize_for_serialization`` copies every dict and list of a body (for its
generated models and datetimes, which Waybill never sends); on a 1,000-manifest Work status it
cost about four times the serialisation itself (``docs/performance.md``).
"""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable
from typing import Any

from shared.kube.client import KubeClient


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
