"""Table tests for hub.scheduling: filters, affinities, spread, replicas, reasons."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub import scheduling
from hub.clusters import UNREACHABLE_TAINT, ClusterView, Taint
from shared.api.policy import Placement
from tests.hub.helpers import configmap, deployment

FLEET = [
    ClusterView(
        "eu1",
        labels={"env": "prod", "geo": "eu"},
        provider="aws",
        region="eu-west",
        zone="a",
        available={"cpu": "4"},
    ),
    ClusterView(
        "eu2",
        labels={"env": "prod", "geo": "eu"},
        provider="gcp",
        region="eu-west",
        zone="b",
        available={"cpu": "2"},
    ),
    ClusterView(
        "us1",
        labels={"env": "prod", "geo": "us"},
        provider="aws",
        region="us-east",
        zone="a",
        available={"cpu": "8"},
    ),
    ClusterView("dev", labels={"env": "dev"}, provider="kind", available={"cpu": "1"}),
]


def placed(decision: scheduling.Decision) -> dict[str, int | None]:
    return decision.replicas_by_cluster()


def reasons(decision: scheduling.Decision) -> dict[str, str]:
    return {r.cluster: r.reason for r in decision.rejections}


@pytest.mark.parametrize(
    ("placement", "expected", "why"),
    [
        pytest.param({}, {"dev": None, "eu1": None, "eu2": None, "us1": None}, {}, id="everywhere"),
        pytest.param(
            {"clusterAffinity": {"clusterNames": ["eu1", "us1"]}},
            {"eu1": None, "us1": None},
            {"dev": "NotInClusterNames", "eu2": "NotInClusterNames"},
            id="names",
        ),
        pytest.param(
            {"clusterAffinity": {"exclude": ["dev"]}},
            {"eu1": None, "eu2": None, "us1": None},
            {"dev": "Excluded"},
            id="exclude",
        ),
        pytest.param(
            {"clusterAffinity": {"labelSelector": {"matchLabels": {"geo": "eu"}}}},
            {"eu1": None, "eu2": None},
            {"dev": "LabelSelectorMismatch", "us1": "LabelSelectorMismatch"},
            id="labels",
        ),
        pytest.param(
            {
                "clusterAffinity": {
                    "fieldSelector": {
                        "matchExpressions": [{"key": "provider", "operator": "In", "values": ["aws"]}]
                    }
                }
            },
            {"eu1": None, "us1": None},
            {"dev": "FieldSelectorMismatch", "eu2": "FieldSelectorMismatch"},
            id="fields",
        ),
        pytest.param(
            # Karmada's group score: for a kind without replicas, the region with more clusters.
            {"spreadConstraints": [{"spreadByField": "region", "maxGroups": 1}]},
            {"eu1": None, "eu2": None},
            {"dev": "SpreadFieldMissing", "us1": "SpreadConstraint"},
            id="spread-region-most-clusters",
        ),
        pytest.param(
            {"spreadConstraints": [{"spreadByField": "cluster", "maxGroups": 2}]},
            {"us1": None, "eu1": None},
            {"eu2": "SpreadConstraint", "dev": "SpreadConstraint"},
            id="spread-cluster-capacity-first",
        ),
        pytest.param(
            {"spreadConstraints": [{"spreadByLabel": "geo", "minGroups": 2, "maxGroups": 2}]},
            {"eu1": None, "eu2": None, "us1": None},
            {"dev": "SpreadFieldMissing"},
            id="spread-label",
        ),
        pytest.param(
            {"maxClusters": 1},
            {"us1": None},
            {"dev": "MaxClusters", "eu1": "MaxClusters", "eu2": "MaxClusters"},
            id="max-clusters",
        ),
    ],
)
def test_filters(placement: dict[str, Any], expected: dict[str, int | None], why: dict[str, str]) -> None:
    decision = scheduling.schedule(policy_spec={"placement": placement}, template=configmap(), clusters=FLEET)
    assert decision.schedulable
    assert placed(decision) == expected
    assert reasons(decision) == why


def test_every_rejected_candidate_has_a_reason() -> None:
    decision = scheduling.schedule(
        policy_spec={
            "placement": {
                "clusterAffinity": {"labelSelector": {"matchLabels": {"env": "prod"}}},
                "maxClusters": 2,
            }
        },
        template=configmap(),
        clusters=FLEET,
    )
    assert set(decision.cluster_names) | set(reasons(decision)) == {c.name for c in FLEET}


def test_min_groups_unsatisfiable() -> None:
    decision = scheduling.schedule(
        policy_spec={"placement": {"spreadConstraints": [{"spreadByField": "region", "minGroups": 3}]}},
        template=configmap(),
        clusters=FLEET,
    )
    assert not decision.schedulable
    assert "needs 3 groups" in decision.message


def test_taints_and_tolerations() -> None:
    fleet = [
        ClusterView("a", taints=(Taint(key=UNREACHABLE_TAINT, effect="NoSchedule"),)),
        ClusterView("b", taints=(Taint(key="gpu", value="yes", effect="NoExecute"),)),
        ClusterView("c", taints=(Taint(key="soft", effect="PreferNoSchedule"),)),
    ]
    decision = scheduling.schedule(policy_spec={}, template=configmap(), clusters=fleet)
    assert decision.cluster_names == ["c"]
    assert reasons(decision) == {"a": "TaintNotTolerated", "b": "TaintNotTolerated"}
    assert UNREACHABLE_TAINT in decision.rejections[0].message
    tolerant = {
        "placement": {
            "clusterTolerations": [
                {"key": "gpu", "operator": "Equal", "value": "yes", "effect": "NoExecute"},
                {"key": UNREACHABLE_TAINT, "operator": "Exists"},
            ]
        }
    }
    decision = scheduling.schedule(policy_spec=tolerant, template=configmap(), clusters=fleet)
    assert decision.cluster_names == ["a", "b", "c"]


def test_noschedule_taint_keeps_existing_placement_noexecute_evicts() -> None:
    fleet = [
        ClusterView("a", taints=(Taint(key=UNREACHABLE_TAINT, effect="NoSchedule"),)),
        ClusterView("b", taints=(Taint(key="drain", effect="NoExecute"),)),
        ClusterView("c"),
    ]
    decision = scheduling.schedule(
        policy_spec={}, template=configmap(), clusters=fleet, previous={"a": None, "b": None}
    )
    assert decision.cluster_names == ["a", "c"]


def test_api_not_served() -> None:
    fleet = [
        ClusterView("old", api_resources=frozenset({"v1/ConfigMap"})),
        ClusterView("new", api_resources=frozenset({"v1/ConfigMap", "apps/v1/Deployment"})),
    ]
    decision = scheduling.schedule(policy_spec={}, template=deployment(), clusters=fleet)
    assert decision.cluster_names == ["new"]
    assert reasons(decision) == {"old": "APINotServed"}


def test_cluster_affinities_fall_back_in_order() -> None:
    spec = {
        "placement": {
            "clusterAffinities": [
                {"affinityName": "primary", "clusterNames": ["gone"]},
                {"affinityName": "backup", "labelSelector": {"matchLabels": {"geo": "us"}}},
            ]
        }
    }
    decision = scheduling.schedule(policy_spec=spec, template=configmap(), clusters=FLEET)
    assert decision.affinity_name == "backup"
    assert decision.cluster_names == ["us1"]
    assert "primary" in decision.message
    spec["placement"]["clusterAffinities"][0]["clusterNames"] = ["eu2"]
    decision = scheduling.schedule(policy_spec=spec, template=configmap(), clusters=FLEET)
    assert (decision.affinity_name, decision.cluster_names) == ("primary", ["eu2"])


def test_nothing_eligible() -> None:
    spec = {"placement": {"clusterAffinity": {"clusterNames": ["nope"]}}}
    decision = scheduling.schedule(policy_spec=spec, template=configmap(), clusters=FLEET)
    assert not decision.schedulable and decision.targets == []
    assert len(decision.rejections) == len(FLEET)


def divided(**preference: Any) -> dict[str, Any]:
    return {
        "placement": {
            "clusterAffinity": {"labelSelector": {"matchLabels": {"env": "prod"}}},
            "replicaScheduling": {"replicaSchedulingType": "Divided", **preference},
        }
    }


@pytest.mark.parametrize(
    ("spec", "replicas", "expected"),
    [
        pytest.param(
            {"placement": {"clusterAffinity": {"clusterNames": ["eu1", "us1"]}}},
            3,
            {"eu1": 3, "us1": 3},
            id="duplicated",
        ),
        pytest.param(divided(), 7, {"eu1": 3, "eu2": 2, "us1": 2}, id="divided-equal"),
        pytest.param(
            divided(
                replicaDivisionPreference="Weighted",
                weightPreference={
                    "staticWeightList": [
                        {"targetCluster": {"clusterNames": ["eu1"]}, "weight": 1},
                        {"targetCluster": {"clusterNames": ["us1"]}, "weight": 2},
                    ]
                },
            ),
            3,
            {"eu1": 1, "us1": 2},
            id="static-weights-zero-weight-no-copy",
        ),
        pytest.param(
            divided(
                replicaDivisionPreference="Weighted", weightPreference={"dynamicWeight": "AvailableReplicas"}
            ),
            14,
            {"eu1": 4, "eu2": 2, "us1": 8},
            id="available-replicas",
        ),
        pytest.param(divided(replicaDivisionPreference="Aggregated"), 10, {"us1": 10}, id="aggregated"),
        pytest.param(
            divided(replicaDivisionPreference="Aggregated"),
            20,
            {"us1": 16, "eu1": 4},
            id="aggregated-overflow",
        ),
        pytest.param(
            divided(clusterReplicaLimits=[{"targetCluster": {"clusterNames": ["eu1"]}, "maxReplicas": 1}]),
            9,
            {"eu1": 1, "eu2": 4, "us1": 4},
            id="per-cluster-max",
        ),
        pytest.param(divided(), 0, {"eu1": 0, "eu2": 0, "us1": 0}, id="scaled-to-zero-keeps-copies"),
    ],
)
def test_replicas(spec: dict[str, Any], replicas: int, expected: dict[str, int]) -> None:
    decision = scheduling.schedule(
        policy_spec=spec, template=deployment(replicas=replicas, cpu="500m"), clusters=FLEET
    )
    assert placed(decision) == expected
    assert sum(v or 0 for v in placed(decision).values()) in (replicas, replicas * len(expected))


def test_zero_replica_clusters_are_explained() -> None:
    decision = scheduling.schedule(policy_spec=divided(), template=deployment(replicas=1), clusters=FLEET)
    assert placed(decision) == {"eu1": 1}
    assert reasons(decision) == {
        "dev": "LabelSelectorMismatch",
        "eu2": "NoReplicasAssigned",
        "us1": "NoReplicasAssigned",
    }


def test_stable_when_nothing_changed() -> None:
    first = scheduling.schedule(policy_spec=divided(), template=deployment(replicas=2), clusters=FLEET)
    again = scheduling.schedule(
        policy_spec=divided(),
        template=deployment(replicas=2),
        clusters=FLEET,
        previous=first.replicas_by_cluster(),
    )
    assert placed(again) == placed(first)
    # a previous holder wins the tie even if its name sorts later
    moved = scheduling.schedule(
        policy_spec=divided(), template=deployment(replicas=1), clusters=FLEET, previous={"us1": 1}
    )
    assert placed(moved) == {"us1": 1}


@pytest.mark.parametrize(
    "placement",
    [
        {"spreadConstraints": [{"spreadByField": "planet"}]},
        {"spreadConstraints": [{"spreadByField": "zone", "spreadByLabel": "x"}]},
        {"spreadConstraints": [{"spreadByField": "zone", "minGroups": 3, "maxGroups": 2}]},
        {"clusterAffinity": {"labelSelector": {"matchExpressions": [{"key": "a", "operator": "Near"}]}}},
        {"replicaScheduling": {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Random"}},
    ],
)
def test_bad_placement_is_an_error(placement: dict[str, Any]) -> None:
    with pytest.raises(scheduling.PlacementError):
        scheduling.schedule(policy_spec={"placement": placement}, template=deployment(), clusters=FLEET)


@pytest.mark.parametrize(
    ("placement", "field"),
    [
        (
            {"clusterAffinity": {"labelSelector": {"matchExpressions": [{"key": "a", "operator": "Near"}]}}},
            "placement.clusterAffinity.labelSelector.matchExpressions[0].operator",
        ),
        ({"replicaScheduling": {"replicaDivisionPreference": "Random"}}, "placement.replicaScheduling"),
        (
            {"spreadConstraints": [{"spreadByField": "planet"}]},
            "placement.spreadConstraints[0].spreadByField",
        ),
        ({"clusterTolerations": [{"tolerationSeconds": "soon"}]}, "placement.clusterTolerations[0]"),
        (
            {"spreadConstraints": [{"spreadByField": "zone", "spreadByLabel": "x"}]},
            "placement.spreadConstraints[0]",
        ),
    ],
)
def test_a_placement_that_does_not_parse_names_the_field(placement: dict[str, Any], field: str) -> None:
    with pytest.raises(scheduling.PlacementError, match=re.escape(field)):
        scheduling.schedule(
            placement=scheduling.parse_placement({"placement": placement}),
            template=deployment(),
            clusters=FLEET,
        )


def test_the_typed_placement_and_the_wire_spec_decide_alike() -> None:
    spec = {
        "placement": {
            "clusterAffinity": {"labelSelector": {"matchLabels": {"env": "prod"}}},
            "maxClusters": 1,
        }
    }
    typed = scheduling.schedule(
        placement=scheduling.parse_placement(spec), template=configmap(), clusters=FLEET
    )
    wire = scheduling.schedule(policy_spec=spec, template=configmap(), clusters=FLEET)
    assert typed.targets == wire.targets and typed.rejections == wire.rejections
    assert len(typed.targets) == 1


def test_a_bad_override_target_cluster_names_the_field() -> None:
    with pytest.raises(scheduling.PlacementError, match=re.escape("clusterAffinity.exclude")):
        scheduling.affinity_rejection({"exclude": "a"}, FLEET[0])


T0 = datetime(2026, 1, 1, tzinfo=UTC)
LOST = ClusterView(
    "lost", taints=(Taint(key=UNREACHABLE_TAINT, effect="NoExecute", time_added="2026-01-01T00:00:00Z"),)
)


def test_graceful_eviction_keeps_the_old_copy_when_nothing_else_is_eligible() -> None:
    decision = scheduling.schedule(
        placement=Placement(),
        template=configmap(),
        clusters=[LOST],
        previous={"lost": None},
        now=T0 + timedelta(seconds=10),
        graceful_seconds=600,
    )
    assert not decision.schedulable
    assert [(t.cluster, t.reason) for t in decision.targets] == [("lost", "GracefulEviction")]
    assert decision.rejections == [], "the kept copy is not reported as rejected"
    assert decision.recheck_at == T0 + timedelta(seconds=12)
    expired = scheduling.schedule(
        placement=Placement(),
        template=configmap(),
        clusters=[LOST],
        previous={"lost": None},
        now=T0 + timedelta(seconds=600),
        graceful_seconds=600,
    )
    assert expired.targets == [] and [r.reason for r in expired.rejections] == ["TaintNotTolerated"]


@pytest.mark.parametrize(("purge", "kept"), [("Gracefully", True), ("Never", True), ("Directly", False)])
def test_application_failover_keeps_the_old_copy_when_nothing_else_is_eligible(
    purge: str, kept: bool
) -> None:
    decision = scheduling.schedule(
        placement=Placement(),
        template=configmap(),
        clusters=[ClusterView("sick")],
        previous={"sick": None},
        now=T0 + timedelta(seconds=10),
        app_evicted={"sick": T0},
        app_purge=purge,
        app_grace_seconds=600,
    )
    assert not decision.schedulable
    assert [(t.cluster, t.reason) for t in decision.targets] == (
        [("sick", "GracefulEviction")] if kept else []
    )
    assert [r.reason for r in decision.rejections] == ([] if kept else ["ApplicationFailover"])
