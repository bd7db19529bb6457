"""The rollout controller on a kubesim hub (no agents; a test answers Works as an agent would):
bad stages are refused with a condition naming the field while every other template keeps being
served; fixing them starts the rollout; a ConfigMap (no ``metadata.generation``) is staged, edited
mid-rollout, renumbered the same after a hub restart and undone; a Secret is said not to be
staged; a cluster-scoped template keeps ClusterTemplateRevisions."""

from __future__ import annotations

import asyncio
import contextlib
import io
from typing import Any

from kubesim import SimServer
from shared.api import names
from shared.kube.client import KubeClient
from tests.hub.fleet import add_member, eventually, running_hub, settled
from tests.hub.helpers import configmap, deployment, policy
from waybill import cli


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
                {"apiVersion": "v1", "kind": "Secret", "name": "token"},
            ],
        )
        rolled["spec"]["rolloutStrategy"] = staged({"matchLabels": {"rnig": "0"}})
        plain = policy("plain", selectors=[{"apiVersion": "v1", "kind": "ConfigMap", "name": "other"}])
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "token", "namespace": "default"},
            "stringData": {"k": "v"},
        }
        for obj in (rolled, plain, deployment("web"), configmap("cfg"), configmap("other"), secret):
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
        # a ConfigMap has no metadata.generation and is rolled out all the same (it used to go
        # everywhere at once with reason NoGeneration): refused like web, on no member
        cfg_cond = await eventually(
            lambda: condition_of(hub_api, "cfg-configmap", names.CONDITION_ROLLOUT_PROGRESSING), what="cfg"
        )
        assert cfg_cond["reason"] == "InvalidRolloutStrategy", cfg_cond
        assert not await carried_on(hub_api, "a", "cfg") and not await carried_on(hub_api, "b", "cfg")
        # a Secret is not staged (its data would be copied into revisions): never held (the gate's
        # table test), no revision kept, and the binding says so
        not_staged = await eventually(
            lambda: condition_of(hub_api, "token-secret", names.CONDITION_ROLLOUT_PROGRESSING), what="token"
        )
        assert not_staged["reason"] == "NotStaged" and "Secret data is not copied" in not_staged["message"]
        secret_revisions = await hub_api.list(names.WORK_API_VERSION, names.KIND_TEMPLATE_REVISION)
        assert not [r for r in secret_revisions.items if r["spec"]["template"]["kind"] == "Secret"]

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


# --- kinds without metadata.generation, cluster-scoped templates --------------------------------------
def answered_status(work: dict[str, Any]) -> dict[str, Any]:
    """What an agent that applied every manifest of ``work`` would report."""
    generation = work["metadata"]["generation"]

    def cond(kind: str) -> dict[str, Any]:
        return {
            "type": kind,
            "status": "True",
            "reason": kind,
            "lastTransitionTime": "2026-12-07T00:00:00Z",
            "observedGeneration": generation,
        }

    manifests = []
    for ordinal, manifest in enumerate(work["spec"]["workload"]["manifests"]):
        group, _, version = str(manifest["apiVersion"]).rpartition("/")
        meta = manifest["metadata"]
        manifests.append(
            {
                "identifier": {
                    "ordinal": ordinal,
                    "group": group,
                    "version": version,
                    "kind": manifest["kind"],
                    "resource": str(manifest["kind"]).lower() + "s",
                    "namespace": meta.get("namespace"),
                    "name": meta["name"],
                },
                "conditions": [cond(names.CONDITION_APPLIED), cond(names.CONDITION_AVAILABLE)],
            }
        )
    return {
        "conditions": [cond(names.CONDITION_APPLIED), cond(names.CONDITION_AVAILABLE)],
        "manifestConditions": manifests,
    }


async def data_on(hub_api: KubeClient, member: str, template: str, *, answer: bool = False) -> str | None:
    """The ``data.k`` of ``template`` in the member's Work (None: not carried); with ``answer``,
    first report the Work applied as a stand-in agent would (only when asked: the test decides
    which member reports when)."""
    works = await hub_api.list(names.WORK_API_VERSION, names.KIND_WORK, namespace=f"member-{member}")
    found = None
    for work in works.items:
        for manifest in work["spec"]["workload"]["manifests"]:
            if manifest["metadata"]["name"] == template:
                found = str((manifest.get("data") or {}).get("k"))
                if answer:
                    await hub_api.patch_status(
                        names.WORK_API_VERSION,
                        names.KIND_WORK,
                        name=work["metadata"]["name"],
                        namespace=work["metadata"]["namespace"],
                        patch={"status": answered_status(work)},
                    )
    return found


