"""The agent process: wires hub and member clients to the Work controller and the heartbeat.

``Agent(hub_api=..., member_api=..., config=...)`` with ``await start()`` / ``await stop()`` is
the in-process entry point (tests, ``waybill demo``); ``run_agent(...)`` is what
``waybill agent`` runs: build the clients from kubeconfigs (or in-cluster), serve ``/metrics``,
``/healthz`` and ``/readyz``, and stop gracefully on SIGTERM. Pull and push mode are the same
code: only where the process runs, and so which kubeconfigs it is given, differs.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from agent import applied_work as aw
from agent import identity, replica_owners
from agent.claims import DeletionTap, WorkClaims
from agent.config import AgentConfig
from agent.events import EventRecorder
from agent.manifests import packed_work
from agent.member_cache import MemberCache
from agent.membership import Membership
from agent.sealing_keys import Keyring
from agent.served_apis import ServedApis
from agent.work_controller import WorkController
from agent.work_sync import WorkSyncer
from shared.api import names
from shared.api.crdgen import crd_for
from shared.api.work import AppliedWork
from shared.kube.client import KubeClient
from shared.kube.errors import AlreadyExists, ApiError, Forbidden, NotFound
from shared.kube.informer import Informer, compact, strip_managed_fields
from shared.kube.types import Obj
from shared.ops.logging import get_logger
from shared.runtime.controller import Controller

_log = get_logger("agent.runner")
FLUSH_TIMEOUT_SECONDS = 5.0  # a graceful stop writes pending record resourceVersions within this


async def find_member_namespace(
    hub_api: KubeClient, *, cluster: str, default: str, member_api: KubeClient | None = None
) -> str:
    """The hub namespace labelled ``waybill.dev/member=<cluster>``; ``default`` if none may be listed.

    With the hub unreachable, the namespace the member's AppliedWorks name (if they agree on
    one) — so an agent restarted during a hub outage finds its Work copies — else ``default``.
    """
    try:
        found = await hub_api.list("v1", "Namespace", label_selector=f"{names.LABEL_MEMBER}={cluster}")
    except (Forbidden, NotFound):
        return default
    except ApiError as err:
        recorded = await _namespace_of_applied_works(member_api) if member_api is not None else None
        _log.warning(
            "hub.unreachable", during="namespace lookup", error=str(err), namespace=recorded or default
        )
        return recorded or default
    items = sorted(str(ns["metadata"]["name"]) for ns in found.items)
    return items[0] if items else default


async def _namespace_of_applied_works(member_api: KubeClient) -> str | None:
    try:
        listed = await member_api.list(
            aw.APPLIED_WORK_API_VERSION,
            names.KIND_APPLIED_WORK,
            label_selector=f"{names.LABEL_MANAGED_BY}={names.MANAGED_BY_VALUE}",
        )
    except ApiError:
        return None
    found = {str((item.get("spec") or {}).get("workNamespace") or "") for item in listed.items} - {""}
    return found.pop() if len(found) == 1 else None


async def ensure_applied_work_crd(member_api: KubeClient, *, within: float = 15.0) -> None:
    """Install (or update) the AppliedWork CRD on the member, and wait until it is served.

    An older CRD is replaced: its schema would prune the fields this agent records (digests,
    the Work copy).
    """
    crd = crd_for(AppliedWork)
    name = str(crd["metadata"]["name"])
    try:
        live = await member_api.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name=name)
    except NotFound:
        with contextlib.suppress(AlreadyExists):
            await member_api.create(crd)
            _log.info("member.crd.installed", name=name)
    else:
        if live.get("spec") != crd["spec"]:
            version = live["metadata"]["resourceVersion"]
            body = {**crd, "metadata": {**crd["metadata"], "resourceVersion": version}}
            await member_api.replace(body)
            _log.info("member.crd.updated", name=name)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            member_api.invalidate_discovery(aw.APPLIED_WORK_API_VERSION)
            await member_api.resource_info(aw.APPLIED_WORK_API_VERSION, names.KIND_APPLIED_WORK)
            return
        except NotFound:
            if loop.time() >= deadline:
                raise
            await asyncio.sleep(0.1)


def _identity_only(obj: Obj) -> Obj:
    return compact({k: v for k, v in obj.items() if k != "status"})


def _slim_work(obj: Obj) -> Obj:
    """The Work as the agent caches it: no managedFields (never read; the hub's and the agent's
    field sets over every manifest and status entry), its manifests packed as JSON
    (``agent.manifests.PackedManifests``: decoded by a full pass), strings shared."""
    return compact(packed_work(strip_managed_fields(obj)))


async def _until_reachable(step: Callable[[], Awaitable[None]], *, what: str) -> None:
    """Run ``step`` until it succeeds, backing off (0.5 s doubling to 30 s) on API errors."""
    delay = 0.5
    while True:
        try:
            await step()
            return
        except ApiError as err:
            _log.warning("agent.start.unreachable", api=what, error=str(err), retry_in=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)


class Agent:
    """One member's agent. ``await start()`` returns once it is running; ``await stop()`` ends it."""

    def __init__(self, *, hub_api: KubeClient, member_api: KubeClient, config: AgentConfig) -> None:
        self.hub_api = hub_api
        self.member_api = member_api
        self.config = config
        self.namespace = config.member_namespace or ""
        self._tasks: list[asyncio.Task[Any]] = []
        self.controller: Controller | None = None
        self.works: Informer | None = None
        self.applied_works: Informer | None = None
        self.cache: MemberCache | None = None
        self.membership: Membership | None = None
        self.keyring: Keyring | None = None
        self.claims: WorkClaims | None = None
        self.served_apis: ServedApis | None = None
        self.syncer: WorkSyncer | None = None
        self.hpas: replica_owners.HorizontalPodAutoscalers | None = None

    async def start(self) -> None:
        cfg = self.config
        await _until_reachable(lambda: ensure_applied_work_crd(self.member_api), what="member")
        if not self.namespace:
            self.namespace = await find_member_namespace(
                self.hub_api,
                cluster=cfg.cluster,
                default=cfg.default_member_namespace,
                member_api=self.member_api,
            )
        self.keyring = Keyring(
            self.member_api, namespace=cfg.sealing_key_namespace, max_age=cfg.sealing_key_max_age
        )
        try:
            await self.keyring.sync()
        except ApiError as err:  # sealed manifests wait; the heartbeat tries again
            _log.warning("sealing_keys.unavailable", error=str(err))
        self.claims = WorkClaims()
        tap = DeletionTap(self.hub_api, on_deleted=self.claims.deleted)
        self.works = Informer(
            tap, names.WORK_API_VERSION, names.KIND_WORK, namespace=self.namespace, name="hub:Work",
            transform=_slim_work,
        )
        self.claims.attach(self.works)
        controller_ref: list[Controller] = []

        def enqueue(key: str) -> None:
            if controller_ref:
                controller_ref[0].enqueue(key)

        self.cache = MemberCache(
            self.member_api,
            work_namespace=self.namespace,
            on_change=enqueue,
            field_manager=self.config.field_manager,
        )
        works = self.works

        def enqueue_all() -> None:  # an HPA appeared, changed or went: rare; every Work looks again
            for key in list(works.keys()):
                enqueue(key)

        self.hpas = replica_owners.HorizontalPodAutoscalers(self.member_api, on_change=enqueue_all)
        syncer = WorkSyncer(
            self.member_api,
            config=cfg,
            cache=self.cache,
            claims=self.claims,
            on_handover=enqueue,
            keyring=self.keyring,
            hpas=self.hpas,
        )
        events = EventRecorder(self.hub_api, host=cfg.holder_identity or socket.gethostname())
        self.applied_works = Informer(
            self.member_api,
            aw.APPLIED_WORK_API_VERSION,
            names.KIND_APPLIED_WORK,
            label_selector=f"{names.LABEL_WORK_NAMESPACE}={self.namespace}",
            name="member:AppliedWork",
            transform=_identity_only,  # records and Work copies are read when needed, not cached
        )
        syncer.records.attach(self.applied_works)  # a kept AppliedWork is served without a GET
        self.syncer = syncer
        work_controller = WorkController(
            self.hub_api,
            works=self.works,
            applied_works=self.applied_works,
            claims=self.claims,
            syncer=syncer,
            events=events,
            config=cfg,
        )
        self.controller = Controller("agent-works", work_controller.reconcile, workers=cfg.workers)
        controller_ref.append(self.controller)
        self.works.add_handler(enqueue, map_keys=self.claims.observe)
        self.applied_works.add_handler(enqueue, map_keys=self._work_key_of_applied)
        self.membership = Membership(
            self.hub_api, self.member_api, namespace=self.namespace, config=cfg, keyring=self.keyring
        )
        self._tasks = [
            asyncio.create_task(self.controller.run(), name="agent-controller"),
            asyncio.create_task(self.membership.run(), name="agent-heartbeat"),
        ]
        self.works.start()
        self.applied_works.start()
        self.hpas.start()
        # New or removed CRDs on the member reach MemberCluster.status at once, not at the next
        # periodic status write (see agent/served_apis.py).
        self.served_apis = ServedApis(self.member_api, report=self.membership.write_member_status)
        self.served_apis.start()
        _log.info("agent.started", cluster=cfg.cluster, namespace=self.namespace)

    def _work_key_of_applied(self, obj: Obj) -> list[str]:
        spec = obj.get("spec") or {}
        if spec.get("workNamespace") != self.namespace or not spec.get("workName"):
            return []
        return [f"{self.namespace}/{spec['workName']}"]

    @property
    def ready(self) -> bool:
        return bool(self.works is not None and self.works.has_synced)

    @property
    def hub_reachable(self) -> bool:
        """Whether the last heartbeat reached the hub (False while it is unreachable)."""
        return bool(self.membership is not None and self.membership.last_beat_ok)

    def healthy(self) -> bool:
        return all(not t.done() for t in self._tasks)

    async def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
        if self.syncer is not None:
            # resourceVersions of the last writes into the records, so the next agent need not
            # apply those objects again (bounded: a stop must not hang on an unreachable member)
            with contextlib.suppress(ApiError, TimeoutError):
                await asyncio.wait_for(self.syncer.flush(), timeout=FLUSH_TIMEOUT_SECONDS)
        for informer in (self.works, self.applied_works):
            if informer is not None:
                await informer.stop()
        if self.cache is not None:
            await self.cache.stop()
        if self.hpas is not None:
            await self.hpas.stop()
        if self.served_apis is not None:
            await self.served_apis.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, ApiError):
                await task
        self._tasks = []
        _log.info("agent.stopped", cluster=self.config.cluster)


