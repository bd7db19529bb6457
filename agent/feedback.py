"""Status feedback: copy chosen status fields of an applied object into the Work's status.

A Work's ``spec.manifestConfigs[]`` selects manifests by ``resourceIdentifier`` and gives
``feedbackRules``: ``WellKnownStatus`` (a fixed set of fields per kind, e.g. a Deployment's
replica counts) or ``JSONPaths`` (named paths relative to ``.status`` as in OCM, such as ``.readyReplicas``
or ``.conditions[?(@.type=="Available")].status``; a path that starts with ``.status``,
``.spec`` or ``.metadata`` and finds nothing under status is read from the object's root).
Values come back in the Work API's
``statusFeedback.values[{name, fieldValue{type, integer|string|boolean|jsonRaw}}]`` shape.
A path that matches nothing is left out; a path that does not parse is reported by name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

RULE_WELL_KNOWN = "WellKnownStatus"
RULE_JSON_PATHS = "JSONPaths"
JSON_RAW_LIMIT = 1024

WELL_KNOWN_FIELDS: dict[tuple[str, str], list[tuple[str, str]]] = {
    ("apps", "Deployment"): [
        ("Replicas", ".status.replicas"),
        ("ReadyReplicas", ".status.readyReplicas"),
        ("AvailableReplicas", ".status.availableReplicas"),
        ("UpdatedReplicas", ".status.updatedReplicas"),
        ("ObservedGeneration", ".status.observedGeneration"),
    ],
    ("apps", "StatefulSet"): [
        ("Replicas", ".status.replicas"),
        ("ReadyReplicas", ".status.readyReplicas"),
        ("AvailableReplicas", ".status.availableReplicas"),
        ("UpdatedReplicas", ".status.updatedReplicas"),
        ("ObservedGeneration", ".status.observedGeneration"),
    ],
    ("apps", "DaemonSet"): [
        ("DesiredNumberScheduled", ".status.desiredNumberScheduled"),
        ("CurrentNumberScheduled", ".status.currentNumberScheduled"),
        ("NumberReady", ".status.numberReady"),
        ("NumberAvailable", ".status.numberAvailable"),
        ("UpdatedNumberScheduled", ".status.updatedNumberScheduled"),
        ("ObservedGeneration", ".status.observedGeneration"),
    ],
    ("batch", "Job"): [
        ("Active", ".status.active"),
        ("Succeeded", ".status.succeeded"),
        ("Failed", ".status.failed"),
        ("JobComplete", '.status.conditions[?(@.type=="Complete")].status'),
    ],
    ("", "Pod"): [
        ("PodPhase", ".status.phase"),
        ("PodReady", '.status.conditions[?(@.type=="Ready")].status'),
    ],
    ("", "PersistentVolumeClaim"): [("Phase", ".status.phase")],
    ("", "Service"): [
        ("ClusterIP", ".spec.clusterIP"),
        ("LoadBalancerIngress", ".status.loadBalancer.ingress"),
    ],
}


class JSONPathError(ValueError):
    """The path is not in the supported subset."""


@dataclass(frozen=True)
class _Step:
    key: str | None = None
    index: int | None = None
    filter_key: str | None = None
    filter_value: str | None = None


_TOKEN = re.compile(
    r"""\.(?P<key>[A-Za-z0-9_\-]+)"""
    r"""|\[(?P<index>-?\d+)\]"""
    r"""|\[\?\(@\.(?P<fkey>[A-Za-z0-9_\-]+)\s*==\s*(?:"(?P<fdq>[^"]*)"|'(?P<fsq>[^']*)')\)\]"""
    r"""|\[['"](?P<qkey>[^'"]+)['"]\]"""
)


