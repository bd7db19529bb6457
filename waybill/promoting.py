"""``waybill promote``: what to copy from a member to the hub so its agent adopts a running
workload in place. Pure functions; :mod:`waybill.cmd_promote` does the I/O.

Like ``karmadactl promote``: the member's object becomes a hub template (server-filled metadata
and status removed, member-allocated fields such as a Service's clusterIP dropped), and a
PropagationPolicy pinned to that one member claims it with ``conflictResolution: Overwrite``
(the agent's ``whenToTakeOver: Always``), so the agent takes the existing object over with a
server-side apply of the very values it already has: no delete, no re-create, same UID, and the
generation does not move. ``--deps`` also copies the ConfigMaps, Secrets, ServiceAccounts and
PersistentVolumeClaims the pod template references, claimed by the same policy.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.api import names

FIELD_MANAGER = "waybill-promote"
ANNOTATION_PROMOTED_FROM = "waybill.dev/promoted-from"

_SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "managedFields",
    "creationTimestamp",
    "generation",
    "ownerReferences",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "finalizers",
)
# Annotations a member's controllers write; copying them would make the hub claim them.
_MEMBER_ANNOTATIONS = (
    "deployment.kubernetes.io/revision",
    "kubectl.kubernetes.io/last-applied-configuration",
)
# Fields the member allocated, per kind: the hub must not pin them.
_MEMBER_FIELDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "Service": (("spec", "clusterIP"), ("spec", "clusterIPs")),
    "PersistentVolumeClaim": (("spec", "volumeName"),),
    "Job": (
        ("spec", "selector"),
        ("spec", "template", "metadata", "labels", "controller-uid"),
        ("spec", "template", "metadata", "labels", "batch.kubernetes.io/controller-uid"),
    ),
}
_POD_SPEC_PATHS = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


@dataclass(frozen=True, order=True)
class Dependency:
    """A namespaced object a workload references: (apiVersion, kind, name)."""

    api_version: str
    kind: str
    name: str


def _dig(obj: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = obj
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def pod_spec(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    path = _POD_SPEC_PATHS.get(str(obj.get("kind")))
    found = _dig(obj, path) if path else None
    return found if isinstance(found, Mapping) else None


def _containers(spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from (c for c in spec.get(key) or [] if isinstance(c, Mapping))


def dependencies(obj: Mapping[str, Any]) -> list[Dependency]:
    """What the pod template of ``obj`` references by name, sorted, without duplicates."""
    spec = pod_spec(obj)
    if spec is None:
        return []
    found: set[Dependency] = set()

    def add(kind: str, name: Any) -> None:
        if isinstance(name, str) and name:
            found.add(Dependency("v1", kind, name))

    account = spec.get("serviceAccountName") or spec.get("serviceAccount")
    if account and account != "default":
        add("ServiceAccount", account)
    for secret in spec.get("imagePullSecrets") or []:
        add("Secret", (secret or {}).get("name"))
    for volume in spec.get("volumes") or []:
        add("ConfigMap", (volume.get("configMap") or {}).get("name"))
        add("Secret", (volume.get("secret") or {}).get("secretName"))
        add("PersistentVolumeClaim", (volume.get("persistentVolumeClaim") or {}).get("claimName"))
        for source in (volume.get("projected") or {}).get("sources") or []:
            add("ConfigMap", (source.get("configMap") or {}).get("name"))
            add("Secret", (source.get("secret") or {}).get("name"))
    for container in _containers(spec):
        for env in container.get("env") or []:
            ref = (env or {}).get("valueFrom") or {}
            add("ConfigMap", (ref.get("configMapKeyRef") or {}).get("name"))
            add("Secret", (ref.get("secretKeyRef") or {}).get("name"))
        for source in container.get("envFrom") or []:
            add("ConfigMap", (source.get("configMapRef") or {}).get("name"))
            add("Secret", (source.get("secretRef") or {}).get("name"))
    return sorted(found)


def waybill_managed(obj: Mapping[str, Any]) -> bool:
    """Whether Waybill already applies ``obj`` on its member (nothing to promote)."""
    meta = obj.get("metadata") or {}
    if (meta.get("labels") or {}).get(names.LABEL_MANAGED_BY) == names.MANAGED_BY_VALUE:
        return True
    return any((m or {}).get("manager") == names.FIELD_MANAGER_AGENT for m in meta.get("managedFields") or [])


def as_template(obj: Mapping[str, Any], *, cluster: str) -> dict[str, Any]:
    """The member's object as a hub template (what the agent will apply back, unchanged)."""
    template = copy.deepcopy(dict(obj))
    template.pop("status", None)
    meta = template.setdefault("metadata", {})
    for key in _SERVER_METADATA:
        meta.pop(key, None)
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in _MEMBER_ANNOTATIONS}
    annotations[ANNOTATION_PROMOTED_FROM] = cluster
    meta["annotations"] = annotations
    for path in _MEMBER_FIELDS.get(str(template.get("kind")), ()):
        parent = _dig(template, path[:-1])
        if isinstance(parent, dict):
            parent.pop(path[-1], None)
    return template


def policy_name(kind: str, name: str) -> str:
    """``promote-deployment-web``, shortened with a hash when it would not fit a name."""
    base = f"promote-{kind.lower()}-{name}"
    if len(base) <= 63:
        return base
    digest = hashlib.sha256(base.encode()).hexdigest()[:8]
    return f"{base[:54]}-{digest}"


def pinned_policy(
    *, templates: Sequence[Mapping[str, Any]], cluster: str, name: str, namespace: str | None
) -> dict[str, Any]:
    """A policy claiming exactly ``templates`` for ``cluster``, taking over what exists there."""
    selectors = []
    for template in templates:
        selector = {
            "apiVersion": template["apiVersion"],
            "kind": template["kind"],
            "name": template["metadata"]["name"],
        }
        if namespace:
            selector["namespace"] = namespace
        selectors.append(selector)
    metadata: dict[str, Any] = {"name": name, "annotations": {ANNOTATION_PROMOTED_FROM: cluster}}
    if namespace:
        metadata["namespace"] = namespace
    return {
        "apiVersion": names.POLICY_API_VERSION,
        "kind": names.KIND_PROPAGATION_POLICY if namespace else names.KIND_CLUSTER_PROPAGATION_POLICY,
        "metadata": metadata,
        "spec": {
            "resourceSelectors": selectors,
            "conflictResolution": "Overwrite",
            "placement": {"clusterAffinity": {"clusterNames": [cluster]}},
        },
    }
