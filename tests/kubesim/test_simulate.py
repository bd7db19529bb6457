"""kubesim.simulate: controller status tables, and the simulation running against a Store."""

from __future__ import annotations

import asyncio
import copy
import ipaddress
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from kubesim import simulate
from kubesim.store import Store

NOW = "2026-01-01T00:00:00Z"
LATER = "2026-01-01T00:01:00Z"


def deploy(
    replicas: int = 3,
    image: str = "nginx",
    generation: int = 1,
    status: dict[str, Any] | None = None,
    strategy: dict[str, Any] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "replicas": replicas,
        "template": {"spec": {"containers": [{"name": "c", "image": image}]}},
    }
    if strategy is not None:
        spec["strategy"] = strategy
    return {
        "metadata": {"name": "web", "namespace": "default", "generation": generation},
        "spec": spec,
        "status": status or {},
    }


def conditions(status: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in status.get("conditions", [])}


@pytest.mark.parametrize(
    ("obj", "ready", "changed", "counts", "conds"),
    [
        (
            deploy(),
            False,
            False,
            {"observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "unavailableReplicas": 3},
            {
                "Available": ("False", "MinimumReplicasUnavailable"),
                "Progressing": ("True", "ReplicaSetUpdated"),
            },
        ),
        (
            deploy(),
            True,
            False,
            {
                "observedGeneration": 1,
                "replicas": 3,
                "updatedReplicas": 3,
                "readyReplicas": 3,
                "availableReplicas": 3,
            },
            {
                "Available": ("True", "MinimumReplicasAvailable"),
                "Progressing": ("True", "NewReplicaSetAvailable"),
            },
        ),
        (
            deploy(replicas=0),
            False,
            False,
            {"observedGeneration": 1},
            {"Available": ("True", "MinimumReplicasAvailable"), "Progressing": ("True", "ReplicaSetUpdated")},
        ),
        # a template change mid-rollout: one surged new pod, old pods still available
        (
            deploy(replicas=4, generation=2, status={"availableReplicas": 4, "readyReplicas": 4}),
            False,
            True,
            {
                "observedGeneration": 2,
                "replicas": 5,
                "updatedReplicas": 1,
                "readyReplicas": 4,
                "availableReplicas": 4,
                "unavailableReplicas": 1,
            },
            {"Available": ("True", "MinimumReplicasAvailable"), "Progressing": ("True", "ReplicaSetUpdated")},
        ),
        # Recreate: no unavailability budget
        (
            deploy(replicas=4, status={"availableReplicas": 3}, strategy={"type": "Recreate"}),
            False,
            False,
            {
                "observedGeneration": 1,
                "replicas": 4,
                "updatedReplicas": 4,
                "readyReplicas": 3,
                "availableReplicas": 3,
                "unavailableReplicas": 1,
            },
            {
                "Available": ("False", "MinimumReplicasUnavailable"),
                "Progressing": ("True", "ReplicaSetUpdated"),
            },
        ),
    ],
)
def test_deployment_status(
    obj: dict[str, Any], ready: bool, changed: bool, counts: dict[str, int], conds: dict[str, tuple[str, str]]
) -> None:
    status = simulate.deployment_status(obj, ready=ready, template_changed=changed, now=NOW)
    assert {k: v for k, v in status.items() if k != "conditions"} == counts
    assert conditions(status) == conds
    progressing = status["conditions"][1]
    assert progressing["message"].startswith('ReplicaSet "web-')


def test_condition_timestamps_are_kept_when_unchanged() -> None:
    first = simulate.deployment_status(deploy(), ready=True, template_changed=False, now=NOW)
    again = simulate.deployment_status(deploy(status=first), ready=True, template_changed=False, now=LATER)
    assert again == first
    flipped = simulate.deployment_status(
        deploy(replicas=5, status=first), ready=False, template_changed=False, now=LATER
    )
    available = flipped["conditions"][0]
    assert available["status"] == "False" and available["lastTransitionTime"] == LATER


def test_statefulset_and_daemonset_status() -> None:
    sts = deploy(replicas=2)
    progressing = simulate.statefulset_status(sts, ready=False, template_changed=False, now=NOW)
    assert progressing["replicas"] == 2 and progressing["availableReplicas"] == 0
    assert "readyReplicas" not in progressing
    done = simulate.statefulset_status(sts, ready=True, template_changed=False, now=NOW)
    assert done["readyReplicas"] == done["currentReplicas"] == done["updatedReplicas"] == 2
    assert done["currentRevision"] == done["updateRevision"]
    rolled = simulate.statefulset_status(
        deploy(replicas=2, image="v2", status=done), ready=False, template_changed=True, now=NOW
    )
    assert rolled["currentRevision"] != rolled["updateRevision"] and rolled["readyReplicas"] == 2
    ds = simulate.daemonset_status(deploy(), ready=False, template_changed=False, nodes=3)
    assert ds == {
        "currentNumberScheduled": 3,
        "desiredNumberScheduled": 3,
        "numberMisscheduled": 0,
        "numberReady": 0,
        "numberUnavailable": 3,
        "observedGeneration": 1,
        "updatedNumberScheduled": 3,
    }
    ds_done = simulate.daemonset_status(deploy(), ready=True, template_changed=False, nodes=3)
    assert ds_done["numberAvailable"] == ds_done["numberReady"] == 3 and "numberUnavailable" not in ds_done


@pytest.mark.parametrize(
    ("spec", "ready", "expected_keys", "succeeded", "conds"),
    [
        ({}, False, {"startTime", "active", "ready", "terminating", "uncountedTerminatedPods"}, None, {}),
        (
            {"completions": 3, "parallelism": 2},
            True,
            {
                "startTime",
                "succeeded",
                "completionTime",
                "conditions",
                "ready",
                "terminating",
                "uncountedTerminatedPods",
            },
            3,
            {
                "SuccessCriteriaMet": ("True", "CompletionsReached"),
                "Complete": ("True", "CompletionsReached"),
            },
        ),
        ({"suspend": True}, True, {"conditions"}, None, {"Suspended": ("True", "JobSuspended")}),
    ],
)
def test_job_status(
    spec: dict[str, Any],
    ready: bool,
    expected_keys: set[str],
    succeeded: int | None,
    conds: dict[str, tuple[str, str]],
) -> None:
    job = {"metadata": {"name": "j", "generation": 1}, "spec": spec}
    status = simulate.job_status(job, ready=ready, now=NOW)
    assert set(status) == expected_keys
    assert status.get("succeeded") == succeeded
    assert conditions(status) == conds


def test_admit_service_allocates_and_keeps_cluster_ip() -> None:
    allocator = simulate._Allocator()
    svc = {"spec": {"type": "NodePort", "ports": [{"port": 80}]}}
    created = simulate.admit_service(svc, None, allocator)
    ip = created["spec"]["clusterIP"]
    assert ipaddress.ip_address(ip) in ipaddress.ip_network("10.96.0.0/12")
    assert created["spec"]["clusterIPs"] == [ip]
    assert created["spec"]["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80, "nodePort": 30000}]
    updated = simulate.admit_service(
        {"spec": {"type": "NodePort", "ports": [{"port": 80}]}}, created, allocator
    )
    assert updated["spec"]["clusterIP"] == ip and updated["spec"]["ports"][0]["nodePort"] == 30000
    other = simulate.admit_service({"spec": {"ports": [{"port": 80}]}}, None, allocator)
    assert other["spec"]["clusterIP"] != ip
    headless = simulate.admit_service({"spec": {"clusterIP": "None"}}, None, allocator)
    assert headless["spec"]["clusterIPs"] == ["None"]


# ------------------------------------------------------------------------------ against a Store


@pytest.fixture
async def store() -> AsyncIterator[Store]:
    cluster = Store()
    ns = cluster.resource("v1", "Namespace")
    assert ns is not None
    cluster.create(ns, {"metadata": {"name": "default"}})
    yield cluster


async def wait_for(predicate: Callable[[], bool], limit: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + limit
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def test_simulation_end_to_end(store: Store) -> None:
    sim = simulate.start_simulation(store, delay=0.1, nodes=2, node_prefix="eu1-node")
    try:
        nodes_t = store.resource("v1", "Node")
        dep_t = store.resource("apps/v1", "Deployment")
        job_t = store.resource("batch/v1", "Job")
        svc_t = store.resource("v1", "Service")
        ds_t = store.resource("apps/v1", "DaemonSet")
        assert nodes_t and dep_t and job_t and svc_t and ds_t
        nodes, _ = store.list(nodes_t)
        assert [n["metadata"]["name"] for n in nodes] == ["eu1-node-1", "eu1-node-2"]
        assert nodes[0]["status"]["allocatable"]["pods"] == "110"

        svc = store.create(
            svc_t,
            {
                "metadata": {"name": "web", "namespace": "default"},
                "spec": {"ports": [{"port": 80}], "selector": {"app": "web"}},
            },
        )
        assert svc["spec"]["clusterIP"].startswith("10.")

        store.create(dep_t, deploy() | {"status": {}})
        store.create(
            job_t,
            {
                "metadata": {"name": "j", "namespace": "default"},
                "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}},
            },
        )
        store.create(
            ds_t,
            {
                "metadata": {"name": "agent", "namespace": "default"},
                "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}},
            },
        )

        def dep_status() -> dict[str, Any]:
            status: dict[str, Any] = store.get(dep_t, "web", namespace="default").get("status") or {}
            return status

        await wait_for(lambda: dep_status().get("observedGeneration") == 1)
        await wait_for(lambda: dep_status().get("availableReplicas") == 3)
        assert conditions(dep_status())["Available"] == ("True", "MinimumReplicasAvailable")
        await wait_for(
            lambda: "succeeded" in (store.get(job_t, "j", namespace="default").get("status") or {})
        )
        await wait_for(
            lambda: (
                (store.get(ds_t, "agent", namespace="default").get("status") or {}).get("numberAvailable")
                == 2
            )
        )

        # a new template rolls out again: first not complete, then complete
        current = store.get(dep_t, "web", namespace="default")
        current["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
        store.update(dep_t, current)
        await wait_for(lambda: dep_status().get("observedGeneration") == 2)
        assert dep_status().get("updatedReplicas") == 1
        await wait_for(lambda: dep_status().get("updatedReplicas") == 3 and dep_status().get("replicas") == 3)
        assert dep_status()["availableReplicas"] == 3
        managers = {
            e["manager"] for e in store.get(dep_t, "web", namespace="default")["metadata"]["managedFields"]
        }
        assert simulate.CONTROLLER in managers
    finally:
        await sim.stop()
    assert sim._timers == {}


async def test_simserver_with_workloads_runs_the_simulator(sim_factory: Any) -> None:
    server = await sim_factory("eu1", workloads=True, workload_delay=0.05, nodes=2)
    nodes_t = server.store.resource("v1", "Node")
    dep_t = server.store.resource("apps/v1", "Deployment")
    ns_t = server.store.resource("v1", "Namespace")
    assert nodes_t and dep_t and ns_t
    assert len(server.store.list(nodes_t)[0]) == 2
    if server.store.peek(ns_t, "default") is None:
        server.store.create(ns_t, {"metadata": {"name": "default"}})
    server.store.create(dep_t, deploy(replicas=2) | {"status": {}})
    await wait_for(
        lambda: (
            (server.store.get(dep_t, "web", namespace="default").get("status") or {}).get("availableReplicas")
            == 2
        )
    )


def test_pvc_binding_and_status() -> None:
    claim: dict[str, Any] = {
        "metadata": {"name": "data", "uid": "u1"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    assert simulate.admit_pvc(copy.deepcopy(claim), None)["spec"]["storageClassName"] == "standard"
    assert simulate.pvc_status(claim, bound=False) == {"phase": "Pending"}
    bound = simulate.pvc_binding(claim)
    assert bound["spec"]["volumeName"] == "pvc-u1"
    assert bound["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] == "yes"
    assert "volumeName" not in claim["spec"]
    assert simulate.pvc_status(bound, bound=True) == {
        "phase": "Bound",
        "accessModes": ["ReadWriteOnce"],
        "capacity": {"storage": "1Gi"},
    }


async def test_load_balancer_and_pvc_settle(store: Store) -> None:
    sim = simulate.start_simulation(store, delay=0.05, nodes=0)
    try:
        svc_t = store.resource("v1", "Service")
        pvc_t = store.resource("v1", "PersistentVolumeClaim")
        assert svc_t and pvc_t
        store.create(
            svc_t,
            {
                "metadata": {"name": "lb", "namespace": "default"},
                "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
            },
        )
        store.create(
            pvc_t,
            {
                "metadata": {"name": "data", "namespace": "default"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
            },
        )

        def lb_ingress() -> Any:
            return (
                (store.get(svc_t, "lb", namespace="default").get("status") or {}).get("loadBalancer") or {}
            ).get("ingress")

        await wait_for(lambda: bool(lb_ingress()))
        assert lb_ingress()[0]["ip"].startswith("172.18.255.")
        assert store.get(svc_t, "lb", namespace="default")["spec"]["ports"][0]["nodePort"] >= 30000
        await wait_for(
            lambda: (
                (store.get(pvc_t, "data", namespace="default").get("status") or {}).get("phase") == "Bound"
            )
        )
        claim = store.get(pvc_t, "data", namespace="default")
        assert claim["spec"]["volumeName"] == "pvc-" + claim["metadata"]["uid"]
        assert claim["spec"]["storageClassName"] == "standard"
    finally:
        await sim.stop()


async def test_an_unpullable_image_never_becomes_ready(store: Store) -> None:
    """Images of the ``kubesim.invalid`` registry stay progressing (rollout tests halt on them)."""
    sim = simulate.start_simulation(store, delay=0.05, nodes=0)
    try:
        dep_t = store.resource("apps/v1", "Deployment")
        assert dep_t is not None
        bad = deploy(image="kubesim.invalid/nginx:1") | {"status": {}}
        store.create(dep_t, bad)
        good = deploy() | {"status": {}}
        good["metadata"] = {**good["metadata"], "name": "good"}
        store.create(dep_t, good)

        def status(name: str) -> dict[str, Any]:
            found: dict[str, Any] = store.get(dep_t, name, namespace="default").get("status") or {}
            return found

        # fence: the good one, created after it with the same delay, is ready
        await wait_for(lambda: status("good").get("availableReplicas") == 3)
        assert status("web").get("observedGeneration") == 1
        assert status("web").get("availableReplicas") is None
        assert simulate.unpullable(store.get(dep_t, "web", namespace="default"))
        # a pullable image: ready after the delay
        current = store.get(dep_t, "web", namespace="default")
        current["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1"
        store.update(dep_t, current)
        await wait_for(lambda: status("web").get("availableReplicas") == 3)
    finally:
        await sim.stop()
