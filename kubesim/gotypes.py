"""Decoding of built-in objects against their Go types: the 400s kube-apiserver's JSON decoder gives.

kube-apiserver decodes a request body into the Go struct of the kind before anything else, so a
value of the wrong JSON type is not a 422 but a 400 ``BadRequest``::

    Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string
    into Go struct field DeploymentSpec.spec.replicas of type int32

(the struct named is the innermost one; the path is the JSON path from the root, without list
indices, as Go's encoding/json reports it). Quantities that do not parse fail the same way
with ``quantities must match the regular expression ...``.

The table covers the fields of the kinds Waybill and its users touch (metadata, ConfigMap,
Secret, workloads and their pod templates, Jobs, CronJobs, Services); fields not in it are not
type-checked (docs/kubesim.md). Pure.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from kubesim.registry import ResourceType

__all__ = ["decode_problem", "drop_nulls", "openapi_schema", "parse_quantity", "unknown_fields"]

JSON = Any

# struct name -> {json field: type}; a type is a Go type name, "[]T", "map[string]T" or a struct
_STRUCTS: dict[str, dict[str, str]] = {
    "ObjectMeta": {
        "name": "string",
        "generateName": "string",
        "namespace": "string",
        "labels": "map[string]string",
        "annotations": "map[string]string",
        "finalizers": "[]string",
        "ownerReferences": "[]OwnerReference",
    },
    "OwnerReference": {
        "apiVersion": "string",
        "kind": "string",
        "name": "string",
        "uid": "types.UID",
        "controller": "bool",
        "blockOwnerDeletion": "bool",
    },
    "ConfigMap": {
        "metadata": "ObjectMeta",
        "data": "map[string]string",
        "binaryData": "map[string][]uint8",
        "immutable": "bool",
    },
    "Secret": {
        "metadata": "ObjectMeta",
        "data": "map[string][]uint8",
        "stringData": "map[string]string",
        "type": "v1.SecretType",
        "immutable": "bool",
    },
    "Deployment": {"metadata": "ObjectMeta", "spec": "DeploymentSpec"},
    "DeploymentSpec": {
        "replicas": "int32",
        "selector": "LabelSelector",
        "template": "PodTemplateSpec",
        "minReadySeconds": "int32",
        "revisionHistoryLimit": "int32",
        "paused": "bool",
        "progressDeadlineSeconds": "int32",
    },
    "StatefulSet": {"metadata": "ObjectMeta", "spec": "StatefulSetSpec"},
    "StatefulSetSpec": {
        "replicas": "int32",
        "selector": "LabelSelector",
        "template": "PodTemplateSpec",
        "serviceName": "string",
        "minReadySeconds": "int32",
        "revisionHistoryLimit": "int32",
    },
    "DaemonSet": {"metadata": "ObjectMeta", "spec": "DaemonSetSpec"},
    "DaemonSetSpec": {
        "selector": "LabelSelector",
        "template": "PodTemplateSpec",
        "minReadySeconds": "int32",
        "revisionHistoryLimit": "int32",
    },
    "ReplicaSet": {"metadata": "ObjectMeta", "spec": "ReplicaSetSpec"},
    "ReplicaSetSpec": {
        "replicas": "int32",
        "selector": "LabelSelector",
        "template": "PodTemplateSpec",
        "minReadySeconds": "int32",
    },
    "Job": {"metadata": "ObjectMeta", "spec": "JobSpec"},
    "JobSpec": {
        "parallelism": "int32",
        "completions": "int32",
        "backoffLimit": "int32",
        "activeDeadlineSeconds": "int64",
        "ttlSecondsAfterFinished": "int32",
        "suspend": "bool",
        "selector": "LabelSelector",
        "template": "PodTemplateSpec",
    },
    "CronJob": {"metadata": "ObjectMeta", "spec": "CronJobSpec"},
    "CronJobSpec": {
        "schedule": "string",
        "suspend": "bool",
        "successfulJobsHistoryLimit": "int32",
        "failedJobsHistoryLimit": "int32",
        "jobTemplate": "JobTemplateSpec",
    },
    "JobTemplateSpec": {"metadata": "ObjectMeta", "spec": "JobSpec"},
    "LabelSelector": {"matchLabels": "map[string]string", "matchExpressions": "[]LabelSelectorRequirement"},
    "LabelSelectorRequirement": {
        "key": "string",
        "operator": "v1.LabelSelectorOperator",
        "values": "[]string",
    },
    "PodTemplateSpec": {"metadata": "ObjectMeta", "spec": "PodSpec"},
    "Pod": {"metadata": "ObjectMeta", "spec": "PodSpec"},
    "PodSpec": {
        "containers": "[]Container",
        "initContainers": "[]Container",
        "restartPolicy": "v1.RestartPolicy",
        "serviceAccountName": "string",
        "nodeSelector": "map[string]string",
        "terminationGracePeriodSeconds": "int64",
        "hostNetwork": "bool",
        "priority": "int32",
    },
    "Container": {
        "name": "string",
        "image": "string",
        "command": "[]string",
        "args": "[]string",
        "workingDir": "string",
        "ports": "[]ContainerPort",
        "env": "[]EnvVar",
        "resources": "ResourceRequirements",
        "imagePullPolicy": "v1.PullPolicy",
        "stdin": "bool",
        "tty": "bool",
    },
    "ContainerPort": {
        "name": "string",
        "hostPort": "int32",
        "containerPort": "int32",
        "protocol": "v1.Protocol",
        "hostIP": "string",
    },
    "EnvVar": {"name": "string", "value": "string"},
    "ResourceRequirements": {"limits": "v1.ResourceList", "requests": "v1.ResourceList"},
    "Service": {"metadata": "ObjectMeta", "spec": "ServiceSpec"},
    "ServiceSpec": {
        "ports": "[]ServicePort",
        "selector": "map[string]string",
        "clusterIP": "string",
        "type": "v1.ServiceType",
        "externalName": "string",
    },
    "ServicePort": {
        "name": "string",
        "protocol": "v1.Protocol",
        "port": "int32",
        "targetPort": "intstr.IntOrString",
        "nodePort": "int32",
    },
    "Namespace": {"metadata": "ObjectMeta"},
    "Role": {"metadata": "ObjectMeta", "rules": "[]PolicyRule"},
    "ClusterRole": {"metadata": "ObjectMeta", "rules": "[]PolicyRule"},
    "PolicyRule": {
        "verbs": "[]string",
        "apiGroups": "[]string",
        "resources": "[]string",
        "resourceNames": "[]string",
        "nonResourceURLs": "[]string",
    },
    "RoleBinding": {"metadata": "ObjectMeta", "roleRef": "RoleRef", "subjects": "[]Subject"},
    "ClusterRoleBinding": {"metadata": "ObjectMeta", "roleRef": "RoleRef", "subjects": "[]Subject"},
    "RoleRef": {"apiGroup": "string", "kind": "string", "name": "string"},
    "Subject": {"kind": "string", "apiGroup": "string", "name": "string", "namespace": "string"},
    "HorizontalPodAutoscaler": {"metadata": "ObjectMeta", "spec": "HorizontalPodAutoscalerSpec"},
    "HorizontalPodAutoscalerSpec": {
        "scaleTargetRef": "CrossVersionObjectReference",
        "minReplicas": "int32",
        "maxReplicas": "int32",
    },
    "CrossVersionObjectReference": {"kind": "string", "name": "string", "apiVersion": "string"},
    "PodDisruptionBudget": {"metadata": "ObjectMeta", "spec": "PodDisruptionBudgetSpec"},
    "PodDisruptionBudgetSpec": {
        "minAvailable": "intstr.IntOrString",
        "maxUnavailable": "intstr.IntOrString",
        "selector": "LabelSelector",
    },
    "Ingress": {"metadata": "ObjectMeta", "spec": "IngressSpec"},
    "IngressSpec": {"ingressClassName": "string", "rules": "[]IngressRule"},
    "IngressRule": {"host": "string"},
    "NetworkPolicy": {"metadata": "ObjectMeta", "spec": "NetworkPolicySpec"},
    "NetworkPolicySpec": {"podSelector": "LabelSelector", "policyTypes": "[]v1.PolicyType"},
    "ResourceQuota": {"metadata": "ObjectMeta", "spec": "ResourceQuotaSpec"},
    "ResourceQuotaSpec": {"hard": "v1.ResourceList", "scopes": "[]v1.ResourceQuotaScope"},
    "ServiceAccount": {"metadata": "ObjectMeta", "automountServiceAccountToken": "bool"},
}
_ROOTS = {
    ("", "configmaps"): "ConfigMap",
    ("", "secrets"): "Secret",
    ("", "pods"): "Pod",
    ("", "services"): "Service",
    ("", "namespaces"): "Namespace",
    ("", "serviceaccounts"): "ServiceAccount",
    ("apps", "deployments"): "Deployment",
    ("apps", "statefulsets"): "StatefulSet",
    ("apps", "daemonsets"): "DaemonSet",
    ("apps", "replicasets"): "ReplicaSet",
    ("batch", "jobs"): "Job",
    ("batch", "cronjobs"): "CronJob",
    ("rbac.authorization.k8s.io", "roles"): "Role",
    ("rbac.authorization.k8s.io", "clusterroles"): "ClusterRole",
    ("rbac.authorization.k8s.io", "rolebindings"): "RoleBinding",
    ("rbac.authorization.k8s.io", "clusterrolebindings"): "ClusterRoleBinding",
    ("autoscaling", "horizontalpodautoscalers"): "HorizontalPodAutoscaler",
    ("policy", "poddisruptionbudgets"): "PodDisruptionBudget",
    ("networking.k8s.io", "ingresses"): "Ingress",
    ("networking.k8s.io", "networkpolicies"): "NetworkPolicy",
    ("", "resourcequotas"): "ResourceQuota",
}
# Go packages of the structs whose package is not "v1" (autoscaling/v2)
_PACKAGES = {
    "HorizontalPodAutoscaler": "v2",
    "HorizontalPodAutoscalerSpec": "v2",
    "CrossVersionObjectReference": "v2",
}
_STRINGS = {
    "string",
    "types.UID",
    "v1.SecretType",
    "v1.LabelSelectorOperator",
    "v1.RestartPolicy",
    "v1.PullPolicy",
    "v1.Protocol",
    "v1.ServiceType",
    "v1.PolicyType",
    "v1.ResourceQuotaScope",
}
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
QUANTITY_MESSAGE = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)
_QUANTITY = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
_SUFFIXES = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}


class _Unmarshal(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse_quantity(value: JSON) -> Decimal | None:
    """A resource quantity (``500m``, ``1Gi``, ``2e3``, a JSON number) as a Decimal; None: invalid."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(str(value))
    if not isinstance(value, str):
        return None
    match = _QUANTITY.match(value)
    if match is None:
        return None
    number, suffix = match.groups()
    try:
        base = Decimal(number)
    except InvalidOperation:
        return None
    if suffix in _SUFFIXES:
        return base * _SUFFIXES[suffix]
    if suffix[:1] in ("e", "E"):
        try:
            return base * (Decimal(10) ** int(suffix[1:]))
        except ValueError:
            return None
    return None


