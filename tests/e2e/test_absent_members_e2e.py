"""Absent members are not healthy (issue #10, deliverable 4), end to end on kubesim, pull and push.

* a member whose agent never connected carries the not-ready NoSchedule taint and gets nothing:
  Divided replicas all go to the members that report (before: 6 went 3/3 and the hub showed 3/6);
* a member whose Lease expired shows ``Unknown`` with the time of its last report in the binding
  and in ``waybill status``; the template counts only the members that report, and gets a
  ``MemberUnreachable`` Event (before: still Healthy / available);
* a member held at its last good manifest (an override that fails for it) shows what it really
  runs: ``applied: false, held: true`` and its real replicas (before: "Applied: True
  (AppliedEverywhere)" with the new count).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from shared.api import names
from shared.kube.client import KubeClient
from tests.e2e.e2e_fleet import E2EFleet, SimFactory, e2e_fleet, join, start_agent, stop_agent
from tests.hub.fleet import eventually
from waybill import cli

MODES = [pytest.param([], id="pull"), pytest.param(["--mode", "push"], id="push")]
SHOP = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}


def web(replicas: int, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web", **labels}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]},
            },
        },
    }


def policy(scheduling: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": names.POLICY_API_VERSION,
        "kind": "PropagationPolicy",
        "metadata": {"name": "shop", "namespace": "shop"},
        "spec": {
            "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}],
            "placement": {"replicaScheduling": scheduling},
        },
    }


DIVIDED = {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Weighted"}
DUPLICATED = {"replicaSchedulingType": "Duplicated"}


async def binding(fleet: E2EFleet) -> dict[str, Any]:
    return await fleet.hub_api.get(  # type: ignore[no-any-return]
        names.WORK_API_VERSION, names.KIND_RESOURCE_BINDING, name="web-deployment", namespace="shop"
    )


def entries(found: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["clusterName"]: i for i in (found.get("status") or {}).get("aggregatedStatus") or []}


def condition(found: dict[str, Any], kind: str) -> dict[str, Any]:
    return next((c for c in (found.get("status") or {}).get("conditions") or [] if c["type"] == kind), {})


async def template(fleet: E2EFleet) -> dict[str, Any]:
    return await fleet.hub_api.get("apps/v1", "Deployment", name="web", namespace="shop")  # type: ignore[no-any-return]


async def waybill_status(fleet: E2EFleet, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    argv = ["status", "deployment/web", "-n", "shop", "--kubeconfig", str(fleet.hub_sim.kubeconfig_path)]
    assert await asyncio.to_thread(cli.main, argv) == 0
    return capsys.readouterr().out


def row(text: str, cluster: str) -> list[str]:
    return next(line.split() for line in text.splitlines() if line.startswith(f"{cluster} "))


@pytest.mark.parametrize("mode", MODES)
async def test_member_that_never_connected_gets_nothing(
    sim_factory: SimFactory, tmp_path: Path, mode: list[str]
) -> None:
    async with e2e_fleet(sim_factory, tmp_path, {"a": mode, "b": mode}) as fleet:
        await join(fleet.hub_sim, "ghost", tmp_path / "ghost-hub.kubeconfig", *mode)  # no agent, ever

        async def ghost() -> dict[str, Any]:
            return await fleet.hub_api.get(  # type: ignore[no-any-return]
                names.CLUSTER_API_VERSION, names.KIND_MEMBER_CLUSTER, name="ghost", namespace="member-ghost"
            )

        await fleet.apply(SHOP, policy(DIVIDED), web(6))

        async def divided() -> dict[str, Any] | None:
            found = await binding(fleet)
            clusters = {c["name"]: c.get("replicas") for c in found["spec"].get("clusters") or []}
            decided = ((found.get("status") or {}).get("schedulingDecision") or {}).get("rejected")
            return found if clusters == {"a": 3, "b": 3} and decided else None

        placed = await eventually(divided, within=20, what="6 replicas divided over a and b only")
        rejected = {r["cluster"]: r["reason"] for r in placed["status"]["schedulingDecision"]["rejected"]}
        assert "ghost" in rejected, rejected

        async def ready_everywhere() -> bool:
            status = (await template(fleet)).get("status") or {}
            return status.get("readyReplicas") == 6 and status.get("observedGeneration") == 1

        await eventually(ready_everywhere, within=20, what="the hub shows 6/6 ready")
        found = await ghost()  # created not-ready by join: never schedulable before its agent
        assert [(t["key"], t["effect"]) for t in found["spec"]["taints"]] == [
            (names.TAINT_NOT_READY, "NoSchedule")
        ]
        works = await fleet.hub_api.list(names.WORK_API_VERSION, names.KIND_WORK, namespace="member-ghost")
        assert works.items == []
        ready = condition(await ghost(), names.CONDITION_READY)
        assert (ready.get("status"), ready.get("reason")) == ("Unknown", "AwaitingAgent")
        # its first heartbeat makes it schedulable: the taint goes and the replicas are divided anew
        fleet.members["ghost"] = await sim_factory("ghost", workloads=True, workload_delay=0.05)
        fleet.member_apis["ghost"] = await KubeClient.from_kubeconfig(
            fleet.members["ghost"].kubeconfig_path, name="member-ghost"
        )
        await start_agent(fleet, "ghost", tmp_path / "ghost-hub.kubeconfig")

        async def three_ways() -> bool:
            clusters = {c["name"]: c.get("replicas") or 0 for c in (await binding(fleet))["spec"]["clusters"]}
            return clusters.get("ghost", 0) > 0 and sum(clusters.values()) == 6

        await eventually(three_ways, within=20, what="ghost scheduled after its first heartbeat")
        assert not (await ghost())["spec"].get("taints")


@pytest.mark.parametrize("mode", MODES)
async def test_unreachable_member_is_unknown_with_its_last_report(
    sim_factory: SimFactory, tmp_path: Path, mode: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    async with e2e_fleet(sim_factory, tmp_path, {"a": mode, "b": mode}, grace_seconds=1.5) as fleet:
        await fleet.apply(SHOP, policy(DIVIDED), web(4))

        async def healthy_everywhere() -> bool:
            found = entries(await binding(fleet))
            return sorted(c for c, i in found.items() if i["health"] == "Healthy") == ["a", "b"]

        await eventually(healthy_everywhere, within=20, what="web healthy on a and b")
        await eventually(
            lambda: _status_is(fleet, readyReplicas=4), within=20, what="template shows 4 ready replicas"
        )
        await stop_agent(fleet, "a")

        async def unknown() -> dict[str, Any] | None:
            found = await binding(fleet)
            item = entries(found).get("a") or {}
            return found if item.get("health") == "Unknown" and item.get("lastReportTime") else None

        found = await eventually(unknown, within=15, what="a's entry Unknown with its last report time")
        lease = await fleet.hub_api.get(
            "coordination.k8s.io/v1", "Lease", name=names.HEARTBEAT_LEASE_NAME, namespace="member-a"
        )
        item = entries(found)["a"]
        assert item["lastReportTime"] == lease["spec"]["renewTime"]
        assert "available" not in item and entries(found)["b"]["health"] == "Healthy"
        available = condition(found, names.CONDITION_AVAILABLE)
        assert (available["status"], available["reason"]) == ("Unknown", "MemberUnreachable")
        assert item["lastReportTime"] in available["message"]
        # the template counts only what is known: b's 2 ready replicas
        await eventually(lambda: _status_is(fleet, readyReplicas=2), within=10, what="template counts b only")
        text = await waybill_status(fleet, capsys)
        cells = row(text, "a")
        assert cells[3:5] == ["unknown", "unknown"], text  # APPLIED, AVAILABLE
        assert item["lastReportTime"] in text
        assert row(text, "b")[3:5] == ["yes", "yes"]

        async def event() -> list[dict[str, Any]]:
            listed = await fleet.hub_api.list("v1", "Event", namespace="shop")
            return [
                e
                for e in listed.items
                if e.get("reason") == "MemberUnreachable" and e["involvedObject"].get("kind") == "Deployment"
            ]

        events = await eventually(event, within=10, what="MemberUnreachable Event on the template")
        assert "member a is unreachable" in events[0]["message"] and events[0]["type"] == "Warning"
        # a new version rolls out on b; with a unknown, the template's observedGeneration stays
        new = web(4)
        new["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26"
        await fleet.apply(new)

        async def b_caught_up() -> bool:
            live = await fleet.member_apis["b"].get("apps/v1", "Deployment", name="web", namespace="shop")
            image = live["spec"]["template"]["spec"]["containers"][0]["image"]
            b = entries(await binding(fleet))["b"]
            fed = (b.get("status") or {}).get("ObservedGeneration")
            return image == "nginx:1.26" and fed == live["metadata"]["generation"]

        await eventually(b_caught_up, within=15, what="b reports the new version")
        current = await template(fleet)
        assert current["metadata"]["generation"] == 2
        assert current["status"]["observedGeneration"] == 1  # a is not known to have caught up
        # back: the entry is known again and the template counts both members
        await start_agent(fleet, "a", tmp_path / "a-hub.kubeconfig")
        await eventually(healthy_everywhere, within=20, what="a healthy again")
        assert "lastReportTime" not in entries(await binding(fleet))["a"]
        await eventually(
            lambda: _status_is(fleet, readyReplicas=4), within=20, what="template counts a again"
        )


async def _status_is(fleet: E2EFleet, **wanted: Any) -> bool:
    status = (await template(fleet)).get("status") or {}
    return all(status.get(k) == v for k, v in wanted.items())


@pytest.mark.parametrize("mode", MODES)
async def test_held_cluster_shows_what_it_runs(
    sim_factory: SimFactory, tmp_path: Path, mode: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    override = {
        "apiVersion": names.POLICY_API_VERSION,
        "kind": "OverridePolicy",
        "metadata": {"name": "b-tier", "namespace": "shop"},
        "spec": {
            "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}],
            "overrideRules": [
                {
                    "targetCluster": {"clusterNames": ["b"]},
                    "overriders": {
                        "plaintext": [{"path": "/metadata/labels/tier", "operator": "replace", "value": "b"}]
                    },
                }
            ],
        },
    }
    async with e2e_fleet(sim_factory, tmp_path, {"a": mode, "b": mode}) as fleet:
        await fleet.apply(SHOP, policy(DUPLICATED), override, web(2, tier="web"))

        async def applied_everywhere() -> bool:
            return condition(await binding(fleet), names.CONDITION_APPLIED).get("status") == "True"

        await eventually(applied_everywhere, within=20, what="web applied on a and b")
        # the new version drops the label b's override replaces: b keeps its last good manifest
        await fleet.apply(SHOP, web(3))

        async def held() -> dict[str, Any] | None:
            found = await binding(fleet)
            b = entries(found).get("b") or {}
            a = entries(found).get("a") or {}
            ok = b.get("held") and (a.get("status") or {}).get("Replicas") == 3
            return found if ok else None

        found = await eventually(held, within=20, what="b held at its last good manifest")
        b = entries(found)["b"]
        assert b["applied"] is False and b["status"]["Replicas"] == 2  # what it really runs
        assert any("b-tier" in e for e in b["errors"])
        applied = condition(found, names.CONDITION_APPLIED)
        assert (applied["status"], applied["reason"]) == ("False", "NotAppliedEverywhere"), applied
        assert "b" in applied["message"]
        member_b = await fleet.member_apis["b"].get("apps/v1", "Deployment", name="web", namespace="shop")
        assert member_b["spec"]["replicas"] == 2
        text = await waybill_status(fleet, capsys)
        assert "Applied:   False (NotAppliedEverywhere)" in text, text
        cells = row(text, "b")
        assert cells[1:4] == ["2", "(wants", "3)"], text
        assert "no (held)" in text
        assert row(text, "a")[1] == "3"
        assert (await template(fleet)).get("status", {}).get("observedGeneration") != 2
