"""hub.spread: spread constraints selected as Karmada's scheduler selects groups (table tests)."""

from __future__ import annotations

from typing import Any

import pytest

from hub.spread import LOCALITY_SCORE, SpreadCandidate, group_score, select
from shared.api.policy import SpreadConstraint


def c(
    name: str,
    region: str | None = None,
    *,
    zone: str | None = None,
    score: int = 0,
    available: int | None = None,
    labels: dict[str, str] | None = None,
) -> SpreadCandidate:
    fields = {k: v for k, v in (("region", region), ("zone", zone)) if v}
    return SpreadCandidate(name=name, score=score, available=available, fields=fields, labels=labels or {})


def sc(**wire: Any) -> SpreadConstraint:
    return SpreadConstraint.from_dict(wire)


TWO_REGIONS = [c("a", "r1"), c("b", "r1"), c("d", "r2")]

CASES: list[
    tuple[str, list[dict[str, Any]], list[SpreadCandidate], dict[str, Any], tuple[str, ...] | str]
] = [
    # The defects issue #9 saw: both clusters in one region; one cluster for region 2/2 + cluster 1/1.
    (
        "region 2/2 + cluster max 2: one cluster in each region",
        [
            {"spreadByField": "region", "minGroups": 2, "maxGroups": 2},
            {"spreadByField": "cluster", "maxGroups": 2},
        ],
        TWO_REGIONS,
        {},
        ("a", "d"),
    ),
    (
        "region 2/2 + cluster 1/1: still one in each of two regions (as Karmada)",
        [
            {"spreadByField": "region", "minGroups": 2, "maxGroups": 2},
            {"spreadByField": "cluster", "minGroups": 1, "maxGroups": 1},
        ],
        TWO_REGIONS,
        {},
        ("a", "d"),
    ),
    (
        "region 1/1 + cluster 2/2 takes the region with two clusters",
        [
            {"spreadByField": "region", "minGroups": 1, "maxGroups": 1},
            {"spreadByField": "cluster", "minGroups": 2, "maxGroups": 2},
        ],
        TWO_REGIONS,
        {},
        ("a", "b"),
    ),
    (
        "region 2/2 + cluster max 3 fills up to three",
        [
            {"spreadByField": "region", "minGroups": 2, "maxGroups": 2},
            {"spreadByField": "cluster", "maxGroups": 3},
        ],
        TWO_REGIONS,
        {},
        ("a", "b", "d"),
    ),
    (
        "region needs more groups than exist",
        [
            {"spreadByField": "region", "minGroups": 3, "maxGroups": 3},
            {"spreadByField": "cluster", "maxGroups": 3},
        ],
        TWO_REGIONS,
        {},
        "spread by region needs 3 groups, only 2 eligible",
    ),
    (
        "region groups cannot hold cluster minGroups",
        [
            {"spreadByField": "region", "minGroups": 1, "maxGroups": 1},
            {"spreadByField": "cluster", "minGroups": 3, "maxGroups": 3},
        ],
        TWO_REGIONS,
        {},
        "spread by region: no 1..1 groups hold the 3 clusters spread by cluster needs",
    ),
    (
        "spreadByField defaults to cluster",
        [{"maxGroups": 2}],
        [c("a"), c("b"), c("d")],
        {},
        ("a", "b"),
    ),
    (
        "cluster minGroups unmet",
        [{"spreadByField": "cluster", "minGroups": 4}],
        [c("a"), c("b"), c("d")],
        {},
        "spread by cluster needs 4 clusters, only 3 eligible",
    ),
    (
        "clusters holding the template first (locality score)",
        [{"spreadByField": "cluster", "maxGroups": 1}],
        [c("a"), c("b", score=LOCALITY_SCORE)],
        {},
        ("b",),
    ),
    (
        "then the roomiest",
        [{"spreadByField": "cluster", "maxGroups": 1}],
        [c("a", available=3), c("b", available=9)],
        {"replicas": 2, "divided": True},
        ("b",),
    ),
    (
        # Karmada's own example: scores 60/50/40, room 40/30/60, 2 clusters, 80 replicas -> member1 + member3.
        "divided: the lowest-ranked taken cluster is swapped for one with room",
        [{"spreadByField": "cluster", "minGroups": 2, "maxGroups": 2}],
        [
            c("member1", score=60, available=40),
            c("member2", score=50, available=30),
            c("member3", score=40, available=60),
        ],
        {"replicas": 80, "divided": True},
        ("member1", "member3"),
    ),
    (
        "divided: not enough room anywhere",
        [{"spreadByField": "cluster", "maxGroups": 2}],
        [c("a", available=1), c("b", available=1), c("d", available=1)],
        {"replicas": 5, "divided": True},
        "spread by cluster: not enough room for 5 replicas in 2 clusters",
    ),
    (
        "duplicated: room does not matter for the count",
        [{"spreadByField": "cluster", "maxGroups": 2}],
        [c("a", available=1), c("b", available=1), c("d", available=1)],
        {"replicas": 5, "divided": False},
        ("a", "b"),
    ),
    (
        "a region group with room for the replicas beats a bigger one without",
        [
            {"spreadByField": "region", "minGroups": 1, "maxGroups": 1},
            {"spreadByField": "cluster", "maxGroups": 2},
        ],
        [c("a", "r1", available=1), c("b", "r1", available=1), c("d", "r2", available=10)],
        {"replicas": 6, "divided": True},
        ("d",),
    ),
    (
        "clusters without a region are left out",
        [
            {"spreadByField": "region", "minGroups": 1, "maxGroups": 2},
            {"spreadByField": "cluster", "maxGroups": 5},
        ],
        [c("a", "r1"), c("nowhere")],
        {},
        ("a",),
    ),
    (
        "zone groups (Waybill applies the region algorithm to zones)",
        [
            {"spreadByField": "zone", "minGroups": 2, "maxGroups": 2},
            {"spreadByField": "cluster", "maxGroups": 2},
        ],
        [c("a", zone="z1"), c("b", zone="z1"), c("d", zone="z2")],
        {},
        ("a", "d"),
    ),
    (
        "label groups, no cluster constraint",
        [{"spreadByLabel": "geo", "minGroups": 2, "maxGroups": 2}],
        [c("a", labels={"geo": "eu"}), c("b", labels={"geo": "eu"}), c("d", labels={"geo": "us"})],
        {},
        ("a", "b", "d"),
    ),
    (
        "no constraints: everyone",
        [],
        [c("b"), c("a")],
        {},
        ("a", "b"),
    ),
]


