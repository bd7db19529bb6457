"""``placement.workloadAffinity``: co-locate or separate workloads by a template label (pure).

Karmada's WorkloadAffinity (alpha gate, taken as on). A workload's group is the value of its
template label ``groupByLabelKey``, within its namespace. Its peers are the other templates of
the namespace with the same value that are placed somewhere.

* ``affinity``: the workload may only go to clusters where a peer of its affinity group runs.
  The first workload of a group (no peer placed yet) is not restricted, so a group can start.
* ``antiAffinity``: the workload avoids clusters where a peer of its anti-affinity group runs.

A template without the label is not in a group and is not restricted by that term.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Peer:
    """Another template of the same namespace: its labels and the clusters it is placed on."""

    labels: Mapping[str, str]
    clusters: frozenset[str]


@dataclass(frozen=True)
class Restriction:
    """``allowed``: only these clusters (None: any); ``avoid``: never these."""

    allowed: frozenset[str] | None = None
    avoid: frozenset[str] = frozenset()

    def rejects(self, cluster: str) -> str | None:
        """Why ``cluster`` is ruled out, or None."""
        if self.allowed is not None and cluster not in self.allowed:
            return "WorkloadAffinity"
        if cluster in self.avoid:
            return "WorkloadAntiAffinity"
        return None


def restriction(
    *,
    labels: Mapping[str, str],
    affinity_key: str | None,
    anti_affinity_key: str | None,
    peers: Iterable[Peer],
) -> Restriction:
    """Where a template with ``labels`` may go, given its peers' placements."""
    peer_list = list(peers)
    allowed: frozenset[str] | None = None
    if affinity_key and affinity_key in labels:
        value = labels[affinity_key]
        placed = [p.clusters for p in peer_list if p.labels.get(affinity_key) == value and p.clusters]
        if placed:
            allowed = frozenset().union(*placed)
    avoid: frozenset[str] = frozenset()
    if anti_affinity_key and anti_affinity_key in labels:
        value = labels[anti_affinity_key]
        avoid = frozenset().union(
            *(p.clusters for p in peer_list if p.labels.get(anti_affinity_key) == value)
        )
    return Restriction(allowed=allowed, avoid=avoid)
