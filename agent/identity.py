"""The agent process's start-up guards: is this identity accepted, is this agent the only one,
and where it serves its ops endpoints.

- **Refused identity.** A hub that answers 401 (the member was unjoined: its ServiceAccount and
  token are gone) or 403 (``--cluster`` names a member this token does not belong to) will not
  change its mind. ``check_identity`` tries a bounded number of times, then raises
  :class:`IdentityRefused` saying which it is and what to do; :class:`IdentityWatch` does the
  same while running, probing only after a heartbeat failed (no extra requests otherwise).
- **One agent per member.** ``ensure_sole_agent`` refuses to start while another holder renews
  the heartbeat Lease: it waits up to one lease duration and raises :class:`AnotherAgent` if
  the holder renews meanwhile; a stale or released Lease is taken over. ``release_lease``
  clears the holder on a graceful stop so a replacement starts at once.
- **Ops port.** ``start_ops`` binds the requested port; if it is taken and the port was only
  the default, it falls back to a free port (several agents on one host — the push
  arrangement — then just work) and logs which; an explicit port that is taken is an error.

Decisions (``lease_holder_state``, ``refusal_message``) are pure; the rest is a thin shell.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.api import names
from shared.api.meta import parse_time as _parse
from shared.kube.client import KubeClient
from shared.kube.errors import ApiError, Conflict, Forbidden, NotFound, Unauthorized
from shared.ops.logging import get_logger

if TYPE_CHECKING:  # the server module (aiohttp.web) loads only in a process that serves
    from shared.ops.server import OpsServer

_log = get_logger("agent.identity")

DEFAULT_OPS_PORT = 8080


class IdentityRefused(Exception):
    """The hub refuses this agent's identity (401/403) and will keep doing so."""


class AnotherAgent(Exception):
    """Another agent holds this member's heartbeat Lease and is alive."""


class OpsPortInUse(Exception):
    """The explicitly requested ops port is taken."""


def refusal_message(err: ApiError, *, cluster: str, namespace: str, attempts: int) -> str:
    """What a 401/403 means for an agent, and what to do (pure)."""
    if isinstance(err, Unauthorized):
        return (
            f"the hub rejects the credentials of member {cluster} (401 Unauthorized, {attempts} tries): "
            f"the member was unjoined or its token expired; run `waybill join {cluster}` and restart "
            "the agent with the new --hub-kubeconfig"
        )
    return (
        f"the hub forbids this identity in {namespace} (403 Forbidden, {attempts} tries): "
        f"--cluster {cluster} does not match the member this --hub-kubeconfig was written for"
    )


def _refused(err: ApiError) -> bool:
    return isinstance(err, Unauthorized | Forbidden)


async def _probe(hub_api: KubeClient, *, namespace: str, cluster: str) -> None:
    """One request only this member's identity may make."""
    await hub_api.get(names.CLUSTER_API_VERSION, names.KIND_MEMBER_CLUSTER, name=cluster, namespace=namespace)


async def check_identity(
    hub_api: KubeClient, *, namespace: str, cluster: str, attempts: int, delay: float
) -> None:
    """Return once the hub accepts the identity; ``IdentityRefused`` after ``attempts`` refusals."""
    for attempt in range(1, attempts + 1):
        try:
            await _probe(hub_api, namespace=namespace, cluster=cluster)
            return
        except NotFound:
            return  # accepted; the hub creates the MemberCluster for a fresh namespace
        except ApiError as err:
            if not _refused(err):
                return  # not a refusal: the agent's own retries handle the rest
            _log.warning(
                "identity.refused", cluster=cluster, namespace=namespace, attempt=attempt, status=err.status
            )
            if attempt == attempts:
                raise IdentityRefused(
                    refusal_message(err, cluster=cluster, namespace=namespace, attempts=attempts)
                ) from err
            await asyncio.sleep(min(delay * 2 ** (attempt - 1), 30.0))


class IdentityWatch:
    """While running: after a failed heartbeat, probe; ``attempts`` refusals in a row end it."""

    def __init__(
        self,
        hub_api: KubeClient,
        *,
        namespace: str,
        cluster: str,
        attempts: int,
        interval: float,
        heartbeat_ok: Callable[[], bool],
    ) -> None:
        self.hub_api = hub_api
        self.namespace = namespace
        self.cluster = cluster
        self.attempts = attempts
        self.interval = interval
        self.heartbeat_ok = heartbeat_ok

    async def run(self) -> str:
        """Returns (with the message) only when the identity is refused for good."""
        refusals = 0
        while True:
            await asyncio.sleep(self.interval)
            if self.heartbeat_ok():
                refusals = 0
                continue
            try:
                await _probe(self.hub_api, namespace=self.namespace, cluster=self.cluster)
                refusals = 0
            except ApiError as err:
                if not _refused(err):
                    continue
                refusals += 1
                _log.warning("identity.refused", cluster=self.cluster, attempt=refusals, status=err.status)
                if refusals >= self.attempts:
                    return refusal_message(
                        err, cluster=self.cluster, namespace=self.namespace, attempts=refusals
                    )