async def run_agent(
    *,
    config: AgentConfig,
    hub_kubeconfig: Path,
    member_kubeconfig: Path | None,
    metrics_port: int | None,
    stop: asyncio.Event,
    default_metrics_port: bool = False,
    identity_attempts: int = 5,
) -> int:
    """Run an agent until ``stop`` is set: the body of ``waybill agent``.

    Before starting: the hub must accept this identity and no other live agent may hold the
    heartbeat Lease (:mod:`agent.identity`); while running, an identity the hub keeps refusing
    ends the agent with :class:`~agent.identity.IdentityRefused`. ``default_metrics_port``: the
    port was not asked for explicitly, so a taken one falls back to a free one.
    """
    from agent.credentials import start_rotation
    from shared.ops.server import OpsServer

    hub_api = await KubeClient.from_kubeconfig(hub_kubeconfig, name="hub")
    try:
        member_api = (
            await KubeClient.from_kubeconfig(member_kubeconfig, name="member")
            if member_kubeconfig is not None
            else await KubeClient.from_incluster(name="member")
        )
    except BaseException:
        await hub_api.close()  # no "Unclosed client session" after a bad member config
        raise
    ops: OpsServer | None = None
    me = config.holder_identity or f"{config.cluster}-agent"
    agent = Agent(hub_api=hub_api, member_api=member_api, config=config)
    rotation = await start_rotation(hub_api=hub_api, member_api=member_api, hub_kubeconfig=hub_kubeconfig)

    async def start() -> None:
        """Identity accepted, no other live agent, then the agent itself (all cancellable)."""
        namespace = config.member_namespace or await find_member_namespace(
            hub_api, cluster=config.cluster, default=config.default_member_namespace
        )
        agent.namespace = namespace
        await identity.check_identity(
            hub_api, namespace=namespace, cluster=config.cluster, attempts=identity_attempts,
            delay=min(config.heartbeat_interval, 2.0),
        )
        await identity.ensure_sole_agent(hub_api, namespace=namespace, me=me, cluster=config.cluster)
        await agent.start()

    try:
        if metrics_port is not None or default_metrics_port:
            # Served from the start: not ready while the member or the hub cannot be reached.
            ops = await identity.start_ops(lambda port: OpsServer(port=port), port=metrics_port)
            ops.add_liveness_check("agent", agent.healthy)
            ops.add_readiness_check("works-synced", lambda: agent.ready)
            ops.add_readiness_check("hub-reachable", lambda: agent.hub_reachable)
            _log.info("agent.ops.serving", port=ops.port)
        starting = asyncio.create_task(start())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
            return 0
        starting.result()  # IdentityRefused / AnotherAgent end the process here
        membership = agent.membership
        watch = identity.IdentityWatch(
            hub_api, namespace=agent.namespace, cluster=config.cluster, attempts=identity_attempts,
            interval=config.heartbeat_interval,
            heartbeat_ok=lambda: membership is None or membership.beats == 0 or membership.last_beat_ok,
        )
        watcher = asyncio.create_task(watch.run())
        try:
            await asyncio.wait({watcher, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (watcher, stopping):
                task.cancel()
        if watcher.done() and not watcher.cancelled() and watcher.exception() is None:
            raise identity.IdentityRefused(watcher.result())
        return 0
    finally:
        await rotation.stop()
        await agent.stop()
        if agent.namespace:
            await identity.release_lease(hub_api, namespace=agent.namespace, me=me)
        if ops is not None:
            await ops.stop()
        await hub_api.close()
        await member_api.close()
