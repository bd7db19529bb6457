"""A hub replica that loses its Lease (here: the hub API refuses its renewals) goes back to
standby instead of exiting, stays Ready, and can lead again; the Lease lives in the namespace the
process is given (``$POD_NAMESPACE`` in a pod)."""

from __future__ import annotations

import asyncio
import contextlib

from hub.crd_startup import prepare_crds
from hub.process import LEASE_NAME, HubOptions, HubProcess, lease_namespace, run_hub
from kubesim import SimServer
from shared.kube.client import KubeClient
from shared.kube.retry import RetryPolicy
from tests.hub.fleet import add_member, eventually
from tests.hub.helpers import configmap, policy

WORK = ("work.waybill.dev/v1alpha1", "Work")
LEASE = ("coordination.k8s.io/v1", "Lease")
FAST = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.05, jitter=0.1)
NAMESPACE = "team-hub"


def test_lease_namespace_follows_pod_namespace() -> None:
    assert lease_namespace({"POD_NAMESPACE": "platform"}) == "platform"
    assert lease_namespace({}) == "waybill-system"


async def test_lost_lease_goes_back_to_standby_and_leads_again(hub_sim: SimServer) -> None:
    kubeconfig = str(hub_sim.kubeconfig_path)
    clients = {
        n: await KubeClient.from_kubeconfig(kubeconfig, name="hub", retry_policy=FAST, request_timeout=2.0)
        for n in ("h1", "h2")
    }
    admin = await KubeClient.from_kubeconfig(kubeconfig)
    await prepare_crds(admin, mode="create")
    await admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    replicas = {
        n: HubProcess(
            c,
            HubOptions(
                identity=n,
                lease_namespace=NAMESPACE,
                lease_duration=2.0,
                renew_deadline=1.2,
                retry_period=0.2,
            ),
        )
        for n, c in clients.items()
    }
    tasks = {n: asyncio.create_task(p.run(), name=n) for n, p in replicas.items()}

    async def holder() -> str | None:
        lease = await admin.get(*LEASE, name=LEASE_NAME, namespace=NAMESPACE)
        return (lease.get("spec") or {}).get("holderIdentity") or None

    async def manifests() -> int:
        works = (await admin.list(*WORK, namespace="member-a")).items
        return sum(len(w["spec"]["workload"]["manifests"]) for w in works)

    try:
        first = await eventually(holder, what="a leader")
        other = next(n for n in replicas if n != first)
        assert replicas[first].is_leader and not replicas[other].is_leader
        assert replicas[other].ready(), "a standby is Ready (it can serve; it just does not lead)"
        await add_member(admin, "a")
        await admin.create(policy("p", selectors=[{"apiVersion": "v1", "kind": "ConfigMap"}]))
        await admin.create(configmap("one"))
        await eventually(lambda: _equals(manifests(), 1), what="work from the first leader")

        # Hub API outage for Lease writes: the leader cannot renew within its deadline.
        rule = hub_sim.faults.error(503, path=f"/leases/{LEASE_NAME}", method="PUT")
        await eventually(lambda: _true(not replicas[first].is_leader), within=10, what="leader loses lease")
        assert not tasks[first].done(), "the replica that lost the lease kept running"
        hub_sim.faults.rules.remove(rule)

        # Whoever leads next, stop the other replica until the first one leads again.
        await eventually(
            lambda: _true(any(p.is_leader for p in replicas.values())),
            within=10,
            what="a leader after the outage",
        )
        if not replicas[first].is_leader:
            tasks[other].cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await tasks[other]
        await eventually(
            lambda: _true(replicas[first].is_leader), within=10, what="first replica leads again"
        )
        assert replicas[first].terms == 2
        assert await holder() == first
        await eventually(lambda: _true(replicas[first].ready()), what="new leader synced")
        await admin.create(configmap("two"))
        await eventually(lambda: _equals(manifests(), 2), within=15, what="work from the re-elected replica")
    finally:
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        for client in (*clients.values(), admin):
            await client.close()


async def _equals(value: object, expected: object) -> bool:
    return (await value) == expected  # type: ignore[misc]


async def _true(value: bool) -> bool:
    return value


async def test_run_hub_survives_losing_the_lease(hub_sim: SimServer) -> None:
    """``waybill hub`` itself (``run_hub``) no longer exits when its renewals fail: it waits as a
    standby and takes the Lease again once the API accepts writes."""
    from shared.ops.metrics import REGISTRY

    options = HubOptions(
        kubeconfig=str(hub_sim.kubeconfig_path),
        identity="solo",
        lease_duration=2.0,
        renew_deadline=1.2,
        retry_period=0.2,
    )
    label = {"lease": f"waybill-system/{LEASE_NAME}"}

    def leading() -> float:
        return REGISTRY.get_sample_value("waybill_leader_is_leader", label) or 0.0

    stop = asyncio.Event()
    task = asyncio.create_task(run_hub(options, stop))
    try:
        await eventually(lambda: _true(leading() == 1.0), what="leads")
        rule = hub_sim.faults.error(503, path=f"/leases/{LEASE_NAME}", method="PUT")
        await eventually(lambda: _true(leading() == 0.0), within=10, what="lease lost")
        hub_sim.faults.rules.remove(rule)
        await eventually(lambda: _true(leading() == 1.0 or task.done()), within=10, what="leads again")
        assert not task.done(), f"run_hub ended with {task.result()} after losing its lease"
    finally:
        stop.set()
        assert await asyncio.wait_for(task, 10) == 0


def test_crd_plan_ignores_server_defaults_and_finds_missing_and_stale() -> None:
    from hub.crd_startup import covers, missing_or_stale

    desired = {
        "a": {"spec": {"group": "g", "versions": [{"name": "v1", "served": True}]}},
        "b": {"spec": {"group": "g", "versions": [{"name": "v1"}]}},
    }
    defaulted = {
        "spec": {
            "group": "g",
            "conversion": {"strategy": "None"},
            "versions": [{"name": "v1", "served": True, "storage": True}],
        }
    }
    assert covers(defaulted["spec"], desired["a"]["spec"])
    assert not covers({"group": "g", "versions": []}, desired["b"]["spec"])
    plan = missing_or_stale(desired, {"a": defaulted, "b": None})
    assert plan.missing == ("b",) and plan.stale == ()
    older = {"spec": {"group": "g", "versions": [{"name": "v1", "served": False}]}}
    assert missing_or_stale(desired, {"a": older, "b": defaulted}).stale == ("a",)
