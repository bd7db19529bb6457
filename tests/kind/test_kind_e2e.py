"""End to end on real clusters (kind): a hub and two members, the hub controller and two
agents run as local processes with the same commands a user runs.

Skipped cleanly where there is no Docker engine or no kind binary (see conftest.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.kind, pytest.mark.timeout(900)]

DEPLOYMENT = """
apiVersion: v1
kind: Namespace
metadata: {name: kind-e2e}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: kind-e2e, labels: {app: web}}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: registry.k8s.io/pause:3.9}]
---
apiVersion: policy.waybill.dev/v1alpha1
kind: PropagationPolicy
metadata: {name: web, namespace: kind-e2e}
spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment, name: web}]
  placement:
    clusterAffinity: {clusterNames: [eu1, us1]}
    replicaScheduling:
      replicaSchedulingType: Divided
      replicaDivisionPreference: Weighted
      weightPreference:
        staticWeightList:
          - {targetCluster: {clusterNames: [eu1]}, weight: 1}
          - {targetCluster: {clusterNames: [us1]}, weight: 1}
"""


def _kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def _wait_for(predicate: object, *, timeout: float, what: str) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except subprocess.CalledProcessError:
            pass
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(scope="module")
def running_fleet(
    kind_fleet: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Path]]:
    workdir = tmp_path_factory.mktemp("agents")
    hub = kind_fleet["hub"]
    waybill = [sys.executable, "-m", "waybill"]
    crds = subprocess.run([*waybill, "crds"], check=True, capture_output=True, text=True, timeout=60).stdout
    _kubectl(hub, "apply", "--server-side", "-f", "-", stdin=crds)
    procs = [subprocess.Popen([*waybill, "hub", "--kubeconfig", str(hub)])]
    for member in ("eu1", "us1"):
        agent_kubeconfig = workdir / f"{member}-agent.kubeconfig"
        subprocess.run(
            [*waybill, "join", member, "--kubeconfig", str(hub), "--out", str(agent_kubeconfig)],
            check=True,
            timeout=120,
        )
        procs.append(
            subprocess.Popen(
                [
                    *waybill,
                    "agent",
                    "--cluster",
                    member,
                    "--hub-kubeconfig",
                    str(agent_kubeconfig),
                    "--kubeconfig",
                    str(kind_fleet[member]),
                ]
            )
        )
    try:
        yield kind_fleet
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)


def test_divided_deployment_runs_on_both_members(running_fleet: dict[str, Path]) -> None:
    hub = running_fleet["hub"]
    _kubectl(hub, "apply", "-f", "-", stdin=DEPLOYMENT)

    def replicas_on(member: str) -> int:
        out = _kubectl(running_fleet[member], "get", "deployment", "web", "-n", "kind-e2e", "-o", "json")
        return int(json.loads(out)["status"].get("readyReplicas", 0))

    _wait_for(
        lambda: replicas_on("eu1") == 2 and replicas_on("us1") == 2,
        timeout=300,
        what="2 ready replicas of kind-e2e/web on eu1 and us1",
    )

    def hub_status_ready() -> bool:
        out = _kubectl(hub, "get", "deployment", "web", "-n", "kind-e2e", "-o", "json")
        return int(json.loads(out).get("status", {}).get("readyReplicas", 0)) == 4

    _wait_for(hub_status_ready, timeout=120, what="the hub template's status to sum 4 ready replicas")

    _kubectl(hub, "delete", "deployment", "web", "-n", "kind-e2e")

    def gone_everywhere() -> bool:
        for member in ("eu1", "us1"):
            done = subprocess.run(
                [
                    "kubectl",
                    "--kubeconfig",
                    str(running_fleet[member]),
                    "get",
                    "deployment",
                    "web",
                    "-n",
                    "kind-e2e",
                ],
                capture_output=True,
                timeout=60,
                check=False,
            )
            if done.returncode == 0:
                return False
        return True

    _wait_for(gone_everywhere, timeout=120, what="kind-e2e/web to be removed from every member")
