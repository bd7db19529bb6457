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
        bindings = await hub_api.list(
            names.WORK_API_VERSION, names.KIND_RESOURCE_BINDING, namespace="default"
        )
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

        # unset conflictResolution is Karmada's Abort: never take over
        assert await eventually(take_over, what="Work") == "Never"
        await hub_api.patch(
            *PP, name="p", namespace="default", patch={"spec": {"conflictResolution": "Overwrite"}}
        )

        async def overwrite() -> bool:
            return await take_over() == "Always"

        await eventually(overwrite, what="whenToTakeOver: Always after conflictResolution: Overwrite")


async def policy_condition(hub_api: KubeClient, kind_name: tuple[str, str], name: str, kind: str) -> Any:
    found = await hub_api.get(names.POLICY_API_VERSION, kind_name[1], name=name, namespace="default")
    for condition in (found.get("status") or {}).get("conditions") or []:
        if condition["type"] == kind:
            return condition
    return None


INVALID_PLACEMENTS = {
    "both-affinities": (
        {
            "clusterAffinity": {"clusterNames": ["a"]},
            "clusterAffinities": [{"affinityName": "x", "clusterNames": ["a"]}],
        },
        "spec.placement.clusterAffinities",
    ),
    "named-and-excluded": (
        {"clusterAffinity": {"clusterNames": ["a"], "exclude": ["a"]}},
        "spec.placement.clusterAffinity.exclude",
    ),
    "division-when-duplicated": (
        {
            "replicaScheduling": {
                "replicaSchedulingType": "Duplicated",
                "replicaDivisionPreference": "Weighted",
            }
        },
        "spec.placement.replicaScheduling.replicaDivisionPreference",
    ),
}


async def test_invalid_policies_are_refused_naming_the_field_and_claim_nothing(hub_sim: SimServer) -> None:
    async with running_hub(str(hub_sim.kubeconfig_path)) as (_hub, hub_api):
        await add_member(hub_api, "a")
        # a valid fallback with a lower priority: it claims whatever the invalid ones may not
        await hub_api.create(policy("fallback", selectors=[{"apiVersion": "v1", "kind": "ConfigMap"}]))
        for name, (placement, _field) in INVALID_PLACEMENTS.items():
            await hub_api.create(
                policy(
                    name,
                    selectors=[{"apiVersion": "v1", "kind": "ConfigMap", "name": f"cfg-{name}"}],
                    priority=10,
                    placement=placement,
                )
            )
            await hub_api.create(configmap(f"cfg-{name}"))
        for name, (_placement, field) in INVALID_PLACEMENTS.items():

            async def refused(name: str = name) -> Any:
                condition = await policy_condition(hub_api, PP, name, names.CONDITION_VALID)
                return condition if condition and condition["status"] == "False" else None

            condition = await eventually(refused, what=f"{name}: Valid=False")
            assert condition["reason"] == "InvalidPolicy" and field in condition["message"], condition

            async def event(name: str = name) -> Any:
                return [e for e in await events_for(hub_api, name) if e["reason"] == "InvalidPolicy"]

            found = await eventually(event, what=f"{name}: InvalidPolicy Event")
            assert field in found[0]["message"]

            async def claimed_by_fallback(name: str = name) -> Any:
                binding = await hub_api.get(
                    names.WORK_API_VERSION,
                    names.KIND_RESOURCE_BINDING,
                    name=f"cfg-{name}-configmap",
                    namespace="default",
                )
                return binding["spec"]["policy"]["name"] == "fallback"

            await eventually(claimed_by_fallback, what=f"cfg-{name} claimed by the valid policy, not {name}")
            found_policy = await hub_api.get(*PP, name=name, namespace="default")
            assert found_policy["status"].get("claimedTemplates", 0) == 0


