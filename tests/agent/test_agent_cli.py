"""``waybill agent`` as a real process: usage errors, health endpoints, applying, SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.agent.fleet import Fleet, configmap, eventually
from waybill import cli


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.kubeconfig"
    assert cli.main(["agent", "--cluster", "eu1", "--hub-kubeconfig", str(missing)]) == 2
    assert "--hub-kubeconfig: no such file" in capsys.readouterr().err
    present = tmp_path / "hub.kubeconfig"
    present.write_text("{}")
    args = ["agent", "--cluster", "eu1", "--hub-kubeconfig", str(present), "--heartbeat-interval", "50"]
    assert cli.main(args) == 2
    assert "--lease-duration must be longer" in capsys.readouterr().err


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def http_get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status, await resp.text()


@pytest.mark.parametrize("fleet", ["push"], indirect=True)
async def test_agent_process_serves_health_applies_and_stops_on_sigterm(fleet: Fleet, tmp_path: Path) -> None:
    port = free_port()
    log = (tmp_path / "agent.log").open("w")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "waybill",
        "agent",
        "--cluster",
        fleet.cluster,
        "--hub-kubeconfig",
        str(fleet.agent_hub_kubeconfig),
        "--kubeconfig",
        str(fleet.agent_member_kubeconfig),
        "--metrics-port",
        str(port),
        "--heartbeat-interval",
        "1",
        "--lease-duration",
        "4",
        stdout=log,
        stderr=log,
    )
    try:

        async def ready() -> bool:
            status, _ = await http_get(f"http://127.0.0.1:{port}/readyz")
            return status == 200

        await eventually(ready, within=30)
        assert (await http_get(f"http://127.0.0.1:{port}/healthz"))[0] == 200
        await fleet.create_work("cli", [configmap("from-cli", namespace="default")])
        await fleet.wait_work("cli", "Applied", within=20)
        status, metrics = await http_get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200 and "waybill_agent_manifest_writes_total" in metrics
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), timeout=20)
        assert code == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        log.close()
    lines = (tmp_path / "agent.log").read_text().splitlines()
    assert any('"event": "agent.stopped"' in line for line in lines), lines[-5:]
