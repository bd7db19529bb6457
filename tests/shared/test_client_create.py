"""The create path's handling of ambiguous failures, over a scripted transport (no server)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.kube.client import KubeClient
from shared.kube.errors import AlreadyExists, ApiError, ServerError, TooManyRequests
from shared.kube.requests import KubeRequest
from shared.kube.retry import RetryPolicy
from shared.kube.types import ResourceInfo

CM = ResourceInfo(api_version="v1", kind="ConfigMap", plural="configmaps", namespaced=True)
FAST = RetryPolicy(attempts=4, base_delay=0.001, max_delay=0.002, jitter=0.0)


class ScriptedClient(KubeClient):
    """A KubeClient whose attempts answer from a script instead of a server."""

    def __init__(self, script: list[Any], *, live: dict[str, Any] | None = None) -> None:
        super().__init__(object(), name="scripted", retry_policy=FAST)
        self.script = script
        self.live = live
        self.sent: list[KubeRequest] = []

    async def resource_info(self, api_version: str, kind: str) -> ResourceInfo:
        return CM

    async def _send_once(self, req: KubeRequest) -> Any:
        self.sent.append(req)
        if req.method == "GET":
            return self.live
        step = self.script.pop(0)
        if isinstance(step, ApiError):
            raise step
        return step


def _cm(data: dict[str, str], *, name: str = "c") -> dict[str, Any]:
    meta = {"name": name, "namespace": "ns"}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


async def test_ambiguous_failure_then_already_exists_returns_the_stored_object() -> None:
    live = {**_cm({"a": "1"}), "metadata": {"name": "c", "namespace": "ns", "uid": "u1"}}
    client = ScriptedClient([ServerError("boom", status=500), AlreadyExists("exists")], live=live)
    assert (await client.create(_cm({"a": "1"})))["metadata"]["uid"] == "u1"
    assert [r.method for r in client.sent] == ["POST", "POST", "GET"]


async def test_already_exists_with_other_content_is_raised() -> None:
    script: list[Any] = [ServerError("boom", status=500), AlreadyExists("exists")]
    client = ScriptedClient(script, live=_cm({"a": "other"}))
    with pytest.raises(AlreadyExists):
        await client.create(_cm({"a": "1"}))


async def test_plain_already_exists_is_raised_without_reading() -> None:
    client = ScriptedClient([AlreadyExists("exists")], live=_cm({"a": "1"}))
    with pytest.raises(AlreadyExists):
        await client.create(_cm({"a": "1"}))
    assert [r.method for r in client.sent] == ["POST"]


async def test_generate_name_create_is_not_retried_after_an_ambiguous_failure() -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "c-", "namespace": "ns"}}
    client = ScriptedClient([ServerError("boom", status=500), {"metadata": {"name": "c-1"}}])
    with pytest.raises(ServerError):
        await client.create(obj)
    assert len(client.sent) == 1


async def test_throttled_generate_name_create_is_retried() -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "c-", "namespace": "ns"}}
    client = ScriptedClient([TooManyRequests("slow", retry_after=0.001), {"metadata": {"name": "c-1"}}])
    assert (await client.create(obj))["metadata"]["name"] == "c-1"
    assert len(client.sent) == 2
