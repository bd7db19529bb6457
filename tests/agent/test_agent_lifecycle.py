"""The agent on kubesim: drift correction, removal, Orphan, takeover rules, respected managers, CRDs."""

from __future__ import annotations

from typing import Any

from tests.agent.fleet import Fleet, configmap, deployment, eventually, manifest_condition, manifest_entry

AW = "work.waybill.dev/v1alpha1"


async def test_drift_is_corrected_edit_and_delete(fleet: Fleet) -> None:
    await fleet.start_agent()
    await fleet.create_work("web", [configmap("cfg", a="1"), deployment("web", replicas=2)])
    await fleet.wait_work("web", "Available")
    await fleet.member_admin.patch(
        "apps/v1",
        "Deployment",
        name="web",
        namespace="app",
        patch={"spec": {"replicas": 5}},
        field_manager="kubectl-edit",
    )

    async def corrected() -> bool:
        live = await fleet.member_get("apps/v1", "Deployment", "web", "app")
        return bool(live and live["spec"]["replicas"] == 2)

    await eventually(corrected)

    async def drift_reported() -> dict[str, Any] | None:
        work = await fleet.get_work("web")
        return work if work and manifest_condition(work, 1, "Drifted") else None

    work = await eventually(drift_reported)
    assert manifest_condition(work, 1, "Drifted")["reason"] in ("DriftCorrected", "NoDrift")  # type: ignore[index]
    before = await fleet.member_get("v1", "ConfigMap", "cfg", "app")
    assert before is not None
    await fleet.member_admin.delete("v1", "ConfigMap", name="cfg", namespace="app")

    async def recreated() -> dict[str, Any] | None:
        live = await fleet.member_get("v1", "ConfigMap", "cfg", "app")
        return live if live and live["metadata"]["uid"] != before["metadata"]["uid"] else None

    again = await eventually(recreated)

    async def recorded() -> bool:
        applied = await fleet.member_get(AW, "AppliedWork", f"{fleet.namespace}.web")
        uids = {
            r["name"]: r.get("uid") for r in (applied or {}).get("status", {}).get("appliedResources", [])
        }
        return uids.get("cfg") == again["metadata"]["uid"]

    await eventually(recorded)


async def test_removed_manifest_and_deleted_work_remove_exactly_what_was_applied(fleet: Fleet) -> None:
    await fleet.start_agent()
    await fleet.member_admin.create(configmap("bystander", namespace="default"))
    await fleet.create_work("w", [configmap("a", namespace="default"), configmap("b", namespace="default")])
    await fleet.wait_work("w", "Applied")
    await fleet.update_work_spec("w", workload={"manifests": [configmap("a", namespace="default")]})

    async def b_gone() -> bool:
        return await fleet.member_get("v1", "ConfigMap", "b", "default") is None

    await eventually(b_gone)
    assert await fleet.member_get("v1", "ConfigMap", "a", "default") is not None
    await fleet.hub_admin.delete("work.waybill.dev/v1alpha1", "Work", name="w", namespace=fleet.namespace)

    async def all_gone() -> bool:
        return (
            await fleet.member_get("v1", "ConfigMap", "a", "default") is None
            and await fleet.get_work("w") is None
            and await fleet.member_get(AW, "AppliedWork", f"{fleet.namespace}.w") is None
        )

    await eventually(all_gone)
    assert await fleet.member_get("v1", "ConfigMap", "bystander", "default") is not None


async def test_orphan_keeps_resources(fleet: Fleet) -> None:
    await fleet.start_agent()
    await fleet.create_work(
        "keep", [configmap("kept", namespace="default")], deleteOption={"propagationPolicy": "Orphan"}
    )
    await fleet.wait_work("keep", "Applied")
    await fleet.hub_admin.delete("work.waybill.dev/v1alpha1", "Work", name="keep", namespace=fleet.namespace)

    async def released() -> bool:
        return await fleet.get_work("keep") is None and (
            await fleet.member_get(AW, "AppliedWork", f"{fleet.namespace}.keep") is None
        )

    await eventually(released)
    live = await fleet.member_get("v1", "ConfigMap", "kept", "default")
    assert live is not None and not live["metadata"].get("ownerReferences")


