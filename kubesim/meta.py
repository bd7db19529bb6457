"""Object metadata rules applied on every write (pure functions).

Name validation (DNS-1123 subdomain or label, per kind), ``generateName``, system fields
(uid, creationTimestamp, resourceVersion, generation), what "spec changed" means for
``generation``, and the status-subresource split. The store calls these; no I/O here.
"""

from __future__ import annotations

import base64
import contextvars
import datetime
import random
import re
from typing import Any

from kubesim import errors
from kubesim.registry import ResourceType

Obj = dict[str, Any]

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
    "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
# Kinds whose names must be DNS-1123 labels (<= 63 chars) rather than subdomains.
_LABEL_NAMED = frozenset({("", "namespaces"), ("", "services")})
# Kinds whose names are path segments only (RBAC allows ':' etc.).
_PATH_NAMED = frozenset(
    ("rbac.authorization.k8s.io", p) for p in ("roles", "rolebindings", "clusterroles", "clusterrolebindings")
)
# Groups whose objects carry metadata.generation (plus pods and every custom resource).
_GENERATION_GROUPS = frozenset(
    {
        "apps",
        "batch",
        "networking.k8s.io",
        "policy",
        "autoscaling",
        "apiextensions.k8s.io",
        "admissionregistration.k8s.io",
    }
)
_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
SYSTEM_META = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation")


# Per-request context (set by the HTTP layer, read by admitters): the fieldValidation directive
# ("Strict", "Warn" or "Ignore") and the warnings to send back in ``Warning`` headers.
field_validation: contextvars.ContextVar[str] = contextvars.ContextVar("field_validation", default="Ignore")
warnings: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("warnings", default=None)


def warn(message: str) -> None:
    bucket = warnings.get()
    if bucket is not None:
        bucket.append(message)


def unknown_fields(original: Any, pruned: Any, *, prefix: str = "") -> list[str]:
    """Paths present in ``original`` but dropped by pruning (``spec.extra``, ``spec.items[0].x``)."""
    out: list[str] = []
    if original is pruned:  # kept as is (prune(copy=False) keeps preserved subtrees)
        return out
    if isinstance(original, dict) and isinstance(pruned, dict):
        for key, value in original.items():
            path = f"{prefix}.{key}" if prefix else key
            if key not in pruned:
                out.append(path)
            else:
                out += unknown_fields(value, pruned[key], prefix=path)
    elif isinstance(original, list) and isinstance(pruned, list):
        for i, (a, b) in enumerate(zip(original, pruned, strict=False)):
            out += unknown_fields(a, b, prefix=f"{prefix}[{i}]")
    return out


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def name_problems(rtype: ResourceType, name: str) -> list[dict[str, str]]:
    """``details.causes`` for an invalid ``metadata.name`` (empty when valid)."""
    if rtype.key in _PATH_NAMED:
        if name in (".", "..") or "/" in name or "%" in name:
            return [
                errors.field_cause(
                    kind="Invalid", field="metadata.name", value=name, detail="may not contain '/' or '%'"
                )
            ]
        return []
    if rtype.key in _LABEL_NAMED:
        if len(name) > 63:
            return [
                errors.field_cause(
                    kind="Invalid",
                    field="metadata.name",
                    value=name,
                    detail="must be no more than 63 characters",
                )
            ]
        if rtype.key == ("", "services") and not _DNS1035.match(name):
            return [
                errors.field_cause(kind="Invalid", field="metadata.name", value=name, detail=_DNS1035_MSG)
            ]
        if not _LABEL.match(name):
            return [errors.field_cause(kind="Invalid", field="metadata.name", value=name, detail=_LABEL_MSG)]
        return []
    if len(name) > 253:
        return [
            errors.field_cause(
                kind="Invalid",
                field="metadata.name",
                value=name,
                detail="must be no more than 253 characters",
            )
        ]
    if not _SUBDOMAIN.match(name):
        return [errors.field_cause(kind="Invalid", field="metadata.name", value=name, detail=_SUBDOMAIN_MSG)]
    return []


_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
    "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_QUALIFIED = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")


_STANDARD_FINALIZERS = frozenset({"kubernetes", "orphan", "foregroundDeletion"})


