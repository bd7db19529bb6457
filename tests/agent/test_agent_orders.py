"""Agents cannot change their orders (issue #17): with its real scoped token, the agent may read
its Works and write their status, and every other write to a Work is refused with 403.

Before, the agent's Role granted ``update``/``patch`` on ``works`` (for its finalizer): an
injected cluster-admin ClusterRoleBinding was applied on the member in 0.3 s. The agent now needs
no finalizer (ownership is tracked on the member), so the Role has neither verb.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from shared import membership_rbac
from shared.kube.client import KubeClient
from shared.kube.errors import Forbidden
from tests.agent.fleet import AW_API, Fleet, configmap

BINDING = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "ClusterRoleBinding",
    "metadata": {"name": "pwned"},
    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
    "subjects": [{"kind": "ServiceAccount", "name": "evil", "namespace": "default"}],
}


def test_the_role_grants_no_write_on_works_but_status() -> None:
    rules = {
        (group, resource): set(rule["verbs"])
        for rule in membership_rbac.agent_role_rules()
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    assert rules[("work.waybill.dev", "works")] == {"get", "list", "watch"}
    assert rules[("work.waybill.dev", "works/status")] == {"get", "patch", "update"}


@pytest.mark.parametrize("fleet", ["pull"], indirect=True)
async def test_every_write_outside_status_is_forbidden(fleet: Fleet) -> None:
    created = await fleet.create_work("orders", [configmap("cfg", namespace="default")])
    scoped = await KubeClient.from_kubeconfig(fleet.agent_hub_kubeconfig, name="scoped")
    ns = fleet.namespace
    try:
        work = await scoped.get(AW_API, "Work", name="orders", namespace=ns)
        injected = {"spec": {"workload": {"manifests": [BINDING]}}}
        replaced_spec = {**work, "spec": injected["spec"]}
        meta = {"name": "orders", "namespace": ns}
        attempts: dict[str, Callable[[], Awaitable[Any]]] = {
            "patch spec (merge)": lambda: scoped.patch(
                AW_API, "Work", name="orders", namespace=ns, patch=injected
            ),
            "patch spec (json)": lambda: scoped.patch(
                AW_API, "Work", name="orders", namespace=ns, patch_type="json",
                patch=[{"op": "add", "path": "/spec/workload/manifests/-", "value": BINDING}],
            ),
            "apply spec": lambda: scoped.apply(
                {"apiVersion": AW_API, "kind": "Work", "metadata": meta, **injected},
                field_manager="evil", force=True,
            ),
            "update spec": lambda: scoped.replace(replaced_spec),
            "patch labels": lambda: scoped.patch(
                AW_API, "Work", name="orders", namespace=ns, patch={"metadata": {"labels": {"x": "y"}}}
            ),
            "patch annotations": lambda: scoped.patch(
                AW_API, "Work", name="orders", namespace=ns, patch={"metadata": {"annotations": {"x": "y"}}}
            ),
            "patch finalizers": lambda: scoped.patch(
                AW_API, "Work", name="orders", namespace=ns,
                patch={"metadata": {"finalizers": ["waybill.dev/agent"]}},
            ),
            "update finalizers": lambda: scoped.replace(
                {**work, "metadata": {**work["metadata"], "finalizers": ["waybill.dev/agent"]}}
            ),
            "delete": lambda: scoped.delete(AW_API, "Work", name="orders", namespace=ns),
            "create": lambda: scoped.create(
                {"apiVersion": AW_API, "kind": "Work", "metadata": {**meta, "name": "mine"}, **injected}
            ),
        }
        refused = {}
        for what, attempt in attempts.items():
            with pytest.raises(Forbidden) as denied:
                await attempt()
            refused[what] = denied.value.status
        assert set(refused.values()) == {403}, refused
        # what it must be able to do: read, and write the status
        await scoped.patch_status(
            AW_API, "Work", name="orders", namespace=ns, patch={"status": {"conditions": []}}
        )
        assert (await scoped.list(AW_API, "Work", namespace=ns)).items
    finally:
        await scoped.close()
    after = await fleet.get_work("orders")
    assert after is not None
    assert after["metadata"]["generation"] == created["metadata"]["generation"]
    assert after["spec"] == created["spec"] and not after["metadata"].get("finalizers")
    assert await fleet.get_work("mine") is None
