"""Hub defects found while trying it (issue #8, #13, #14), each on kubesim, no agents:

* template identity includes the API group (two ``Certificate/shop/web`` of different groups);
* invalid policies are refused (``Valid=False`` naming the field, an Event, nothing claimed);
* every rendering input of a policy (``conflictResolution``) re-renders its Works;
* a policy's Works go when the policy and its templates are gone;
* clusterNames naming clusters that are not members: a condition and an Event, the rest placed.
"""

from __future__ import annotations

from typing import Any

from kubesim import SimServer
from shared.api import names
from shared.kube.client import KubeClient
from tests.hub.fleet import add_member, eventually, running_hub, settled
from tests.hub.helpers import configmap, policy

WORK = (names.WORK_API_VERSION, names.KIND_WORK)
PP = (names.POLICY_API_VERSION, names.KIND_PROPAGATION_POLICY)


def certificate_crd(group: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"certificates.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "certificates", "singular": "certificate", "kind": "Certificate"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }


async def manifests_in(hub_api: KubeClient, namespace: str) -> list[dict[str, Any]]:
    return [
        m
        for w in (await hub_api.list(*WORK, namespace=namespace)).items
        for m in w["spec"]["workload"]["manifests"]
    ]


async def events_for(hub_api: KubeClient, name: str, namespace: str = "default") -> list[dict[str, Any]]:
    return [
        e
        for e in (await hub_api.list("v1", "Event", namespace=namespace)).items
        if (e.get("involvedObject") or {}).get("name") == name
    ]


async def valid_condition(hub_api: KubeClient, name: str) -> dict[str, Any] | None:
    found = await hub_api.get(*PP, name=name, namespace="default")
    for condition in (found.get("status") or {}).get("conditions") or []:
        if condition["type"] == names.CONDITION_VALID:
            return condition  # type: ignore[no-any-return]
    return None


async def test_templates_of_two_groups_with_one_kind_and_name_are_two_templates(hub_sim: SimServer) -> None:
    async with running_hub(str(hub_sim.kubeconfig_path)) as (_hub, hub_api):
        await add_member(hub_api, "a")
        await hub_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
        for group in ("cert-manager.io", "example.com"):
            await hub_api.create(certificate_crd(group))

        async def served() -> bool:
            hub_api.invalidate_discovery()
            for group in ("cert-manager.io", "example.com"):
                await hub_api.resource_info(f"{group}/v1", "Certificate")
            return True

        await eventually(served, what="both CRDs served")
        await hub_api.create(
            policy(
                "certs",
                namespace="shop",
                selectors=[
                    {"apiVersion": "cert-manager.io/v1", "kind": "Certificate"},
                    {"apiVersion": "example.com/v1", "kind": "Certificate"},
                ],
            )
        )
        for group in ("cert-manager.io", "example.com"):
            await hub_api.create(
                {
                    "apiVersion": f"{group}/v1",
                    "kind": "Certificate",
                    "metadata": {"name": "web", "namespace": "shop"},
                    "spec": {"issuer": group},
                }
            )

        async def both_shipped() -> list[str] | None:
            found = sorted(str(m["spec"]["issuer"]) for m in await manifests_in(hub_api, "member-a"))
            return found if len(found) == 2 else None

        assert await eventually(both_shipped, what="both certificates in a's Work") == [
            "cert-manager.io",
            "example.com",
        ]
        bindings = (
            await hub_api.list(names.WORK_API_VERSION, names.KIND_RESOURCE_BINDING, namespace="shop")
        ).items
        resources = sorted(b["spec"]["resource"]["apiVersion"] for b in bindings)
        assert resources == ["cert-manager.io/v1", "example.com/v1"]


async def works_in(hub_api: KubeClient, namespace: str) -> list[dict[str, Any]]:
    return list((await hub_api.list(*WORK, namespace=namespace)).items)


async def test_works_go_when_the_policy_and_its_templates_are_gone(hub_sim: SimServer) -> None:
    async with running_hub(str(hub_sim.kubeconfig_path)) as (hub, hub_api):
        await add_member(hub_api, "a")
        await hub_api.create(policy("p", selectors=[{"apiVersion": "v1", "kind": "ConfigMap"}]))
        await hub_api.create(configmap("one"))
        await hub_api.create(configmap("two"))

        async def two_shipped() -> bool:
            return len(await manifests_in(hub_api, "member-a")) == 2

        await eventually(two_shipped, what="both ConfigMaps shipped")
        await hub_api.delete(*PP, name="p", namespace="default")
        await settled(hub)
        assert len(await manifests_in(hub_api, "member-a")) == 2  # orphaned: kept
        await hub_api.delete("v1", "ConfigMap", name="one", namespace="default")
        await hub_api.delete("v1", "ConfigMap", name="two", namespace="default")

        async def no_works() -> bool:
            return await works_in(hub_api, "member-a") == []

        await eventually(no_works, what="the policy's Works deleted")


async def test_works_go_when_policy_and_templates_went_while_the_hub_was_down(hub_sim: SimServer) -> None:
    kubeconfig = str(hub_sim.kubeconfig_path)
    async with running_hub(kubeconfig) as (_hub, hub_api):
        await add_member(hub_api, "a")
        await hub_api.create(policy("p", selectors=[{"apiVersion": "v1", "kind": "ConfigMap"}]))
        await hub_api.create(configmap("one"))

        async def shipped() -> bool:
            return len(await manifests_in(hub_api, "member-a")) == 1

        await eventually(shipped, what="ConfigMap shipped")
    async with await KubeClient.from_kubeconfig(kubeconfig) as hub_api:  # no hub running
        await hub_api.delete("v1", "ConfigMap", name="one", namespace="default")
        await hub_api.delete(*PP, name="p", namespace="default")
    async with running_hub(kubeconfig) as (_hub, hub_api):

        async def no_works() -> bool:
            return await works_in(hub_api, "member-a") == []

        await eventually(no_works, what="the policy's Works deleted")
        bindings = await hub_api.list(names.WORK_API_VERSION, names.KIND_RESOURCE_BINDING, namespace="default")
        assert bindings.items == []


async def test_changing_conflict_resolution_rerenders_the_works(hub_sim: SimServer) -> None:
    async with running_hub(str(hub_sim.kubeconfig_path)) as (_hub, hub_api):
        await add_member(hub_api, "a")
        await hub_api.create(policy("p", selectors=[{"apiVersion": "v1", "kind": "ConfigMap"}]))
        await hub_api.create(configmap("cfg"))

        async def take_over() -> Any:
            works = await works_in(hub_api, "member-a")
            if not works:
                return None
            return (works[0]["spec"].get("applyStrategy") or {}).get("whenToTakeOver", "default")

        assert await eventually(take_over, what="Work") == "default"
        await hub_api.patch(*PP, name="p", namespace="default", patch={"spec": {"conflictResolution": "Overwrite"}})

        async def overwrite() -> bool:
            return await take_over() == "Always"

        await eventually(overwrite, what="whenToTakeOver: Always after conflictResolution: Overwrite")
