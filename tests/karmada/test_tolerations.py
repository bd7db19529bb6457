"""Scheduling with NoExecute taints: Karmada's taint keys, tolerationSeconds from timeAdded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub import scheduling
from hub.clusters import ClusterView, Taint
from shared.api import names

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}}


def fleet(effect: str = "NoExecute") -> list[ClusterView]:
    lost = Taint(key=names.TAINT_UNREACHABLE, effect=effect, time_added=T0.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return [ClusterView("lost", taints=(lost,)), ClusterView("ok")]


def run(tolerations: list[dict[str, Any]], *, after: int, effect: str = "NoExecute") -> scheduling.Decision:
    return scheduling.schedule(
        policy_spec={"placement": {"clusterTolerations": tolerations}},
        template=CM,
        clusters=fleet(effect),
        previous={"lost": None, "ok": None},
        now=T0 + timedelta(seconds=after),
    )


KARMADA = {"key": "cluster.karmada.io/unreachable", "operator": "Exists", "effect": "NoExecute"}


@pytest.mark.parametrize(
    ("tolerations", "after", "placed", "reason"),
    [
        ([], 0, ["ok"], "TaintNotTolerated"),
        ([KARMADA], 10_000, ["lost", "ok"], None),  # Karmada's key, no seconds: tolerated for good
        ([{**KARMADA, "tolerationSeconds": 60}], 59, ["lost", "ok"], None),
        ([{**KARMADA, "tolerationSeconds": 60}], 60, ["ok"], "TolerationExpired"),
        (
            [{"key": names.TAINT_UNREACHABLE, "operator": "Exists", "tolerationSeconds": 30}],
            31,
            ["ok"],
            "TolerationExpired",
        ),
        ([{"key": "cluster.karmada.io/not-ready", "operator": "Exists"}], 0, ["ok"], "TaintNotTolerated"),
    ],
)
def test_no_execute(
    tolerations: list[dict[str, Any]], after: int, placed: list[str], reason: str | None
) -> None:
    decision = run(tolerations, after=after)
    assert decision.cluster_names == placed
    assert {r.cluster: r.reason for r in decision.rejections}.get("lost") == reason


def test_recheck_at_the_deadline() -> None:
    decision = run([{**KARMADA, "tolerationSeconds": 60}], after=10)
    assert decision.recheck_at == T0 + timedelta(seconds=60)
    assert run([KARMADA], after=10).recheck_at is None
    assert run([{**KARMADA, "tolerationSeconds": 60}], after=61).recheck_at is None


def test_no_schedule_keeps_what_is_there() -> None:
    decision = run([], after=0, effect="NoSchedule")
    assert decision.cluster_names == ["lost", "ok"]


def graceful(health: dict[str, str], *, after: int, grace: float | None = 600) -> scheduling.Decision:
    return scheduling.schedule(
        policy_spec={"placement": {}},
        template=CM,
        clusters=fleet(),
        previous={"lost": None},
        now=T0 + timedelta(seconds=after),
        health=health,
        graceful_seconds=grace,
    )


def test_graceful_eviction_keeps_the_old_copy_until_the_replacement_is_healthy() -> None:
    waiting = graceful({"ok": "Unknown"}, after=10)
    assert [(t.cluster, t.reason) for t in waiting.targets] == [
        ("lost", "GracefulEviction"),
        ("ok", "Scheduled"),
    ]
    assert waiting.recheck_at == T0 + timedelta(seconds=12)
    assert graceful({"ok": "Healthy"}, after=10).cluster_names == ["ok"]


def test_graceful_eviction_ends_with_the_grace_period_or_directly() -> None:
    assert graceful({}, after=600).cluster_names == ["ok"]
    assert graceful({}, after=599).cluster_names == ["lost", "ok"]
    assert graceful({}, after=10, grace=None).cluster_names == ["ok"]


def test_empty_key_equal_tolerates_every_key_with_that_value() -> None:
    """Karmada's taint-toleration example: only an effect; core/v1 matching tolerates any key."""
    decision = scheduling.schedule(
        policy_spec={"placement": {"clusterTolerations": [{"effect": "NoExecute"}]}},
        template=CM,
        clusters=fleet(),
        now=T0,
    )
    assert decision.cluster_names == ["lost", "ok"]
    valued = Taint(key="dedicated", value="gpu", effect="NoSchedule")
    assert not scheduling.tolerates({"effect": "NoSchedule"}, valued)
    assert scheduling.tolerates({"effect": "NoSchedule", "value": "gpu"}, valued)
