"""The hub's controllers on a kubesim hub: bindings and Works, no agents."""

from __future__ import annotations

from typing import Any

from hub import keys
from hub.matching import TemplateRef
from kubesim import SimServer
from shared.api import names
from tests.hub.fleet import add_member, eventually, running_hub
from tests.hub.helpers import configmap, deployment, policy

WORK = (names.WORK_API_VERSION, names.KIND_WORK)


def pp(**kwargs: Any) -> dict[str, Any]:
    return policy(
        "web",
        selectors=[
            {"apiVersion": "apps/v1", "kind": "Deployment"},
            {"apiVersion": "v1", "kind": "ConfigMap", "name": "cfg"},
        ],
        **kwargs,
    )


async def test_templates_become_bindings_and_one_work_per_policy_and_member(hub_sim: SimServer) -> None:
    async with running_hub(str(hub_sim.kubeconfig_path)) as (_hub, hub_api):
        for name in ("eu1", "eu2", "us1"):
            await add_member(hub_api, name, labels={"geo": name[:2]})
        placement = {
            "clusterAffinity": {"labelSelector": {"matchLabels": {"geo": "eu"}}},
            "replicaScheduling": {"replicaSchedulingType": "Divided"},
        }
        await hub_api.create(pp(placement=placement))
        await hub_api.create(deployment(replicas=5))
        await hub_api.create(configmap("cfg"))
        ref = TemplateRef("apps/v1", "Deployment", "default", "web")

        async def binding() -> dict[str, Any] | None:
            found = await hub_api.get(
                names.WORK_API_VERSION,
                names.KIND_RESOURCE_BINDING,
                name=keys.binding_name(ref),
                namespace="default",
            )
            return found if found.get("spec", {}).get("clusters") else None

        found = await eventually(binding, what="binding")
        assert {c["name"]: c["replicas"] for c in found["spec"]["clusters"]} == {"eu1": 3, "eu2": 2}

        async def works(namespace: str, count: int) -> list[dict[str, Any]] | None:
            items = (await hub_api.list(*WORK, namespace=namespace)).items
            manifests = [m for w in items for m in w["spec"]["workload"]["manifests"]]
            return items if len(manifests) == count else None

        eu1 = await eventually(lambda: works("member-eu1", 2), what="eu1 works")
        assert len(eu1) == 1
        shipped = {m["kind"]: m for m in eu1[0]["spec"]["workload"]["manifests"]}
        assert shipped["Deployment"]["spec"]["replicas"] == 3
        assert "uid" not in shipped["Deployment"]["metadata"]
        assert (await hub_api.list(*WORK, namespace="member-us1")).items == []

        async def decision() -> dict[str, Any] | None:
            status = (await binding() or {}).get("status") or {}
            return status.get("schedulingDecision")

        made = await eventually(decision, what="decision")
        assert {r["cluster"]: r["reason"] for r in made["rejected"]} == {"us1": "LabelSelectorMismatch"}

        # scaling rewrites the Works with the new division; deleting removes it from every member
        await hub_api.patch(
            "apps/v1", "Deployment", name="web", namespace="default", patch={"spec": {"replicas": 2}}
        )

        async def replicas_on(namespace: str) -> int | None:
            items = (await hub_api.list(*WORK, namespace=namespace)).items
            for manifest in items[0]["spec"]["workload"]["manifests"] if items else []:
                if manifest["kind"] == "Deployment":
                    return int(manifest["spec"]["replicas"])
            return None

        await eventually(lambda: _equals(replicas_on("member-eu2"), 1), what="eu2 scaled")
        await hub_api.delete("apps/v1", "Deployment", name="web", namespace="default")
        await eventually(lambda: works("member-eu1", 1), what="deployment gone from eu1 work")


async def _equals(value: Any, expected: Any) -> bool:
    return (await value) == expected


async def test_member_taint_and_relabel_reschedule(hub_sim: SimServer) -> None:
    async with running_hub(str(hub_sim.kubeconfig_path)) as (_hub, hub_api):
        await add_member(hub_api, "a", labels={"env": "prod"})
        await add_member(hub_api, "b", labels={"env": "dev"})
        await hub_api.create(
            policy(
                "cm",
                selectors=[{"apiVersion": "v1", "kind": "ConfigMap", "name": "cfg"}],
                placement={"clusterAffinity": {"labelSelector": {"matchLabels": {"env": "prod"}}}},
            )
        )
        await hub_api.create(configmap("cfg"))

        async def placed() -> list[str]:
            found = await hub_api.get(
                names.WORK_API_VERSION, names.KIND_RESOURCE_BINDING, name="cfg-configmap", namespace="default"
            )
            return sorted(c["name"] for c in found["spec"]["clusters"])

        await eventually(lambda: _equals(placed(), ["a"]), what="placed on a")
        await hub_api.patch(
            names.CLUSTER_API_VERSION,
            names.KIND_MEMBER_CLUSTER,
            name="b",
            namespace="member-b",
            patch={"metadata": {"labels": {"env": "prod"}}},
        )
        await eventually(lambda: _equals(placed(), ["a", "b"]), what="b relabelled joins")
        await eventually(lambda: works_count(hub_api, "member-b", 1), what="work on b")


async def works_count(hub_api: Any, namespace: str, count: int) -> bool:
    return len((await hub_api.list(*WORK, namespace=namespace)).items) == count


async def test_metadata_only_template_change_reaches_the_work(hub_sim: SimServer) -> None:
    async with running_hub(str(hub_sim.kubeconfig_path)) as (_hub, hub_api):
        await add_member(hub_api, "a")
        await hub_api.create(
            policy("cm", selectors=[{"apiVersion": "v1", "kind": "ConfigMap", "name": "cfg"}])
        )
        created = await hub_api.create(configmap("cfg"))
        await eventually(lambda: works_count(hub_api, "member-a", 1), what="work on a")
        patched = await hub_api.patch(
            "v1",
            "ConfigMap",
            name="cfg",
            namespace="default",
            patch={"metadata": {"labels": {"team": "blue"}}},
        )
        assert patched["metadata"].get("generation") == created["metadata"].get("generation")

        async def labelled() -> bool:
            work = (await hub_api.list(*WORK, namespace="member-a")).items[0]
            return work["spec"]["workload"]["manifests"][0]["metadata"].get("labels") == {"team": "blue"}

        await eventually(labelled, what="label in the Work")
