"""kubernetes-asyncio (typed and dynamic clients) against kubesim: discovery, CRUD, watch, 410 relist."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from kubernetes_asyncio import client, config, watch
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.dynamic import DynamicClient

from kubesim import SimServer
from kubesim.testing import SimFactory, cm


@pytest_asyncio.fixture
async def api_client(sim: SimServer) -> AsyncIterator[client.ApiClient]:
    api = await config.new_client_from_config(config_file=str(sim.kubeconfig_path))
    yield api
    await api.close()


@pytest_asyncio.fixture
async def dyn(api_client: client.ApiClient, tmp_path: Path) -> DynamicClient:
    return await DynamicClient(api_client, cache_file=str(tmp_path / "discovery.json"))


async def test_typed_client_crud(api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(api_client)
    created = await core.create_namespaced_config_map("default", cm("typed", k="v"))
    assert created.metadata.uid and created.data == {"k": "v"}
    got = await core.read_namespaced_config_map("typed", "default")
    got.data = {"k": "w"}
    replaced = await core.replace_namespaced_config_map("typed", "default", got)
    assert int(replaced.metadata.resource_version) > int(created.metadata.resource_version)
    with pytest.raises(ApiException) as info:
        await core.replace_namespaced_config_map("typed", "default", got)  # stale resourceVersion
    assert info.value.status == 409
    await core.delete_namespaced_config_map("typed", "default")
    with pytest.raises(ApiException) as info:
        await core.read_namespaced_config_map("typed", "default")
    assert info.value.status == 404
    namespaces = await core.list_namespace()
    assert {"default", "kube-system"} <= {n.metadata.name for n in namespaces.items}


async def test_typed_apps_and_token_request(api_client: client.ApiClient) -> None:
    apps = client.AppsV1Api(api_client)
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
        },
    }
    d = await apps.create_namespaced_deployment("default", body)
    assert d.metadata.generation == 1 and d.spec.replicas == 2
    scale = await apps.read_namespaced_deployment_scale("web", "default")
    assert scale.spec.replicas == 2
    core = client.CoreV1Api(api_client)
    await core.create_namespaced_service_account("default", {"metadata": {"name": "bot"}})
    token = await core.create_namespaced_service_account_token(
        "bot", "default", {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}
    )
    assert token.status.token


async def test_dynamic_discovery_and_crud(dyn: DynamicClient) -> None:
    configmaps = await dyn.resources.get(api_version="v1", kind="ConfigMap")
    assert configmaps.namespaced and configmaps.name == "configmaps"
    deployments = await dyn.resources.get(api_version="apps/v1", kind="Deployment")
    assert "scale" in [s for s in deployments.subresources]
    created = await dyn.create(configmaps, body=cm("dyn", a="1"), namespace="default")
    assert created.metadata.name == "dyn"
    patched = await dyn.patch(
        configmaps,
        name="dyn",
        namespace="default",
        body={"data": {"b": "2"}},
        content_type="application/merge-patch+json",
    )
    assert dict(patched.data) == {"a": "1", "b": "2"}
    listed = await dyn.get(configmaps, namespace="default", label_selector="")
    assert "dyn" in [i.metadata.name for i in listed.items]
    await dyn.delete(configmaps, name="dyn", namespace="default")
    # the dynamic client streams responses and returns error Status bodies instead of raising
    gone = await dyn.get(configmaps, name="dyn", namespace="default")
    assert (gone.kind, gone.code, gone.reason) == ("Status", 404, "NotFound")


async def test_dynamic_server_side_apply(dyn: DynamicClient) -> None:
    configmaps = await dyn.resources.get(api_version="v1", kind="ConfigMap")
    applied = await dyn.server_side_apply(
        configmaps, body=cm("ssa", k="v"), namespace="default", field_manager="tester"
    )
    assert applied.data.k == "v"
    conflict = await dyn.server_side_apply(
        configmaps, body=cm("ssa", k="x"), namespace="default", field_manager="other"
    )
    assert (conflict.kind, conflict.code, conflict.reason) == ("Status", 409, "Conflict")


async def test_dynamic_watch_events(dyn: DynamicClient) -> None:
    configmaps = await dyn.resources.get(api_version="v1", kind="ConfigMap")
    listed = await dyn.get(configmaps, namespace="default")
    rv = listed.metadata.resourceVersion
    seen: list[tuple[str, str]] = []

    async def consume() -> None:
        async for event in dyn.watch(configmaps, namespace="default", resource_version=rv, timeout=5):
            seen.append((event["type"], event["object"].metadata.name))
            if event["type"] == "DELETED":
                return

    task = asyncio.create_task(consume())
    await dyn.create(configmaps, body=cm("w"), namespace="default")
    await dyn.patch(
        configmaps,
        name="w",
        namespace="default",
        body={"data": {"x": "y"}},
        content_type="application/merge-patch+json",
    )
    await dyn.delete(configmaps, name="w", namespace="default")
    await asyncio.wait_for(task, 10)
    assert seen == [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]


async def test_watch_410_then_relist(sim_factory: SimFactory, tmp_path: Path) -> None:
    server = await sim_factory("short", history=3)
    api = await config.new_client_from_config(config_file=str(server.kubeconfig_path))
    try:
        core = client.CoreV1Api(api)
        old = await core.list_namespaced_config_map("default")
        for i in range(6):
            await core.create_namespaced_config_map("default", cm(f"c{i}"))
        watcher = watch.Watch()
        with pytest.raises(ApiException) as info:
            async for _ in watcher.stream(
                core.list_namespaced_config_map,
                "default",
                resource_version=old.metadata.resource_version,
                timeout_seconds=5,
            ):
                pass
        assert info.value.status == 410
        fresh = await core.list_namespaced_config_map("default")  # the relist
        assert len(fresh.items) == 7
        events: list[Any] = []
        async for event in watch.Watch().stream(
            core.list_namespaced_config_map,
            "default",
            resource_version=fresh.metadata.resource_version,
            timeout_seconds=1,
        ):
            events.append(event)
        assert events == []  # nothing happened since the relist
    finally:
        await api.close()