_B64 = re.compile(r"[A-Za-z0-9+/]")


def _base64_error(text: str) -> int | None:
    """Where Go's StdEncoding stops decoding ``text`` (None: valid base64)."""
    for index, char in enumerate(text):
        if char == "=":
            rest = text[index:]
            if len(text) % 4 == 0 and rest in ("=", "==") and index >= 2:
                return None
            return index
        if not _B64.match(char):
            return index
    if len(text) % 4:
        return len(text) - len(text) % 4
    return None


def _json_kind(value: JSON) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _go_name(go_type: str) -> str:
    """How Go prints the type: structs with their package (``v1.PodSpec``, ``[]v1.Container``)."""
    if go_type.startswith("[]"):
        return "[]" + _go_name(go_type[2:])
    if go_type.startswith("map[string]"):
        return "map[string]" + _go_name(go_type[len("map[string]") :])
    return f"{_PACKAGES.get(go_type, 'v1')}.{go_type}" if go_type in _STRUCTS else go_type


def _fail(value: JSON, struct: str, path: str, go_type: str) -> _Unmarshal:
    shown = _json_kind(value)
    if shown == "number" and go_type in _INT_RANGES:
        shown = f"number {value}"
    return _Unmarshal(
        f"json: cannot unmarshal {shown} into Go struct field {struct}.{path} of type {_go_name(go_type)}"
    )