def parse_path(path: str) -> list[_Step]:
    """Parse the supported JSONPath subset: ``.a.b``, ``[0]``, ``['k.x']``, ``[?(@.k=="v")]``."""
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    if text.startswith("$"):
        text = text[1:]
    if not text or text[0] not in ".[":
        raise JSONPathError(f"path {path!r} must start with '.' or '$.'")
    steps: list[_Step] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise JSONPathError(f"cannot parse path {path!r} at {text[pos:]!r}")
        if match.group("key") is not None:
            steps.append(_Step(key=match.group("key")))
        elif match.group("qkey") is not None:
            steps.append(_Step(key=match.group("qkey")))
        elif match.group("index") is not None:
            steps.append(_Step(index=int(match.group("index"))))
        else:
            value = match.group("fdq") if match.group("fdq") is not None else match.group("fsq")
            steps.append(_Step(filter_key=match.group("fkey"), filter_value=value))
        pos = match.end()
    return steps


_MISSING = object()


def evaluate_path(obj: Any, path: str) -> Any:
    """The value at ``path`` in ``obj``; ``None`` when nothing matches. Raises JSONPathError."""
    current: Any = obj
    for step in parse_path(path):
        if step.key is not None:
            current = current.get(step.key, _MISSING) if isinstance(current, Mapping) else _MISSING
        elif step.index is not None:
            ok = isinstance(current, list) and -len(current) <= step.index < len(current)
            current = current[step.index] if ok else _MISSING
        else:
            matches = [
                item
                for item in (current if isinstance(current, list) else [])
                if isinstance(item, Mapping) and str(item.get(step.filter_key or "")) == step.filter_value
            ]
            current = matches[0] if matches else _MISSING
        if current is _MISSING:
            return None
    return current


def _evaluate_rule_path(obj: Mapping[str, Any], path: str) -> Any:
    value = evaluate_path(obj.get("status") or {}, path)
    bare = path.strip().lstrip("{$").lstrip()
    if value is None and bare.startswith((".status", ".spec", ".metadata")):
        value = evaluate_path(obj, path)
    return value


def field_value(value: Any) -> dict[str, Any]:
    """Encode a value in the Work API's ``fieldValue`` shape."""
    if isinstance(value, bool):
        return {"type": "Boolean", "boolean": value}
    if isinstance(value, int):
        return {"type": "Integer", "integer": value}
    if isinstance(value, str):
        return {"type": "String", "string": value}
    raw = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return {"type": "JsonRaw", "jsonRaw": raw[:JSON_RAW_LIMIT]}


def rules_for(
    manifest_configs: Sequence[Mapping[str, Any]],
    *,
    group: str,
    resource: str,
    kind: str,
    namespace: str,
    name: str,
) -> list[Mapping[str, Any]]:
    """The feedback rules of every manifestConfig whose resourceIdentifier selects this object."""
    rules: list[Mapping[str, Any]] = []
    for config in manifest_configs:
        ident = config.get("resourceIdentifier") or {}
        if (ident.get("group") or "") != group:
            continue
        wanted = ident.get("resource") or ident.get("kind") or ""
        if wanted not in (resource, kind) or (ident.get("name") or "") != name:
            continue
        if (ident.get("namespace") or "") != namespace:
            continue
        rules.extend(r for r in config.get("feedbackRules") or [] if isinstance(r, Mapping))
    return rules


def collect(
    obj: Mapping[str, Any], rules: Sequence[Mapping[str, Any]]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Evaluate feedback rules on a live object: (``values``, names of paths that failed to parse)."""
    api_version = str(obj.get("apiVersion") or "")
    group = api_version.partition("/")[0] if "/" in api_version else ""
    kind = str(obj.get("kind") or "")
    values: list[dict[str, Any]] = []
    errors: list[str] = []
    seen: set[str] = set()
    for rule in rules:
        if rule.get("type") == RULE_WELL_KNOWN:
            paths = WELL_KNOWN_FIELDS.get((group, kind), [])
            relative = False
        elif rule.get("type") == RULE_JSON_PATHS:
            paths = [(str(p.get("name")), str(p.get("path"))) for p in rule.get("jsonPaths") or []]
            relative = True
        else:
            continue
        for name, path in paths:
            if name in seen:
                continue
            try:
                value = _evaluate_rule_path(obj, path) if relative else evaluate_path(obj, path)
            except JSONPathError:
                errors.append(name)
                continue
            if value is None:
                continue
            seen.add(name)
            values.append({"name": name, "fieldValue": field_value(value)})
    return values, errors
