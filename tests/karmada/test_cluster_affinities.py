"""clusterAffinities as Karmada: start from the group the template is on, never move back when it recovers."""

from __future__ import annotations

from typing import Any

from hub import scheduling
from hub.clusters import ClusterView

CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}}
SPEC: dict[str, Any] = {
    "placement": {
        "clusterAffinities": [
            {"affinityName": "primary", "clusterNames": ["p1"]},
            {"affinityName": "backup", "clusterNames": ["b1"]},
            {"affinityName": "last", "clusterNames": ["l1"]},
        ]
    }
}


def run(clusters: list[str], current: str | None) -> scheduling.Decision:
    return scheduling.schedule(
        policy_spec=SPEC, template=CM, clusters=[ClusterView(n) for n in clusters], current_affinity=current
    )


def test_new_template_takes_the_first_group_that_fits() -> None:
    assert run(["p1", "b1"], None).affinity_name == "primary"
    assert run(["b1", "l1"], None).affinity_name == "backup"


def test_stays_on_backup_when_primary_recovers() -> None:
    decision = run(["p1", "b1"], "backup")
    assert (decision.affinity_name, decision.cluster_names) == ("backup", ["b1"])


def test_moves_on_but_not_back() -> None:
    assert run(["p1", "l1"], "backup").affinity_name == "last"
    decision = run(["p1"], "last")
    assert not decision.schedulable  # primary would fit, but Karmada does not go back


def test_unknown_current_group_starts_from_the_first() -> None:
    assert run(["p1", "b1"], "renamed").affinity_name == "primary"
