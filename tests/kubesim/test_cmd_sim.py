"""``waybill sim``: serves hub and members until SIGINT, kubeconfigs usable by clients."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest
from kubernetes_asyncio import client, config

from waybill.cli import UsageError
from waybill.cmd_sim import cluster_names


def test_cluster_names() -> None:
    assert cluster_names("hub", "eu1, us1") == ["hub", "eu1", "us1"]
    with pytest.raises(UsageError):
        cluster_names("hub", "EU1")
    with pytest.raises(UsageError):
        cluster_names("hub", "hub")


async def test_sim_serves_until_interrupted(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "waybill",
        "sim",
        "--hub",
        "hub",
        "--members",
        "eu1,us1",
        "--dir",
        str(tmp_path),
        "--no-workloads",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        lines = []
        while not lines or not lines[-1].startswith("ready"):
            line = await asyncio.wait_for(proc.stdout.readline(), 20)
            assert line, (await proc.stderr.read()).decode()  # type: ignore[union-attr]
            lines.append(line.decode())
        roles = {line.split("\t")[0]: line.split("\t")[1] for line in lines[:-1]}
        assert roles == {"hub": "hub", "eu1": "member", "us1": "member"}
        for name in roles:
            api = await config.new_client_from_config(config_file=str(tmp_path / f"{name}.kubeconfig"))
            try:
                namespaces = await client.CoreV1Api(api).list_namespace()
                assert "default" in {n.metadata.name for n in namespaces.items}
            finally:
                await api.close()
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def test_bad_names_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    from waybill.cli import main

    assert main(["sim", "--members", "Bad_Name", "--dir", "/nonexistent"]) == 2
    assert "invalid cluster name" in capsys.readouterr().err
