"""``failover.application.statePreservation`` (hub.state_preservation), as Karmada's
StatefulFailoverInjection gate: values of the evicted member's status become labels of the
workload on the member that replaces it."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hub import failover, rendering, state_preservation
from hub.matching import PolicyRef
from shared.api import names
from shared.kube.errors import NotFound
from tests.e2e.e2e_fleet import SimFactory, e2e_fleet, stop_agent
from tests.hub.fleet import eventually
from tests.karmada.test_karmada_e2e import SHOP, binding, bound_clusters, deployment, member_object, pp

ALIAS = "example.com/failover-reason"
RULES = {"rules": [{"aliasLabelName": ALIAS, "jsonPath": '{ .conditions[?(@.type=="Progressing")].reason }'}]}


def _spec(purge: str = "Directly") -> dict[str, Any]:
    return {
        "failover": {
            "application": {
                "decisionConditions": {"tolerationSeconds": 1},
                "purgeMode": purge,
                "statePreservation": RULES,
            }
        }
    }


# --- pure -------------------------------------------------------------------------------------------
def test_the_rules_become_feedback_paths_relative_to_status() -> None:
    assert state_preservation.feedback_paths(_spec()) == [
        {"name": ALIAS, "path": '.conditions[?(@.type=="Progressing")].reason'}
    ]
    options = rendering.WorkOptions.for_policy(_spec())
    works = rendering.pack_works(
        policy=PolicyRef("PropagationPolicy", "shop", "web"),
        cluster="m1",
        member_namespace="member-m1",
        manifests=[deployment()],
        options=options,
    )
    rules = works[0]["spec"]["manifestConfigs"][0]["feedbackRules"]
    assert {"type": "WellKnownStatus"} in rules
    assert {
        "type": "JSONPaths",
        "jsonPaths": [{"name": ALIAS, "path": state_preservation.feedback_paths(_spec())[0]["path"]}],
    } in rules
    assert state_preservation.feedback_paths({}) == []


def test_the_state_is_recorded_at_eviction_and_injected_only_where_karmada_injects() -> None:
    statuses = {"m1": {ALIAS: "ProgressDeadlineExceeded", "Replicas": 2}}
    recorded = state_preservation.record(
        spec=_spec(), annotations={}, app_evicted=["m1"], statuses=statuses, clusters_before=["m1"]
    )
    annotations = {k: v for k, v in recorded.items() if v is not None}
    state = state_preservation.PreservedState.from_annotations(annotations)
    assert state is not None and state.labels == {ALIAS: "ProgressDeadlineExceeded"}
    manifest = deployment()
    injected = state_preservation.inject(manifest, annotations=annotations, cluster="m2", total_clusters=1)
    assert injected["metadata"]["labels"][ALIAS] == "ProgressDeadlineExceeded"
    assert ALIAS not in manifest["metadata"]["labels"]  # not mutated
    # Karmada's restrictions: not on a cluster it was on before, not when spread over several,
    # not with a graceful purge.
    assert (
        state_preservation.inject(manifest, annotations=annotations, cluster="m1", total_clusters=1)
        == manifest
    )
    assert (
        state_preservation.inject(manifest, annotations=annotations, cluster="m2", total_clusters=2)
        == manifest
    )
    graceful = state_preservation.record(
        spec=_spec("Gracefully"),
        annotations={},
        app_evicted=["m1"],
        statuses=statuses,
        clusters_before=["m1"],
    )
    assert (
        state_preservation.inject(
            manifest, annotations={k: v for k, v in graceful.items() if v}, cluster="m2", total_clusters=1
        )
        == manifest
    )
    # nothing new evicted: the record stays; the rules removed: it goes
    assert (
        state_preservation.record(
            spec=_spec(),
            annotations=annotations,
            statuses={},
            clusters_before=["m2"],
        )
        == {}
    )
    assert state_preservation.record(
        spec={},
        annotations=annotations,
        statuses={},
        clusters_before=["m2"],
    ) == {state_preservation.ANNOTATION_PRESERVED: None}


def test_cluster_rules_record_a_taint_eviction_and_feed_back_too() -> None:
    spec = {"failover": {"cluster": {"purgeMode": "Directly", "statePreservation": RULES}}}
    assert state_preservation.feedback_paths(spec) == state_preservation.feedback_paths(_spec())
    recorded = state_preservation.record(
        spec=spec,
        annotations={},
        app_evicted=["m1"],  # no application rules: an application eviction records nothing
        statuses={"m1": {ALIAS: "x"}},
        clusters_before=["m1"],
    )
    assert recorded == {}
    recorded = state_preservation.record(
        spec=spec,
        annotations={},
        cluster_evicted=["m1"],
        statuses={"m1": {ALIAS: "x"}},
        clusters_before=["m1"],
    )
    state = state_preservation.PreservedState.from_annotations({k: v for k, v in recorded.items() if v})
    assert state == state_preservation.PreservedState({ALIAS: "x"}, ("m1",), "Directly")


def test_the_eviction_waits_until_the_state_is_reported() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    annotations = {failover.ANNOTATION_UNHEALTHY_SINCE: '{"m1": "2025-12-31T23:00:00Z"}'}
    rules = state_preservation.rules_of(_spec())
    held = failover.application_failover(
        spec=_spec(),
        annotations=annotations,
        placed=["m1"],
        health={"m1": "Unhealthy"},
        now=now,
        may_evict=lambda c: not state_preservation.missing(rules, {}),
    )
    assert held.evicted == {} and held.recheck_after == failover.HOLD_RECHECK_SECONDS
    done = failover.application_failover(
        spec=_spec(),
        annotations=annotations,
        placed=["m1"],
        health={"m1": "Unhealthy"},
        now=now + timedelta(seconds=1),
        may_evict=lambda c: not state_preservation.missing(rules, {ALIAS: "x"}),
    )
    assert set(done.evicted) == {"m1"}


# --- end to end -------------------------------------------------------------------------------------
@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not on PATH")
async def test_application_failover_carries_the_preserved_state_to_the_new_member(
    sim_factory: SimFactory, tmp_path: Path
) -> None:
    """m1 runs no Deployment controller: the test reports the workload failing there
    (ProgressDeadlineExceeded); it fails over to m2, whose copy carries the reason as a label."""
    async with e2e_fleet(sim_factory, tmp_path, {"m1": [], "m2": []}, without_workloads=["m1"]) as fleet:
        policy = pp(
            "web",
            {
                "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}],
                **_spec("Immediately"),  # Karmada's older spelling of Directly, as in its documentation
                "placement": {
                    # m1 first (it simulates no nodes, so it would not rank first by room)
                    "clusterAffinities": [
                        {"affinityName": "primary", "clusterNames": ["m1"]},
                        {"affinityName": "backup", "clusterNames": ["m2"]},
                    ],
                },
            },
        )
        await fleet.apply(SHOP, policy, deployment())

        async def on(clusters: list[str]) -> bool:
            return bound_clusters(await binding(fleet, "web-deployment")) == clusters

        await eventually(lambda: on(["m1"]), what="web placed on m1")
        placed = await eventually(
            lambda: member_object(fleet, "m1", "Deployment", "web", "apps/v1"), what="web on m1"
        )
        assert ALIAS not in (placed["metadata"].get("labels") or {})
        # The failing rollout, as m1's Deployment controller would report it.
        await fleet.member_apis["m1"].patch_status(
            "apps/v1",
            "Deployment",
            name="web",
            namespace="shop",
            patch={
                "status": {
                    "observedGeneration": placed["metadata"]["generation"],
                    "replicas": 2,
                    "conditions": [
                        {
                            "type": "Progressing",
                            "status": "False",
                            "reason": "ProgressDeadlineExceeded",
                            "message": "ReplicaSet web has timed out progressing.",
                        }
                    ],
                }
            },
        )
        await eventually(lambda: on(["m2"]), within=30, what="web failed over to m2")
        found = await binding(fleet, "web-deployment")
        state = state_preservation.PreservedState.from_annotations(found["metadata"].get("annotations"))
        assert state is not None and state.labels == {ALIAS: "ProgressDeadlineExceeded"}
        assert state.clusters_before_failover == ("m1",)

        async def labelled() -> dict[str, Any] | None:
            moved = await member_object(fleet, "m2", "Deployment", "web", "apps/v1")
            return (
                moved
                if (moved["metadata"].get("labels") or {}).get(ALIAS) == "ProgressDeadlineExceeded"
                else None
            )

        await eventually(labelled, what="the preserved state injected on m2")
        # purgeMode Immediately: m1's copy is removed at once.

        async def gone_from_m1() -> bool:
            try:
                await member_object(fleet, "m1", "Deployment", "web", "apps/v1")
            except NotFound:
                return True
            return False

        await eventually(gone_from_m1, within=20, what="web removed from m1")
        # The template on the hub is untouched: only m2's copy has the label.
        template = await fleet.hub_api.get("apps/v1", "Deployment", name="web", namespace="shop")
        assert ALIAS not in (template["metadata"].get("labels") or {})
        assert names.CONDITION_SCHEDULED in {c["type"] for c in found["status"]["conditions"]}


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not on PATH")
async def test_cluster_failover_carries_the_lost_members_last_reported_state(
    sim_factory: SimFactory, tmp_path: Path
) -> None:
    """failover.cluster.statePreservation: the member's agent stops, its Lease expires, the NoExecute
    taint evicts the workload (purgeMode Directly); the other member's copy gets the value the lost
    member reported last."""
    ready = "example.com/ready-replicas"
    async with e2e_fleet(
        sim_factory, tmp_path, {"a": [], "b": []}, grace_seconds=1.5, failover_eviction_seconds=1.0
    ) as fleet:
        policy = pp(
            "web",
            {
                "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}],
                "failover": {
                    "cluster": {
                        "purgeMode": "Directly",
                        "statePreservation": {
                            "rules": [{"aliasLabelName": ready, "jsonPath": "{.readyReplicas}"}]
                        },
                    }
                },
                "placement": {
                    "spreadConstraints": [{"spreadByField": "cluster", "minGroups": 1, "maxGroups": 1}]
                },
            },
        )
        await fleet.apply(SHOP, policy, deployment(replicas=2))

        async def reported() -> tuple[str, Any] | None:
            found = await binding(fleet, "web-deployment")
            for item in (found.get("status") or {}).get("aggregatedStatus") or []:
                value = (item.get("status") or {}).get(ready)
                if value is not None:
                    return str(item["clusterName"]), value
            return None

        lost, value = await eventually(reported, what="the member reports readyReplicas")
        assert value == 2
        other = ({"a", "b"} - {lost}).pop()
        await stop_agent(fleet, lost)

        async def moved() -> bool:
            return bound_clusters(await binding(fleet, "web-deployment")) == [other]

        await eventually(moved, within=30, what="moved off the lost member")

        async def labelled() -> dict[str, Any] | None:
            copy = await member_object(fleet, other, "Deployment", "web", "apps/v1")
            return copy if (copy["metadata"].get("labels") or {}).get(ready) == "2" else None

        await eventually(labelled, what="the lost member's state on the other member")
        state = state_preservation.PreservedState.from_annotations(
            (await binding(fleet, "web-deployment"))["metadata"].get("annotations")
        )
        assert state is not None and state.clusters_before_failover == (lost,)