async def test_existing_object_is_not_taken_over_unless_allowed(fleet: Fleet) -> None:
    await fleet.member_admin.create(configmap("theirs", namespace="default", k="original"))
    await fleet.start_agent()
    await fleet.create_work(
        "take",
        [configmap("theirs", namespace="default", k="hub")],
        applyStrategy={"whenToTakeOver": "IfNoDiff"},
    )
    work = await fleet.wait_work("take", "Applied", "False")

    async def reported() -> dict[str, Any] | None:
        w = await fleet.get_work("take")
        return w if w and manifest_condition(w, 0, "Applied") else None

    work = await eventually(reported)
    assert manifest_condition(work, 0, "Applied")["reason"] == "NotTakenOver"  # type: ignore[index]
    assert manifest_entry(work, 0)["diffs"] == [
        {"path": "/data/k", "memberValue": "original", "hubValue": "hub"}
    ]
    live = await fleet.member_get("v1", "ConfigMap", "theirs", "default")
    assert live is not None and live["data"] == {"k": "original"}
    await fleet.update_work_spec("take", applyStrategy={"whenToTakeOver": "Always"})
    await fleet.wait_work("take", "Applied")
    live = await fleet.member_get("v1", "ConfigMap", "theirs", "default")
    assert live is not None and live["data"] == {"k": "hub"}


async def test_report_diff_never_writes(fleet: Fleet) -> None:
    await fleet.member_admin.create(configmap("seen", namespace="default", k="member"))
    await fleet.start_agent()
    await fleet.create_work(
        "diff",
        [configmap("seen", namespace="default", k="hub"), configmap("absent", namespace="default")],
        applyStrategy={"type": "ReportDiff"},
    )
    work = await fleet.wait_work("diff", "DiffReported")
    assert manifest_entry(work, 0)["diffs"][0]["path"] == "/data/k"
    assert manifest_entry(work, 1)["diffs"][0]["path"] == "/"
    assert await fleet.member_get("v1", "ConfigMap", "absent", "default") is None
    live = await fleet.member_get("v1", "ConfigMap", "seen", "default")
    assert live is not None and live["data"] == {"k": "member"}


async def test_fields_of_a_respected_manager_are_left_alone(fleet: Fleet) -> None:
    await fleet.start_agent(respected_managers=("autoscaler",))
    await fleet.create_work("scaled", [deployment("api", namespace="default", replicas=2)])
    await fleet.wait_work("scaled", "Applied")
    await fleet.member_admin.patch(
        "apps/v1",
        "Deployment",
        name="api",
        namespace="default",
        patch={"spec": {"replicas": 4}},
        field_manager="autoscaler",
    )
    # A change to the Work makes the agent apply again: replicas must stay the autoscaler's.
    await fleet.update_work_spec(
        "scaled",
        workload={"manifests": [deployment("api", namespace="default", replicas=2, image="nginx:2")]},
    )

    async def image_updated() -> dict[str, Any] | None:
        live = await fleet.member_get("apps/v1", "Deployment", "api", "default")
        image = live["spec"]["template"]["spec"]["containers"][0]["image"] if live else None
        return live if image == "nginx:2" else None

    live = await eventually(image_updated)
    assert live["spec"]["replicas"] == 4
    work = await fleet.wait_work("scaled", "Applied")
    assert not manifest_entry(work, 0).get("drifts")


async def test_crd_and_its_custom_resources_in_one_work(fleet: Fleet) -> None:
    await fleet.start_agent()
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}
                            },
                        }
                    },
                }
            ],
        },
    }
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w1", "namespace": "default"},
        "spec": {"size": 3},
    }
    await fleet.create_work("crd", [widget, crd])
    work = await fleet.wait_work("crd", "Available")
    assert manifest_condition(work, 0, "Available")["reason"] == "NotTracked"  # type: ignore[index]
    live = await fleet.member_get("example.com/v1", "Widget", "w1", "default")
    assert live is not None and live["spec"]["size"] == 3


