"""The shipped alert rules and Grafana dashboard: valid, and naming only metrics the processes
export — checked against a live scrape of ``waybill hub`` and ``waybill agent`` (real processes)
running a propagated sample on kubesim."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from kubesim import SimServer
from shared.api import names
from shared.kube.client import KubeClient
from tests.hub.fleet import eventually
from waybill.cmd_join import join

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "observability" / "alerts.yaml"
DASHBOARD = ROOT / "observability" / "grafana-dashboard.json"
# PromQL function and keyword names that look like identifiers
_PROMQL_WORDS = {
    "sum",
    "by",
    "rate",
    "max",
    "min",
    "count",
    "time",
    "histogram_quantile",
    "le",
    "without",
    "avg",
    "increase",
    "label_values",
    "and",
    "or",
    "unless",
    "on",
    "ignoring",
}
_METRIC = re.compile(r"\b((?:waybill|process|python)_[a-zA-Z0-9_]+)\b")
SimFactory = Any


def _alert_rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]


def _dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in dashboard["panels"] for t in p["targets"]]


def _metric_names(exprs: list[str]) -> set[str]:
    found = set()
    for expr in exprs:
        # drop label matchers' values and legend templates: only selectors' names count
        stripped = re.sub(r'"[^"]*"', '""', expr)
        found |= {m for m in _METRIC.findall(stripped) if m not in _PROMQL_WORDS}
    return found


def test_alert_rules_are_well_formed() -> None:
    rules = _alert_rules()
    assert len(rules) >= 8
    for rule in rules:
        assert re.fullmatch(r"Waybill[A-Za-z]+", rule["alert"]), rule
        assert rule["expr"].strip() and _metric_names([rule["expr"]]), rule["alert"]
        assert re.fullmatch(r"[0-9]+[smh]", rule["for"]), rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert rule["annotations"]["summary"]
    assert len({r["alert"] for r in rules}) == len(rules)


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed (Debian: prometheus)")
def test_alert_rules_pass_promtool() -> None:
    result = subprocess.run(
        ["promtool", "check", "rules", str(ALERTS)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(_alert_rules())} rules found" in result.stdout


def test_dashboard_is_well_formed() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"] == "Waybill"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for p in dashboard["panels"]:
        assert p["targets"] and all(t["expr"] for t in p["targets"]), p["title"]
        assert p["datasource"]["uid"] == "${datasource}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _spawn(*args: str, log: Path) -> asyncio.subprocess.Process:
    env = {**os.environ, "WAYBILL_LOG_LEVEL": "info"}
    handle = await asyncio.to_thread(log.open, "wb")
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "waybill", *args, stdout=handle, stderr=handle, env=env, cwd=str(ROOT)
        )
    finally:
        handle.close()


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 20)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def _scrape(session: aiohttp.ClientSession, port: int) -> str:
    async with session.get(f"http://127.0.0.1:{port}/metrics", timeout=aiohttp.ClientTimeout(total=5)) as r:
        assert r.status == 200
        return await r.text()


def _sampled(text: str) -> set[str]:
    """Names with at least one sample in a Prometheus text exposition."""
    return {
        line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")
    }


@pytest.fixture
async def live_fleet(sim_factory: SimFactory, tmp_path: Path) -> AsyncIterator[tuple[int, int, Path]]:
    hub_sim: SimServer = await sim_factory("hub")
    member_sim: SimServer = await sim_factory("eu1", workloads=True)
    admin = await KubeClient.from_kubeconfig(hub_sim.kubeconfig_path)
    member_admin = await KubeClient.from_kubeconfig(member_sim.kubeconfig_path)
    out = tmp_path / "eu1-hub.kubeconfig"
    args = argparse.Namespace(
        name="eu1",
        namespace=None,
        mode="pull",
        provider=None,
        region=None,
        zone=None,
        label=[],
        out=str(out),
        token_seconds=3600,
    )
    assert await join(admin, args, hub_kubeconfig=str(hub_sim.kubeconfig_path)) == 0
    hub_port, agent_port = _free_port(), _free_port()
    # One refused request at the hub's start-up (its CRD check, a retried GET): the retry
    # counter has samples, as in any real fleet.
    hub_sim.faults.error(503, path="/customresourcedefinitions/works.work.waybill.dev", method="GET", times=1)
    hub = await _spawn(
        "hub",
        "--kubeconfig",
        str(hub_sim.kubeconfig_path),
        "--metrics-port",
        str(hub_port),
        log=tmp_path / "hub.log",
    )
    agent = await _spawn(
        "agent",
        "--cluster",
        "eu1",
        "--hub-kubeconfig",
        str(out),
        "--kubeconfig",
        str(member_sim.kubeconfig_path),
        "--metrics-port",
        str(agent_port),
        "--heartbeat-interval",
        "1",
        "--lease-duration",
        "5",
        log=tmp_path / "agent.log",
    )
    try:
        labels = {"app": "web"}
        await admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
        await admin.create(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "shop"},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {"containers": [{"name": "web", "image": "nginx"}]},
                    },
                },
            }
        )
        await admin.create(
            {
                "apiVersion": names.POLICY_API_VERSION,
                "kind": names.KIND_PROPAGATION_POLICY,
                "metadata": {"name": "web", "namespace": "shop"},
                "spec": {
                    "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment"}],
                    "placement": {"clusterAffinity": {"clusterNames": ["eu1"]}},
                },
            }
        )

        async def ready_on_member() -> bool:
            assert hub.returncode is None and agent.returncode is None, "a process exited"
            live = await member_admin.get("apps/v1", "Deployment", name="web", namespace="shop")
            return (live.get("status") or {}).get("readyReplicas") == 1

        await eventually(ready_on_member, within=45, what="sample applied by the real processes")

        async def hub_saw_it() -> bool:
            template = await admin.get("apps/v1", "Deployment", name="web", namespace="shop")
            return (template.get("status") or {}).get("readyReplicas") == 1

        await eventually(hub_saw_it, within=30, what="status aggregated by the hub")
        yield hub_port, agent_port, tmp_path
    finally:
        await _stop(agent)
        await _stop(hub)
        await admin.close()
        await member_admin.close()


async def test_dashboard_and_alerts_use_only_exported_metrics(live_fleet: tuple[int, int, Path]) -> None:
    hub_port, agent_port, _ = live_fleet
    async with aiohttp.ClientSession() as session:

        async def fleet_metrics_present() -> set[str] | None:
            names_ = _sampled(await _scrape(session, hub_port))
            wanted = {
                "waybill_member_ready",
                "waybill_member_last_heartbeat_timestamp_seconds",
                "waybill_member_manifest_conditions",
                "waybill_binding_conditions",
            }
            return names_ if wanted <= names_ else None

        hub_names = await eventually(fleet_metrics_present, within=20, what="fleet metrics on the hub")
        agent_names = _sampled(await _scrape(session, agent_port))
        hub_text = await _scrape(session, hub_port)
    exported = hub_names | agent_names
    wanted = _metric_names(_dashboard_exprs()) | _metric_names([r["expr"] for r in _alert_rules()])
    assert sorted(wanted - exported) == [], "queries name metrics no process exports"
    documented = (ROOT / "docs" / "metrics.md").read_text()
    base = {re.sub(r"_(bucket|count|sum)$", "", n) for n in exported
            if n.startswith("waybill_") and not n.endswith("_created")}
    assert sorted(n for n in base if f"`{n}`" not in documented) == [], "docs/metrics.md misses metrics"
    assert 'waybill_member_ready{member="eu1"} 1.0' in hub_text
    assert {"waybill_build_info", "process_resident_memory_bytes"} <= hub_names & agent_names


@pytest.mark.parametrize("command", ["hub", "agent"])
def test_production_processes_do_not_import_kubesim(command: str) -> None:
    """What ``waybill hub`` / ``waybill agent`` load (their CLI module, the process code) has no kubesim."""
    code = (
        "import sys\n"
        "from waybill import cli\n"
        f"cli.build_parser(only={command!r})\n"
        "import hub.process, agent.runner\n"
        "print(sorted(m for m in sys.modules if m == 'kubesim' or m.startswith('kubesim.')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True, cwd=str(ROOT)
    )
    assert result.stdout.strip() == "[]"
