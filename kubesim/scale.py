"""The ``/scale`` subresource: an ``autoscaling/v1`` Scale view of a workload's replicas."""

from __future__ import annotations

from typing import Any

from kubesim import jsonpath, meta
from kubesim.registry import ResourceType

Obj = dict[str, Any]


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
