"""Status aggregation: Work status → binding → policy → template (pure).

* ``cluster_item`` reads one member's Work status for one template (its manifest's conditions,
  status feedback and drift) into a binding ``aggregatedStatus`` entry.
* ``binding_conditions`` derives the binding's Applied / Available conditions from those entries.
* ``template_status`` folds the members' status feedback into the template's own ``status`` for
  well-known kinds (Deployment, StatefulSet, DaemonSet, Job: counts summed; Service: the
  member cluster IPs listed), and sets ``observedGeneration`` to the template's generation only
  when every chosen member has applied that generation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from hub import drift_status, reasons
from hub.conditions import WantedCondition
from hub.matching import TemplateRef
from hub.views import ANNOTATION_GENERATIONS, WorkView
from shared.api import names

__all__ = [
    "ANNOTATION_GENERATIONS",
    "binding_conditions",
    "cluster_item",
    "feedback_values",
    "rendered_generations",
    "template_status",
]

NO_WORK_YET = "no Work for this cluster yet"
NOT_APPLIED_YET = "not applied yet"
PLACEHOLDER_ERRORS = frozenset({NO_WORK_YET, NOT_APPLIED_YET})
"""The ``errors`` of an entry whose member has not reported yet (the hub's own words, not a failure)."""

SUMMED_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job")
_NOT_SUMMED = frozenset({"ObservedGeneration", "observedGeneration", "generation"})


def _condition(conditions: Sequence[Mapping[str, Any]] | None, kind: str) -> Mapping[str, Any] | None:
    for condition in conditions or []:
        if condition.get("type") == kind:
            return condition
    return None


def feedback_values(manifest_condition: Mapping[str, Any]) -> dict[str, Any]:
    """``statusFeedback.values`` as ``{name: value}``."""
    out: dict[str, Any] = {}
    for value in (manifest_condition.get("statusFeedback") or {}).get("values") or []:
        field = value.get("fieldValue") or {}
        kind = field.get("type")
        if kind == "Integer":
            out[str(value.get("name"))] = field.get("integer")
        elif kind == "String":
            out[str(value.get("name"))] = field.get("string")
        elif kind == "Boolean":
            out[str(value.get("name"))] = field.get("boolean")
        elif kind == "JsonRaw":
            try:
                out[str(value.get("name"))] = json.loads(field.get("jsonRaw") or "null")
            except ValueError:
                out[str(value.get("name"))] = field.get("jsonRaw")
    return out


def rendered_generations(work: Mapping[str, Any]) -> dict[str, int]:
    """Which template generation each manifest of ``work`` was rendered from (by identity)."""
    return WorkView.of(work).generations


def cluster_item(
    *, cluster: str, ref: TemplateRef, work: WorkView | Mapping[str, Any] | None, generation: int | None
) -> dict[str, Any]:
    """One ``aggregatedStatus`` entry; ``upToDate`` says the member applied ``generation``."""
    item: dict[str, Any] = {"clusterName": cluster, "applied": False, "health": "Unknown"}
    if work is None:
        item["errors"] = [NO_WORK_YET]
        return {**item, "upToDate": False}
    view = work if isinstance(work, WorkView) else WorkView.of(work)
    item["workName"] = view.meta.get("name")
    identity = ref.identity
    manifest = view.manifest_conditions.get(identity)
    rendered = view.rendered_generation(identity)
    up_to_date = view.current and (generation is None or rendered == generation)
    if manifest is None:
        item["errors"] = [NOT_APPLIED_YET]
        return {**item, "upToDate": False}
    applied = _condition(manifest.get("conditions"), names.CONDITION_APPLIED)
    available = _condition(manifest.get("conditions"), names.CONDITION_AVAILABLE)
    item["applied"] = bool(applied and applied.get("status") == "True")
    if available is not None:
        item["available"] = available.get("status") == "True"
    item["health"] = (
        "Healthy"
        if item["applied"] and item.get("available", True)
        else "Unhealthy"
        if applied is not None and (not item["applied"] or available)
        else "Unknown"
    )
    feedback = feedback_values(manifest)
    reflected = manifest.get("reflectedStatus")
    if isinstance(reflected, Mapping):
        # the kind is interpreted (a ResourceInterpreterCustomization): its reflected status
        item["status"] = dict(reflected)
    elif feedback:
        item["status"] = feedback
    item.update(drift_status.cluster_drift(manifest))
    errors = [
        f"{c.get('type')}: {c.get('reason')}: {c.get('message', '')}".rstrip(": ")
        for c in manifest.get("conditions") or []
        if c.get("type") == names.CONDITION_APPLIED and c.get("status") == "False"
    ]
    if errors:
        item["errors"] = errors
    return {**item, "upToDate": up_to_date and item["applied"]}


def binding_conditions(items: Sequence[Mapping[str, Any]]) -> list[WantedCondition]:
    """Applied and Available over the chosen clusters."""
    applied, available = names.CONDITION_APPLIED, names.CONDITION_AVAILABLE
    if not items:
        return [
            WantedCondition(
                type=applied, status="False", reason=reasons.NO_CLUSTERS, message="no cluster chosen"
            ),
            WantedCondition(
                type=available, status="False", reason=reasons.NO_CLUSTERS, message="no cluster chosen"
            ),
        ]
    not_applied = sorted(str(i["clusterName"]) for i in items if not i.get("applied"))
    not_available = sorted(
        str(i["clusterName"]) for i in items if i.get("available") is False or not i.get("applied")
    )
    return [
        WantedCondition(
            type=applied,
            status="False",
            reason=reasons.NOT_APPLIED_EVERYWHERE,
            message=f"not applied on {', '.join(not_applied)}",
        )
        if not_applied
        else WantedCondition(
            type=applied,
            status="True",
            reason=reasons.APPLIED_EVERYWHERE,
            message=f"applied on {len(items)} clusters",
        ),
        WantedCondition(
            type=available,
            status="False",
            reason=reasons.NOT_AVAILABLE_EVERYWHERE,
            message=f"not available on {', '.join(not_available)}",
        )
        if not_available
        else WantedCondition(
            type=available,
            status="True",
            reason=reasons.AVAILABLE_EVERYWHERE,
            message=f"available on {len(items)} clusters",
        ),
    ]


def _lower_camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def template_status(
    *, template: Mapping[str, Any], items: Sequence[Mapping[str, Any]]
) -> dict[str, Any] | None:
    """The template's aggregated ``status`` for well-known kinds, or None for other kinds."""
    kind = template.get("kind")
    generation = (template.get("metadata") or {}).get("generation")
    if kind in SUMMED_KINDS:
        totals: dict[str, int] = {}
        for item in items:
            for name, value in (item.get("status") or {}).items():
                # (a reflected status, hub.interpretation, spells them in camelCase)
                if name in _NOT_SUMMED or not isinstance(value, int) or isinstance(value, bool):
                    continue
                key = _lower_camel(name)
                totals[key] = totals.get(key, 0) + value
        status: dict[str, Any] = dict(sorted(totals.items()))
        if kind == "Job":
            complete = [i for i in items if (i.get("status") or {}).get("JobComplete") == "True"]
            if items and len(complete) == len(items):
                status["conditions"] = [{"type": "Complete", "status": "True"}]
        if items and generation is not None and all(i.get("upToDate") for i in items):
            status["observedGeneration"] = generation
        return status
    if kind == "Service":
        ingress: list[Any] = []
        for item in items:
            ingress.extend((item.get("status") or {}).get("LoadBalancerIngress") or [])
        return {"loadBalancer": {"ingress": ingress}} if ingress else {"loadBalancer": {}}
    return None