def _check(value: JSON, go_type: str, struct: str, path: str) -> None:
    if value is None:
        return  # null leaves the Go zero value
    if go_type in _STRINGS:
        if not isinstance(value, str):
            raise _fail(value, struct, path, go_type)
    elif go_type in _INT_RANGES:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _fail(value, struct, path, go_type)
        low, high = _INT_RANGES[go_type]
        if (isinstance(value, float) and not value.is_integer()) or not low <= value <= high:
            raise _fail(value, struct, path, go_type)
    elif go_type == "bool":
        if not isinstance(value, bool):
            raise _fail(value, struct, path, go_type)
    elif go_type == "intstr.IntOrString":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise _fail(value, struct, path, go_type)
    elif go_type == "v1.ResourceList":
        if not isinstance(value, dict):
            raise _fail(value, struct, path, go_type)
        for item in value.values():
            if isinstance(item, str | int | float) and not isinstance(item, bool):
                if parse_quantity(item) is None:
                    raise _Unmarshal(QUANTITY_MESSAGE)
            elif item is not None:
                raise _Unmarshal(QUANTITY_MESSAGE)
    elif go_type.startswith("[]"):
        if go_type == "[]uint8":
            if not isinstance(value, str):
                raise _fail(value, struct, path, go_type)
            bad = _base64_error(value)
            if bad is not None:
                raise _Unmarshal(f"illegal base64 data at input byte {bad}")
            return
        if not isinstance(value, list):
            raise _fail(value, struct, path, go_type)
        for item in value:
            _check(item, go_type[2:], struct, path)
    elif go_type.startswith("map[string]"):
        if not isinstance(value, dict):
            raise _fail(value, struct, path, go_type)
        if go_type == "map[string]string" and all(type(v) is str for v in value.values()):
            return  # the common case (labels, data), without a call per value
        for item in value.values():
            _check(item, go_type[len("map[string]") :], struct, path)
    elif go_type in _STRUCTS:
        if not isinstance(value, dict):
            raise _fail(value, struct, path, go_type)
        for key, item in value.items():
            field_type = _STRUCTS[go_type].get(key)
            if field_type is not None:
                _check(item, field_type, go_type, f"{path}.{key}" if path else key)


