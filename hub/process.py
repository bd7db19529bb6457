"""The ``waybill hub`` process: CRDs, ops server, leader election, then the controllers.

Two replicas are safe: only the holder of the Lease ``waybill-system/waybill-hub`` runs the
controllers; the other waits (and serves ``/healthz``; ``/readyz`` is ready only when leading
and synced). Losing the Lease stops the controllers; the process then exits non-zero so its
supervisor restarts it as a follower.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field

from hub.app import Hub
from hub.crds import ensure_crds
from hub.replica_paths import DEFAULT_REPLICA_PATHS
from shared.kube import errors
from shared.kube.client import KubeClient
from shared.ops.logging import get_logger
from shared.ops.server import OpsServer
from shared.runtime.leader import LeaderElector

_log = get_logger("hub.process")
LEASE_NAMESPACE = "waybill-system"
LEASE_NAME = "waybill-hub"


@dataclass(frozen=True)
class HubOptions:
    kubeconfig: str | None = None
    metrics_port: int | None = None
    leader_elect: bool = True
    identity: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    grace_seconds: float = 40.0
    workers: int = 16
    install_crds: bool = True
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    replica_paths: Mapping[tuple[str, str], str] = field(default_factory=lambda: dict(DEFAULT_REPLICA_PATHS))


async def _ensure_namespace(hub_api: KubeClient, name: str) -> None:
    with contextlib.suppress(errors.AlreadyExists):
        await hub_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


async def run_hub(options: HubOptions, stop: asyncio.Event) -> int:
    """Run until ``stop`` is set; the exit code (0 on a requested stop)."""
    hub_api = (
        await KubeClient.from_kubeconfig(options.kubeconfig)
        if options.kubeconfig
        else await KubeClient.from_incluster()
    )
    ops: OpsServer | None = None
    try:
        if options.install_crds:
            await ensure_crds(hub_api)
        hub = Hub(
            hub_api,
            replica_paths=options.replica_paths,
            grace_seconds=options.grace_seconds,
            workers=options.workers,
        )
        elector: LeaderElector | None = None
        if options.leader_elect:
            await _ensure_namespace(hub_api, LEASE_NAMESPACE)
            elector = LeaderElector(
                hub_api,
                name=LEASE_NAME,
                namespace=LEASE_NAMESPACE,
                identity=options.identity,
                lease_duration=options.lease_duration,
                renew_deadline=options.renew_deadline,
                retry_period=options.retry_period,
            )
        if options.metrics_port is not None:
            ops = OpsServer(port=options.metrics_port)
            ops.add_liveness_check("process", lambda: True)
            ops.add_readiness_check("leading", lambda: elector is None or elector.is_leader)
            ops.add_readiness_check("synced", lambda: all(i.has_synced for i in hub.state.fixed_informers))
            await ops.start()
            _log.info("hub.ops", port=ops.port)
        work = asyncio.ensure_future(elector.run(hub.run) if elector else hub.run())
        stopper = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait({work, stopper}, return_when=asyncio.FIRST_COMPLETED)
        for task in (work, stopper):
            task.cancel()
        await asyncio.gather(work, stopper, return_exceptions=True)
        if work in done and not work.cancelled() and work.exception() is not None:
            _log.error("hub.failed", error=str(work.exception()))
            return 1
        return 0
    finally:
        if ops is not None:
            await ops.stop()
        await hub_api.close()