@dataclass(frozen=True)
class HolderState:
    """Who holds the Lease: ``free`` (no Lease, released, expired or ours) or another holder."""

    free: bool
    holder: str = ""
    renew_time: str = ""
    seconds_left: float = 0.0


def lease_holder_state(lease: dict[str, Any] | None, *, me: str, now: datetime) -> HolderState:
    """Pure: may ``me`` start renewing this Lease?"""
    if lease is None:
        return HolderState(free=True)
    spec = lease.get("spec") or {}
    holder = str(spec.get("holderIdentity") or "")
    if not holder or holder == me:
        return HolderState(free=True, holder=holder)
    renewed = _parse(spec.get("renewTime")) or _parse(spec.get("acquireTime"))
    if renewed is None:
        return HolderState(free=True, holder=holder)
    left = renewed.timestamp() + float(spec.get("leaseDurationSeconds") or 40) - now.timestamp()
    if left <= 0:
        return HolderState(free=True, holder=holder)
    return HolderState(
        free=False, holder=holder, renew_time=str(spec.get("renewTime") or ""), seconds_left=left
    )


async def _lease(hub_api: KubeClient, namespace: str) -> dict[str, Any] | None:
    try:
        return await hub_api.get(
            "coordination.k8s.io/v1", "Lease", name=names.HEARTBEAT_LEASE_NAME, namespace=namespace
        )
    except NotFound:
        return None


async def ensure_sole_agent(
    hub_api: KubeClient, *, namespace: str, me: str, poll: float = 0.5, cluster: str | None = None
) -> None:
    """Return when this agent may renew the Lease; ``AnotherAgent`` if its holder is alive;
    ``IdentityRefused`` if the hub refuses this identity meanwhile (unjoined while waiting)."""
    try:
        await _wait_sole_agent(hub_api, namespace=namespace, me=me, poll=poll)
    except (Unauthorized, Forbidden) as err:
        raise IdentityRefused(
            refusal_message(err, cluster=cluster or me, namespace=namespace, attempts=1)
        ) from err


async def _wait_sole_agent(hub_api: KubeClient, *, namespace: str, me: str, poll: float) -> None:
    first = lease_holder_state(await _lease(hub_api, namespace), me=me, now=datetime.now(tz=UTC))
    if first.free:
        return
    _log.info(
        "heartbeat.held", namespace=namespace, holder=first.holder, seconds_left=round(first.seconds_left, 1)
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + first.seconds_left + poll
    while loop.time() < deadline:
        await asyncio.sleep(poll)
        state = lease_holder_state(await _lease(hub_api, namespace), me=me, now=datetime.now(tz=UTC))
        if state.free:
            return
        if state.holder != first.holder or state.renew_time != first.renew_time:
            raise AnotherAgent(
                f"another agent ({state.holder}) is running for this member: it renews the heartbeat "
                f"Lease {namespace}/{names.HEARTBEAT_LEASE_NAME}; stop it first (two agents for one member "
                "would fight over its objects)"
            )
    # The holder stopped renewing within one lease duration: it is gone, take over.


async def release_lease(hub_api: KubeClient, *, namespace: str, me: str) -> None:
    """Clear our holder on a graceful stop (best effort) so a replacement need not wait."""
    with contextlib.suppress(ApiError):
        lease = await _lease(hub_api, namespace)
        if lease is None or (lease.get("spec") or {}).get("holderIdentity") != me:
            return
        with contextlib.suppress(Conflict, NotFound):
            await hub_api.patch(
                "coordination.k8s.io/v1",
                "Lease",
                name=names.HEARTBEAT_LEASE_NAME,
                namespace=namespace,
                patch={
                    "metadata": {"resourceVersion": lease["metadata"]["resourceVersion"]},
                    "spec": {"holderIdentity": None},
                },
            )


async def start_ops(ops_factory: Callable[[int], OpsServer], *, port: int | None) -> OpsServer:
    """Start the ops server on ``port``; ``None`` means the default port, else any free one."""
    wanted = DEFAULT_OPS_PORT if port is None else port
    ops = ops_factory(wanted)
    try:
        await ops.start()
        return ops
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        await ops.stop()
        if port is not None:
            raise OpsPortInUse(
                f"--metrics-port {port} is already in use (another agent on this host?); choose another "
                "port, or leave --metrics-port out to get a free one"
            ) from exc
    ops = ops_factory(0)
    await ops.start()
    _log.warning("ops.port.fallback", wanted=wanted, port=ops.port)
    return ops
