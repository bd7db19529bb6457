"""``propagateDeps``: the objects a workload references, and where they must go (pure).

With ``propagateDeps: true`` Karmada propagates, along with a workload, the ConfigMaps, Secrets,
ServiceAccounts and PersistentVolumeClaims its pod template references, to the same clusters
(its default dependency interpreter). The references are those Kubernetes itself follows:

* ConfigMaps: ``env[].valueFrom.configMapKeyRef``, ``envFrom[].configMapRef``, ``configMap``
  volumes and projected ``configMap`` sources;
* Secrets: ``imagePullSecrets``, ``env[].valueFrom.secretKeyRef``, ``envFrom[].secretRef``,
  ``secret`` volumes, projected ``secret`` sources and the ``secretRef`` /
  ``nodePublishSecretRef`` of the volume plugins that take one;
* ServiceAccounts: ``serviceAccountName`` (not ``default``, which every namespace has);
* PVCs: ``persistentVolumeClaim`` volumes, except a StatefulSet's own ``volumeClaimTemplates``;

in every container list (``containers``, ``initContainers``, ``ephemeralContainers``) of the pod
template of a Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob or Pod, plus the TLS
Secrets of an Ingress. A dependency shared by several workloads goes to the union of their
clusters (``placements``) and leaves a cluster when no workload there needs it. The workload's
binding lists them in ``spec.dependencies`` (``binding_dependencies``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

POD_SPEC_PATHS: Mapping[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")
# Volume plugins whose credentials live in a Secret, and the key naming it.
_SECRET_REF_VOLUMES = ("cephfs", "cinder", "flexVolume", "rbd", "scaleIO", "iscsi", "storageos")


@dataclass(frozen=True, order=True)
class DependencyRef:
    """An object a workload depends on (always in the workload's namespace)."""

    api_version: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}"


def _dig(obj: Any, path: Iterable[str]) -> Any:
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def _list(value: Any) -> list[Any]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _name(value: Any, key: str = "name") -> str | None:
    if isinstance(value, Mapping):
        name = value.get(key)
        if isinstance(name, str) and name:
            return name
    return None