async def test_override_with_unknown_variable_is_invalid_and_never_reaches_members(
    hub_sim: SimServer,
) -> None:
    async with running_hub(str(hub_sim.kubeconfig_path)) as (_hub, hub_api):
        await add_member(hub_api, "a")
        await hub_api.create(policy("p", selectors=[{"apiVersion": "v1", "kind": "ConfigMap"}]))
        await hub_api.create(
            {
                "apiVersion": names.POLICY_API_VERSION,
                "kind": names.KIND_OVERRIDE_POLICY,
                "metadata": {"name": "vars", "namespace": "default"},
                "spec": {
                    "resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "cfg"}],
                    "overrideRules": [
                        {
                            "overriders": {
                                "plaintext": [
                                    {"path": "/data/k", "operator": "replace", "value": "${NO_SUCH_VAR}"}
                                ]
                            }
                        }
                    ],
                },
            }
        )
        await hub_api.create(configmap("cfg"))
        await hub_api.create(configmap("other"))
        op = (names.POLICY_API_VERSION, names.KIND_OVERRIDE_POLICY)

        async def refused() -> Any:
            condition = await policy_condition(hub_api, op, "vars", names.CONDITION_VALID)
            return condition if condition and condition["status"] == "False" else None

        condition = await eventually(refused, what="OverridePolicy Valid=False")
        assert "spec.overrideRules[0].overriders.plaintext[0].value" in condition["message"]
        assert "NO_SUCH_VAR" in condition["message"]

        async def not_rendered() -> Any:
            binding = await hub_api.get(
                names.WORK_API_VERSION, names.KIND_RESOURCE_BINDING, name="cfg-configmap", namespace="default"
            )
            for c in (binding.get("status") or {}).get("conditions") or []:
                if c["type"] == "Rendered" and c["status"] == "False":
                    return c
            return None

        rendered = await eventually(not_rendered, what="Rendered=False on the binding")
        assert "OverridePolicy/default/vars" in rendered["message"]

        async def other_shipped() -> Any:
            return {m["metadata"]["name"]: m for m in await manifests_in(hub_api, "member-a")}.get("other")

        await eventually(other_shipped, what="the other ConfigMap shipped")
        assert not any("NO_SUCH_VAR" in str(m) for m in await manifests_in(hub_api, "member-a"))


async def test_cluster_names_that_are_not_members_are_named_and_the_rest_placed(hub_sim: SimServer) -> None:
    async with running_hub(str(hub_sim.kubeconfig_path)) as (_hub, hub_api):
        await add_member(hub_api, "a")
        await hub_api.create(
            policy(
                "typo",
                selectors=[{"apiVersion": "v1", "kind": "ConfigMap"}],
                placement={"clusterAffinity": {"clusterNames": ["a", "us-1"]}},
            )
        )
        await hub_api.create(configmap("cfg"))

        async def unresolved() -> Any:
            condition = await policy_condition(hub_api, PP, "typo", names.CONDITION_CLUSTERS_RESOLVED)
            return condition if condition and condition["status"] == "False" else None

        condition = await eventually(unresolved, what="ClustersResolved=False")
        assert condition["reason"] == "UnknownClusters" and "us-1" in condition["message"]
        assert "a," not in condition["message"]

        async def event() -> Any:
            return [e for e in await events_for(hub_api, "typo") if e["reason"] == "UnknownClusters"]

        assert "us-1" in (await eventually(event, what="UnknownClusters Event"))[0]["message"]

        async def placed_on_a() -> bool:
            return len(await manifests_in(hub_api, "member-a")) == 1

        await eventually(placed_on_a, what="placed on a")
        valid = await policy_condition(hub_api, PP, "typo", names.CONDITION_VALID)
        assert valid["status"] == "True"
        await add_member(hub_api, "us-1")

        async def resolved() -> Any:
            condition = await policy_condition(hub_api, PP, "typo", names.CONDITION_CLUSTERS_RESOLVED)
            return condition if condition and condition["status"] == "True" else None

        await eventually(resolved, what="ClustersResolved=True once us-1 joined")
