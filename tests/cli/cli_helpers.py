"""Running ``waybill`` as a real process against fleets served by this test's event loop."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from shared.api import names


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def __str__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


def cli_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG",)}
    env["HOME"] = env.get("WAYBILL_TEST_HOME", env.get("HOME", "/tmp"))
    env.update(extra or {})
    return env


async def waybill(
    *argv: str,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    within: float = 30.0,
    cwd: Path | None = None,
) -> Result:
    """``python -m waybill ARGV`` as a subprocess (the loop keeps serving in-process servers)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "waybill",
        *argv,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=cli_env(env),
        cwd=cwd,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(stdin), timeout=within)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return Result(int(process.returncode or 0), out.decode(), err.decode())


async def eventually(check: Callable[[], Awaitable[Any]], *, within: float = 20.0, what: str = "") -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"not within {within}s: {what or check}")
        await asyncio.sleep(0.1)


def web_objects(
    *, cluster_names: list[str], name: str = "web", namespace: str = "shop"
) -> list[dict[str, Any]]:
    labels = {"app": name}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "c", "image": "nginx:1"}]},
                },
            },
        },
        {
            "apiVersion": names.POLICY_API_VERSION,
            "kind": names.KIND_PROPAGATION_POLICY,
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "resourceSelectors": [
                    {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                    {"apiVersion": "v1", "kind": "Namespace", "name": namespace},
                ],
                "placement": {"clusterAffinity": {"clusterNames": cluster_names}},
            },
        },
    ]


def dump(objects: list[dict[str, Any]]) -> bytes:
    return yaml.safe_dump_all(objects).encode()