def decode_problem(rtype: ResourceType, obj: JSON) -> str | None:
    """The 400 message for a body that does not decode into the kind's Go type (None: it does)."""
    root = _ROOTS.get(rtype.key)
    if root is None or not isinstance(obj, dict):
        return None
    try:
        for key, item in obj.items():
            field_type = _STRUCTS[root].get(key)
            if field_type is not None:
                _check(item, field_type, root, key)
    except _Unmarshal as exc:
        return f'{rtype.kind} in version "{rtype.version}" cannot be handled as a {rtype.kind}: {exc.message}'
    return None


def drop_nulls(rtype: ResourceType, obj: JSON) -> None:
    """Remove ``null`` fields of a built-in object in place (Go decodes them as zero values, which
    the apiserver then defaults or omits); custom resources keep theirs for schema validation."""
    if rtype.key in _ROOTS:
        _drop_nulls(obj)


def _drop_nulls(value: JSON) -> None:
    if type(value) is dict:
        if None in value.values():
            for key in [k for k, v in value.items() if v is None]:
                del value[key]
        for item in value.values():
            if type(item) is dict or type(item) is list:
                _drop_nulls(item)
    elif type(value) is list:
        for item in value:
            if type(item) is dict or type(item) is list:
                _drop_nulls(item)