async def test_created_namespace_is_removed_only_when_nothing_else_lives_there(fleet: Fleet) -> None:
    await fleet.start_agent()
    await fleet.create_work("solo", [configmap("x", namespace="solo-ns")])
    await fleet.create_work("busy", [configmap("y", namespace="busy-ns")])
    await fleet.wait_work("solo", "Applied")
    await fleet.wait_work("busy", "Applied")
    ns = await fleet.member_get("v1", "Namespace", "solo-ns")
    assert (
        ns is not None
        and ns["metadata"]["annotations"]["waybill.dev/created-namespace"] == f"{fleet.namespace}/solo"
    )

    async def recorded() -> bool:
        applied = await fleet.member_get(AW, "AppliedWork", f"{fleet.namespace}.solo")
        kinds = {
            r["kind"]: r.get("uid") for r in (applied or {}).get("status", {}).get("appliedResources", [])
        }
        return kinds.get("Namespace") == ns["metadata"]["uid"]

    await eventually(recorded)
    await fleet.member_admin.create(configmap("someone-elses", namespace="busy-ns"))
    for name in ("solo", "busy"):
        await fleet.hub_admin.delete(AW, "Work", name=name, namespace=fleet.namespace)

    async def settled() -> bool:
        solo = await fleet.member_get("v1", "Namespace", "solo-ns")
        return (solo is None or solo.get("status", {}).get("phase") == "Terminating") and (
            await fleet.get_work("busy") is None
            and await fleet.member_get("v1", "ConfigMap", "y", "busy-ns") is None
        )

    await eventually(settled)
    assert await fleet.member_get("v1", "Namespace", "busy-ns") is not None
    assert await fleet.member_get("v1", "ConfigMap", "someone-elses", "busy-ns") is not None


async def test_two_works_never_fight_over_one_object(fleet: Fleet) -> None:
    await fleet.start_agent()
    await fleet.create_work("first", [configmap("shared", namespace="default", k="1")])
    await fleet.wait_work("first", "Applied")
    await fleet.create_work(
        "second",
        [configmap("shared", namespace="default", k="1")],
        applyStrategy={"whenToTakeOver": "Always"},
    )
    work = await fleet.wait_work("second", "Applied", "False")

    async def reported() -> dict[str, Any] | None:
        w = await fleet.get_work("second")
        return w if w and manifest_condition(w, 0, "Applied") else None

    work = await eventually(reported)
    assert manifest_condition(work, 0, "Applied")["reason"] == "AppliedByAnotherWork"  # type: ignore[index]
    live = await fleet.member_get("v1", "ConfigMap", "shared", "default")
    assert live is not None and live["metadata"]["labels"]["waybill.dev/work-name"] == "first"
    assert [r["name"] for r in live["metadata"]["ownerReferences"]] == [f"{fleet.namespace}.first"]


async def test_fields_dropped_from_the_manifest_are_removed_ssa_and_csa(fleet: Fleet) -> None:
    await fleet.start_agent()
    for name, strategy in (("ssa", "ServerSideApply"), ("csa", "ClientSideApply")):
        await fleet.create_work(
            name,
            [configmap(name, namespace="default", keep="1", drop="2")],
            applyStrategy={"type": strategy, "whenToTakeOver": "Always"},
        )
        await fleet.wait_work(name, "Applied")
        await fleet.update_work_spec(
            name, workload={"manifests": [configmap(name, namespace="default", keep="3")]}
        )

    async def pruned() -> bool:
        for name in ("ssa", "csa"):
            live = await fleet.member_get("v1", "ConfigMap", name, "default")
            if not live or live.get("data") != {"keep": "3"}:
                return False
        return True

    await eventually(pruned)
    csa = await fleet.member_get("v1", "ConfigMap", "csa", "default")
    assert (
        csa is not None
        and "kubectl.kubernetes.io/last-applied-configuration" in csa["metadata"]["annotations"]
    )


async def test_a_work_that_vanishes_unseen_is_removed_only_after_a_grace_period(fleet: Fleet) -> None:
    first = await fleet.start_agent()
    await fleet.create_work("ghost", [configmap("haunt", namespace="default")])
    await fleet.wait_work("ghost", "Applied")
    # The Work is deleted while the agent is down: no agent sees the deletion, the Work is simply
    # not on the hub any more (as after a hub restored without its Works).
    await fleet.stop_agent(first)
    await fleet.hub_admin.delete(AW, "Work", name="ghost", namespace=fleet.namespace)
    assert await fleet.get_work("ghost") is None
    second = await fleet.start_agent(orphaned_applied_work_grace=4.0)
    assert second.controller is not None

    async def noticed() -> bool:
        return await fleet.member_get(AW, "AppliedWork", f"{fleet.namespace}.ghost") is not None and (
            second.works is not None and second.works.has_synced
        )

    await eventually(noticed)
    assert await fleet.member_get("v1", "ConfigMap", "haunt", "default") is not None

    async def removed() -> bool:
        return await fleet.member_get("v1", "ConfigMap", "haunt", "default") is None and (
            await fleet.member_get(AW, "AppliedWork", f"{fleet.namespace}.ghost") is None
        )

    await eventually(removed, within=20)
