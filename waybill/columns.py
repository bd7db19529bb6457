"""Table columns of Waybill's kinds for ``waybill get`` (plain and ``-o wide``). Pure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hub import conditions as hub_conditions
from shared.api import names
from waybill.output import age

Row = list[Any]


def condition_status(obj: dict[str, Any], kind: str) -> str:
    found = hub_conditions.find((obj.get("status") or {}).get("conditions"), kind)
    return str(found.get("status")) if found else "-"


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def _labels(obj: dict[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted((_meta(obj).get("labels") or {}).items())) or "-"


def taints_text(spec: dict[str, Any]) -> str:
    out = []
    for t in spec.get("taints") or []:
        value = f"={t['value']}" if t.get("value") else ""
        out.append(f"{t.get('key')}{value}:{t.get('effect')}")
    return ",".join(out) or "-"


def _member(obj: dict[str, Any], wide: bool) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    row = [
        spec.get("syncMode", "Pull"),
        condition_status(obj, names.CONDITION_READY),
        status.get("kubernetesVersion") or "-",
        status.get("nodeCount") if status.get("nodeCount") is not None else "-",
        spec.get("region") or "-",
        taints_text(spec),
        age(_meta(obj).get("creationTimestamp")),
    ]
    if wide:
        row += [_labels(obj), status.get("agentVersion") or "-", age(status.get("lastHeartbeatTime"))]
    return row


def clusters_of(spec: dict[str, Any]) -> str:
    return (
        ",".join(
            c["name"] if c.get("replicas") is None else f"{c['name']}({c['replicas']})"
            for c in spec.get("clusters") or []
        )
        or "-"
    )


def _binding(obj: dict[str, Any], wide: bool) -> Row:
    spec = obj.get("spec") or {}
    resource, policy = spec.get("resource") or {}, spec.get("policy") or {}
    row = [
        f"{resource.get('kind')}/{resource.get('name')}",
        policy.get("name", "-"),
        clusters_of(spec),
        condition_status(obj, names.CONDITION_SCHEDULED),
        condition_status(obj, names.CONDITION_APPLIED),
        condition_status(obj, names.CONDITION_AVAILABLE),
    ]
    if wide:
        drifted = [
            i["clusterName"]
            for i in (obj.get("status") or {}).get("aggregatedStatus") or []
            if i.get("drifted")
        ]
        row += [obj.get("kind"), ",".join(drifted) or "-", age(_meta(obj).get("creationTimestamp"))]
    return row


def _work_drift(obj: dict[str, Any]) -> str:
    """DRIFTED of a Work: how many manifests have a drift on record, and whether all were corrected."""
    summary = (obj.get("status") or {}).get("driftSummary") or {}
    count = summary.get("driftedManifests")
    if not count:
        return "-"
    return f"{count} corrected" if summary.get("driftCorrected") else f"{count} not corrected"


def _work(obj: dict[str, Any], wide: bool) -> Row:
    labels = _meta(obj).get("labels") or {}
    manifests = ((obj.get("spec") or {}).get("workload") or {}).get("manifests") or []
    row = [
        labels.get(names.LABEL_CLUSTER, "-"),
        labels.get(names.LABEL_POLICY_NAME, "-"),
        len(manifests),
        condition_status(obj, names.CONDITION_APPLIED),
        condition_status(obj, names.CONDITION_AVAILABLE),
        age(_meta(obj).get("creationTimestamp")),
    ]
    if wide:
        row += [
            _work_drift(obj),
            ",".join(_meta(obj).get("finalizers") or []) or "-",
            ",".join(f"{m.get('kind')}/{(m.get('metadata') or {}).get('name')}" for m in manifests) or "-",
        ]
    return row


def _policy(obj: dict[str, Any], wide: bool) -> Row:
    spec = obj.get("spec") or {}
    selectors = (
        ",".join(f"{s.get('kind')}/{s.get('name') or '*'}" for s in spec.get("resourceSelectors") or [])
        or "-"
    )
    affinity = (spec.get("placement") or {}).get("clusterAffinity") or {}
    where = ",".join(affinity.get("clusterNames") or []) or ("selector" if affinity else "all")
    row = [
        selectors,
        where,
        spec.get("conflictResolution") or "-",
        condition_status(obj, names.CONDITION_VALID),
        age(_meta(obj).get("creationTimestamp")),
    ]
    if wide:
        row += [_labels(obj)]
    return row


def _override(obj: dict[str, Any], wide: bool) -> Row:
    spec = obj.get("spec") or {}
    row = [len(spec.get("overrideRules") or []), age(_meta(obj).get("creationTimestamp"))]
    if wide:
        row += [_labels(obj)]
    return row


@dataclass(frozen=True)
class Columns:
    headers: tuple[str, ...]
    wide: tuple[str, ...]
    row: Callable[[dict[str, Any], bool], Row]


_POLICY = Columns(("SELECTORS", "CLUSTERS", "CONFLICT", "VALID", "AGE"), ("LABELS",), _policy)
_OVERRIDE = Columns(("RULES", "AGE"), ("LABELS",), _override)
_BINDING = Columns(
    ("TEMPLATE", "POLICY", "CLUSTERS", "SCHEDULED", "APPLIED", "AVAILABLE"),
    ("KIND", "DRIFTED", "AGE"),
    _binding,
)

BY_KIND = {
    names.KIND_MEMBER_CLUSTER: Columns(
        ("MODE", "READY", "VERSION", "NODES", "REGION", "TAINTS", "AGE"),
        ("LABELS", "AGENT", "HEARTBEAT"),
        _member,
    ),
    names.KIND_RESOURCE_BINDING: _BINDING,
    names.KIND_CLUSTER_RESOURCE_BINDING: _BINDING,
    names.KIND_WORK: Columns(
        ("CLUSTER", "POLICY", "MANIFESTS", "APPLIED", "AVAILABLE", "AGE"),
        ("DRIFTED", "FINALIZERS", "MANIFEST-NAMES"),
        _work,
    ),
    names.KIND_PROPAGATION_POLICY: _POLICY,
    names.KIND_CLUSTER_PROPAGATION_POLICY: _POLICY,
    names.KIND_OVERRIDE_POLICY: _OVERRIDE,
    names.KIND_CLUSTER_OVERRIDE_POLICY: _OVERRIDE,
}


def headers(kind: str, *, wide: bool, namespace_column: bool) -> list[str]:
    cols = BY_KIND[kind]
    return [*(["NAMESPACE"] if namespace_column else []), "NAME", *cols.headers, *(cols.wide if wide else ())]


def row(obj: dict[str, Any], *, wide: bool, namespace_column: bool) -> Row:
    meta = _meta(obj)
    cells = BY_KIND[str(obj.get("kind"))].row(obj, wide)
    return [*([meta.get("namespace") or "-"] if namespace_column else []), meta.get("name"), *cells]
