"""The rollout controller on a kubesim hub (no agents): bad stages are refused with a condition
naming the field while every other template keeps being served; fixing them starts the rollout;
a kind without ``metadata.generation`` is said to go everywhere at once."""

from __future__ import annotations

from typing import Any

from kubesim import SimServer
from shared.api import names
from shared.kube.client import KubeClient
from tests.hub.fleet import add_member, eventually, running_hub
from tests.hub.helpers import configmap, deployment, policy


def staged(selector: dict[str, Any]) -> dict[str, Any]:
    stages = [{"name": "canary", "labelSelector": selector}, {"name": "rest"}]
    return {"type": "Staged", "staged": {"stages": stages}}


async def condition_of(hub_api: KubeClient, binding: str, kind: str) -> dict[str, Any] | None:
    found = await hub_api.get(
        names.WORK_API_VERSION, names.KIND_RESOURCE_BINDING, name=binding, namespace="default"
    )
    conds = {c["type"]: c for c in (found.get("status") or {}).get("conditions") or []}
    return conds.get(kind)


async def carried_on(hub_api: KubeClient, member: str, template: str) -> bool:
    works = await hub_api.list(names.WORK_API_VERSION, names.KIND_WORK, namespace=f"member-{member}")
    return any(
        m["metadata"]["name"] == template for w in works.items for m in w["spec"]["workload"]["manifests"]
    )


async def test_bad_stage_selectors_are_refused_naming_the_field(hub_sim: SimServer) -> None:
    async with running_hub(str(hub_sim.kubeconfig_path)) as (_hub, hub_api):
        for name, ring in (("a", "0"), ("b", "1")):
            await add_member(hub_api, name, labels={"ring": ring})
        rolled = policy(
            "rolled",
            selectors=[
                {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                {"apiVersion": "v1", "kind": "ConfigMap", "name": "cfg"},
            ],
        )
        rolled["spec"]["rolloutStrategy"] = staged({"matchLabels": {"rnig": "0"}})
        plain = policy("plain", selectors=[{"apiVersion": "v1", "kind": "ConfigMap", "name": "other"}])
        for obj in (rolled, plain, deployment("web"), configmap("cfg"), configmap("other")):
            await hub_api.create(obj)

        async def progressing() -> dict[str, Any] | None:
            return await condition_of(hub_api, "web-deployment", names.CONDITION_ROLLOUT_PROGRESSING)

        cond = await eventually(progressing, what="RolloutProgressing on the binding")
        assert cond["status"] == "False" and cond["reason"] == "InvalidRolloutStrategy"
        field = "spec.rolloutStrategy.staged.stages[0] (canary).labelSelector"
        assert f"{field}: no member cluster has the label rnig" in cond["message"]
        # every other template is served meanwhile; it is the fence for "web went nowhere"
        await eventually(lambda: carried_on(hub_api, "a", "other"), what="the other template on a")
        await eventually(lambda: carried_on(hub_api, "b", "other"), what="the other template on b")
        assert not await carried_on(hub_api, "a", "web") and not await carried_on(hub_api, "b", "web")
        # a ConfigMap has no generation: not rolled out, and the binding says so
        no_generation = await eventually(
            lambda: condition_of(hub_api, "cfg-configmap", names.CONDITION_ROLLOUT_PROGRESSING), what="cfg"
        )
        assert (
            no_generation["reason"] == "NoGeneration"
            and "ConfigMap has no metadata.generation" in (no_generation["message"])
        )
        assert await carried_on(hub_api, "b", "cfg")

        # a stage selecting no member at all
        async def set_stages(selector: dict[str, Any]) -> None:
            await hub_api.patch(
                names.POLICY_API_VERSION,
                names.KIND_PROPAGATION_POLICY,
                name="rolled",
                namespace="default",
                patch={"spec": {"rolloutStrategy": staged(selector)}},  # (a merge patch replaces lists)
            )

        await set_stages({"matchLabels": {"ring": "9"}})

        async def says(text: str) -> bool:
            found = await progressing()
            return bool(found and text in found["message"])

        await eventually(
            lambda: says("stages[0] (canary).labelSelector: selects no member cluster"), what="none"
        )

        # fixed: the canary stage gets it first
        await set_stages({"matchLabels": {"ring": "0"}})
        await eventually(lambda: carried_on(hub_api, "a", "web"), what="web on the canary")
        cond = await eventually(progressing, what="progressing")
        assert cond["status"] == "True", cond
        assert not await carried_on(hub_api, "b", "web")  # no agent reports a: the next stage waits
