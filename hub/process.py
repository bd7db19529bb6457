"""The ``waybill hub`` process: CRDs, ops server, leader election, then the controllers.

Two replicas are safe: only the holder of the Lease ``<namespace>/waybill-hub`` runs the
controllers, where the namespace is the pod's own (``$POD_NAMESPACE``, set by the chart; else
``waybill-system``). The other replica is a standby: it keeps trying to take the Lease.

Readiness is about being able to serve, not about leading, so ``helm --wait`` and a rolling
update of two replicas complete: ``/readyz`` is ready when the last Lease read reached the API
server and, on the leader, the hub's caches are synced. Leadership is reported separately, by
``/leaderz`` (200 only on the leader) and the ``waybill_leader_is_leader`` gauge.

Losing the Lease (its renewal failed for the renew deadline, e.g. during a hub API outage)
stops the controllers; the process stays up as a standby with a fresh hub and may lead again
(no restarter needed). A hub failure other than that ends the process with exit code 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field

from hub import fleet_metrics
from hub.app import Hub
from hub.crd_startup import CrdMode, CrdsNotReady, prepare_crds
from hub.replica_paths import DEFAULT_REPLICA_PATHS
from hub.status_hold import HOLD_SECONDS
from hub.status_hold import Hold as StatusHold
from shared.kube import errors
from shared.kube.client import KubeClient
from shared.ops.logging import get_logger
from shared.ops.server import OpsServer
from shared.runtime.leader import LeaderElector, LeadershipLost

_log = get_logger("hub.process")
DEFAULT_LEASE_NAMESPACE = "waybill-system"
LEASE_NAMESPACE = DEFAULT_LEASE_NAMESPACE  # where the Lease is when $POD_NAMESPACE is unset
LEASE_NAME = "waybill-hub"


def lease_namespace(environ: Mapping[str, str] | None = None) -> str:
    """Where the leader-election Lease lives: the pod's namespace, else ``waybill-system``."""
    env = os.environ if environ is None else environ
    return env.get("POD_NAMESPACE") or DEFAULT_LEASE_NAMESPACE


def _default_identity() -> str:
    return os.environ.get("POD_NAME") or f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class HubOptions:
    kubeconfig: str | None = None
    metrics_port: int | None = None
    leader_elect: bool = True
    identity: str = field(default_factory=_default_identity)
    lease_namespace: str = field(default_factory=lease_namespace)
    grace_seconds: float = 40.0
    status_hold: float = HOLD_SECONDS  # hub.status_hold: how long a binding status waits for reports
    workers: int = 16
    scheduler_names: tuple[str, ...] = ("default-scheduler",)  # the schedulerNames this hub places
    install_crds: bool = True  # False is ``crds="verify"`` (the ``--no-install-crds`` flag)
    crds: CrdMode | None = None  # None: "create" if install_crds else "verify"
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    replica_paths: Mapping[tuple[str, str], str] = field(default_factory=lambda: dict(DEFAULT_REPLICA_PATHS))

    @property
    def crd_mode(self) -> CrdMode:
        if self.crds is not None:
            return self.crds
        return "create" if self.install_crds else "verify"


async def _ensure_namespace(hub_api: KubeClient, name: str) -> None:
    """Create the Lease namespace only when it is missing (a chart's release namespace exists)."""
    try:
        await hub_api.get("v1", "Namespace", name=name)
    except errors.NotFound:
        with contextlib.suppress(errors.AlreadyExists):
            await hub_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


class HubProcess:
    """One hub replica: a fresh :class:`Hub` per leadership term, readiness for the ops server."""

    def __init__(self, hub_api: KubeClient, options: HubOptions) -> None:
        self.hub_api = hub_api
        self.options = options
        self.hub = self._new_hub()
        self.terms = 0  # leadership terms started
        self.elector: LeaderElector | None = None
        if options.leader_elect:
            self.elector = LeaderElector(
                hub_api,
                name=LEASE_NAME,
                namespace=options.lease_namespace,
                identity=options.identity,
                lease_duration=options.lease_duration,
                renew_deadline=options.renew_deadline,
                retry_period=options.retry_period,
            )

    def _new_hub(self) -> Hub:
        # A Hub's controllers and informers are stopped for good when its run ends, so each
        # leadership term gets a new one (and starts from fresh caches, as a new leader must).
        return Hub(
            self.hub_api,
            replica_paths=self.options.replica_paths,
            grace_seconds=self.options.grace_seconds,
            status_hold=StatusHold.of(self.options.status_hold),
            workers=self.options.workers,
            scheduler_names=self.options.scheduler_names,
        )

    @property
    def is_leader(self) -> bool:
        return self.elector is None or self.elector.is_leader

    def ready(self) -> bool:
        """Able to serve: the API answers, and on the leader the caches are synced."""
        if self.elector is not None and not self.elector.api_reachable:
            return False
        if not self.is_leader:
            return True
        return all(i.has_synced for i in self.hub.state.fixed_informers)

    async def _lead(self) -> None:
        self.terms += 1
        _log.info("hub.leading", identity=self.options.identity, term=self.terms)
        await self.hub.run()

    def fleet_facts(self) -> fleet_metrics.FleetFacts | None:
        """What the fleet metrics are computed from: the leader's synced caches (None otherwise)."""
        state = self.hub.state
        if not self.is_leader or not all(i.has_synced for i in state.fixed_informers):
            return None
        return fleet_metrics.FleetFacts(
            namespaces=state.namespaces.list(),
            members=state.members.list(),
            leases=state.leases.list(),
            works=state.works.list(),
            bindings=[*state.bindings.list(), *state.cluster_bindings.list()],
        )

    async def run(self) -> None:
        """Lead whenever this replica holds the Lease; back to standby on losing it."""
        token = fleet_metrics.register_source(self.fleet_facts)
        try:
            await self._run()
        finally:
            fleet_metrics.unregister_source(token)

    async def _run(self) -> None:
        if self.elector is None:
            await self._lead()
            return
        while True:
            try:
                await self.elector.run(self._lead)
                return
            except LeadershipLost:
                _log.warning("hub.standby", identity=self.options.identity,
                             lease=f"{self.elector.namespace}/{self.elector.name}")
                self.hub = self._new_hub()


async def run_hub(options: HubOptions, stop: asyncio.Event) -> int:
    """Run until ``stop`` is set; the exit code (0 on a requested stop)."""
    hub_api = (
        await KubeClient.from_kubeconfig(options.kubeconfig)
        if options.kubeconfig
        else await KubeClient.from_incluster()
    )
    ops: OpsServer | None = None
    try:
        try:
            await prepare_crds(hub_api, mode=options.crd_mode)
        except CrdsNotReady as exc:
            _log.error("hub.crds_not_ready", error=str(exc))
            return 1
        process = HubProcess(hub_api, options)
        if process.elector is not None:
            await _ensure_namespace(hub_api, options.lease_namespace)
        if options.metrics_port is not None:
            ops = OpsServer(port=options.metrics_port)
            ops.add_liveness_check("process", lambda: True)
            ops.add_readiness_check("hub-api", process.ready)
            if process.elector is not None:
                ops.add_leader_check("leading", lambda: process.is_leader)
            await ops.start()
            _log.info("hub.ops", port=ops.port)
        work = asyncio.ensure_future(process.run())
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