_OPENAPI_SCALARS: dict[str, dict[str, Any]] = {
    "int32": {"type": "integer", "format": "int32"},
    "int64": {"type": "integer", "format": "int64"},
    "bool": {"type": "boolean"},
    "[]uint8": {"type": "string", "format": "byte"},
    "intstr.IntOrString": {"x-kubernetes-int-or-string": True},
    "v1.ResourceList": {
        "type": "object",
        "additionalProperties": {"x-kubernetes-int-or-string": True, "description": "a resource quantity"},
    },
}


def _openapi(go_type: str, *, top: bool = False) -> dict[str, Any]:
    if go_type in _STRINGS:
        return {"type": "string"}
    if go_type in _OPENAPI_SCALARS:
        return dict(_OPENAPI_SCALARS[go_type])
    if go_type.startswith("[]"):
        return {"type": "array", "items": _openapi(go_type[2:])}
    if go_type.startswith("map[string]"):
        return {"type": "object", "additionalProperties": _openapi(go_type[len("map[string]") :])}
    fields = _STRUCTS[go_type]
    return {
        "type": "object",
        "description": f"{go_type}: the fields kubesim type-checks (others are kept, not checked)",
        "x-kubernetes-preserve-unknown-fields": True,
        "properties": {name: _openapi(t) for name, t in fields.items() if not (top and name == "metadata")},
    }


def openapi_schema(rtype: ResourceType) -> dict[str, Any] | None:
    """The published OpenAPI v3 schema of a built-in kind: the very types ``decode_problem``
    checks (None for kinds without a type table)."""
    root = _ROOTS.get(rtype.key)
    return _openapi(root, top=True) if root is not None else None


# ----------------------------------------------------------------------------- unknown fields

