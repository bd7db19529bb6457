"""Dependency order for applying a Work's manifests: waves, and a stable order within each.

Wave 0 creates the places other objects live in (Namespaces, CustomResourceDefinitions);
wave 1 identities and configuration (ServiceAccounts, RBAC, ConfigMaps, Secrets, quotas,
limit ranges, priority/storage classes); wave 2 everything else (Services, workloads, custom
resources, ...); wave 3 admission webhooks last, so that a webhook never blocks the objects it
was shipped with. Within a wave, kinds keep a fixed rank (Helm-like) and manifests of the
same rank keep their order in the Work. Removal uses the reverse order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from agent.manifests import DecodedManifest, ManifestIdentifier

WAVE_FOUNDATION = 0
WAVE_CONFIG = 1
WAVE_WORKLOADS = 2
WAVE_ADMISSION = 3

# (group, kind) -> (wave, rank within the wave)
_KIND_ORDER: dict[tuple[str, str], tuple[int, int]] = {
    ("", "Namespace"): (WAVE_FOUNDATION, 0),
    ("apiextensions.k8s.io", "CustomResourceDefinition"): (WAVE_FOUNDATION, 1),
    ("scheduling.k8s.io", "PriorityClass"): (WAVE_CONFIG, 0),
    ("", "ResourceQuota"): (WAVE_CONFIG, 1),
    ("", "LimitRange"): (WAVE_CONFIG, 2),
    ("policy", "PodSecurityPolicy"): (WAVE_CONFIG, 3),
    ("", "ServiceAccount"): (WAVE_CONFIG, 4),
    ("", "Secret"): (WAVE_CONFIG, 5),
    ("", "ConfigMap"): (WAVE_CONFIG, 6),
    ("storage.k8s.io", "StorageClass"): (WAVE_CONFIG, 7),
    ("", "PersistentVolume"): (WAVE_CONFIG, 8),
    ("rbac.authorization.k8s.io", "ClusterRole"): (WAVE_CONFIG, 9),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): (WAVE_CONFIG, 10),
    ("rbac.authorization.k8s.io", "Role"): (WAVE_CONFIG, 11),
    ("rbac.authorization.k8s.io", "RoleBinding"): (WAVE_CONFIG, 12),
    ("", "PersistentVolumeClaim"): (WAVE_WORKLOADS, 0),
    ("", "Service"): (WAVE_WORKLOADS, 1),
    ("apps", "DaemonSet"): (WAVE_WORKLOADS, 2),
    ("", "Pod"): (WAVE_WORKLOADS, 3),
    ("", "ReplicationController"): (WAVE_WORKLOADS, 4),
    ("apps", "ReplicaSet"): (WAVE_WORKLOADS, 5),
    ("apps", "Deployment"): (WAVE_WORKLOADS, 6),
    ("autoscaling", "HorizontalPodAutoscaler"): (WAVE_WORKLOADS, 7),
    ("apps", "StatefulSet"): (WAVE_WORKLOADS, 8),
    ("batch", "Job"): (WAVE_WORKLOADS, 9),
    ("batch", "CronJob"): (WAVE_WORKLOADS, 10),
    ("networking.k8s.io", "Ingress"): (WAVE_WORKLOADS, 11),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"): (WAVE_ADMISSION, 0),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"): (WAVE_ADMISSION, 1),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"): (WAVE_ADMISSION, 2),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"): (WAVE_ADMISSION, 3),
}
_OTHER_RANK = 100


def kind_order(identifier: ManifestIdentifier) -> tuple[int, int]:
    """The (wave, rank) of a manifest's kind; unknown kinds go last in the workloads wave."""
    return _KIND_ORDER.get((identifier.group, identifier.kind), (WAVE_WORKLOADS, _OTHER_RANK))


def sort_key(identifier: ManifestIdentifier) -> tuple[int, int, int]:
    wave, rank = kind_order(identifier)
    return (wave, rank, identifier.ordinal)


def waves(manifests: Iterable[DecodedManifest]) -> list[list[DecodedManifest]]:
    """Group valid manifests into apply waves (lowest first), each in a stable order."""
    grouped: dict[int, list[DecodedManifest]] = {}
    for manifest in manifests:
        if not manifest.ok:
            continue
        grouped.setdefault(kind_order(manifest.identifier)[0], []).append(manifest)
    return [sorted(grouped[w], key=lambda m: sort_key(m.identifier)) for w in sorted(grouped)]


def removal_order(identifiers: Sequence[ManifestIdentifier]) -> list[ManifestIdentifier]:
    """Delete in the reverse of the apply order: webhooks first, namespaces and CRDs last."""
    return sorted(identifiers, key=sort_key, reverse=True)


def crd_name_for(group: str, plural: str) -> str:
    return f"{plural}.{group}"


def crds_in(manifests: Iterable[DecodedManifest]) -> dict[tuple[str, str], str]:
    """(group, kind) served by each CRD shipped in the Work -> that CRD's name."""
    served: dict[tuple[str, str], str] = {}
    for manifest in manifests:
        ident = manifest.identifier
        if manifest.obj is None or (ident.group, ident.kind) != (
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
        ):
            continue
        spec = manifest.obj.get("spec") or {}
        names = spec.get("names") or {}
        group, kind = spec.get("group"), names.get("kind")
        if isinstance(group, str) and isinstance(kind, str):
            served[(group, kind)] = ident.name
    return served


def crd_dependencies(manifests: Sequence[DecodedManifest]) -> dict[int, str]:
    """Ordinal of each custom resource -> name of the CRD (in the same Work) it must wait for."""
    served = crds_in(manifests)
    deps: dict[int, str] = {}
    for manifest in manifests:
        ident = manifest.identifier
        crd = served.get((ident.group, ident.kind))
        if manifest.ok and crd is not None:
            deps[ident.ordinal] = crd
    return deps