def owner_and_finalizer_problems(md: Obj) -> list[dict[str, str]]:
    """Causes for incomplete ownerReferences; unqualified finalizer names only warn (as 1.29+)."""
    causes = []
    for ref in md.get("ownerReferences") or []:
        if not isinstance(ref, dict):
            continue
        for field, what in (("apiVersion", "version"), ("kind", "kind"), ("name", "name"), ("uid", "uid")):
            if not ref.get(field):
                causes.append(
                    {
                        "reason": "FieldValueInvalid",
                        "field": f"metadata.ownerReferences.{field}",
                        "message": f'Invalid value: "": {what} must not be empty',
                    }
                )
    for name in md.get("finalizers") or []:
        if isinstance(name, str) and name not in _STANDARD_FINALIZERS and "/" not in name:
            warn(
                f'metadata.finalizers: "{name}": prefer a domain-qualified finalizer name including a '
                "path (/) to avoid accidental conflicts with other finalizer writers"
            )
    return causes


def label_problems(meta: Obj) -> list[dict[str, str]]:
    causes = owner_and_finalizer_problems(meta)
    for key, value in (meta.get("labels") or {}).items():
        if not _key_ok(key):
            causes.append(
                errors.field_cause(
                    kind="Invalid",
                    field="metadata.labels",
                    value=key,
                    detail="name part must consist of alphanumeric characters, "
                    "'-', '_' or '.', and must start and end with an "
                    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
                    "'123-abc', regex used for validation is "
                    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
                )
            )
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            causes.append(
                errors.field_cause(
                    kind="Invalid",
                    field="metadata.labels",
                    value=value,
                    detail="a valid label must be an empty string or consist of "
                    "alphanumeric characters, '-', '_' or '.', and must start "
                    "and end with an alphanumeric character (e.g. 'MyValue',  "
                    "or 'my_value',  or '12345', regex used for validation is "
                    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
                )
            )
    for key in meta.get("annotations") or {}:
        if not _key_ok(key):
            causes.append(
                errors.field_cause(
                    kind="Invalid",
                    field="metadata.annotations",
                    value=key,
                    detail="name part must consist of alphanumeric characters, "
                    "'-', '_' or '.', and must start and end with an "
                    "alphanumeric character",
                )
            )
    return causes


def _key_ok(key: str) -> bool:
    prefix, slash, name = key.rpartition("/")
    if slash and not prefix:
        return False  # "prefix part must be non-empty"
    if prefix and (len(prefix) > 253 or not _SUBDOMAIN.match(prefix)):
        return False
    return 0 < len(name) <= 63 and bool(_QUALIFIED.match(name))


def generate_name(prefix: str) -> str:
    return prefix + "".join(random.choice(_GENERATE_ALPHABET) for _ in range(5))


def tracks_generation(rtype: ResourceType) -> bool:
    return bool(rtype.crd) or rtype.group in _GENERATION_GROUPS or rtype.key == ("", "pods")


def spec_of(obj: Obj, *, status_is_spec: bool) -> Obj:
    """Everything that counts as "spec" for generation: all but metadata (and status)."""
    skip = (
        ("metadata", "apiVersion", "kind") if status_is_spec else ("metadata", "status", "apiVersion", "kind")
    )
    return {k: v for k, v in obj.items() if k not in skip}


NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def apply_defaults(rtype: ResourceType, obj: Obj) -> None:
    """The few server-side defaults clients notice (secret type, service type, ...)."""
    if rtype.key == ("", "namespaces"):
        # kube-apiserver (1.21+) labels every namespace with its name, on create and update, so
        # that namespaceSelectors can pick one namespace
        md = obj.setdefault("metadata", {})
        name = md.get("name")
        if name and (md.get("labels") or {}).get(NAMESPACE_NAME_LABEL) != name:
            md["labels"] = {**(md.get("labels") or {}), NAMESPACE_NAME_LABEL: name}
    if rtype.key == ("", "secrets"):
        obj.setdefault("type", "Opaque")
        string_data = obj.pop("stringData", None)
        if isinstance(string_data, dict) and string_data:
            # write-only: kube-apiserver merges it into data (base64) and never stores it
            data = dict(obj.get("data") or {})
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()
            obj["data"] = data
    elif rtype.key == ("", "services"):
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
    elif rtype.key == ("apps", "deployments"):
        spec = obj.setdefault("spec", {})
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        strategy = spec.setdefault("strategy", {})
        if not strategy.get("type"):
            strategy["type"] = "RollingUpdate"
        if strategy["type"] == "RollingUpdate":
            strategy.setdefault("rollingUpdate", {"maxSurge": "25%", "maxUnavailable": "25%"})
    elif rtype.key in (("apps", "statefulsets"), ("apps", "replicasets")):
        obj.setdefault("spec", {}).setdefault("replicas", 1)