_TOP = frozenset({"apiVersion", "kind", "metadata", "spec", "status"})
# Structs whose every JSON field is listed here (typed in _STRUCTS or not): only inside these
# can a field be called unknown. Other structs are open (kubesim does not know all their fields).
_COMPLETE: dict[str, frozenset[str]] = {
    **{root: _TOP for root in _ROOTS.values()},
    "ConfigMap": frozenset({"apiVersion", "kind", "metadata", "data", "binaryData", "immutable"}),
    "Secret": frozenset({"apiVersion", "kind", "metadata", "data", "stringData", "type", "immutable"}),
    "ServiceAccount": frozenset(
        {"apiVersion", "kind", "metadata", "secrets", "imagePullSecrets", "automountServiceAccountToken"}
    ),
    "Role": frozenset({"apiVersion", "kind", "metadata", "rules"}),
    "ClusterRole": frozenset({"apiVersion", "kind", "metadata", "rules", "aggregationRule"}),
    "RoleBinding": frozenset({"apiVersion", "kind", "metadata", "subjects", "roleRef"}),
    "ClusterRoleBinding": frozenset({"apiVersion", "kind", "metadata", "subjects", "roleRef"}),
    "ObjectMeta": frozenset(
        {
            "name",
            "generateName",
            "namespace",
            "selfLink",
            "uid",
            "resourceVersion",
            "generation",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "labels",
            "annotations",
            "ownerReferences",
            "finalizers",
            "managedFields",
        }
    ),
    "OwnerReference": frozenset({"apiVersion", "kind", "name", "uid", "controller", "blockOwnerDeletion"}),
    "DeploymentSpec": frozenset(
        {
            "replicas",
            "selector",
            "template",
            "strategy",
            "minReadySeconds",
            "revisionHistoryLimit",
            "paused",
            "progressDeadlineSeconds",
        }
    ),
    "PodTemplateSpec": frozenset({"metadata", "spec"}),
    "JobTemplateSpec": frozenset({"metadata", "spec"}),
    # core/v1 as of 1.34 (alpha fields included: the API types have them whatever the gates)
    "PodSpec": frozenset(
        {
            "volumes",
            "initContainers",
            "containers",
            "ephemeralContainers",
            "restartPolicy",
            "terminationGracePeriodSeconds",
            "activeDeadlineSeconds",
            "dnsPolicy",
            "nodeSelector",
            "serviceAccountName",
            "serviceAccount",
            "automountServiceAccountToken",
            "nodeName",
            "hostNetwork",
            "hostPID",
            "hostIPC",
            "shareProcessNamespace",
            "securityContext",
            "imagePullSecrets",
            "hostname",
            "subdomain",
            "affinity",
            "schedulerName",
            "tolerations",
            "hostAliases",
            "priorityClassName",
            "priority",
            "dnsConfig",
            "readinessGates",
            "runtimeClassName",
            "enableServiceLinks",
            "preemptionPolicy",
            "overhead",
            "topologySpreadConstraints",
            "setHostnameAsFQDN",
            "os",
            "hostUsers",
            "schedulingGates",
            "resourceClaims",
            "resources",
            "hostnameOverride",
        }
    ),
    "Container": frozenset(
        {
            "name",
            "image",
            "command",
            "args",
            "workingDir",
            "ports",
            "envFrom",
            "env",
            "resources",
            "resizePolicy",
            "restartPolicy",
            "restartPolicyRules",
            "volumeMounts",
            "volumeDevices",
            "livenessProbe",
            "readinessProbe",
            "startupProbe",
            "lifecycle",
            "terminationMessagePath",
            "terminationMessagePolicy",
            "imagePullPolicy",
            "securityContext",
            "stdin",
            "stdinOnce",
            "tty",
        }
    ),
    "LabelSelector": frozenset({"matchLabels", "matchExpressions"}),
    "LabelSelectorRequirement": frozenset({"key", "operator", "values"}),
    "ContainerPort": frozenset({"name", "hostPort", "containerPort", "protocol", "hostIP"}),
    "EnvVar": frozenset({"name", "value", "valueFrom"}),
    "ResourceRequirements": frozenset({"limits", "requests", "claims"}),
    "ServicePort": frozenset({"name", "protocol", "appProtocol", "port", "targetPort", "nodePort"}),
    "RoleRef": frozenset({"apiGroup", "kind", "name"}),
    "Subject": frozenset({"kind", "apiGroup", "name", "namespace"}),
    "PolicyRule": frozenset({"verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs"}),
    "CrossVersionObjectReference": frozenset({"kind", "name", "apiVersion"}),
    "HorizontalPodAutoscalerSpec": frozenset(
        {"scaleTargetRef", "minReplicas", "maxReplicas", "metrics", "behavior"}
    ),
}


def unknown_fields(rtype: ResourceType, obj: JSON) -> list[tuple[dict[str, Any], str, str]]:
    """Fields of a built-in object that its Go type does not have: ``(container, key, path)``
    (``spec.template.spec.containers[0].ports[0].contianerPort``), for strict decoding and
    pruning. Only structs whose fields kubesim knows completely are looked into."""
    root = _ROOTS.get(rtype.key)
    out: list[tuple[dict[str, Any], str, str]] = []
    if root is not None and isinstance(obj, dict):
        _unknown(obj, root, "", out)
    return out


def _unknown(value: JSON, go_type: str, path: str, out: list[tuple[dict[str, Any], str, str]]) -> None:
    if go_type.startswith("[]") and isinstance(value, list):
        for index, item in enumerate(value):
            _unknown(item, go_type[2:], f"{path}[{index}]", out)
        return
    if go_type not in _STRUCTS or not isinstance(value, dict):
        return
    known = _COMPLETE.get(go_type)
    fields = _STRUCTS[go_type]
    for key, item in value.items():
        child = f"{path}.{key}" if path else key
        if known is not None and key not in known and key not in fields:
            out.append((value, key, child))
        elif key in fields:
            _unknown(item, fields[key], child, out)
