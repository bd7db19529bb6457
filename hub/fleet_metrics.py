"""Fleet metrics, computed at scrape time from the leading hub's caches (no extra API calls).

Per member: ``waybill_member_ready`` (1 when its MemberCluster's Ready condition is True),
``waybill_member_last_heartbeat_timestamp_seconds`` (the heartbeat Lease's renewTime; the age
is ``time() - ...`` in PromQL), ``waybill_member_works`` (Works in its namespace),
``waybill_member_work_conditions`` / ``waybill_member_manifest_conditions`` (Works and
manifests by condition type and status, as the agent reported them), and
``waybill_member_drifted_manifests`` (manifests whose ``Drifted`` condition is True). Fleet-wide:
``waybill_bindings`` and ``waybill_binding_conditions`` (ResourceBindings and
ClusterResourceBindings by condition), ``waybill_rollouts_halted`` (bindings whose rollout is
halted now, by strategy: 0 for RollingUpdate and Staged when none is, nothing on a standby).

A gauge set from a reconcile would go stale between reconciles (and a heartbeat age would
never grow); reading the informer caches when Prometheus scrapes is always current and costs
nothing between scrapes. Only a replica that leads has warm caches, so standbys export nothing
here. ``fleet_samples`` is the pure part; :class:`FleetCollector` registers once per process
and merges every registered source (several hubs in one test process).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from hub import rollout_metrics
from shared.api import names
from shared.ops.logging import get_logger
from shared.ops.metrics import REGISTRY

__all__ = ["FleetFacts", "FleetSamples", "fleet_samples", "register_source", "unregister_source"]

Obj = Mapping[str, Any]
_log = get_logger("hub.fleet_metrics")


@dataclass(frozen=True, slots=True)
class FleetFacts:
    """The cached objects the fleet metrics are computed from."""

    namespaces: Sequence[Obj]
    members: Sequence[Obj]
    leases: Sequence[Obj]
    works: Sequence[Obj]
    bindings: Sequence[Obj]


@dataclass(slots=True)
class FleetSamples:
    ready: dict[str, float] = field(default_factory=dict)
    heartbeat: dict[str, float] = field(default_factory=dict)
    works: Counter[str] = field(default_factory=Counter)
    work_conditions: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    manifest_conditions: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    drifted: Counter[str] = field(default_factory=Counter)
    bindings: int = 0
    binding_conditions: Counter[tuple[str, str]] = field(default_factory=Counter)
    rollouts_halted: Counter[str] = field(default_factory=Counter)


def _conditions(obj: Obj) -> Iterable[tuple[str, str]]:
    for cond in ((obj.get("status") or {}).get("conditions")) or []:
        if cond.get("type"):
            yield str(cond["type"]), str(cond.get("status") or "Unknown")


def _timestamp(text: Any) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def fleet_samples(facts: FleetFacts) -> FleetSamples:
    """The metric values for one hub's caches (pure)."""
    out = FleetSamples()
    member_of: dict[str, str] = {}
    for ns in facts.namespaces:
        meta = ns.get("metadata") or {}
        member = (meta.get("labels") or {}).get(names.LABEL_MEMBER)
        if member:
            member_of[str(meta.get("name"))] = str(member)
    for mc in facts.members:
        meta = mc.get("metadata") or {}
        if member_of.get(str(meta.get("namespace"))) is None:
            continue
        name = str(meta.get("name"))
        out.ready[name] = 1.0 if dict(_conditions(mc)).get("Ready") == "True" else 0.0
    for lease in facts.leases:
        member = member_of.get(str((lease.get("metadata") or {}).get("namespace")))
        renewed = _timestamp((lease.get("spec") or {}).get("renewTime"))
        if member is not None and renewed is not None:
            out.heartbeat[member] = renewed
    for work in facts.works:
        member = member_of.get(str((work.get("metadata") or {}).get("namespace")))
        if member is None:
            continue
        out.works[member] += 1
        for ctype, status in _conditions(work):
            out.work_conditions[(member, ctype, status)] += 1
        for manifest in ((work.get("status") or {}).get("manifestConditions")) or []:
            for ctype, status in _conditions({"status": manifest}):
                out.manifest_conditions[(member, ctype, status)] += 1
                if ctype == "Drifted" and status == "True":
                    out.drifted[member] += 1
    for binding in facts.bindings:
        out.bindings += 1
        for ctype, status in _conditions(binding):
            out.binding_conditions[(ctype, status)] += 1
        halted = rollout_metrics.halted_strategy(binding)
        if halted is not None:
            out.rollouts_halted[halted] += 1
    return out


