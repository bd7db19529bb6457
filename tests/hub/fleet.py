"""Test helpers: a running Hub on a kubesim hub server, and polling with a deadline."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from hub.app import Hub
from hub.crds import ensure_crds
from shared.api import names
from shared.kube.client import KubeClient
from shared.kube.errors import NotFound

T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T | None]], *, within: float = 15.0, what: str = "") -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` after ``within`` seconds."""
    deadline = time.monotonic() + within
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = await probe()
        except (NotFound, AssertionError, KeyError, IndexError) as exc:
            last = exc
        else:
            if last:
                return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or probe}: last={last!r}")


async def settled(hub: Hub, *, polls: int = 6) -> None:
    """Wait until every controller queue has stayed empty for ``polls`` consecutive polls."""
    quiet = 0
    deadline = time.monotonic() + 15.0
    while quiet < polls:
        quiet = quiet + 1 if all(len(c.queue) == 0 for c in hub.controllers) else 0
        assert time.monotonic() < deadline, "hub controllers did not settle"
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def running_hub(kubeconfig: str, **kwargs: Any) -> AsyncIterator[tuple[Hub, KubeClient]]:
    hub_api = await KubeClient.from_kubeconfig(kubeconfig)
    await ensure_crds(hub_api)
    hub = Hub(hub_api, **kwargs)
    task = asyncio.create_task(hub.run())
    try:
        yield hub, hub_api
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await hub_api.close()


async def heartbeat(hub_api: KubeClient, namespace: str, *, duration: int = 3600) -> None:
    """A stand-in agent's heartbeat Lease, renewed now and valid for ``duration`` seconds (a member
    without a first heartbeat carries the not-ready taint and is not scheduled to)."""
    await hub_api.apply(
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": names.HEARTBEAT_LEASE_NAME, "namespace": namespace},
            "spec": {
                "holderIdentity": "stand-in-agent",
                "leaseDurationSeconds": duration,
                "renewTime": datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            },
        },
        field_manager="test-agent",
        force=True,
    )


async def add_member(
    hub_api: KubeClient,
    name: str,
    *,
    labels: dict[str, str] | None = None,
    region: str | None = None,
    agent: bool = True,
) -> str:
    """Register a member the way ``waybill join`` does: namespace + MemberCluster; with ``agent``
    (the default) a stand-in heartbeat Lease, so the hub sees a connected member."""
    namespace = f"{names.MEMBER_NAMESPACE_PREFIX}{name}"
    await hub_api.create(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": namespace, "labels": {names.LABEL_MEMBER: name}},
        }
    )
    spec: dict[str, Any] = {"syncMode": "Pull"}
    if region:
        spec["region"] = region
    member = {
        "apiVersion": names.CLUSTER_API_VERSION,
        "kind": names.KIND_MEMBER_CLUSTER,
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": spec,
    }
    await hub_api.apply(member, field_manager="test-join", force=True)
    if agent:
        await heartbeat(hub_api, namespace)
    return namespace
