"""KubeClient against kubesim: CRUD, errors, server-side apply, status, retries on faults, watch."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from shared.kube.client import KubeClient
from shared.kube.errors import AlreadyExists, ConfigError, Conflict, Forbidden, Gone, NotFound, ServerError
from shared.kube.retry import RetryPolicy
from shared.kube.types import WatchEvent

FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, jitter=0.1)
SimFactory = Callable[..., Awaitable[Any]]
WaitFor = Callable[..., Awaitable[None]]


@pytest.fixture
async def sim(sim_factory: SimFactory) -> Any:
    return await sim_factory("rt-client")


@pytest.fixture
async def api(sim: Any) -> AsyncIterator[KubeClient]:
    client = await KubeClient.from_kubeconfig(
        sim.kubeconfig_path, name="test", retry_policy=FAST, request_timeout=5.0
    )
    try:
        yield client
    finally:
        await client.close()


def _cm(
    name: str, *, data: dict[str, str] | None = None, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "default", "labels": labels or {}},
        "data": data or {},
    }


async def test_configmap_crud(api: KubeClient) -> None:
    created = await api.create(_cm("crud", data={"a": "1"}, labels={"app": "x"}))
    assert created["metadata"]["uid"]
    got = await api.get("v1", "ConfigMap", name="crud", namespace="default")
    assert got["data"] == {"a": "1"}

    await api.create(_cm("other", labels={"app": "y"}))
    listed = await api.list("v1", "ConfigMap", namespace="default", label_selector="app=x")
    assert [item["metadata"]["name"] for item in listed.items] == ["crud"]
    assert listed.items[0]["kind"] == "ConfigMap"
    assert listed.resource_version

    got["data"]["a"] = "2"
    replaced = await api.replace(got)
    assert replaced["data"] == {"a": "2"}
    with pytest.raises(Conflict):
        await api.replace(got)  # stale resourceVersion

    merged = await api.patch("v1", "ConfigMap", name="crud", namespace="default", patch={"data": {"b": "3"}})
    assert merged["data"] == {"a": "2", "b": "3"}
    patched = await api.patch(
        "v1",
        "ConfigMap",
        name="crud",
        namespace="default",
        patch_type="json",
        patch=[{"op": "remove", "path": "/data/a"}],
    )
    assert patched["data"] == {"b": "3"}

    await api.delete("v1", "ConfigMap", name="crud", namespace="default")
    with pytest.raises(NotFound):
        await api.get("v1", "ConfigMap", name="crud", namespace="default")


async def test_not_found_and_already_exists(api: KubeClient) -> None:
    with pytest.raises(NotFound):
        await api.get("v1", "ConfigMap", name="missing", namespace="default")
    with pytest.raises(NotFound):
        await api.delete("v1", "ConfigMap", name="missing", namespace="default")
    with pytest.raises(NotFound):
        await api.get("example.com/v1", "Nothing", name="x")
    await api.create(_cm("dup"))
    with pytest.raises(AlreadyExists):
        await api.create(_cm("dup"))


async def test_delete_preconditions(api: KubeClient) -> None:
    await api.create(_cm("pre"))
    with pytest.raises(Conflict):
        await api.delete("v1", "ConfigMap", name="pre", namespace="default", preconditions={"uid": "not-it"})
    await api.get("v1", "ConfigMap", name="pre", namespace="default")


async def test_server_side_apply_conflict_and_force(api: KubeClient) -> None:
    await api.apply(_cm("ssa", data={"k": "one"}), field_manager="alpha")
    with pytest.raises(Conflict) as caught:
        await api.apply(_cm("ssa", data={"k": "two"}), field_manager="beta")
    assert "alpha" in caught.value.message
    forced = await api.apply(_cm("ssa", data={"k": "two"}), field_manager="beta", force=True)
    assert forced["data"] == {"k": "two"}
    managers = {entry["manager"] for entry in forced["metadata"]["managedFields"]}
    assert "beta" in managers


async def test_status_subresource(api: KubeClient) -> None:
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
        },
    }
    created = await api.create(deploy)
    created["status"] = {"replicas": 2, "readyReplicas": 1}
    created["spec"]["replicas"] = 5  # ignored by a status write
    written = await api.replace_status(created)
    assert written["status"]["readyReplicas"] == 1
    assert written["spec"]["replicas"] == 2
    patched = await api.patch_status(
        "apps/v1", "Deployment", name="web", namespace="default", patch={"status": {"readyReplicas": 2}}
    )
    assert patched["status"]["readyReplicas"] == 2


async def test_retries_injected_503_and_429(sim: Any, api: KubeClient) -> None:
    await api.create(_cm("flaky"))
    before = sim.faults.injected
    sim.faults.error(503, path="/configmaps/flaky", times=2, retry_after=0)
    got = await api.get("v1", "ConfigMap", name="flaky", namespace="default")
    assert got["metadata"]["name"] == "flaky"
    assert sim.faults.injected - before == 2
    sim.faults.throttle(retry_after=1, path="/configmaps/flaky", times=1)
    started = time.monotonic()
    await api.patch("v1", "ConfigMap", name="flaky", namespace="default", patch={"data": {"x": "y"}})
    assert sim.faults.injected - before == 3
    assert time.monotonic() - started >= 1.0, "Retry-After: 1 was honoured (the backoff alone is ~10 ms)"


async def test_retries_connection_reset(sim: Any, api: KubeClient) -> None:
    await api.create(_cm("reset"))
    sim.faults.reset(path="/configmaps/reset", times=1)
    got = await api.get("v1", "ConfigMap", name="reset", namespace="default")
    assert got["metadata"]["name"] == "reset"


async def test_retries_are_bounded(sim: Any, api: KubeClient) -> None:
    await api.create(_cm("down"))
    before = sim.faults.injected
    sim.faults.error(500, path="/configmaps/down")
    with pytest.raises(ServerError):
        await api.get("v1", "ConfigMap", name="down", namespace="default")
    assert sim.faults.injected - before == FAST.attempts


async def test_watch_events(api: KubeClient) -> None:
    start = await api.list("v1", "ConfigMap", namespace="default")
    await api.create(_cm("w1"))
    await api.patch("v1", "ConfigMap", name="w1", namespace="default", patch={"data": {"a": "b"}})
    await api.delete("v1", "ConfigMap", name="w1", namespace="default")
    seen: list[WatchEvent] = []
    events = api.watch(
        "v1", "ConfigMap", namespace="default", resource_version=start.resource_version, timeout_seconds=5
    )
    async with contextlib.aclosing(events):
        async for event in events:
            if event.type != "BOOKMARK":
                seen.append(event)
            if len(seen) == 3:
                break
    assert [(e.type, e.object["metadata"]["name"]) for e in seen] == [
        ("ADDED", "w1"),
        ("MODIFIED", "w1"),
        ("DELETED", "w1"),
    ]
    assert int(seen[2].resource_version) > int(seen[0].resource_version)


async def test_watch_expired_raises_gone(sim: Any, api: KubeClient) -> None:
    start = await api.list("v1", "ConfigMap", namespace="default")
    sim.faults.expire_watch(times=1)
    events = api.watch(
        "v1", "ConfigMap", namespace="default", resource_version=start.resource_version, timeout_seconds=5
    )
    with pytest.raises(Gone):
        async with contextlib.aclosing(events):
            async for _ in events:
                pass


async def test_discovery_version_and_resources(api: KubeClient) -> None:
    info = await api.resource_info("apps/v1", "Deployment")
    assert (info.plural, info.namespaced) == ("deployments", True)
    assert "status" in info.subresources
    assert not (await api.resource_info("v1", "Namespace")).namespaced
    version = await api.server_version()
    assert version.git_version.startswith("v1.")
    served = {group.group_version: group for group in await api.api_resources()}
    assert "v1" in served and "apps/v1" in served
    assert "ConfigMap" in {r.kind for r in served["v1"].resources}


async def test_list_pages_through_continue_tokens(api: KubeClient) -> None:
    for index in range(5):
        await api.create(_cm(f"page-{index}", labels={"paged": "yes"}))
    listed = await api.list("v1", "ConfigMap", namespace="default", label_selector="paged=yes", page_size=2)
    assert sorted(item["metadata"]["name"] for item in listed.items) == [f"page-{i}" for i in range(5)]


async def test_discovery_finds_a_crd_created_later(api: KubeClient, wait_for: WaitFor) -> None:
    with pytest.raises(NotFound):
        await api.resource_info("example.com/v1", "Widget")
    await api.create(
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {
                "group": "example.com",
                "scope": "Namespaced",
                "names": {
                    "plural": "widgets",
                    "singular": "widget",
                    "kind": "Widget",
                    "listKind": "WidgetList",
                },
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "schema": {
                            "openAPIV3Schema": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                            }
                        },
                    }
                ],
            },
        }
    )

    async def served() -> bool:
        try:
            await api.resource_info("example.com/v1", "Widget")
        except NotFound:
            return False
        return True

    await wait_for(served, what="Widget in discovery")
    await api.create(
        {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "w", "namespace": "default"},
            "spec": {"size": 3},
        }
    )
    widget = await api.get("example.com/v1", "Widget", name="w", namespace="default")
    assert widget["spec"] == {"size": 3}


async def test_forbidden_for_an_identity_without_rights(sim: Any, tmp_path: Path) -> None:
    token = sim.issue_token(user="nobody")
    path = sim.write_kubeconfig(tmp_path / "nobody.kubeconfig", token=token, user="nobody")
    client = await KubeClient.from_kubeconfig(path, name="nobody", retry_policy=FAST, request_timeout=5.0)
    try:
        with pytest.raises(Forbidden) as caught:
            await client.list("v1", "ConfigMap", namespace="default")
        assert "nobody" in caught.value.message
    finally:
        await client.close()


async def test_tls_server_with_the_kubeconfig_ca(sim_factory: SimFactory) -> None:
    secure = await sim_factory("rt-tls", tls=True)
    assert secure.url.startswith("https://")
    client = await KubeClient.from_kubeconfig(
        secure.kubeconfig_path, name="tls", retry_policy=FAST, request_timeout=5.0
    )
    try:
        namespaces = await client.list("v1", "Namespace")
        assert "default" in {item["metadata"]["name"] for item in namespaces.items}
    finally:
        await client.close()


async def test_strategic_merge_patch_and_orphan_delete(api: KubeClient) -> None:
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "smp", "namespace": "default"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "smp"}},
            "template": {
                "metadata": {"labels": {"app": "smp"}},
                "spec": {
                    "containers": [
                        {"name": "app", "image": "nginx:1"},
                        {"name": "sidecar", "image": "envoy:1"},
                    ]
                },
            },
        },
    }
    await api.create(deploy)
    sidecar = {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "envoy:2"}]}}}}
    patched = await api.patch(
        "apps/v1", "Deployment", name="smp", namespace="default", patch_type="strategic", patch=sidecar
    )
    images = {c["name"]: c["image"] for c in patched["spec"]["template"]["spec"]["containers"]}
    assert images == {"app": "nginx:1", "sidecar": "envoy:2"}, "merged by name, not replaced"
    await api.delete("apps/v1", "Deployment", name="smp", namespace="default", propagation_policy="Orphan")
    with pytest.raises(NotFound):
        await api.get("apps/v1", "Deployment", name="smp", namespace="default")


@pytest.mark.parametrize("content", [None, "not: [valid", "apiVersion: v1\nkind: Config\n"])
async def test_unusable_kubeconfig_is_a_config_error(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "kubeconfig"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError):
        await KubeClient.from_kubeconfig(path)


def _read_yaml(path: Path) -> Any:
    import yaml

    return yaml.safe_load(path.read_text())


async def test_kubeconfig_context_and_dict(sim: Any) -> None:
    config = _read_yaml(Path(sim.kubeconfig_path))
    client = await KubeClient.from_kubeconfig_dict(
        config, context=config["current-context"], name="dict", retry_policy=FAST, request_timeout=5.0
    )
    try:
        assert client.host == sim.url
        assert (await client.server_version()).major == "1"
    finally:
        await client.close()
    with pytest.raises(ConfigError):
        await KubeClient.from_kubeconfig(sim.kubeconfig_path, context="no-such-context")
