"""Every mistake of issue #13's "Seen" list, run as a subprocess: one line on stderr saying what
is wrong and what to do, exit code 1 or 2, never a traceback."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import pytest
import yaml

from shared.api import names
from tests.cli.cli_helpers import Result, cli_env, waybill
from waybill.errors import UsageError


def one_line(result: Result, code: int) -> str:
    assert result.code == code, result
    assert "Traceback" not in result.err, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result
    assert lines[0].startswith("error: "), result
    return lines[0]


def dead_kubeconfig(tmp_path: Path) -> Path:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nobody listens there
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "dead",
        "clusters": [{"name": "dead", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "dead", "user": {"token": "x"}}],
        "contexts": [{"name": "dead", "context": {"cluster": "dead", "user": "dead"}}],
    }
    path = tmp_path / "dead.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


def not_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "broken.kubeconfig"
    path.write_text("apiVersion: v1\nclusters: [oops\n  - : :\n")
    return path


@pytest.mark.parametrize("argv", [["crds"], ["completion", "bash"], ["version", "--client"]])
async def test_broken_pipe_into_head_is_quiet(argv: list[str]) -> None:
    # ``| head -1`` that has already gone: the read end is closed before the command writes,
    # so every write fails with EPIPE (deterministic, unlike racing a real head).
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "waybill",
            *argv,
            stdout=write_end,
            stderr=asyncio.subprocess.PIPE,
            env=cli_env(),
        )
    finally:
        os.close(write_end)
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert err.decode() == "", err.decode()
    assert process.returncode == 1


async def test_dead_api_server_answers_quickly_without_retry_spam(tmp_path: Path) -> None:
    result = await waybill("get", "clusters", "--kubeconfig", str(dead_kubeconfig(tmp_path)))
    line = one_line(result, 1)
    assert "cannot reach the API server http://127.0.0.1:" in line and "is it running" in line
    assert "retry" not in result.err  # the old client printed debug retry lines for 4.5 s


async def test_a_failing_api_server_is_tried_twice_per_request(tmp_path: Path) -> None:
    # Machine-independent stand-in for "answered quickly": count the attempts. The server
    # accepts and hangs up at once; the CLI's retry policy allows two tries per request (the
    # controllers' default is five). The discovery lookup is made twice (the shared discovery
    # cache refreshes once on a failure): 2 x 2 connections, where the default policy makes 10.
    attempts = 0

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal attempts
        attempts += 1
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    config = yaml.safe_load(dead_kubeconfig(tmp_path).read_text())
    config["clusters"][0]["cluster"]["server"] = f"http://127.0.0.1:{port}"
    path = tmp_path / "hangup.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    try:
        result = await waybill("get", "clusters", "--kubeconfig", str(path))
    finally:
        server.close()
        await server.wait_closed()
    line = one_line(result, 1)
    assert "cannot reach the API server" in line, line
    assert attempts == 4


async def test_binary_file_to_plan(tmp_path: Path) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(bytes(range(256)) * 8)
    line = one_line(await waybill("plan", "-f", str(path)), 2)
    assert "is not a text file" in line and str(path) in line


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"resourceSelectors": "Deployment"}, "spec.resourceSelectors"),
        (
            {
                "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment"}],
                "placement": {"clusterAffinity": {"clusterNames": "eu1"}},
            },
            "spec.placement.clusterAffinity.clusterNames",
        ),
        (
            {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment"}], "priority": "high"},
            "spec.priority",
        ),
    ],
)
async def test_policy_with_wrong_types_to_plan(tmp_path: Path, spec: dict, field: str) -> None:
    objects = [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": 1},
        },
        {
            "apiVersion": names.POLICY_API_VERSION,
            "kind": names.KIND_PROPAGATION_POLICY,
            "metadata": {"name": "bad", "namespace": "default"},
            "spec": spec,
        },
    ]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump_all(objects))
    line = one_line(await waybill("plan", "-f", str(path)), 2)
    assert f"PropagationPolicy default/bad: {field}" in line, line


@pytest.mark.parametrize("command", ["join", "hub", "agent", "get"])
async def test_kubeconfig_that_is_not_yaml(tmp_path: Path, command: str) -> None:
    broken = str(not_yaml(tmp_path))
    argv = {
        "join": ["join", "eu1", "--kubeconfig", broken],
        "hub": ["hub", "--kubeconfig", broken],
        "agent": ["agent", "--cluster", "eu1", "--hub-kubeconfig", broken, "--kubeconfig", broken],
        "get": ["get", "clusters", "--kubeconfig", broken],
    }[command]
    line = one_line(await waybill(*argv), 2)
    assert f"kubeconfig {broken} is not YAML" in line, line


async def test_agent_off_cluster_without_kubeconfig(tmp_path: Path) -> None:
    hub = tmp_path / "hub.kubeconfig"
    hub.write_text(dead_kubeconfig(tmp_path).read_text())
    result = await waybill(
        "agent", "--cluster", "eu1", "--hub-kubeconfig", str(hub), env={"KUBERNETES_SERVICE_HOST": ""}
    )
    line = one_line(result, 2)
    assert "not running inside a cluster" in line and "pass --kubeconfig" in line
    assert "Unclosed client session" not in result.err


async def test_missing_kubeconfig_and_bad_usage(tmp_path: Path) -> None:
    line = one_line(await waybill("get", "clusters", "--kubeconfig", str(tmp_path / "nope")), 2)
    assert "does not exist" in line
    line = one_line(await waybill("status", "web", "--kubeconfig", str(dead_kubeconfig(tmp_path))), 2)
    assert "is not KIND/NAME" in line
    line = one_line(await waybill("get", "clusters", "-n", "a", "-A", "--kubeconfig", str(tmp_path / "x")), 2)
    assert "exclude each other" in line
    empty_env = {"KUBECONFIG": f"{tmp_path / 'a'}:{tmp_path / 'b'}"}
    line = one_line(await waybill("get", "clusters", env=empty_env), 2)
    assert "none of the $KUBECONFIG files exist" in line


async def test_hub_reads_a_merged_kubeconfig_and_context(tmp_path: Path) -> None:
    from waybill import cli
    from waybill.cmd_hub import hub_kubeconfig

    good = yaml.safe_load(dead_kubeconfig(tmp_path).read_text())
    other = {
        **good,
        "current-context": "nowhere",
        "contexts": [*good["contexts"], {"name": "alt", "context": {"cluster": "dead", "user": "dead"}}],
    }
    first, second = tmp_path / "1.yaml", tmp_path / "2.yaml"
    first.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "current-context": "alt"}))
    second.write_text(yaml.safe_dump(other))
    args = cli.build_parser().parse_args(["hub", "--context", "dead"])
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KUBECONFIG", f"{first}:{second}")
        path, private = hub_kubeconfig(args)
        assert private is not None and path == str(private)
        written = yaml.safe_load(private.read_text())
        assert written["current-context"] == "dead" and {c["name"] for c in written["contexts"]} == {
            "dead",
            "alt",
        }
        assert private.stat().st_mode & 0o077 == 0
        private.unlink()
        plain = str(tmp_path / "dead.kubeconfig")
        single = cli.build_parser().parse_args(["hub", "--kubeconfig", plain])
        assert hub_kubeconfig(single) == (plain, None)  # one file, its own context: used as is
        broken = cli.build_parser().parse_args(["hub", "--kubeconfig", str(second)])
        with pytest.raises(UsageError, match="current-context 'nowhere' is not defined"):
            hub_kubeconfig(broken)
