"""``failover.*.statePreservation``: state carried from an evicted member to its replacement (pure).

Karmada, with its StatefulFailoverInjection feature gate on:

* Each rule ``{aliasLabelName, jsonPath}`` names a value of the workload's status (``jsonPath``,
  a kubectl-style template such as ``{ .jobStatus.jobID }``, evaluated against ``.status``).
  Waybill has the member report those values: the Works of such a policy carry a ``JSONPaths``
  feedback rule per rule, named by its ``aliasLabelName`` (``feedback_paths``), so the binding's
  ``aggregatedStatus[].status`` holds them.
* When application failover evicts the workload from a member, the values last reported from
  that member are recorded on the binding with the clusters it was on before
  (``record``; annotation ``policy.waybill.dev/preserved-label-state``). As Karmada, the eviction
  waits while a value has not been reported yet (``missing``). ``failover.cluster.statePreservation``
  does the same when a NoExecute taint evicts the workload (``purgeMode: Directly``), from the values
  the lost member reported last; that eviction never waits (the member may be gone for good).
* The workload sent to a member that was not among those clusters gets the values as labels
  (``inject``, aliasLabelName → value), only when the binding places it on exactly one cluster and
  the eviction's purgeMode was ``Directly`` (``Immediately``) — Karmada's three restrictions.
  After consecutive failovers the state recorded at the last one is used; it stays recorded (so
  the labels stay) until the next eviction or until the policy drops ``statePreservation``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from hub import failover

ANNOTATION_PRESERVED = "policy.waybill.dev/preserved-label-state"


@dataclass(frozen=True)
class Rule:
    alias_label_name: str
    json_path: str

    @property
    def feedback_path(self) -> str:
        """The path relative to ``.status``, as the agent's JSONPaths feedback reads it."""
        path = self.json_path.strip()
        if path.startswith("{") and path.endswith("}"):
            path = path[1:-1].strip()
        return path


Part = Literal["application", "cluster"]


def _part(spec: Mapping[str, Any], part: Part) -> Mapping[str, Any]:
    behavior = spec.get("failover")
    found = behavior.get(part) if isinstance(behavior, Mapping) else None
    return found if isinstance(found, Mapping) else {}


def rules_of(spec: Mapping[str, Any], part: Part = "application") -> list[Rule]:
    """The statePreservation rules of a policy spec's application (or cluster) failover ([]: none)."""
    preservation = _part(spec, part).get("statePreservation")
    if not isinstance(preservation, Mapping):
        return []
    out = []
    for rule in preservation.get("rules") or []:
        if isinstance(rule, Mapping) and rule.get("aliasLabelName") and rule.get("jsonPath"):
            out.append(Rule(str(rule["aliasLabelName"]), str(rule["jsonPath"])))
    return out


def feedback_paths(spec: Mapping[str, Any]) -> list[dict[str, str]]:
    """The ``JSONPaths`` feedback entries a policy's Works carry for its rules (both parts)."""
    out: dict[str, str] = {}
    for rule in [*rules_of(spec, "application"), *rules_of(spec, "cluster")]:
        out.setdefault(rule.alias_label_name, rule.feedback_path)
    return [{"name": name, "path": path} for name, path in out.items()]


def _label_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def missing(rules: Iterable[Rule], status: Mapping[str, Any] | None) -> list[str]:
    """The rules whose value the member has not reported (the eviction waits for them)."""
    reported = status or {}
    return [r.alias_label_name for r in rules if reported.get(r.alias_label_name) is None]


def preserved_state(rules: Iterable[Rule], status: Mapping[str, Any] | None) -> dict[str, str]:
    """aliasLabelName → the reported value, as a label value."""
    reported = status or {}
    return {
        r.alias_label_name: _label_value(reported[r.alias_label_name])
        for r in rules
        if reported.get(r.alias_label_name) is not None
    }


@dataclass(frozen=True)
class PreservedState:
    """What a binding recorded at its last failover with state preservation."""

    labels: dict[str, str]
    clusters_before_failover: tuple[str, ...]
    purge_mode: str

    def to_annotation(self) -> str:
        return json.dumps(
            {
                "preservedLabelState": dict(sorted(self.labels.items())),
                "clustersBeforeFailover": sorted(self.clusters_before_failover),
                "purgeMode": self.purge_mode,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_annotations(cls, annotations: Mapping[str, str] | None) -> PreservedState | None:
        raw = (annotations or {}).get(ANNOTATION_PRESERVED)
        try:
            data = json.loads(raw) if raw else None
        except (TypeError, ValueError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("preservedLabelState"), dict):
            return None
        return cls(
            labels={str(k): str(v) for k, v in data["preservedLabelState"].items()},
            clusters_before_failover=tuple(str(c) for c in data.get("clustersBeforeFailover") or []),
            purge_mode=str(data.get("purgeMode") or ""),
        )


def record(
    *,
    spec: Mapping[str, Any],
    annotations: Mapping[str, str],
    app_evicted: Iterable[str] = (),
    cluster_evicted: Iterable[str] = (),
    statuses: Mapping[str, Mapping[str, Any] | None],
    clusters_before: Iterable[str],
) -> dict[str, str | None]:
    """The annotation to write: the state of the member just evicted (the first by name when several
    are) by application failover, else by cluster failover, with that part's rules and purgeMode;
    the previous record while nothing new was evicted; removed once the policy has no rules."""
    app_rules, cluster_rules = rules_of(spec, "application"), rules_of(spec, "cluster")
    if not app_rules and not cluster_rules:
        return {ANNOTATION_PRESERVED: None} if ANNOTATION_PRESERVED in annotations else {}
    app, cluster = sorted(app_evicted), sorted(cluster_evicted)
    if app_rules and app:
        rules, evicted, part = app_rules, app, _part(spec, "application")
    elif cluster_rules and cluster:
        rules, evicted, part = cluster_rules, cluster, _part(spec, "cluster")
    else:
        return {}
    state = PreservedState(
        labels=preserved_state(rules, statuses.get(evicted[0])),
        clusters_before_failover=tuple(sorted(set(clusters_before))),
        purge_mode=failover.purge_mode(part.get("purgeMode")),
    )
    value = state.to_annotation()
    return {} if annotations.get(ANNOTATION_PRESERVED) == value else {ANNOTATION_PRESERVED: value}


def inject(
    manifest: dict[str, Any],
    *,
    annotations: Mapping[str, str] | None,
    cluster: str,
    total_clusters: int,
) -> dict[str, Any]:
    """The manifest for ``cluster`` with the preserved labels merged in, where Karmada injects them."""
    state = PreservedState.from_annotations(annotations)
    if (
        state is None
        or not state.labels
        or total_clusters > 1
        or state.purge_mode != "Directly"
        or cluster in state.clusters_before_failover
    ):
        return manifest
    meta = dict(manifest.get("metadata") or {})
    meta["labels"] = {**(meta.get("labels") or {}), **state.labels}
    return {**manifest, "metadata": meta}