def _go_selector(selector: Any) -> str:
    """A LabelSelector printed the way Go's %#v prints it in immutable-field errors."""
    labels = (selector or {}).get("matchLabels") or {}
    pairs = ", ".join(f'"{k}":"{v}"' for k, v in sorted(labels.items()))
    return (
        f"v1.LabelSelector{{MatchLabels:map[string]string{{{pairs}}}, "
        f"MatchExpressions:[]v1.LabelSelectorRequirement(nil)}}"
    )


_SELECTOR_IMMUTABLE = frozenset(
    {
        ("apps", "deployments"),
        ("apps", "statefulsets"),
        ("apps", "daemonsets"),
        ("apps", "replicasets"),
        ("batch", "jobs"),
    }
)


def immutable_problems(rtype: ResourceType, new: Obj, *, old: Obj) -> list[dict[str, str]]:
    """Causes for changes to fields kube-apiserver refuses to change after creation."""
    causes: list[dict[str, str]] = []
    if rtype.key in (("", "configmaps"), ("", "secrets")) and old.get("immutable"):
        for field in ("data", "binaryData") if rtype.key == ("", "configmaps") else ("data",):
            if (new.get(field) or {}) != (old.get(field) or {}):
                causes.append(
                    {
                        "reason": "FieldValueForbidden",
                        "field": field,
                        "message": "Forbidden: field is immutable when `immutable` is set",
                    }
                )
        if not new.get("immutable"):
            causes.append(
                {
                    "reason": "FieldValueForbidden",
                    "field": "immutable",
                    "message": "Forbidden: field is immutable when `immutable` is set",
                }
            )
    if rtype.key in _SELECTOR_IMMUTABLE:
        before = (old.get("spec") or {}).get("selector")
        after = (new.get("spec") or {}).get("selector")
        if before is not None and after != before:
            causes.append(
                {
                    "reason": "FieldValueInvalid",
                    "field": "spec.selector",
                    "message": f"Invalid value: {_go_selector(after)}: field is immutable",
                }
            )
    if rtype.key == ("", "services"):
        before_ip = (old.get("spec") or {}).get("clusterIP")
        after_ip = (new.get("spec") or {}).get("clusterIP")
        if before_ip and after_ip and after_ip != before_ip:
            causes.append(
                {
                    "reason": "FieldValueInvalid",
                    "field": "spec.clusterIPs[0]",
                    "message": f'Invalid value: []string{{"{after_ip}"}}: may not change once set',
                }
            )
    causes += _more_immutable(rtype, new, old)
    return causes


_STS_MUTABLE = (
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
)


def _more_immutable(rtype: ResourceType, new: Obj, old: Obj) -> list[dict[str, str]]:
    """Secret type, StatefulSet spec (but the listed fields), Job template (unless suspended)."""
    causes: list[dict[str, str]] = []
    if rtype.key == ("", "secrets") and new.get("type", "Opaque") != old.get("type", "Opaque"):
        causes.append(
            errors.field_cause(
                kind="Invalid", field="type", value=new.get("type"), detail="field is immutable"
            )
        )
    if rtype.key == ("apps", "statefulsets"):
        before = {k: v for k, v in (old.get("spec") or {}).items() if k not in _STS_MUTABLE}
        after = {k: v for k, v in (new.get("spec") or {}).items() if k not in _STS_MUTABLE}
        if before != after:
            causes.append(
                errors.field_cause(
                    kind="Forbidden",
                    field="spec",
                    detail="updates to statefulset spec for fields other than 'replicas', 'ordinals', "
                    "'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and "
                    "'minReadySeconds' are forbidden",
                )
            )
    if rtype.key == ("batch", "jobs"):
        old_spec, new_spec = old.get("spec") or {}, new.get("spec") or {}
        if new_spec.get("template") != old_spec.get("template") and not old_spec.get("suspend"):
            causes.append(
                {
                    "reason": "FieldValueInvalid",
                    "field": "spec.template",
                    # kube-apiserver prints the Go struct (core.PodTemplateSpec{...}) here
                    "message": "Invalid value: core.PodTemplateSpec{...}: field is immutable",
                }
            )
    return causes


def initial_status(rtype: ResourceType) -> Any:
    """What create leaves in ``status`` for a resource with a status subresource."""
    if rtype.key == ("", "namespaces"):
        return {"phase": "Active"}
    if rtype.key == ("", "pods"):
        return {"phase": "Pending", "qosClass": "BestEffort"}
    if rtype.key == ("", "services"):
        return {"loadBalancer": {}}
    if rtype.crd:
        return None
    return {}


def clone(value: Any) -> Any:
    """A fast deep copy of a JSON value."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value