async def rollout_of(hub_api: KubeClient, binding: str) -> dict[str, Any]:
    found = await hub_api.get(
        names.WORK_API_VERSION, names.KIND_RESOURCE_BINDING, name=binding, namespace="default"
    )
    return dict((found.get("status") or {}).get("rollout") or {})


async def kept_revisions(hub_api: KubeClient, kind: str, namespace: str | None = "default") -> list[int]:
    found = await hub_api.list(names.WORK_API_VERSION, kind, namespace=namespace)
    return sorted(int(r["spec"]["revision"]) for r in found.items)


def cfg(value: str) -> dict[str, Any]:
    obj = configmap("cfg")
    obj["data"] = {"k": value}
    return obj


async def test_a_configmap_rolls_out_through_the_stages_and_undoes(hub_sim: SimServer) -> None:
    """A ConfigMap (no metadata.generation) goes stage by stage: the rest keeps the old data until
    the canary reports; an edit during the rollout restarts it at the first stage; the revision
    numbers survive a hub restart; undo restores the old data through the stages again."""
    rolled = policy("rolled", selectors=[{"apiVersion": "v1", "kind": "ConfigMap", "name": "cfg"}])
    rolled["spec"]["rolloutStrategy"] = staged({"matchLabels": {"ring": "0"}})
    async with running_hub(str(hub_sim.kubeconfig_path)) as (hub, hub_api):
        for name, ring in (("a", "0"), ("b", "1")):
            await add_member(hub_api, name, labels={"ring": ring})
        for obj in (rolled, cfg("v1")):
            await hub_api.create(obj)
        # the first version: canary first; b gets nothing until a reports it
        await eventually(lambda: data_on(hub_api, "a", "cfg"), what="v1 on the canary")
        await settled(hub)
        assert await data_on(hub_api, "b", "cfg") is None
        first = await rollout_of(hub_api, "cfg-configmap")
        assert first["revision"] == 1 and first["phase"] == "Progressing" and first["contentDigest"]
        await eventually(lambda: data_on(hub_api, "a", "cfg", answer=True), what="a reports v1")
        assert await eventually(lambda: data_on(hub_api, "b", "cfg", answer=True), what="v1 on b") == "v1"

        await eventually(lambda: phase_of(hub_api, 1, "Complete"), what="revision 1 complete")
        cond = await condition_of(hub_api, "cfg-configmap", names.CONDITION_ROLLOUT_PROGRESSING)
        assert cond is not None and cond["reason"] == "RolloutComplete"

        # v2: the canary gets it, b keeps v1 while a has not reported
        await hub_api.patch("v1", "ConfigMap", name="cfg", namespace="default", patch={"data": {"k": "v2"}})
        await eventually(lambda: _is(data_on(hub_api, "a", "cfg"), "v2"), what="v2 on the canary")
        await settled(hub)
        assert await data_on(hub_api, "b", "cfg") == "v1"
        progressing = await rollout_of(hub_api, "cfg-configmap")
        assert progressing["revision"] == 2 and progressing["phase"] == "Progressing"
        assert {c["name"]: c["state"] for c in progressing["clusters"]} == {
            "a": "Progressing",
            "b": "Pending",
        }

        # edited during the rollout: revision 3 restarts at the first stage; b still keeps v1
        await hub_api.patch("v1", "ConfigMap", name="cfg", namespace="default", patch={"data": {"k": "v3"}})
        await eventually(lambda: _is(data_on(hub_api, "a", "cfg"), "v3"), what="v3 on the canary")
        await settled(hub)
        restarted = await rollout_of(hub_api, "cfg-configmap")
        assert restarted["revision"] == 3 and restarted["stage"] == "canary", restarted
        assert await data_on(hub_api, "b", "cfg") == "v1"
        await data_on(hub_api, "a", "cfg", answer=True)
        await eventually(lambda: _is(data_on(hub_api, "b", "cfg", answer=True), "v3"), what="v3 on b")
        await eventually(lambda: phase_of(hub_api, 3, "Complete"), what="revision 3 complete")
        assert await kept_revisions(hub_api, names.KIND_TEMPLATE_REVISION) == [1, 2, 3]

    # a restarted hub numbers the same content the same: no new revision, no new rollout
    async with running_hub(str(hub_sim.kubeconfig_path)) as (hub, hub_api):
        await settled(hub)
        assert (await rollout_of(hub_api, "cfg-configmap"))["revision"] == 3
        assert await kept_revisions(hub_api, names.KIND_TEMPLATE_REVISION) == [1, 2, 3]

        # undo (to v2's content): revision 4, again canary first
        code, out, err = await run_cli(hub_sim, "rollout", "undo", "configmap/cfg", "-n", "default")
        assert code == 0 and "rolled back to revision 2 (a new revision)" in out, (out, err)
        await eventually(lambda: _is(data_on(hub_api, "a", "cfg"), "v2"), what="undo on the canary")
        await settled(hub)
        assert await data_on(hub_api, "b", "cfg") == "v3"
        assert (await rollout_of(hub_api, "cfg-configmap"))["revision"] == 4
        await data_on(hub_api, "a", "cfg", answer=True)
        await eventually(lambda: _is(data_on(hub_api, "b", "cfg", answer=True), "v2"), what="undo on b")
        await eventually(lambda: phase_of(hub_api, 4, "Complete"), what="revision 4 complete")
        code, out, _ = await run_cli(hub_sim, "rollout", "history", "configmap/cfg", "-n", "default")
        assert code == 0, out
        # (the in-process hub logs to the same stdout: keep the table's rows)
        rows = [line.split() for line in out.splitlines() if line[:1].isdigit() and "[" not in line]
        assert [row[0] for row in rows] == ["1", "2", "3", "4"] and rows[-1][1] == "*", out


