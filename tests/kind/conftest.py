"""Real-cluster fixtures: a kind hub (workload controllers off) and two kind members.

These tests need a running Docker engine and the ``kind`` binary; everywhere else they skip
cleanly with the reason. Clusters are created once per session and deleted afterwards unless
``WAYBILL_KIND_KEEP=1``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).parent
CLUSTERS = ("waybill-hub", "waybill-eu1", "waybill-us1")


def _docker_engine_running() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        done = subprocess.run(["docker", "info"], capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def kind_unavailable_reason() -> str | None:
    if shutil.which("kind") is None:
        return "the kind binary is not on PATH"
    if not _docker_engine_running():
        return "no running Docker engine"
    return None


def _run(args: list[str], *, timeout: float = 600) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=True)
    return done.stdout


@pytest.fixture(scope="session")
def kind_fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    reason = kind_unavailable_reason()
    if reason is not None:
        pytest.skip(f"kind end-to-end tests skipped: {reason}")
    workdir = tmp_path_factory.mktemp("kind")
    kubeconfigs: dict[str, Path] = {}
    existing = set(_run(["kind", "get", "clusters"]).split())
    for cluster in CLUSTERS:
        if cluster not in existing:
            args = ["kind", "create", "cluster", "--name", cluster, "--wait", "120s"]
            if cluster == "waybill-hub":
                args += ["--config", str(HERE / "kind-hub.yaml")]
            _run(args, timeout=900)
        path = workdir / f"{cluster}.kubeconfig"
        path.write_text(_run(["kind", "get", "kubeconfig", "--name", cluster]))
        kubeconfigs[cluster.removeprefix("waybill-")] = path
    try:
        yield kubeconfigs
    finally:
        if os.environ.get("WAYBILL_KIND_KEEP") != "1":
            for cluster in CLUSTERS:
                subprocess.run(["kind", "delete", "cluster", "--name", cluster], check=False, timeout=300)
