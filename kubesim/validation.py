"""Validation of built-in objects: the checks of kube-apiserver that clients run into most.

Pure: ``problems(rtype, obj) -> causes`` (``details.causes`` entries, apiserver wording). Covers
workload selectors and templates (required, must match), containers (name, image), replica
counts, Job restart policies, Service ports and ConfigMap/Secret keys. Everything else in a
built-in spec is accepted as is (see docs/kubesim.md).
"""

from __future__ import annotations

import re
from typing import Any

from kubesim import gotypes, meta, selectors
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
            if not _dns_label_ok(name):
                causes += _dns_label_causes(f"{path}.containers[{i}].name", str(name))
        if not c.get("image"):
            causes.append(_required(f"{path}.containers[{i}].image"))
        causes += _container_details(c, f"{path}.containers[{i}]")
    return causes


_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
    "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
# RelaxedEnvironmentVariableValidation (GA in 1.34, the version kubesim reports): printable ASCII but '='
_ENV_NAME = re.compile(r"^[ -<>-~]+$")
_ENV_NAME_MSG = (
    "a valid environment variable name must consist only of printable ASCII characters other than '='"
)
_PORT_NAME_CHARS = re.compile(r"^[-a-z0-9]+$")
_PROTOCOLS = ("SCTP", "TCP", "UDP")


def _quoted(value: Any) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dns_label_ok(name: Any) -> bool:
    return isinstance(name, str) and len(name) <= 63 and _DNS_LABEL.match(name) is not None


def _dns_label_causes(field: str, name: str) -> list[Cause]:
    causes = []
    if len(name) > 63:
        causes.append(_invalid(field, _quoted(name), "must be no more than 63 characters"))
    if not _DNS_LABEL.match(name):
        causes.append(_invalid(field, _quoted(name), _DNS_LABEL_MSG))
    return causes


def port_name_problems(name: str) -> list[str]:
    """``IsValidPortName`` (IANA_SVC_NAME): each failed rule is its own error."""
    out = []
    if len(name) > 15:
        out.append("must be no more than 15 characters")
    if not _PORT_NAME_CHARS.match(name):
        out.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search(r"[a-z]", name):
        out.append("must contain at least one letter (a-z)")
    if "--" in name:
        out.append("must not contain consecutive hyphens")
    if name and (name[0] == "-" or name[-1] == "-"):
        out.append("must not begin or end with a hyphen")
    return out


def _protocol(field: str, protocol: Any) -> list[Cause]:
    if protocol is None or protocol == "" or protocol in _PROTOCOLS:
        return []  # "" is defaulted to TCP before validation
    supported = ", ".join(f'"{p}"' for p in _PROTOCOLS)
    return [
        {
            "reason": "FieldValueNotSupported",
            "field": field,
            "message": f"Unsupported value: {_quoted(protocol)}: supported values: {supported}",
        }
    ]


def _port_number(field: str, number: Any, *, required: bool) -> list[Cause]:
    if number in (None, 0):
        return [_required(field)] if required else []
    if isinstance(number, int) and not 1 <= number <= 65535:
        return [_invalid(field, str(number), "must be between 1 and 65535, inclusive")]
    return []


