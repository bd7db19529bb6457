"""Agent hub credentials rotate by themselves before they expire (TokenRequest for the agent's
own ServiceAccount, allowed by name only), and the renewed token is written back."""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.config import AgentConfig
from agent.credentials import RotationSettings, TokenClaims, refresh_at, token_claims, with_token
from agent.runner import run_agent
from kubesim import SimServer
from shared import membership_rbac
from shared.kube.client import KubeClient
from shared.kube.errors import Forbidden
from tests.hub.fleet import eventually
from waybill.cmd_join import agent_kubeconfig, join

SimFactory = Any
LEASE = ("coordination.k8s.io/v1", "Lease")


def test_refresh_at_80_percent_of_lifetime() -> None:
    claims = TokenClaims(namespace="m", service_account="a", issued_at=1000.0, expires_at=2000.0)
    assert refresh_at(claims) == 1800.0


def test_settings_from_environment() -> None:
    settings = RotationSettings.from_environment(
        {"WAYBILL_HUB_KUBECONFIG_SECRET": "waybill-system/agent-hub", "WAYBILL_HUB_TOKEN_SECONDS": "3600"}
    )
    assert settings == RotationSettings(secret=("waybill-system", "agent-hub"), token_seconds=3600)
    assert RotationSettings.from_environment({}).secret is None
    with pytest.raises(ValueError, match="WAYBILL_HUB_KUBECONFIG_SECRET"):
        RotationSettings.from_environment({"WAYBILL_HUB_KUBECONFIG_SECRET": "no-slash"})
    with pytest.raises(ValueError, match="minimum"):
        RotationSettings.from_environment({"WAYBILL_HUB_TOKEN_SECONDS": "60"})


def test_non_service_account_tokens_are_not_parsed() -> None:
    assert token_claims("static-token") is None
    assert token_claims("a.b.c") is None


def test_with_token_replaces_the_current_users_token() -> None:
    config = {
        "current-context": "x",
        "contexts": [{"name": "x", "context": {"user": "u"}}],
        "users": [{"name": "u", "user": {"token": "old"}}, {"name": "other", "user": {"token": "keep"}}],
    }
    updated = with_token(config, "new")
    assert [u["user"]["token"] for u in updated["users"]] == ["new", "keep"]
    assert config["users"][0]["user"]["token"] == "old"


async def _joined(hub_sim: SimServer, admin: KubeClient, tmp_path: Path) -> str:
    args = argparse.Namespace(
        name="eu1",
        namespace=None,
        mode="pull",
        provider=None,
        region=None,
        zone=None,
        label=[],
        out=str(tmp_path / "join.kubeconfig"),
        token_seconds=3600,
    )
    assert await join(admin, args, hub_kubeconfig=str(hub_sim.kubeconfig_path)) == 0
    return "member-eu1"


async def test_agent_rotates_a_short_lived_token_and_keeps_working(
    sim_factory: SimFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub_sim: SimServer = await sim_factory("hub")
    member_sim: SimServer = await sim_factory("eu1")
    admin = await KubeClient.from_kubeconfig(hub_sim.kubeconfig_path)
    member_admin = await KubeClient.from_kubeconfig(member_sim.kubeconfig_path)
    namespace = await _joined(hub_sim, admin, tmp_path)
    sa = await admin.get("v1", "ServiceAccount", name=membership_rbac.AGENT_IDENTITY, namespace=namespace)
    # A token living 10 s (the TokenRequest API's minimum is 10 minutes; kubesim's issuer has none).
    short = hub_sim.auth.issue_sa(
        namespace=namespace,
        name=membership_rbac.AGENT_IDENTITY,
        uid=sa["metadata"]["uid"],
        expiration=10,
        audiences=["https://kubernetes.default.svc.cluster.local"],
    )
    claims = token_claims(short)
    assert claims is not None and claims.expires_at - claims.issued_at == 10
    kubeconfig = agent_kubeconfig(
        hub_kubeconfig=str(hub_sim.kubeconfig_path), token=short, cluster="eu1", namespace=namespace
    )
    mounted = tmp_path / "mounted.kubeconfig"
    mounted.write_text(yaml.safe_dump(kubeconfig))
    await member_admin.create(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "waybill-system"}}
    )
    await member_admin.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "agent-hub", "namespace": "waybill-system"},
            "stringData": {"kubeconfig": mounted.read_text()},
        }
    )
    monkeypatch.setenv("WAYBILL_HUB_KUBECONFIG_SECRET", "waybill-system/agent-hub")
    monkeypatch.setenv("WAYBILL_HUB_TOKEN_SECONDS", "600")
    stop = asyncio.Event()
    config = AgentConfig(
        cluster="eu1", member_namespace=namespace, heartbeat_interval=0.5, lease_duration_seconds=3
    )
    task = asyncio.create_task(
        run_agent(
            config=config,
            hub_kubeconfig=mounted,
            member_kubeconfig=member_sim.kubeconfig_path,
            metrics_port=None,
            stop=stop,
        )
    )
    try:

        async def stored_token() -> str | None:
            secret = await member_admin.get("v1", "Secret", name="agent-hub", namespace="waybill-system")
            stored = yaml.safe_load(base64.b64decode(secret["data"]["kubeconfig"]))
            token = str(stored["users"][0]["user"]["token"])
            return token if token != short else None

        rotated = await eventually(stored_token, within=15, what="a renewed token in the Secret")
        fresh = token_claims(rotated)
        assert fresh is not None and fresh.service_account == membership_rbac.AGENT_IDENTITY
        assert fresh.expires_at - fresh.issued_at == 600
        assert time.time() < claims.expires_at, "renewed before the old token expired"
        # Past the old token's expiry, the hub refuses it, and the agent still heartbeats.
        await asyncio.sleep(max(0.0, claims.expires_at + 1.0 - time.time()))
        assert (
            hub_sim.auth.authenticate(f"Bearer {short}", sa_uid=lambda ns, n: sa["metadata"]["uid"]) is None
        )
        first = await admin.get(*LEASE, name="waybill-agent", namespace=namespace)

        async def renewed_after_expiry() -> bool:
            assert not task.done(), "the agent stopped"
            lease = await admin.get(*LEASE, name="waybill-agent", namespace=namespace)
            return bool(lease["spec"]["renewTime"] != first["spec"]["renewTime"])

        await eventually(renewed_after_expiry, within=10, what="a heartbeat with the renewed token")
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 20)
        await admin.close()
        await member_admin.close()


async def test_agent_may_request_tokens_for_itself_only(sim_factory: SimFactory, tmp_path: Path) -> None:
    hub_sim: SimServer = await sim_factory("hub")
    admin = await KubeClient.from_kubeconfig(hub_sim.kubeconfig_path)
    namespace = await _joined(hub_sim, admin, tmp_path)
    agent_api = await KubeClient.from_kubeconfig(tmp_path / "join.kubeconfig")
    body = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": 600},
    }
    try:
        answer = await agent_api.create_subresource(
            "v1",
            "ServiceAccount",
            name=membership_rbac.AGENT_IDENTITY,
            namespace=namespace,
            subresource="token",
            body=body,
        )
        assert answer["status"]["token"]
        with pytest.raises(Forbidden):
            await agent_api.create_subresource(
                "v1", "ServiceAccount", name="default", namespace=namespace, subresource="token", body=body
            )
    finally:
        await agent_api.close()
        await admin.close()
