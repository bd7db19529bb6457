"""The generated CRDs on an API server (kubesim): installed with kubectl, objects validated and printed.

This is what a user sees: `kubectl apply -f crds/`, then policies accepted or refused with the field
path, and `kubectl get` showing the printer columns and short names.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import yaml

from kubesim.server import SimServer
from kubesim.testing import Api, SimFactory
from shared.api import ALL_KINDS

ROOT = Path(__file__).resolve().parents[2]
POLICY_PATH = "/apis/policy.waybill.dev/v1alpha1/namespaces/default/propagationpolicies"

POLICY = {
    "apiVersion": "policy.waybill.dev/v1alpha1",
    "kind": "PropagationPolicy",
    "metadata": {"name": "nginx-propagation", "namespace": "default"},
    "spec": {
        "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "nginx"}],
        "priority": 5,
        "placement": {
            "replicaScheduling": {
                "replicaDivisionPreference": "Weighted",
                "replicaSchedulingType": "Divided",
                "weightPreference": {
                    "staticWeightList": [
                        {"targetCluster": {"clusterNames": ["member1"]}, "weight": 1},
                        {"targetCluster": {"clusterNames": ["member2"]}, "weight": 2},
                    ]
                },
            }
        },
    },
}


async def kubectl(server: SimServer, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        "kubectl",
        "--kubeconfig",
        str(server.kubeconfig_path),
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin.encode() if stdin else None), timeout=30)
    return process.returncode or 0, out.decode(), err.decode()


async def served(api: Api, path: str, *, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        status, _ = await api.get(path)
        if status == 200:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} not served after {within}s")


async def test_kubectl_installs_the_crds_and_uses_names_and_columns(sim_factory: SimFactory) -> None:
    # TLS: kubectl sends bearer tokens over HTTPS only.
    hub_sim = await sim_factory("hub", tls=True)
    code, out, err = await kubectl(hub_sim, "apply", "-f", str(ROOT / "crds"))
    assert code == 0, err
    assert out.count("created") == len(ALL_KINDS)
    code, _, err = await kubectl(
        hub_sim, "wait", "--for=condition=Established", "crd", "--all", "--timeout=10s"
    )
    assert code == 0, err
    code, _, err = await kubectl(hub_sim, "apply", "-f", "-", stdin=yaml.safe_dump(POLICY))
    assert code == 0, err
    code, out, err = await kubectl(hub_sim, "get", "pp", "-n", "default")
    assert code == 0, err
    header, row = out.splitlines()[:2]
    assert header.split()[:3] == ["NAME", "PRIORITY", "CONFLICT-RESOLUTION"]
    assert row.split()[:2] == ["nginx-propagation", "5"]
    code, out, err = await kubectl(hub_sim, "get", "propagationpolicy", "nginx-propagation", "-o", "json")
    assert code == 0, err
    stored = json.loads(out)
    assert stored["metadata"]["name"] == "nginx-propagation"
    assert stored["spec"] == POLICY["spec"]
    wrong = json.loads(json.dumps(POLICY))
    wrong["spec"]["resourceSelectors"] = []
    code, _, err = await kubectl(hub_sim, "apply", "-f", "-", stdin=yaml.safe_dump(wrong))
    assert code != 0
    assert "spec.resourceSelectors" in err, err


async def test_the_server_refuses_wrong_objects_naming_the_field(hub_sim: SimServer) -> None:
    api = Api(hub_sim)
    try:
        for crd in yaml.safe_load_all(
            (ROOT / "crds" / "propagationpolicies.policy.waybill.dev.yaml").read_text()
        ):
            status, body = await api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
            assert status == 201, body
        await served(api, POLICY_PATH)
        wrong: dict[str, Any] = yaml.safe_load(yaml.safe_dump(POLICY))
        wrong["spec"]["placement"]["replicaScheduling"]["weightPreference"]["staticWeightList"][0][
            "weight"
        ] = 0
        wrong["spec"]["placement"]["maxClusters"] = -1
        status, body = await api.post(POLICY_PATH, wrong)
        assert status == 422, body
        fields = sorted(cause["field"] for cause in body["details"]["causes"])
        assert fields == [
            "spec.placement.maxClusters",
            "spec.placement.replicaScheduling.weightPreference.staticWeightList[0].weight",
        ]
        assert "greater than or equal to 1" in body["message"]
    finally:
        await api.close()
