"""Validation of built-in objects: the checks of kube-apiserver that clients run into most.

Pure: ``problems(rtype, obj) -> causes`` (``details.causes`` entries, apiserver wording). Covers
workload selectors and templates (required, must match), containers (name, image), replica
counts, Job restart policies, Service ports and ConfigMap/Secret keys. Everything else in a
built-in spec is accepted as is (see docs/kubesim.md).
"""

from __future__ import annotations

import re
from typing import Any

from kubesim import selectors
from kubesim.registry import ResourceType

Obj = dict[str, Any]
Cause = dict[str, str]

_WORKLOADS = frozenset(
    {("apps", "deployments"), ("apps", "statefulsets"), ("apps", "daemonsets"), ("apps", "replicasets")}
)
_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_KEY_MSG = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  "
    "or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
)


def _required(field: str, detail: str = "") -> Cause:
    return {
        "reason": "FieldValueRequired",
        "field": field,
        "message": f"Required value: {detail}" if detail else "Required value",
    }


def _invalid(field: str, value: str, detail: str) -> Cause:
    return {"reason": "FieldValueInvalid", "field": field, "message": f"Invalid value: {value}: {detail}"}


def _go_map(labels: dict[str, str]) -> str:
    return "map[string]string{" + ", ".join(f'"{k}":"{v}"' for k, v in sorted(labels.items())) + "}"


def _containers(spec: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    containers = (spec or {}).get("containers") if isinstance(spec, dict) else None
    if not containers:
        return [_required(f"{path}.containers")]
    seen: set[str] = set()
    for i, c in enumerate(containers):
        if not isinstance(c, dict):
            continue
        name = c.get("name")
        if not name:
            causes.append(_required(f"{path}.containers[{i}].name"))
        elif name in seen:
            causes.append(
                {
                    "reason": "FieldValueDuplicate",
                    "field": f"{path}.containers[{i}].name",
                    "message": f'Duplicate value: "{name}"',
                }
            )
        else:
            seen.add(name)
        if not c.get("image"):
            causes.append(_required(f"{path}.containers[{i}].image"))
    return causes


def _workload(rtype: ResourceType, obj: Obj) -> list[Cause]:
    spec = obj.get("spec") or {}
    causes: list[Cause] = []
    replicas = spec.get("replicas")
    if isinstance(replicas, int) and replicas < 0:
        causes.append(_invalid("spec.replicas", str(replicas), "must be greater than or equal to 0"))
    selector = spec.get("selector")
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    if not selector:
        causes.append(_required("spec.selector"))
    elif not (selector.get("matchLabels") or selector.get("matchExpressions")):
        causes.append(
            _invalid(
                "spec.selector",
                "v1.LabelSelector{MatchLabels:map[string]string(nil), "
                "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}",
                f"empty selector is invalid for {rtype.singular_name}",
            )
        )
    elif not selectors.match_selector_dict(selector, labels):
        causes.append(
            _invalid(
                "spec.template.metadata.labels",
                _go_map(labels),
                "`selector` does not match template `labels`",
            )
        )
    causes += _containers(template.get("spec"), "spec.template.spec")
    return causes


def _job(obj: Obj) -> list[Cause]:
    template = (obj.get("spec") or {}).get("template") or {}
    pod_spec = template.get("spec") or {}
    causes = _containers(pod_spec, "spec.template.spec")
    policy = pod_spec.get("restartPolicy")
    if policy not in ("OnFailure", "Never"):
        if policy:
            causes.append(
                {
                    "reason": "FieldValueNotSupported",
                    "field": "spec.template.spec.restartPolicy",
                    "message": f'Unsupported value: "{policy}": supported values: "OnFailure", "Never"',
                }
            )
        else:
            causes.append(_required("spec.template.spec.restartPolicy", 'valid values: "OnFailure", "Never"'))
    return causes


def _service(obj: Obj) -> list[Cause]:
    spec = obj.get("spec") or {}
    causes: list[Cause] = []
    ports = spec.get("ports") or []
    if not ports and spec.get("type", "ClusterIP") != "ExternalName" and spec.get("clusterIP") != "None":
        causes.append(_required("spec.ports"))
    for i, port in enumerate(ports):
        number = port.get("port") if isinstance(port, dict) else None
        if not isinstance(number, int) or not 1 <= number <= 65535:
            causes.append(
                _invalid(f"spec.ports[{i}].port", str(number), "must be between 1 and 65535, inclusive")
            )
        if len(ports) > 1 and isinstance(port, dict) and not port.get("name"):
            causes.append(_required(f"spec.ports[{i}].name"))
    return causes


def _keys(obj: Obj, fields: tuple[str, ...]) -> list[Cause]:
    causes = []
    for field in fields:
        for key in obj.get(field) or {}:
            if not _KEY.match(key) or len(key) > 253:
                causes.append(_invalid(f"{field}[{key}]", f'"{key}"', _KEY_MSG))
    return causes


def problems(rtype: ResourceType, obj: Obj) -> list[Cause]:
    """Validation failures of a built-in object, worded like kube-apiserver."""
    if rtype.key in _WORKLOADS:
        return _workload(rtype, obj)
    if rtype.key == ("batch", "jobs"):
        return _job(obj)
    if rtype.key == ("", "pods"):
        return _containers(obj.get("spec"), "spec")
    if rtype.key == ("", "services"):
        return _service(obj)
    if rtype.key == ("", "configmaps"):
        return _keys(obj, ("data", "binaryData"))
    if rtype.key == ("", "secrets"):
        return _keys(obj, ("data", "stringData"))
    return []
