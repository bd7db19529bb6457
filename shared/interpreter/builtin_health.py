"""Built-in health rules (``InterpretHealth``) for Kubernetes' own kinds, as Karmada's (pure).

Deployment: the controller observed the current generation, every desired replica is updated and
every updated one available. StatefulSet: the same, a partitioned rollout counting only the
ordinals at or above the partition as needing the update, and every replica available.
ReplicaSet: observed and all replicas available. DaemonSet: observed, every scheduled pod updated
and available. Service: healthy unless it is a LoadBalancer without an ingress IP or hostname.
Ingress: has an ingress IP or hostname. PVC: Bound. Pod: Succeeded, or Running and Ready.
PodDisruptionBudget: currentHealthy at least desiredHealthy. Other kinds: no rule (None).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from shared.interpreter.rules import KindKey, integer, section


def _observed(obj: Mapping[str, Any]) -> bool:
    return integer(section(obj, "status").get("observedGeneration"), -1) == integer(
        section(obj, "metadata").get("generation"), 0
    )


def _deployment(obj: Mapping[str, Any]) -> bool:
    spec, status = section(obj, "spec"), section(obj, "status")
    updated = integer(status.get("updatedReplicas"))
    if not _observed(obj):
        return False
    if isinstance(spec.get("replicas"), int) and updated < spec["replicas"]:
        return False
    return integer(status.get("availableReplicas")) >= updated


def _statefulset(obj: Mapping[str, Any]) -> bool:
    spec, status = section(obj, "spec"), section(obj, "status")
    updated, available = integer(status.get("updatedReplicas")), integer(status.get("availableReplicas"))
    if not _observed(obj):
        return False
    if isinstance(spec.get("replicas"), int):
        partition = integer(section(spec, "updateStrategy", "rollingUpdate").get("partition"))
        if updated < spec["replicas"] - partition or available < spec["replicas"]:
            return False
    return available >= updated


def _replicaset(obj: Mapping[str, Any]) -> bool:
    spec, status = section(obj, "spec"), section(obj, "status")
    if not _observed(obj):
        return False
    wanted = spec.get("replicas")
    return not (isinstance(wanted, int) and integer(status.get("availableReplicas")) < wanted)


def _daemonset(obj: Mapping[str, Any]) -> bool:
    status = section(obj, "status")
    updated = integer(status.get("updatedNumberScheduled"))
    return (
        _observed(obj)
        and updated >= integer(status.get("desiredNumberScheduled"))
        and integer(status.get("numberAvailable")) >= updated
    )


def _has_ingress(obj: Mapping[str, Any]) -> bool:
    ingress = section(obj, "status", "loadBalancer").get("ingress") or []
    return any(isinstance(i, Mapping) and (i.get("ip") or i.get("hostname")) for i in ingress)


def _service(obj: Mapping[str, Any]) -> bool:
    return section(obj, "spec").get("type") != "LoadBalancer" or _has_ingress(obj)


def _pod(obj: Mapping[str, Any]) -> bool:
    status = section(obj, "status")
    if status.get("phase") == "Succeeded":
        return True
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
    )
    return status.get("phase") == "Running" and ready


def _pdb(obj: Mapping[str, Any]) -> bool:
    status = section(obj, "status")
    return integer(status.get("currentHealthy")) >= integer(status.get("desiredHealthy"))


RULES: dict[KindKey, Callable[[Mapping[str, Any]], bool]] = {
    KindKey("apps", "Deployment"): _deployment,
    KindKey("apps", "StatefulSet"): _statefulset,
    KindKey("apps", "ReplicaSet"): _replicaset,
    KindKey("apps", "DaemonSet"): _daemonset,
    KindKey("", "Service"): _service,
    KindKey("networking.k8s.io", "Ingress"): _has_ingress,
    KindKey("", "PersistentVolumeClaim"): lambda obj: section(obj, "status").get("phase") == "Bound",
    KindKey("", "Pod"): _pod,
    KindKey("policy", "PodDisruptionBudget"): _pdb,
}


def health(obj: Mapping[str, Any]) -> bool | None:
    rule = RULES.get(KindKey.of(obj))
    return None if rule is None else rule(obj)
