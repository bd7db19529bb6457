"""Test helpers: a hub and a member on kubesim, the agent's scoped identity, and waiting helpers.

``Fleet`` sets up what ``waybill join`` would: the Waybill CRDs on the hub, the member
namespace labelled ``waybill.dev/member=<cluster>``, a MemberCluster, and the agent's
ServiceAccount/Role/RoleBinding from ``shared.membership_rbac`` with a token obtained through
the TokenRequest API. The agent always talks to the hub with that scoped token.

Pull and push differ only in where the agent process runs: in **pull** it runs inside the
member, so its member credentials are the member's own (in-cluster identity: here the member
admin kubeconfig stands in for it) and the scoped hub kubeconfig is shipped to the member side;
in **push** it runs on the hub side, given the member's kubeconfig as registered with the hub
(a copy kept in the hub-side directory) and the same scoped hub kubeconfig. Both run in this
test process, so the test setup records where each file would live.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from agent.config import AgentConfig
from agent.runner import Agent
from kubesim import SimServer
from shared import membership_rbac
from shared.api import names
from shared.api.crdgen import all_crds
from shared.kube.client import KubeClient
from shared.kube.errors import NotFound
from shared.kube.retry import RetryPolicy

T = TypeVar("T")
AW_API = names.WORK_API_VERSION
FAST_RETRY = RetryPolicy(attempts=4, base_delay=0.05, max_delay=0.5, jitter=0.2)


async def eventually(
    check: Callable[[], Awaitable[T | None]], *, within: float = 15.0, every: float = 0.05
) -> T:
    """Poll ``check`` until it returns something truthy; fail with the last value after ``within`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    last: Any = None
    while True:
        try:
            last = await check()
        except Exception as err:  # the server may be briefly down in resilience tests
            last = err
        if last and not isinstance(last, Exception):
            return last  # type: ignore[no-any-return]
        if loop.time() >= deadline:
            raise AssertionError(f"condition not met within {within}s; last value: {last!r}")
        await asyncio.sleep(every)


def condition(obj: dict[str, Any] | None, type_: str) -> dict[str, Any] | None:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_:
            return dict(cond)
    return None


def manifest_condition(work: dict[str, Any], ordinal: int, type_: str) -> dict[str, Any] | None:
    for entry in (work.get("status") or {}).get("manifestConditions") or []:
        if entry["identifier"]["ordinal"] == ordinal:
            for cond in entry.get("conditions") or []:
                if cond["type"] == type_:
                    return dict(cond)
    return None


def manifest_entry(work: dict[str, Any], ordinal: int) -> dict[str, Any]:
    for entry in (work.get("status") or {}).get("manifestConditions") or []:
        if entry["identifier"]["ordinal"] == ordinal:
            return dict(entry)
    raise AssertionError(f"no manifest condition #{ordinal} in {work.get('status')}")


def configmap(name: str, namespace: str = "app", **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data or {"k": "v"},
    }


def deployment(
    name: str, namespace: str = "app", replicas: int = 2, image: str = "nginx:1"
) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "main", "image": image}]},
            },
        },
    }


async def install_hub_crds(hub_api: KubeClient) -> None:
    for crd in all_crds():
        await hub_api.create(crd)
    for crd in all_crds():
        group = crd["spec"]["group"]
        version = crd["spec"]["versions"][0]["name"]
        kind = crd["spec"]["names"]["kind"]

        async def served(group: str = group, version: str = version, kind: str = kind) -> bool:
            hub_api.invalidate_discovery(f"{group}/{version}")
            await hub_api.resource_info(f"{group}/{version}", kind)
            return True

        await eventually(served, within=10)


async def issue_agent_token(hub_api: KubeClient, *, namespace: str) -> str:
    request = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": 3600},
    }
    answer = await hub_api.create_subresource(
        "v1",
        "ServiceAccount",
        name=membership_rbac.AGENT_IDENTITY,
        subresource="token",
        body=request,
        namespace=namespace,
    )
    return str(answer["status"]["token"])


@dataclass
class Fleet:
    hub: SimServer
    member: SimServer
    hub_admin: KubeClient
    member_admin: KubeClient
    mode: str
    workdir: Path
    cluster: str = "eu1"
    agents: list[Agent] = field(default_factory=list)
    clients: list[KubeClient] = field(default_factory=list)
    agent_hub_kubeconfig: Path = Path()
    agent_member_kubeconfig: Path = Path()

    @property
    def namespace(self) -> str:
        return f"{names.MEMBER_NAMESPACE_PREFIX}{self.cluster}"

    async def join(self) -> None:
        """What ``waybill join`` does, and where each side's kubeconfig lives for this mode."""
        await install_hub_crds(self.hub_admin)
        await self.hub_admin.create(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": self.namespace, "labels": {names.LABEL_MEMBER: self.cluster}},
            }
        )
        await self.hub_admin.create(
            {
                "apiVersion": names.CLUSTER_API_VERSION,
                "kind": names.KIND_MEMBER_CLUSTER,
                "metadata": {"name": self.cluster, "namespace": self.namespace},
                "spec": {"syncMode": "Push" if self.mode == "push" else "Pull"},
            }
        )
        for obj in membership_rbac.agent_identity_objects(namespace=self.namespace, cluster=self.cluster):
            await self.hub_admin.create(obj)
        token = await issue_agent_token(self.hub_admin, namespace=self.namespace)
        hub_side, member_side = self.workdir / "hub-side", self.workdir / "member-side"
        hub_side.mkdir(parents=True, exist_ok=True)
        member_side.mkdir(parents=True, exist_ok=True)
        scoped = self.hub.write_kubeconfig(
            hub_side / "agent-hub.kubeconfig",
            token=token,
            user=f"system:serviceaccount:{self.namespace}:waybill-agent",
        )
        if self.mode == "pull":
            # The scoped hub kubeconfig is shipped into the member (a Secret there in real life);
            # the member credentials are the agent's in-cluster identity.
            self.agent_hub_kubeconfig = Path(shutil.copy(scoped, member_side / "hub.kubeconfig"))
            self.agent_member_kubeconfig = self.member.kubeconfig_path
        else:
            # Push: the agent runs next to the hub, with the member's kubeconfig registered there.
            self.agent_hub_kubeconfig = scoped
            self.agent_member_kubeconfig = Path(
                shutil.copy(self.member.kubeconfig_path, hub_side / f"{self.cluster}.kubeconfig")
            )

    def config(self, **overrides: Any) -> AgentConfig:
        base = AgentConfig(
            cluster=self.cluster,
            member_namespace=self.namespace,
            heartbeat_interval=0.5,
            member_status_interval=1.0,
            not_available_requeue=0.3,
            resync_interval=30.0,
            handover_grace=0.5,
            handover_retry=0.2,
        )
        return replace(base, **overrides)

    async def start_agent(self, *, discover_namespace: bool = False, **overrides: Any) -> Agent:
        hub_api = await KubeClient.from_kubeconfig(
            self.agent_hub_kubeconfig, name="agent-hub", retry_policy=FAST_RETRY, request_timeout=5.0
        )
        member_api = await KubeClient.from_kubeconfig(
            self.agent_member_kubeconfig, name="agent-member", retry_policy=FAST_RETRY, request_timeout=5.0
        )
        self.clients += [hub_api, member_api]
        cfg = self.config(**overrides)
        if discover_namespace:
            cfg = replace(cfg, member_namespace=None)
        agent = Agent(hub_api=hub_api, member_api=member_api, config=cfg)
        await agent.start()
        self.agents.append(agent)
        return agent

    async def stop_agent(self, agent: Agent) -> None:
        await agent.stop()
        self.agents.remove(agent)

    async def close(self) -> None:
        for agent in list(self.agents):
            await agent.stop()
        for client in [*self.clients, self.hub_admin, self.member_admin]:
            await client.close()

    # ---- hub side ------------------------------------------------------------------------

    async def create_work(self, name: str, manifests: list[Any], **spec: Any) -> dict[str, Any]:
        body = {
            "apiVersion": names.WORK_API_VERSION,
            "kind": names.KIND_WORK,
            "metadata": {"name": name, "namespace": self.namespace},
            "spec": {"workload": {"manifests": manifests}, **spec},
        }
        return await self.hub_admin.create(body)

    async def get_work(self, name: str) -> dict[str, Any] | None:
        try:
            return await self.hub_admin.get(
                names.WORK_API_VERSION, names.KIND_WORK, name=name, namespace=self.namespace
            )
        except NotFound:
            return None

    async def update_work_spec(self, name: str, **spec: Any) -> dict[str, Any]:
        return await self.hub_admin.patch(
            names.WORK_API_VERSION, names.KIND_WORK, name=name, namespace=self.namespace, patch={"spec": spec}
        )

    async def wait_work(
        self, name: str, type_: str, status: str = "True", *, within: float = 15.0, reason: str | None = None
    ) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            work = await self.get_work(name)
            cond = condition(work, type_)
            gen = ((work or {}).get("metadata") or {}).get("generation")
            if (
                cond
                and cond["status"] == status
                and (reason is None or cond["reason"] == reason)
                and cond.get("observedGeneration") == gen
            ):
                return work
            return None

        return await eventually(check, within=within)

    # ---- member side ---------------------------------------------------------------------

    async def member_get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None:
        try:
            return await self.member_admin.get(api_version, kind, name=name, namespace=namespace)
        except NotFound:
            return None


class RequestCount:
    """Counts the requests a kubesim server receives for one method and path substring.

    A zero-second latency fault with an unlimited budget: kubesim takes one matching latency rule
    per request and decrements its budget, which is what is counted (server-side, so nothing the
    client does can hide a request).
    """

    BUDGET = 10**9

    def __init__(self, server: SimServer, *, method: str, path: str | None = None) -> None:
        self.rule = server.faults.latency(0.0, path=path, method=method, times=self.BUDGET)

    @property
    def count(self) -> int:
        return self.BUDGET - int(self.rule.times or 0)