Source = Callable[[], FleetFacts | None]


class FleetCollector(Collector):
    """Prometheus collector over every registered source (a source answers None when not leading)."""

    def __init__(self) -> None:
        self._sources: dict[int, Source] = {}
        self._lock = threading.Lock()

    def add(self, source: Source) -> int:
        with self._lock:
            token = max(self._sources, default=0) + 1
            self._sources[token] = source
            return token

    def remove(self, token: int) -> None:
        with self._lock:
            self._sources.pop(token, None)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            sources = list(self._sources.values())
        families = {
            "ready": GaugeMetricFamily("waybill_member_ready", "1 when the member's Ready condition is True",
                                       labels=["member"]),
            "heartbeat": GaugeMetricFamily("waybill_member_last_heartbeat_timestamp_seconds",
                                           "Last heartbeat Lease renewal of the member (unix time)",
                                           labels=["member"]),
            "works": GaugeMetricFamily("waybill_member_works", "Works in the member's namespace",
                                       labels=["member"]),
            "work_conditions": GaugeMetricFamily("waybill_member_work_conditions",
                                                 "Works by condition type and status, per member",
                                                 labels=["member", "condition", "status"]),
            "manifest_conditions": GaugeMetricFamily("waybill_member_manifest_conditions",
                                                     "Manifests by condition type and status, per member",
                                                     labels=["member", "condition", "status"]),
            "drifted": GaugeMetricFamily("waybill_member_drifted_manifests",
                                         "Manifests whose Drifted condition is True, per member",
                                         labels=["member"]),
            "bindings": GaugeMetricFamily("waybill_bindings", "ResourceBindings and ClusterResourceBindings"),
            "binding_conditions": GaugeMetricFamily("waybill_binding_conditions",
                                                    "Bindings by condition type and status",
                                                    labels=["condition", "status"]),
            "rollouts_halted": GaugeMetricFamily("waybill_rollouts_halted",
                                                 "Bindings whose rollout is halted now, by strategy",
                                                 labels=["strategy"]),
        }
        total_bindings = 0.0
        halted: Counter[str] = Counter()
        leading = False
        for source in sources:
            try:
                facts = source()
                if facts is None:
                    continue
                s = fleet_samples(facts)
            except Exception as exc:  # a scrape must not fail because one source is broken
                _log.warning("fleet_metrics.source_failed", error=str(exc))
                continue
            for member, value in s.ready.items():
                families["ready"].add_metric([member], value)
            for member, value in s.heartbeat.items():
                families["heartbeat"].add_metric([member], value)
            for member, count in s.works.items():
                families["works"].add_metric([member], count)
            for labels, count in s.work_conditions.items():
                families["work_conditions"].add_metric(list(labels), count)
            for labels, count in s.manifest_conditions.items():
                families["manifest_conditions"].add_metric(list(labels), count)
            for member in s.works:
                families["drifted"].add_metric([member], s.drifted.get(member, 0))
            total_bindings += s.bindings
            for pair, count in s.binding_conditions.items():
                families["binding_conditions"].add_metric(list(pair), count)
            leading = True
            halted.update(s.rollouts_halted)
        families["bindings"].add_metric([], total_bindings)
        if leading:  # 0 per strategy when none is halted; nothing on a standby
            for strategy in rollout_metrics.STRATEGIES:
                halted.setdefault(strategy, 0)
        for strategy, count in sorted(halted.items()):
            families["rollouts_halted"].add_metric([strategy], count)
        yield from families.values()


_COLLECTOR = FleetCollector()
REGISTRY.register(_COLLECTOR)


def register_source(source: Source) -> int:
    """Export the fleet metrics of ``source``; the token for :func:`unregister_source`."""
    return _COLLECTOR.add(source)


def unregister_source(token: int) -> None:
    _COLLECTOR.remove(token)