async def _is(value: Any, wanted: str) -> bool:
    return bool(await value == wanted)


async def phase_of(hub_api: KubeClient, revision: int, wanted: str) -> dict[str, Any] | None:
    found = await rollout_of(hub_api, "cfg-configmap")
    return found if found.get("revision") == revision and found.get("phase") == wanted else None


async def run_cli(hub_sim: SimServer, *args: str) -> tuple[int, str, str]:
    """The CLI against the hub, in a thread (it runs its own event loop)."""
    out, err = io.StringIO(), io.StringIO()

    def call() -> int:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            return cli.main([*args, "--kubeconfig", str(hub_sim.kubeconfig_path)])

    code = await asyncio.to_thread(call)
    return code, out.getvalue(), err.getvalue()


async def test_cluster_scoped_templates_keep_revisions_within_the_limit(hub_sim: SimServer) -> None:
    """An IngressClass (cluster-scoped, with a generation) under a ClusterPropagationPolicy with a
    rolloutStrategy: one ClusterTemplateRevision per generation, the last revisionHistoryLimit kept."""
    async with running_hub(str(hub_sim.kubeconfig_path)) as (hub, hub_api):
        await add_member(hub_api, "a")
        rolled = policy(
            "rolled",
            namespace=None,
            selectors=[{"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "name": "edge"}],
        )
        rolled["spec"]["rolloutStrategy"] = {"type": "All", "revisionHistoryLimit": 2}
        ingress_class = {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IngressClass",
            "metadata": {"name": "edge"},
            "spec": {"controller": "example.com/edge-1"},
        }
        await hub_api.create(rolled)
        created = await hub_api.create(ingress_class)
        assert created["metadata"]["generation"] == 1
        kind = names.KIND_CLUSTER_TEMPLATE_REVISION

        async def kept(wanted: list[int]) -> bool:
            return await kept_revisions(hub_api, kind, None) == wanted

        await eventually(lambda: kept([1]), what="revision 1")
        for number in (2, 3):
            await hub_api.patch(
                "networking.k8s.io/v1",
                "IngressClass",
                name="edge",
                patch={"spec": {"controller": f"example.com/edge-{number}"}},
            )
            await eventually(lambda number=number: kept([number - 1, number] if number > 2 else [1, 2]),
                             what=f"revision {number}")  # fmt: skip
        found = await hub_api.list(names.WORK_API_VERSION, kind)
        newest = max(found.items, key=lambda r: r["spec"]["revision"])
        assert (
            newest["metadata"]["name"] == "edge-ingressclass.networking.k8s.io-r3"
            and "namespace" not in newest["metadata"]
        )
        assert newest["spec"]["content"] == {"spec": {"controller": "example.com/edge-3"}}
        assert newest["metadata"]["labels"][names.LABEL_REVISION_KIND] == "IngressClass.networking.k8s.io"
        # (no TemplateRevision in any namespace for it)
        assert await kept_revisions(hub_api, names.KIND_TEMPLATE_REVISION, None) == []
        await settled(hub)
