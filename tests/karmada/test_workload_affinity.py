"""hub.workload_affinity: Karmada's workloadAffinity (co-locate / separate by a template label)."""

from __future__ import annotations

from hub import scheduling
from hub.clusters import ClusterView
from hub.workload_affinity import Peer, restriction

PEERS = [
    Peer({"group": "a"}, frozenset({"m1"})),
    Peer({"group": "a"}, frozenset({"m2"})),
    Peer({"group": "b"}, frozenset({"m3"})),
    Peer({"group": "a"}, frozenset()),  # not placed yet
]


def test_affinity_allows_only_the_groups_clusters() -> None:
    r = restriction(labels={"group": "a"}, affinity_key="group", anti_affinity_key=None, peers=PEERS)
    assert r.allowed == {"m1", "m2"}
    assert [r.rejects(c) for c in ("m1", "m3")] == [None, "WorkloadAffinity"]


def test_first_of_a_group_and_unlabelled_templates_are_free() -> None:
    assert (
        restriction(
            labels={"group": "new"}, affinity_key="group", anti_affinity_key=None, peers=PEERS
        ).allowed
        is None
    )
    assert restriction(
        labels={}, affinity_key="group", anti_affinity_key="group", peers=PEERS
    ) == restriction(labels={}, affinity_key=None, anti_affinity_key=None, peers=[])


def test_anti_affinity_avoids_the_groups_clusters() -> None:
    r = restriction(labels={"group": "a"}, affinity_key=None, anti_affinity_key="group", peers=PEERS)
    assert r.avoid == {"m1", "m2"}
    assert r.rejects("m2") == "WorkloadAntiAffinity" and r.rejects("m3") is None


def test_scheduler_applies_it() -> None:
    template = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "n", "labels": {"g": "x"}},
    }
    decision = scheduling.schedule(
        policy_spec={"placement": {"workloadAffinity": {"antiAffinity": {"groupByLabelKey": "g"}}}},
        template=template,
        clusters=[ClusterView("m1"), ClusterView("m2")],
        peers=[Peer({"g": "x"}, frozenset({"m1"}))],
    )
    assert decision.cluster_names == ["m2"]
    assert {r.cluster: r.reason for r in decision.rejections} == {"m1": "WorkloadAntiAffinity"}
