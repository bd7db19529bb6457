"""The ``/scale`` subresource: an ``autoscaling/v1`` Scale view of a workload's replicas."""

from __future__ import annotations

from typing import Any

from kubesim import jsonpath, meta, ssa
from kubesim.registry import ResourceType

Obj = dict[str, Any]
SCALE_API_VERSION = "autoscaling/v1"
_SCALE_REPLICAS: ssa.Path = ("f:spec", "f:replicas")


def _paths(rtype: ResourceType) -> tuple[str, str, str]:
    return rtype.scale_paths


def selector_string(selector: Any) -> str:
    if isinstance(selector, str):
        return selector
    if not isinstance(selector, dict):
        return ""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op = expr.get("operator")
        values = ",".join(expr.get("values") or [])
        if op == "In":
            parts.append(f"{expr['key']} in ({values})")
        elif op == "NotIn":
            parts.append(f"{expr['key']} notin ({values})")
        elif op == "Exists":
            parts.append(expr["key"])
        elif op == "DoesNotExist":
            parts.append("!" + expr["key"])
    return ",".join(parts)


def replicas_path(rtype: ResourceType) -> ssa.Path:
    """The FieldsV1 path of the parent's replica count (``specReplicasPath`` for CRDs)."""
    return tuple(f"f:{p}" for p in rtype.scale_paths[0].split(".") if p)


def scale_managed_fields(rtype: ResourceType, parent: Obj) -> list[Obj]:
    """The Scale's managedFields: every parent entry owning the replica count, as kube-apiserver's
    scale handler shows them (``autoscaling/v1``, ``f:spec.f:replicas`` only)."""
    path = replicas_path(rtype)
    out: list[Obj] = []
    for entry in (parent.get("metadata") or {}).get("managedFields") or []:
        if path in ssa.fieldset_from_v1(entry.get("fieldsV1")):
            out.append(
                {**entry, "apiVersion": SCALE_API_VERSION, "fieldsV1": ssa.fieldset_to_v1({_SCALE_REPLICAS})}
            )
    return out


def parent_managed_fields(rtype: ResourceType, parent: Obj, *, scale_entries: list[Obj]) -> list[Obj]:
    """The parent's managedFields after a write to its Scale (kube-apiserver's ``ToParent``).

    The replica count is taken away from every parent entry and given to the managers that own
    ``spec.replicas`` in ``scale_entries``: merged into the parent entry with the same manager,
    operation and subresource, or a new entry (``subresource: scale``, the parent's apiVersion).
    """
    path = replicas_path(rtype)
    owners = {
        (e.get("manager"), e.get("operation"), e.get("subresource")): e
        for e in scale_entries
        if _SCALE_REPLICAS in ssa.fieldset_from_v1(e.get("fieldsV1"))
    }
    result: list[Obj] = []
    for entry in (parent.get("metadata") or {}).get("managedFields") or []:
        fields = ssa.fieldset_from_v1(entry.get("fieldsV1"))
        ident = (entry.get("manager"), entry.get("operation"), entry.get("subresource"))
        owner = owners.pop(ident, None)
        kept = (fields | {path}) if owner is not None else (fields - {path})
        if owner is not None:
            result.append(
                {**entry, "time": owner.get("time", entry.get("time")), "fieldsV1": ssa.fieldset_to_v1(kept)}
            )
        elif kept == fields:
            result.append(entry)
        elif kept:
            result.append({**entry, "fieldsV1": ssa.fieldset_to_v1(kept)})
    for owner in owners.values():
        result.append(
            {**owner, "apiVersion": parent.get("apiVersion", ""), "fieldsV1": ssa.fieldset_to_v1({path})}
        )
    return result


def to_scale(rtype: ResourceType, obj: Obj) -> Obj:
    spec_path, status_path, selector_path = _paths(rtype)
    md = obj["metadata"]
    replicas = jsonpath.evaluate(spec_path, obj)
    current = jsonpath.evaluate(status_path, obj)
    selector = jsonpath.evaluate(selector_path, obj) if selector_path else []
    scale: Obj = {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: md[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in md
        },
        "spec": {"replicas": replicas[0] if replicas else 1},
        "status": {"replicas": current[0] if current else 0},
    }
    if selector:
        scale["status"]["selector"] = selector_string(selector[0])
    managed = scale_managed_fields(rtype, obj)
    if managed:
        scale["metadata"]["managedFields"] = managed
    return scale


def apply_scale(rtype: ResourceType, obj: Obj, *, scale: Obj) -> Obj:
    """The object with its replica count (``specReplicasPath`` for CRDs) taken from a Scale."""
    new: Obj = meta.clone(obj)
    parts = [p for p in rtype.scale_paths[0].split(".") if p]
    node = new
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = (scale.get("spec") or {}).get("replicas", 0)
    return new
