"""Built-in replica, revision and dependency rules for Kubernetes' own kinds (pure).

Replicas (``InterpretReplica``): Deployment, StatefulSet, ReplicaSet and ReplicationController
declare ``spec.replicas``, a Job ``spec.parallelism`` (as in Karmada; absent means 1, what the
API server defaults both to and what the hub counts today), a Pod is one replica; each replica's
requirements come from its pod template as ``kube.accuratePodRequirements`` computes them.
Revision (``ReviseReplica``) sets the same field. Dependencies (``InterpretDependency``): the
ConfigMaps, Secrets, ServiceAccount and PVCs a workload's pod template names (CronJob: its job
template's), and an Ingress's TLS Secrets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from shared.interpreter import kube_library
from shared.interpreter.rules import (
    BUILT_IN,
    DependentObject,
    KindKey,
    Obj,
    ReplicaResult,
    deep_copy,
    integer,
    section,
)

_REPLICAS_FIELD = {
    KindKey("apps", "Deployment"): "replicas",
    KindKey("apps", "StatefulSet"): "replicas",
    KindKey("apps", "ReplicaSet"): "replicas",
    KindKey("", "ReplicationController"): "replicas",
    KindKey("batch", "Job"): "parallelism",
}
_POD = KindKey("", "Pod")


def _template_requirements(template: Mapping[str, Any]) -> Obj | None:
    return kube_library.accurate_pod_requirements(template) if template else None


def replicas(obj: Mapping[str, Any]) -> ReplicaResult | None:
    key = KindKey.of(obj)
    if key == _POD:
        return ReplicaResult(1, _template_requirements({"spec": section(obj, "spec")}), BUILT_IN)
    field = _REPLICAS_FIELD.get(key)
    if field is None:
        return None
    spec = section(obj, "spec")
    count = integer(spec.get(field), 1)
    return ReplicaResult(count, _template_requirements(section(spec, "template")), BUILT_IN)


def revise_replicas(obj: Mapping[str, Any], count: int) -> Obj | None:
    field = _REPLICAS_FIELD.get(KindKey.of(obj))
    if field is None:
        return None
    revised = deep_copy(obj)
    revised.setdefault("spec", {})[field] = count
    return revised


def _pod_template_spec(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    key = KindKey.of(obj)
    if key == _POD:
        return section(obj, "spec")
    if key == KindKey("batch", "CronJob"):
        return section(obj, "spec", "jobTemplate", "spec", "template", "spec")
    if key in _REPLICAS_FIELD or key == KindKey("apps", "DaemonSet"):
        return section(obj, "spec", "template", "spec")
    return None


def _ingress_dependencies(obj: Mapping[str, Any], namespace: str) -> list[DependentObject]:
    tls_entries = section(obj, "spec").get("tls") or []
    names = sorted({str(tls["secretName"]) for tls in tls_entries if tls.get("secretName")})
    return [DependentObject("v1", "Secret", namespace, name) for name in names]


def dependencies(obj: Mapping[str, Any]) -> list[DependentObject] | None:
    namespace = str(section(obj, "metadata").get("namespace") or "default")
    if KindKey.of(obj) == KindKey("networking.k8s.io", "Ingress"):
        return _ingress_dependencies(obj, namespace)
    spec = _pod_template_spec(obj)
    if spec is None:
        return None
    return [
        DependentObject(ref["apiVersion"], ref["kind"], ref["namespace"], ref["name"])
        for ref in kube_library.pod_dependencies(spec, namespace)
    ]


ReplicaRule = Callable[[Mapping[str, Any]], ReplicaResult | None]