def _container_refs(pod_spec: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for list_name in _CONTAINER_LISTS:
        for container in _list(pod_spec.get(list_name)):
            for env in _list(container.get("env")):
                value_from = env.get("valueFrom")
                if (name := _name(_dig(value_from, ("configMapKeyRef",)))) is not None:
                    yield "ConfigMap", name
                if (name := _name(_dig(value_from, ("secretKeyRef",)))) is not None:
                    yield "Secret", name
            for source in _list(container.get("envFrom")):
                if (name := _name(source.get("configMapRef"))) is not None:
                    yield "ConfigMap", name
                if (name := _name(source.get("secretRef"))) is not None:
                    yield "Secret", name


def _volume_refs(pod_spec: Mapping[str, Any], *, claim_templates: set[str]) -> Iterator[tuple[str, str]]:
    for volume in _list(pod_spec.get("volumes")):
        if (name := _name(volume.get("configMap"))) is not None:
            yield "ConfigMap", name
        if (name := _name(volume.get("secret"), "secretName")) is not None:
            yield "Secret", name
        for source in _list(_dig(volume, ("projected", "sources"))):
            if (name := _name(source.get("configMap"))) is not None:
                yield "ConfigMap", name
            if (name := _name(source.get("secret"))) is not None:
                yield "Secret", name
        if (name := _name(volume.get("azureFile"), "secretName")) is not None:
            yield "Secret", name
        for plugin in _SECRET_REF_VOLUMES:
            if (name := _name(_dig(volume, (plugin, "secretRef")))) is not None:
                yield "Secret", name
        if (name := _name(_dig(volume, ("csi", "nodePublishSecretRef")))) is not None:
            yield "Secret", name
        claim = _name(volume.get("persistentVolumeClaim"), "claimName")
        if claim is not None and claim not in claim_templates:
            yield "PersistentVolumeClaim", claim


def dependencies_of(template: Mapping[str, Any]) -> list[DependencyRef]:
    """The objects ``template`` references, sorted and without repeats ([] for kinds without any)."""
    kind = str(template.get("kind", ""))
    namespace = str(_dig(template, ("metadata", "namespace")) or "")
    found: set[tuple[str, str]] = set()
    if kind == "Ingress":
        for tls in _list(_dig(template, ("spec", "tls"))):
            if (name := _name(tls, "secretName")) is not None:
                found.add(("Secret", name))
    path = POD_SPEC_PATHS.get(kind)
    pod_spec = _dig(template, path) if path else None
    if isinstance(pod_spec, Mapping):
        claim_templates = set()
        if kind == "StatefulSet":
            claim_templates = {
                name
                for t in _list(_dig(template, ("spec", "volumeClaimTemplates")))
                if (name := _name(t.get("metadata")))
            }
        found.update(_container_refs(pod_spec))
        found.update(_volume_refs(pod_spec, claim_templates=claim_templates))
        for secret in _list(pod_spec.get("imagePullSecrets")):
            if (name := _name(secret)) is not None:
                found.add(("Secret", name))
        account = pod_spec.get("serviceAccountName") or pod_spec.get("serviceAccount")
        if isinstance(account, str) and account and account != "default":
            found.add(("ServiceAccount", account))
    return sorted(DependencyRef("v1", k, namespace, n) for k, n in found)


def placements(
    dependents: Iterable[tuple[Iterable[DependencyRef], Iterable[str]]],
) -> dict[DependencyRef, frozenset[str]]:
    """Where each dependency must be: the union of the clusters of every workload that needs it.

    ``dependents`` gives, per workload, its dependencies and its clusters. A dependency absent from
    the result is needed nowhere (and leaves every cluster).
    """
    union: dict[DependencyRef, set[str]] = {}
    for refs, clusters in dependents:
        cluster_set = set(clusters)
        for ref in refs:
            union.setdefault(ref, set()).update(cluster_set)
    return {ref: frozenset(clusters) for ref, clusters in union.items() if clusters}


DEPENDENCY_KINDS: tuple[tuple[str, str], ...] = (
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "ServiceAccount"),
    ("v1", "PersistentVolumeClaim"),
)
"""The kinds a dependency can be: the hub watches them while some policy propagates dependencies."""


def propagates_deps(policy: Mapping[str, Any]) -> bool:
    """``propagateDeps`` (or Karmada's deprecated ``association``) is on."""
    spec = policy.get("spec") or {}
    return bool(spec.get("propagateDeps") or spec.get("association"))


def owned_dependencies(
    *,
    policy: Any,
    dependents: Iterable[tuple[Any, Iterable[DependencyRef]]],
    propagated: Iterable[DependencyRef] = (),
) -> list[DependencyRef]:
    """The dependencies ``policy``'s Works on one member carry.

    ``dependents`` gives, for every workload on that member whose policy propagates dependencies,
    the policy (any orderable reference) and the workload's dependencies. A dependency several
    policies need goes into the Works of the first of them (in order), so one Work owns it on the
    member; one that a policy propagates in its own right (``propagated``) is left to that policy.
    """
    owners: dict[DependencyRef, Any] = {}
    for owner, refs in dependents:
        for ref in refs:
            if ref not in owners or owner < owners[ref]:
                owners[ref] = owner
    skip = set(propagated)
    return sorted(ref for ref, owner in owners.items() if owner == policy and ref not in skip)


ANNOTATION_DEPENDENCIES = "policy.waybill.dev/dependencies"
"""Where bindings listed their dependencies before ``spec.dependencies``: removed when seen."""


def binding_dependencies(policy_spec: Mapping[str, Any], template: Mapping[str, Any]) -> list[dict[str, str]]:
    """The binding's ``spec.dependencies``: what goes along with its template ([]: none, or
    propagateDeps is off)."""
    if not (policy_spec.get("propagateDeps") or policy_spec.get("association")):
        return []
    return [
        {"apiVersion": ref.api_version, "kind": ref.kind, "namespace": ref.namespace, "name": ref.name}
        for ref in dependencies_of(template)
    ]