@pytest.mark.parametrize(
    ("constraints", "candidates", "kwargs", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_select(
    constraints: list[dict[str, Any]],
    candidates: list[SpreadCandidate],
    kwargs: dict[str, Any],
    expected: tuple[str, ...] | str,
) -> None:
    result = select([sc(**x) for x in constraints], candidates, **kwargs)
    if isinstance(expected, str):
        assert result.chosen == ()
        assert result.error == expected
    else:
        assert result.error is None
        assert set(result.chosen) == set(expected)
        everyone = {x.name for x in candidates}
        assert set(result.chosen) | {x.cluster for x in result.left_out} == everyone


def test_left_out_clusters_carry_a_reason() -> None:
    result = select(
        [sc(spreadByField="region", minGroups=1, maxGroups=1), sc(spreadByField="cluster", maxGroups=1)],
        [c("a", "r1"), c("b", "r1"), c("d", "r2"), c("e")],
    )
    reasons = {x.cluster: x.reason for x in result.left_out}
    assert reasons == {"e": "SpreadFieldMissing", "d": "SpreadConstraint", "b": "SpreadConstraint"}


def test_group_score_prefers_room_then_cluster_score() -> None:
    roomy = [c("a", available=50)]
    tight = [c("b", available=10, score=100)]
    assert group_score(roomy, replicas=40, divided=True, min_groups=1, cluster_min=1) > group_score(
        tight, replicas=40, divided=True, min_groups=1, cluster_min=1
    )
    # Duplicated: how many clusters can run every replica.
    assert (
        group_score(
            [c("a", available=5), c("b", available=5)], replicas=5, divided=False, min_groups=1, cluster_min=1
        )
        == 2000
    )
