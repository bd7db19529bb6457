"""Table tests for hub.replicas: division that sums exactly, stably."""

from __future__ import annotations

import pytest

from hub import replicas


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        # Karmada docs: static weights member1:1, member2:2 divide 3 replicas 1/2 ...
        pytest.param(3, {"member1": 1, "member2": 2}, {"member1": 1, "member2": 2}, id="karmada-1-2"),
        # ... and equal weights split evenly, the odd one by a stable tie-break (name).
        pytest.param(3, {"member1": 1, "member2": 1}, {"member1": 2, "member2": 1}, id="karmada-1-1-odd"),
        pytest.param(4, {"member1": 1, "member2": 1}, {"member1": 2, "member2": 2}, id="karmada-1-1-even"),
        pytest.param(10, {"a": 1, "b": 2, "c": 3}, {"a": 2, "b": 3, "c": 5}, id="remainder-to-largest"),
        pytest.param(7, {"a": 1, "b": 1, "c": 1}, {"a": 3, "b": 2, "c": 2}, id="three-ways"),
        pytest.param(1, {"a": 1, "b": 3}, {"a": 0, "b": 1}, id="one-replica-heaviest"),
        pytest.param(0, {"a": 1, "b": 1}, {"a": 0, "b": 0}, id="zero"),
        pytest.param(5, {"a": 0, "b": 0}, {"a": 3, "b": 2}, id="all-zero-weights-equal"),
        pytest.param(100, {"a": 33, "b": 33, "c": 34}, {"a": 33, "b": 33, "c": 34}, id="exact"),
    ],
)
def test_divide_by_weights(total: int, weights: dict[str, int], expected: dict[str, int]) -> None:
    division = replicas.divide_by_weights(total, weights)
    assert division.replicas == expected
    assert sum(division.replicas.values()) == total


def test_tie_break_prefers_previous_holder() -> None:
    division = replicas.divide_by_weights(3, {"a": 1, "b": 1}, previous={"b": 2})
    assert division.replicas == {"a": 1, "b": 2}


@pytest.mark.parametrize(
    ("total", "weights", "minimums", "maximums", "expected", "unplaced"),
    [
        pytest.param(10, {"a": 1, "b": 1}, {}, {"a": 2}, {"a": 2, "b": 8}, 0, id="max-caps"),
        pytest.param(10, {"a": 1, "b": 9}, {"a": 4}, {}, {"a": 5, "b": 5}, 0, id="min-first"),
        pytest.param(10, {"a": 1, "b": 1}, {}, {"a": 2, "b": 3}, {"a": 2, "b": 3}, 5, id="unplaced"),
        pytest.param(3, {"a": 1, "b": 1}, {"a": 2, "b": 2}, {}, {"a": 2, "b": 1}, 0, id="mins-exceed-total"),
        pytest.param(9, {"a": 1, "b": 1, "c": 1}, {}, {"a": 1}, {"a": 1, "b": 4, "c": 4}, 0, id="refill"),
    ],
)
def test_min_max(
    total: int,
    weights: dict[str, int],
    minimums: dict[str, int],
    maximums: dict[str, int],
    expected: dict[str, int],
    unplaced: int,
) -> None:
    division = replicas.divide_by_weights(total, weights, minimums=minimums, maximums=maximums)
    assert division.replicas == expected
    assert division.unplaced == unplaced
    assert sum(division.replicas.values()) + division.unplaced == total


@pytest.mark.parametrize(
    ("total", "capacity", "previous", "expected"),
    [
        pytest.param(5, {"a": 10, "b": 20}, {}, {"a": 0, "b": 5}, id="one-cluster-enough"),
        pytest.param(25, {"a": 10, "b": 20}, {}, {"a": 5, "b": 20}, id="fill-biggest-first"),
        pytest.param(5, {"a": 10, "b": 20}, {"a": 5}, {"a": 5, "b": 0}, id="stay-where-running"),
        pytest.param(4, {"a": None, "b": 2}, {}, {"a": 4, "b": 0}, id="unknown-capacity-unlimited"),
        pytest.param(40, {"a": 10, "b": 20}, {}, {"a": 13, "b": 27}, id="over-capacity-spreads-excess"),
    ],
)
def test_aggregate(
    total: int, capacity: dict[str, int | None], previous: dict[str, int], expected: dict[str, int]
) -> None:
    division = replicas.aggregate(total, capacity, previous=previous)
    assert division.replicas == expected
    assert sum(division.replicas.values()) == total


@pytest.mark.parametrize(
    ("available", "requests", "expected"),
    [
        ({"cpu": "4", "memory": "8Gi"}, {"cpu": "500m"}, 8),
        ({"cpu": "4", "memory": "8Gi"}, {"cpu": "500m", "memory": "2Gi"}, 4),
        ({"cpu": "4"}, {}, None),
        (None, {"cpu": "1"}, None),
        ({"cpu": "250m"}, {"cpu": "1"}, 0),
    ],
)
def test_capacity_replicas(
    available: dict[str, str] | None, requests: dict[str, str], expected: int | None
) -> None:
    assert replicas.capacity_replicas(available, requests) == expected
