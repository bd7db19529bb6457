"""``waybill agent`` processes next to a fleet: free ops ports on one host, a refused identity
ends the agent, and a second agent for a member refuses to run."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import aiohttp

from tests.cli.cli_helpers import cli_env, waybill
from waybill.fleet import Fleet


async def start_agent(
    fleet: Fleet, *, cluster: str, identity_of: str | None = None, extra: tuple[str, ...] = ()
) -> asyncio.subprocess.Process:
    hub_config = fleet.directory / f"{identity_of or cluster}-agent-hub.kubeconfig"
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "waybill",
        "agent",
        "--cluster",
        cluster,
        "--hub-kubeconfig",
        str(hub_config),
        "--kubeconfig",
        str(fleet.members[identity_of or cluster].kubeconfig_path),
        "--heartbeat-interval",
        "0.5",
        "--lease-duration",
        "2",
        "--refused-retries",
        "2",
        *extra,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=cli_env(),
    )


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            process.kill()
            await process.wait()


async def exit_of(process: asyncio.subprocess.Process, within: float = 30) -> tuple[int, str]:
    assert process.stderr is not None
    err = await asyncio.wait_for(process.stderr.read(), within)
    return await asyncio.wait_for(process.wait(), within), err.decode()


async def ops_port(process: asyncio.subprocess.Process, within: float = 30) -> int:
    """The port from the agent's ``agent.ops.serving`` log line."""
    assert process.stderr is not None
    async with asyncio.timeout(within):
        while True:
            line = await process.stderr.readline()
            assert line, "agent exited before serving"
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "agent.ops.serving":
                return int(event["port"])


async def test_two_agents_on_one_host_get_their_own_ops_ports(fleet: Fleet) -> None:
    for name in ("eu1", "us1"):
        await fleet.agents[name].stop()  # the processes below take over these members
    first = await start_agent(fleet, cluster="eu1")
    second = await start_agent(fleet, cluster="us1")
    try:
        ports = [await ops_port(first), await ops_port(second)]
        assert ports[0] != ports[1]
        async with aiohttp.ClientSession() as session:
            for port in ports:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    assert resp.status == 200
        # An explicitly requested port that is taken is a one-line error, not errno 98.
        taken = await start_agent(fleet, cluster="eu1", extra=("--metrics-port", str(ports[1])))
        code, err = await exit_of(taken)
        assert code == 1 and "Traceback" not in err
        assert err.strip().splitlines()[-1].startswith("error: agent eu1:"), err
    finally:
        await stop(first)
        await stop(second)


async def test_second_agent_for_a_member_refuses_while_the_first_heartbeats(fleet: Fleet) -> None:
    process = await start_agent(fleet, cluster="eu1", extra=("--metrics-port", "0"))
    try:
        code, err = await exit_of(process)
    finally:
        await stop(process)
    last = err.strip().splitlines()[-1]
    assert code == 1, err
    assert last.startswith("error: agent eu1: another agent (eu1-agent) is running for this member"), err
    assert fleet.agents["eu1"].membership is not None and fleet.agents["eu1"].membership.last_beat_ok


async def test_agent_with_the_wrong_cluster_exits_saying_so(fleet: Fleet) -> None:
    process = await start_agent(fleet, cluster="us1", identity_of="eu1", extra=("--metrics-port", "0"))
    code, err = await exit_of(process)
    assert code == 1, err
    last = err.strip().splitlines()[-1]
    assert "403 Forbidden, 2 tries" in last and "--cluster us1 does not match" in last, err
    assert "Traceback" not in err


async def test_agent_of_an_unjoined_member_exits_saying_so(fleet: Fleet, tmp_path: Path) -> None:
    await fleet.agents["us1"].stop()
    process = await start_agent(fleet, cluster="us1", extra=("--metrics-port", "0"))
    try:
        await ops_port(process)  # running
        result = await waybill("unjoin", "us1", "--kubeconfig", str(fleet.hub.kubeconfig_path))
        assert result.code == 0, result
        code, err = await exit_of(process)
    finally:
        await stop(process)
    assert code == 1, err
    last = err.strip().splitlines()[-1]
    assert "401 Unauthorized" in last and "unjoined" in last and "waybill join us1" in last, err
