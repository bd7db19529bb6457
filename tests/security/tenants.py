"""Test helper: a hub tenant — a ServiceAccount whose only rights are ``hub.tenancy.tenant_role``
in one namespace — with its own kubeconfig and client, as a platform team would set it up."""

from __future__ import annotations

from pathlib import Path

from hub import tenancy
from kubesim import SimServer
from shared.kube.client import KubeClient


async def make_tenant(
    hub_sim: SimServer, hub_admin: KubeClient, *, namespace: str, workdir: Path
) -> KubeClient:
    """Create ``namespace`` with a tenant identity bound to the tenant Role; its client."""
    user = "tenant"
    await hub_admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    await hub_admin.create(
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": user, "namespace": namespace}}
    )
    await hub_admin.create(tenancy.tenant_role(namespace=namespace))
    await hub_admin.create(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "waybill-tenant", "namespace": namespace},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "waybill-tenant"},
            "subjects": [{"kind": "ServiceAccount", "name": user, "namespace": namespace}],
        }
    )
    answer = await hub_admin.create_subresource(
        "v1",
        "ServiceAccount",
        name=user,
        namespace=namespace,
        subresource="token",
        body={
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": 3600},
        },
    )
    kubeconfig = hub_sim.write_kubeconfig(
        workdir / f"{namespace}-tenant.kubeconfig",
        token=str(answer["status"]["token"]),
        user=f"system:serviceaccount:{namespace}:{user}",
    )
    return await KubeClient.from_kubeconfig(kubeconfig, name=f"tenant-{namespace}")
