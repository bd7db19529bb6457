"""Is an applied object available? Per-kind health rules over the live object (a plain dict).

Workloads are available once their controller has observed the current generation and enough
replicas are updated and available (Deployment, StatefulSet, DaemonSet); a Job once it has
completed; a Service once it has a cluster IP (LoadBalancer: once it has an ingress); a CRD
once it is Established; a PVC once Bound. Data and RBAC kinds are available once applied.
Kinds without a rule are reported available with reason ``NotTracked`` (as KubeFleet does),
so one unknown kind never holds a whole Work back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

STATUS_TRUE = "True"
STATUS_FALSE = "False"

REASON_AVAILABLE = "Available"
REASON_NOT_AVAILABLE_YET = "NotAvailableYet"
REASON_FAILED = "Failed"
REASON_NOT_TRACKED = "NotTracked"
REASON_AVAILABLE_ONCE_APPLIED = "AvailableOnceApplied"
REASON_DELETING = "Deleting"


@dataclass(frozen=True)
class Availability:
    status: str  # "True" | "False"
    reason: str
    message: str = ""

    @property
    def available(self) -> bool:
        return self.status == STATUS_TRUE

    @property
    def failed(self) -> bool:
        """Not merely "not yet": the object reports a terminal failure."""
        return self.reason == REASON_FAILED


def _ok(message: str = "", reason: str = REASON_AVAILABLE) -> Availability:
    return Availability(STATUS_TRUE, reason, message)


def _not_yet(message: str) -> Availability:
    return Availability(STATUS_FALSE, REASON_NOT_AVAILABLE_YET, message)


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _section(obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, Mapping) else {}


def condition(obj: Mapping[str, Any], type_: str) -> Mapping[str, Any] | None:
    """The status condition of the given type, if any."""
    for cond in _section(obj, "status").get("conditions") or []:
        if isinstance(cond, Mapping) and cond.get("type") == type_:
            return cond
    return None


def _generation_observed(obj: Mapping[str, Any]) -> bool:
    generation = _int(_section(obj, "metadata").get("generation"), 0)
    observed = _int(_section(obj, "status").get("observedGeneration"), -1)
    return observed >= generation


def _deployment(obj: Mapping[str, Any]) -> Availability:
    spec, status = _section(obj, "spec"), _section(obj, "status")
    want = _int(spec.get("replicas"), 1)
    if not _generation_observed(obj):
        return _not_yet("the deployment controller has not observed the latest generation")
    failed = condition(obj, "Progressing")
    if failed is not None and failed.get("reason") == "ProgressDeadlineExceeded":
        return Availability(
            STATUS_FALSE, REASON_FAILED, str(failed.get("message") or "progress deadline exceeded")
        )
    updated, available = _int(status.get("updatedReplicas")), _int(status.get("availableReplicas"))
    if updated < want or available < want:
        return _not_yet(f"{available}/{want} replicas available, {updated}/{want} updated")
    return _ok(f"{available}/{want} replicas available")


def _statefulset(obj: Mapping[str, Any]) -> Availability:
    spec, status = _section(obj, "spec"), _section(obj, "status")
    want = _int(spec.get("replicas"), 1)
    if not _generation_observed(obj):
        return _not_yet("the statefulset controller has not observed the latest generation")
    ready = _int(status.get("availableReplicas", status.get("readyReplicas")))
    updated = _int(status.get("updatedReplicas"), want)
    if ready < want or updated < want:
        return _not_yet(f"{ready}/{want} replicas available, {updated}/{want} updated")
    return _ok(f"{ready}/{want} replicas available")


def _daemonset(obj: Mapping[str, Any]) -> Availability:
    status = _section(obj, "status")
    if not _generation_observed(obj):
        return _not_yet("the daemonset controller has not observed the latest generation")
    desired = _int(status.get("desiredNumberScheduled"))
    available = _int(status.get("numberAvailable"))
    updated = _int(status.get("updatedNumberScheduled"))
    if available < desired or updated < desired:
        return _not_yet(f"{available}/{desired} pods available, {updated}/{desired} updated")
    return _ok(f"{available}/{desired} pods available")


def _job(obj: Mapping[str, Any]) -> Availability:
    failed = condition(obj, "Failed")
    if failed is not None and failed.get("status") == "True":
        return Availability(STATUS_FALSE, REASON_FAILED, str(failed.get("message") or "job failed"))
    complete = condition(obj, "Complete")
    if complete is not None and complete.get("status") == "True":
        return _ok("job completed")
    succeeded = _int(_section(obj, "status").get("succeeded"))
    return _not_yet(f"job not complete ({succeeded} succeeded)")


def _service(obj: Mapping[str, Any]) -> Availability:
    spec = _section(obj, "spec")
    kind = spec.get("type") or "ClusterIP"
    if kind == "ExternalName":
        return _ok("ExternalName services are not tracked", REASON_NOT_TRACKED)
    if kind == "LoadBalancer":
        ingress = _section(_section(obj, "status"), "loadBalancer").get("ingress")
        if not ingress:
            return _not_yet("the load balancer has no ingress yet")
        return _ok("the load balancer has an ingress")
    if spec.get("clusterIP") or spec.get("clusterIPs"):
        return _ok("the service has a cluster IP")
    return _not_yet("the service has no cluster IP yet")


def _crd(obj: Mapping[str, Any]) -> Availability:
    established = condition(obj, "Established")
    if established is not None and established.get("status") == "True":
        return _ok("the CRD is established")
    return _not_yet("the CRD is not established yet")


def _pvc(obj: Mapping[str, Any]) -> Availability:
    phase = _section(obj, "status").get("phase")
    if phase == "Bound":
        return _ok("the claim is bound")
    if phase == "Lost":
        return Availability(STATUS_FALSE, REASON_FAILED, "the claim lost its volume")
    return _not_yet(f"the claim is {phase or 'not bound yet'}")


def _namespace(obj: Mapping[str, Any]) -> Availability:
    phase = _section(obj, "status").get("phase")
    if phase == "Terminating":
        return _not_yet("the namespace is terminating")
    return _ok("the namespace is active", REASON_AVAILABLE_ONCE_APPLIED)


_RULES: dict[tuple[str, str], Callable[[Mapping[str, Any]], Availability]] = {
    ("apps", "Deployment"): _deployment,
    ("apps", "StatefulSet"): _statefulset,
    ("apps", "DaemonSet"): _daemonset,
    ("batch", "Job"): _job,
    ("", "Service"): _service,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _crd,
    ("", "PersistentVolumeClaim"): _pvc,
    ("", "Namespace"): _namespace,
}

# Kinds with no status to wait for: available as soon as they are applied.
DATA_KINDS: frozenset[tuple[str, str]] = frozenset(
    {
        ("", "ConfigMap"),
        ("", "Secret"),
        ("", "ServiceAccount"),
        ("", "ResourceQuota"),
        ("", "LimitRange"),
        ("", "Endpoints"),
        ("rbac.authorization.k8s.io", "Role"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "RoleBinding"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("networking.k8s.io", "NetworkPolicy"),
        ("networking.k8s.io", "IngressClass"),
        ("policy", "PodDisruptionBudget"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("storage.k8s.io", "StorageClass"),
        ("batch", "CronJob"),
        ("autoscaling", "HorizontalPodAutoscaler"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    }
)


def is_tracked(group: str, kind: str) -> bool:
    return (group, kind) in _RULES or (group, kind) in DATA_KINDS


def evaluate(obj: Mapping[str, Any]) -> Availability:
    """Availability of a live object on the member."""
    api_version = obj.get("apiVersion")
    group = api_version.partition("/")[0] if isinstance(api_version, str) and "/" in api_version else ""
    kind = obj.get("kind") if isinstance(obj.get("kind"), str) else ""
    if _section(obj, "metadata").get("deletionTimestamp"):
        return Availability(STATUS_FALSE, REASON_DELETING, "the object is being deleted")
    rule = _RULES.get((group, str(kind)))
    if rule is not None:
        return rule(obj)
    if (group, kind) in DATA_KINDS:
        return _ok("available once applied", REASON_AVAILABLE_ONCE_APPLIED)
    return _ok(f"no availability rule for {kind}: available once applied", REASON_NOT_TRACKED)