def _container_details(c: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    names: set[str] = set()
    for j, port in enumerate(c.get("ports") or []):
        if not isinstance(port, dict):
            continue
        at = f"{path}.ports[{j}]"
        name = port.get("name")
        if name:
            for detail in port_name_problems(str(name)):
                causes.append(_invalid(f"{at}.name", _quoted(name), detail))
            if name in names:
                causes.append(
                    {
                        "reason": "FieldValueDuplicate",
                        "field": f"{at}.name",
                        "message": f"Duplicate value: {_quoted(name)}",
                    }
                )
            names.add(str(name))
        causes += _port_number(f"{at}.containerPort", port.get("containerPort"), required=True)
        causes += _port_number(f"{at}.hostPort", port.get("hostPort"), required=False)
        causes += _protocol(f"{at}.protocol", port.get("protocol"))
    for j, env in enumerate(c.get("env") or []):
        if not isinstance(env, dict):
            continue
        name = env.get("name")
        if not name:
            causes.append(_required(f"{path}.env[{j}].name"))
        elif not _ENV_NAME.match(str(name)):
            causes.append(_invalid(f"{path}.env[{j}].name", _quoted(name), _ENV_NAME_MSG))
    causes += _resources(c.get("resources"), f"{path}.resources")
    return causes


def _resources(resources: Any, path: str) -> list[Cause]:
    if not isinstance(resources, dict):
        return []
    causes: list[Cause] = []
    parsed: dict[str, dict[str, Any]] = {}
    for kind in ("limits", "requests"):
        values = resources.get(kind) or {}
        parsed[kind] = {}
        for name, raw in values.items() if isinstance(values, dict) else ():
            quantity = gotypes.parse_quantity(raw)
            if quantity is None:
                continue
            parsed[kind][name] = (raw, quantity)
            if quantity < 0:
                causes.append(
                    _invalid(f"{path}.{kind}[{name}]", _quoted(raw), "must be greater than or equal to 0")
                )
    for name, (raw, quantity) in parsed["requests"].items():
        limit = parsed["limits"].get(name)
        if limit is not None and quantity > limit[1]:
            causes.append(
                _invalid(
                    f"{path}.requests",
                    _quoted(raw),
                    f"must be less than or equal to {name} limit of {limit[0]}",
                )
            )
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
    selector_causes = _selector_problems(selector, "spec.selector") if isinstance(selector, dict) else []
    if not selector:
        causes.append(_required("spec.selector"))
    elif selector_causes:
        causes += selector_causes
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
    causes += _template_meta(template, "spec.template")
    causes += _containers(template.get("spec"), "spec.template.spec")
    return causes


_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def _selector_problems(selector: Obj, path: str) -> list[Cause]:
    """``ValidateLabelSelector``: label syntax of matchLabels, operators and values of
    matchExpressions; a selector that does not convert adds ``invalid label selector``."""
    causes = _label_causes(selector.get("matchLabels") or {}, f"{path}.matchLabels")
    convertible = True
    for i, req in enumerate(selector.get("matchExpressions") or []):
        if not isinstance(req, dict):
            continue
        at = f"{path}.matchExpressions[{i}]"
        op, values = req.get("operator"), req.get("values") or []
        if op in ("In", "NotIn") and not values:
            causes.append(_required(f"{at}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
            convertible = False
        elif op in ("Exists", "DoesNotExist") and values:
            causes.append(
                {
                    "reason": "FieldValueForbidden",
                    "field": f"{at}.values",
                    "message": "Forbidden: may not be specified when `operator` is "
                    "'Exists' or 'DoesNotExist'",
                }
            )
            convertible = False
        elif op not in _OPERATORS:
            causes.append(_invalid(f"{at}.operator", _quoted(op), "not a valid selector operator"))
            convertible = False
        key_causes = _label_causes({str(req.get("key", "")): ""}, f"{at}.key", keys_only=True)
        causes += key_causes
        convertible = convertible and not key_causes
    if causes and not convertible:
        # kube-apiserver prints the Go struct here (v1.LabelSelector{...})
        causes.append(_invalid(path, "v1.LabelSelector{...}", "invalid label selector"))
    return causes


def _label_causes(labels: Any, field: str, *, keys_only: bool = False) -> list[Cause]:
    if not isinstance(labels, dict) or not labels:
        return []
    found = meta.label_problems({"labels": labels})
    out = []
    for cause in found:
        if keys_only and "a valid label must be" in cause["message"]:
            continue
        out.append({**cause, "field": field})
    return out


def _template_meta(template: Obj, path: str) -> list[Cause]:
    """A pod template's labels and annotations are validated as any object's metadata."""
    md = template.get("metadata")
    if not isinstance(md, dict) or not (md.get("labels") or md.get("annotations")):
        return []
    found = meta.label_problems({k: md[k] for k in ("labels", "annotations") if k in md})
    return [{**c, "field": f"{path}.{c['field']}"} for c in found]


def _job(obj: Obj) -> list[Cause]:
    template = (obj.get("spec") or {}).get("template") or {}
    pod_spec = template.get("spec") or {}
    causes = _template_meta(template, "spec.template") + _containers(pod_spec, "spec.template.spec")
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
        if isinstance(port, dict) and port.get("name") and not _dns_label_ok(port["name"]):
            causes += _dns_label_causes(f"spec.ports[{i}].name", str(port["name"]))
        if isinstance(port, dict):
            causes += _protocol(f"spec.ports[{i}].protocol", port.get("protocol"))
            causes += _target_port(f"spec.ports[{i}].targetPort", port.get("targetPort"))
    service_type = spec.get("type", "ClusterIP")
    if service_type not in _SERVICE_TYPES:
        supported = ", ".join(f'"{t}"' for t in _SERVICE_TYPES)
        causes.append(
            {
                "reason": "FieldValueNotSupported",
                "field": "spec.type",
                "message": f"Unsupported value: {_quoted(service_type)}: supported values: {supported}",
            }
        )
    if service_type == "ExternalName" and not spec.get("externalName"):
        causes.append(_required("spec.externalName"))
    causes += _label_causes(spec.get("selector") or {}, "spec.selector")
    return causes


_SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")


def _target_port(field: str, target: Any) -> list[Cause]:
    """A number (1-65535) or an IANA port name; 0 and "" are defaulted to ``port``."""
    if target in (None, 0, ""):
        return []
    if isinstance(target, int):
        return _port_number(field, target, required=False)
    return [_invalid(field, _quoted(target), detail) for detail in port_name_problems(str(target))]


def _keys(obj: Obj, fields: tuple[str, ...]) -> list[Cause]:
    causes = []
    for field in fields:
        for key in obj.get(field) or {}:
            if len(key) > 253:
                causes.append(_invalid(f"{field}[{key}]", f'"{key}"', "must be no more than 253 characters"))
            if not _KEY.match(key):
                causes.append(_invalid(f"{field}[{key}]", f'"{key}"', _KEY_MSG))
            if key in (".", ".."):
                causes.append(_invalid(f"{field}[{key}]", f'"{key}"', f"must not be '{key}'"))
            elif key.startswith(".."):
                causes.append(_invalid(f"{field}[{key}]", f'"{key}"', "must not start with '..'"))
    return causes


_PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _ingress(obj: Obj) -> list[Cause]:
    """Hosts (DNS subdomains, a leading ``*.`` allowed), pathType required and known, paths of
    Prefix/Exact absolute."""
    causes: list[Cause] = []
    for i, rule in enumerate((obj.get("spec") or {}).get("rules") or []):
        if not isinstance(rule, dict):
            continue
        host = rule.get("host")
        if host:
            bare = host[2:] if host.startswith("*.") else host
            if not _SUBDOMAIN.match(bare):
                causes.append(
                    _invalid(
                        f"spec.rules[{i}].host",
                        _quoted(host),
                        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                        "'-' or '.', and must start and end with an alphanumeric character (e.g. "
                        "'example.com', regex used for validation is "
                        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                    )
                )
        for j, item in enumerate(((rule.get("http") or {}).get("paths")) or []):
            if not isinstance(item, dict):
                continue
            at = f"spec.rules[{i}].http.paths[{j}]"
            path_type = item.get("pathType")
            if not path_type:
                causes.append(_required(f"{at}.pathType", "pathType must be specified"))
            elif path_type not in _PATH_TYPES:
                supported = ", ".join(f'"{t}"' for t in _PATH_TYPES)
                causes.append(
                    {
                        "reason": "FieldValueNotSupported",
                        "field": f"{at}.pathType",
                        "message": f"Unsupported value: {_quoted(path_type)}: supported values: {supported}",
                    }
                )
            path = item.get("path") or ""
            if not isinstance(path, str) or path_type not in _PATH_TYPES:
                continue
            if (path or path_type != "ImplementationSpecific") and not path.startswith("/"):
                causes.append(_invalid(f"{at}.path", _quoted(path), "must be an absolute path"))
            if path_type != "ImplementationSpecific" and path:
                for seq in ("//", "/./", "/../", "%2f", "%2F"):
                    if seq in path:
                        causes.append(_invalid(f"{at}.path", _quoted(path), f"must not contain '{seq}'"))
                for suffix in ("/..", "/."):
                    if path.endswith(suffix):
                        causes.append(_invalid(f"{at}.path", _quoted(path), f"cannot end with '{suffix}'"))
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
    if rtype.key == ("networking.k8s.io", "ingresses"):
        return _ingress(obj)
    if rtype.key == ("", "configmaps"):
        return _keys(obj, ("data", "binaryData"))
    if rtype.key == ("", "secrets"):
        merged = {**(obj.get("data") or {}), **(obj.get("stringData") or {})}  # stringData lands in data
        return _keys({"data": merged}, ("data",))
    return []
