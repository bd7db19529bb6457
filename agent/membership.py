"""Membership: the heartbeat Lease and the MemberCluster status, kept current by the agent.

Every ``heartbeat_interval`` (10 s) the agent renews the Lease ``waybill-agent`` in its member
namespace (duration 40 s); the hub reads it to decide whether the member is reachable. Every
``member_status_interval`` (and on the first beat) it also gathers the member's version, nodes,
pod requests and served API resources and writes them to its MemberCluster's status, with a
``Ready`` condition saying whether the member API answered. Failures are logged and retried on
the next beat; they never stop the agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime
from typing import Any

from agent import cluster_status
from agent.config import AgentConfig
from agent.sealing_keys import Keyring
from shared.api import names
from shared.api.meta import now_rfc3339
from shared.kube.client import KubeClient
from shared.kube.errors import AlreadyExists, ApiError, Conflict, NotFound
from shared.ops.logging import get_logger
from shared.ops.metrics import counter

_log = get_logger("agent.membership")
_BEATS = counter("agent_heartbeats_total", "Heartbeat Lease renewals by result", labels=("result",))

try:
    from importlib.metadata import version as _pkg_version

    AGENT_VERSION = _pkg_version("waybill")
except Exception:  # pragma: no cover - running from a source tree without metadata
    AGENT_VERSION = "0.0.0"


def now_micro() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Membership:
    """Heartbeat and MemberCluster status for one member."""

    def __init__(
        self,
        hub_api: KubeClient,
        member_api: KubeClient,
        *,
        namespace: str,
        config: AgentConfig,
        keyring: Keyring | None = None,
    ) -> None:
        self.hub_api = hub_api
        self.keyring = keyring
        self.member_api = member_api
        self.namespace = namespace
        self.config = config
        self._acquired: str | None = None
        self._last_status_write = 0.0
        self.beats = 0
        self.last_beat_ok = False

    async def run(self) -> None:
        while True:
            await self.beat()
            await asyncio.sleep(self.config.heartbeat_interval)

    async def beat(self) -> None:
        try:
            await self.renew_lease()
            _BEATS.labels("ok").inc()
            if not self.last_beat_ok and self.beats:
                _log.info("hub.reachable", namespace=self.namespace)
            self.last_beat_ok = True
        except ApiError as err:
            _BEATS.labels("error").inc()
            if self.last_beat_ok or not self.beats:
                # said once per outage; the agent keeps applying its last known Works meanwhile
                _log.warning("hub.unreachable", namespace=self.namespace, error=str(err))
            self.last_beat_ok = False
            _log.debug("heartbeat.failed", namespace=self.namespace, error=str(err))
        self.beats += 1
        due = time.monotonic() - self._last_status_write >= self.config.member_status_interval
        if due or self._last_status_write == 0.0:
            try:
                await self.write_member_status()
                self._last_status_write = time.monotonic()
            except ApiError as err:
                _log.warning("member_status.failed", namespace=self.namespace, error=str(err))

    async def renew_lease(self) -> None:
        holder = self.config.holder_identity or f"{self.config.cluster}-agent"
        body = cluster_status.lease_body(
            namespace=self.namespace,
            holder=holder,
            duration_seconds=self.config.lease_duration_seconds,
            now_micro=now_micro(),
            acquired=self._acquired,
        )
        try:
            live = await self.hub_api.get(
                "coordination.k8s.io/v1", "Lease", name=names.HEARTBEAT_LEASE_NAME, namespace=self.namespace
            )
        except NotFound:
            with contextlib.suppress(AlreadyExists):
                await self.hub_api.create(body)
                self._acquired = body["spec"]["acquireTime"]
                return
            live = await self.hub_api.get(
                "coordination.k8s.io/v1", "Lease", name=names.HEARTBEAT_LEASE_NAME, namespace=self.namespace
            )
        spec = live.get("spec") or {}
        if spec.get("holderIdentity") == holder and spec.get("acquireTime"):
            body["spec"]["acquireTime"] = spec["acquireTime"]
        self._acquired = body["spec"]["acquireTime"]
        body["metadata"]["resourceVersion"] = (live.get("metadata") or {}).get("resourceVersion")
        await self.hub_api.replace(body)

    async def gather(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(agent-owned status fields, Ready condition) from the member API."""
        try:
            version = await self.member_api.server_version()
            nodes = (await self.member_api.list("v1", "Node")).items
            pods = (await self.member_api.list("v1", "Pod")).items
            groups = await self.member_api.api_resources()
        except ApiError as err:
            fields = {"agentVersion": AGENT_VERSION}
            return fields, cluster_status.ready_condition(
                member_reachable=False, message=f"member API: {err}"
            )
        enablements = cluster_status.api_enablements(
            (g.group_version, [(r.plural, r.kind) for r in g.resources]) for g in groups
        )
        fields = cluster_status.member_status(
            kubernetes_version=version.git_version or None,
            agent_version=AGENT_VERSION,
            nodes=nodes,
            pods=pods,
            enablements=enablements,
        )
        return fields, cluster_status.ready_condition(member_reachable=True)

    async def write_member_status(self) -> None:
        fields, ready = await self.gather()
        if self.keyring is not None:  # rotate when due, and publish the current public key
            try:
                await self.keyring.sync()
            except ApiError as err:  # the last loaded key stays published; health is reported regardless
                _log.warning("sealing_keys.sync_failed", namespace=self.namespace, error=str(err))
            fields = {**fields, **self.keyring.published()}
        for _ in range(3):
            try:
                member = await self.hub_api.get(
                    names.CLUSTER_API_VERSION,
                    names.KIND_MEMBER_CLUSTER,
                    name=self.config.cluster,
                    namespace=self.namespace,
                )
            except NotFound:
                _log.info("member_cluster.missing", namespace=self.namespace, cluster=self.config.cluster)
                return
            status = cluster_status.merge_member_status(
                member.get("status"), fields, ready, now=now_rfc3339()
            )
            status["lastHeartbeatTime"] = now_rfc3339()
            body = dict(member)
            body["status"] = status
            try:
                await self.hub_api.replace_status(body)
                return
            except Conflict:
                continue
