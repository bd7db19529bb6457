"""Membership on kubesim: heartbeat Lease, MemberCluster status, least-privilege hub identity."""

from __future__ import annotations

from typing import Any

import pytest

from shared import membership_rbac
from shared.kube.client import KubeClient
from shared.kube.errors import Forbidden
from tests.agent.fleet import Fleet, condition, eventually, issue_agent_token


async def test_heartbeat_and_member_status(fleet: Fleet) -> None:
    await fleet.start_agent(discover_namespace=True)

    async def lease() -> dict[str, Any] | None:
        try:
            return await fleet.hub_admin.get(
                "coordination.k8s.io/v1", "Lease", name="waybill-agent", namespace=fleet.namespace
            )
        except Exception:
            return None

    first = await eventually(lease)
    assert first["spec"]["leaseDurationSeconds"] == 40
    assert first["spec"]["holderIdentity"] == "eu1-agent"

    async def renewed() -> bool:
        again = await lease()
        return bool(again and again["spec"]["renewTime"] != first["spec"]["renewTime"])

    await eventually(renewed, within=5)

    async def status() -> dict[str, Any] | None:
        member = await fleet.hub_admin.get(
            "cluster.waybill.dev/v1alpha1", "MemberCluster", name="eu1", namespace=fleet.namespace
        )
        return member if condition(member, "Ready") else None

    member = await eventually(status)
    st = member["status"]
    assert condition(member, "Ready")["status"] == "True"  # type: ignore[index]
    assert st["nodeCount"] == 3
    assert st["kubernetesVersion"].startswith("v1.")
    assert st["resources"]["allocatable"]["cpu"] and st["resources"]["available"]["memory"]
    group_versions = {e["groupVersion"] for e in st["apiEnablements"]}
    assert {"v1", "apps/v1"} <= group_versions


async def test_agent_identity_is_confined_to_its_namespace(fleet: Fleet) -> None:
    """The agent's token (from TokenRequest) can do its job and nothing in another member's namespace."""
    other = "member-us1"
    await fleet.hub_admin.create(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": other, "labels": {"waybill.dev/member": "us1"}},
        }
    )
    for obj in membership_rbac.agent_identity_objects(namespace=other, cluster="us1"):
        await fleet.hub_admin.create(obj)
    await fleet.hub_admin.create(
        {
            "apiVersion": "work.waybill.dev/v1alpha1",
            "kind": "Work",
            "metadata": {"name": "secret-plans", "namespace": other},
            "spec": {"workload": {"manifests": []}},
        }
    )
    scoped = await KubeClient.from_kubeconfig(fleet.agent_hub_kubeconfig, name="scoped")
    try:
        own = await scoped.list("work.waybill.dev/v1alpha1", "Work", namespace=fleet.namespace)
        assert own.items == []
        with pytest.raises(Forbidden) as denied:
            await scoped.list("work.waybill.dev/v1alpha1", "Work", namespace=other)
        assert denied.value.status == 403 and "cannot list resource" in denied.value.message
        with pytest.raises(Forbidden):
            await scoped.get("work.waybill.dev/v1alpha1", "Work", name="secret-plans", namespace=other)
        with pytest.raises(Forbidden):
            await scoped.list("v1", "Secret", namespace=fleet.namespace)
        with pytest.raises(Forbidden):
            await scoped.list("policy.waybill.dev/v1alpha1", "PropagationPolicy", namespace="default")
        with pytest.raises(Forbidden):
            await scoped.delete("work.waybill.dev/v1alpha1", "Work", name="x", namespace=fleet.namespace)
    finally:
        await scoped.close()
    # ...and with exactly those permissions the agent works end to end (Works, status, Lease, events).
    await fleet.start_agent()
    await fleet.create_work(
        "ok",
        [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "c", "namespace": "default"},
                "data": {"a": "b"},
            }
        ],
    )
    await fleet.wait_work("ok", "Applied")
    token = await issue_agent_token(fleet.hub_admin, namespace=fleet.namespace)
    assert token
