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

__all__ = ["decode_problem", "parse_quantity"]

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


def _fail(value: JSON, struct: str, path: str, go_type: str) -> _Unmarshal:
    shown = _json_kind(value)
    if shown == "number" and go_type in _INT_RANGES:
        shown = f"number {value}"
    return _Unmarshal(
        f"json: cannot unmarshal {shown} into Go struct field {struct}.{path} of type {go_type}"
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
            return
        if not isinstance(value, list):
            raise _fail(value, struct, path, go_type)
        for item in value:
            _check(item, go_type[2:], struct, path)
    elif go_type.startswith("map[string]"):
        if not isinstance(value, dict):
            raise _fail(value, struct, path, go_type)
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
