"""overflowAffinities: overflow groups are added in order only as far as the replicas need them."""

from __future__ import annotations

from typing import Any

import pytest

from hub import scheduling
from hub.clusters import ClusterView

FLEET = [
    ClusterView("p1", labels={"tier": "primary"}, available={"cpu": "2"}),
    ClusterView("o1", labels={"tier": "overflow"}, available={"cpu": "10"}),
    ClusterView("x1", labels={"tier": "other"}, available={"cpu": "10"}),
]


def deploy(replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "w", "namespace": "n"},
        "spec": {
            "replicas": replicas,
            "template": {"spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]}},
        },
    }


def spec(preference: dict[str, Any]) -> dict[str, Any]:
    return {
        "placement": {
            "clusterAffinities": [
                {
                    "affinityName": "main",
                    "labelSelector": {"matchLabels": {"tier": "primary"}},
                    "overflowAffinities": [
                        {"affinityName": "spill", "labelSelector": {"matchLabels": {"tier": "overflow"}}}
                    ],
                }
            ],
            "replicaScheduling": {"replicaSchedulingType": "Divided", **preference},
        }
    }


AGGREGATED = {"replicaDivisionPreference": "Aggregated"}
DYNAMIC = {
    "replicaDivisionPreference": "Weighted",
    "weightPreference": {"dynamicWeight": "AvailableReplicas"},
}


@pytest.mark.parametrize("preference", [AGGREGATED, DYNAMIC], ids=["aggregated", "dynamic"])
def test_primary_alone_while_it_has_room(preference: dict[str, Any]) -> None:
    decision = scheduling.schedule(policy_spec=spec(preference), template=deploy(2), clusters=FLEET)
    assert decision.replicas_by_cluster() == {"p1": 2}
    assert {r.cluster: r.reason for r in decision.rejections}["o1"] == "OverflowNotNeeded"


@pytest.mark.parametrize("preference", [AGGREGATED, DYNAMIC], ids=["aggregated", "dynamic"])
def test_overflow_takes_what_the_primary_cannot(preference: dict[str, Any]) -> None:
    decision = scheduling.schedule(policy_spec=spec(preference), template=deploy(6), clusters=FLEET)
    assert set(decision.cluster_names) == {"p1", "o1"}
    assert sum(t.replicas or 0 for t in decision.targets) == 6
    assert "x1" not in decision.cluster_names


def test_only_with_dynamic_weight_or_aggregated() -> None:
    with pytest.raises(scheduling.PlacementError, match="overflowAffinities"):
        scheduling.schedule(
            policy_spec=spec({"replicaDivisionPreference": "Weighted"}), template=deploy(1), clusters=FLEET
        )
