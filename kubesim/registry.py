"""The resource registry: which API groups, versions and resources a server serves.

Built-in resources are one immutable table shared by every server in the process (cheap
start-up); each server's ``Registry`` overlays the resources its CustomResourceDefinitions serve.
``ResourceType`` is the unit everything else keys on (storage by ``(group, plural)``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
VERBS_NO_COLLECTION = ("create", "delete", "get", "list", "patch", "update", "watch")
SUB_VERBS = ("get", "patch", "update")


@dataclass(frozen=True, slots=True)
class ResourceType:
    """One served resource in one group/version."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = VERBS
    subresources: tuple[str, ...] = ()  # "status", "scale", "token", "finalize"
    printer_columns: tuple[dict[str, Any], ...] = ()
    selectable_fields: tuple[str, ...] = ()  # CRD selectableFields, as field-selector paths
    scale_paths: tuple[str, str, str] = (".spec.replicas", ".status.replicas", ".spec.selector")
    schema: dict[str, Any] | None = field(default=None, compare=False, hash=False)
    crd: str = ""  # name of the CRD serving it ("" for built-ins)
    storage_version: bool = True
    deprecation: str = ""  # a deprecated CRD version's Warning text
    storage_only: bool = False  # a virtual (create-only, never stored) resource when False-ish
    # (group, plural), computed once: compared on every write by several modules
    key: tuple[str, str] = field(init=False, compare=False, repr=False, default=("", ""))
    # what the write path derives from ``schema`` (kubesim.crds.compiled), computed on first
    # use; a CRD change serves new ResourceTypes, so it never outlives the schema it came from
    derived: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", (self.group, self.plural))

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular_name(self) -> str:
        return self.singular or self.kind.lower()

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources


def _r(
    group: str,
    version: str,
    plural: str,
    kind: str,
    *,
    namespaced: bool = True,
    short: Iterable[str] = (),
    cats: Iterable[str] = (),
    subs: Iterable[str] = (),
    verbs: tuple[str, ...] = VERBS,
) -> ResourceType:
    return ResourceType(
        group=group,
        version=version,
        plural=plural,
        kind=kind,
        namespaced=namespaced,
        singular=kind.lower(),
        short_names=tuple(short),
        categories=tuple(cats),
        subresources=tuple(subs),
        verbs=verbs,
    )


ALL = ("all",)
BUILTINS: tuple[ResourceType, ...] = (
    _r("", "v1", "configmaps", "ConfigMap", short=["cm"]),
    _r("", "v1", "events", "Event", short=["ev"]),
    _r("", "v1", "endpoints", "Endpoints", short=["ep"]),
    _r("", "v1", "limitranges", "LimitRange", short=["limits"]),
    _r(
        "",
        "v1",
        "namespaces",
        "Namespace",
        namespaced=False,
        short=["ns"],
        subs=["status", "finalize"],
        verbs=VERBS_NO_COLLECTION,
    ),
    _r("", "v1", "nodes", "Node", namespaced=False, short=["no"], subs=["status"]),
    _r("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", short=["pvc"], subs=["status"]),
    _r("", "v1", "persistentvolumes", "PersistentVolume", namespaced=False, short=["pv"], subs=["status"]),
    _r("", "v1", "podtemplates", "PodTemplate"),
    _r("", "v1", "pods", "Pod", short=["po"], cats=ALL, subs=["status"]),
    _r(
        "",
        "v1",
        "replicationcontrollers",
        "ReplicationController",
        short=["rc"],
        cats=ALL,
        subs=["status", "scale"],
    ),
    _r("", "v1", "resourcequotas", "ResourceQuota", short=["quota"], subs=["status"]),
    _r("", "v1", "secrets", "Secret"),
    _r("", "v1", "serviceaccounts", "ServiceAccount", short=["sa"], subs=["token"]),
    _r("", "v1", "services", "Service", short=["svc"], cats=ALL, subs=["status"], verbs=VERBS),
    _r("apps", "v1", "daemonsets", "DaemonSet", short=["ds"], cats=ALL, subs=["status"]),
    _r("apps", "v1", "deployments", "Deployment", short=["deploy"], cats=ALL, subs=["status", "scale"]),
    _r("apps", "v1", "replicasets", "ReplicaSet", short=["rs"], cats=ALL, subs=["status", "scale"]),
    _r("apps", "v1", "statefulsets", "StatefulSet", short=["sts"], cats=ALL, subs=["status", "scale"]),
    _r(
        "authentication.k8s.io",
        "v1",
        "selfsubjectreviews",
        "SelfSubjectReview",
        namespaced=False,
        verbs=("create",),
    ),
    _r("authentication.k8s.io", "v1", "tokenreviews", "TokenReview", namespaced=False, verbs=("create",)),
    _r(
        "authorization.k8s.io",
        "v1",
        "selfsubjectaccessreviews",
        "SelfSubjectAccessReview",
        namespaced=False,
        verbs=("create",),
    ),
    _r(
        "authorization.k8s.io",
        "v1",
        "selfsubjectrulesreviews",
        "SelfSubjectRulesReview",
        namespaced=False,
        verbs=("create",),
    ),
    _r(
        "authorization.k8s.io",
        "v1",
        "subjectaccessreviews",
        "SubjectAccessReview",
        namespaced=False,
        verbs=("create",),
    ),
    _r(
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        short=["hpa"],
        cats=ALL,
        subs=["status"],
    ),
    _r("batch", "v1", "cronjobs", "CronJob", short=["cj"], cats=ALL, subs=["status"]),
    _r("batch", "v1", "jobs", "Job", cats=ALL, subs=["status"]),
    _r("coordination.k8s.io", "v1", "leases", "Lease"),
    _r("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice"),
    _r("events.k8s.io", "v1", "events", "Event", short=["ev"]),
    _r("networking.k8s.io", "v1", "ingressclasses", "IngressClass", namespaced=False),
    _r("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", namespaced=False, short=["pc"]),
    _r("storage.k8s.io", "v1", "storageclasses", "StorageClass", namespaced=False, short=["sc"]),
    _r(
        "admissionregistration.k8s.io",
        "v1",
        "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration",
        namespaced=False,
    ),
    _r(
        "admissionregistration.k8s.io",
        "v1",
        "validatingadmissionpolicies",
        "ValidatingAdmissionPolicy",
        namespaced=False,
        subs=["status"],
    ),
    _r(
        "admissionregistration.k8s.io",
        "v1",
        "validatingadmissionpolicybindings",
        "ValidatingAdmissionPolicyBinding",
        namespaced=False,
    ),
    _r(
        "admissionregistration.k8s.io",
        "v1",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        namespaced=False,
    ),
    _r("networking.k8s.io", "v1", "ingresses", "Ingress", short=["ing"], subs=["status"]),
    _r("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", short=["netpol"]),
    _r("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", short=["pdb"], subs=["status"]),
    _r("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", namespaced=False),
    _r("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", namespaced=False),
    _r("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
    _r("rbac.authorization.k8s.io", "v1", "roles", "Role"),
    _r(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        namespaced=False,
        short=["crd", "crds"],
        cats=("api-extensions",),
        subs=["status"],
    ),
)

# Resources answered by a handler, never stored (create-only reviews).
VIRTUAL = frozenset(("authentication.k8s.io", p) for p in ("selfsubjectreviews", "tokenreviews")) | frozenset(
    ("authorization.k8s.io", p)
    for p in ("selfsubjectaccessreviews", "selfsubjectrulesreviews", "subjectaccessreviews")
)

# Group order as /apis lists them (kube-apiserver's priority order, trimmed).
GROUP_ORDER = (
    "apps",
    "events.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "autoscaling",
    "batch",
    "networking.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
)


class _Table:
    """Indexes over a set of resource types (immutable once built)."""

    def __init__(self, types: Iterable[ResourceType]) -> None:
        self.by_gvr: dict[tuple[str, str, str], ResourceType] = {}
        self.by_gvk: dict[tuple[str, str, str], ResourceType] = {}
        self.by_gv: dict[tuple[str, str], list[ResourceType]] = {}
        self.versions: dict[str, list[str]] = {}
        for t in types:
            self.by_gvr[(t.group, t.version, t.plural)] = t
            self.by_gvk[(t.group, t.version, t.kind)] = t
            self.by_gv.setdefault((t.group, t.version), []).append(t)
            versions = self.versions.setdefault(t.group, [])
            if t.version not in versions:
                versions.append(t.version)


_BUILTIN_TABLE = _Table(BUILTINS)


def split_api_version(api_version: str) -> tuple[str, str]:
    if "/" in api_version:
        group, _, version = api_version.partition("/")
        return group, version
    return "", api_version


class Registry:
    """Built-ins plus the CRD-served resources of one server."""

    def __init__(self) -> None:
        self._crd_types: dict[str, tuple[ResourceType, ...]] = {}  # crd name -> served types
        self._crd_table = _Table(())

    # ----- CRDs
    def set_crd(self, name: str, types: tuple[ResourceType, ...]) -> None:
        self._crd_types[name] = types
        self._rebuild()

    def remove_crd(self, name: str) -> None:
        if self._crd_types.pop(name, None) is not None:
            self._rebuild()

    def crd_types(self, name: str) -> tuple[ResourceType, ...]:
        return self._crd_types.get(name, ())

    def _rebuild(self) -> None:
        self._crd_table = _Table(t for types in self._crd_types.values() for t in types)

    # ----- lookups
    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        return _BUILTIN_TABLE.by_gvr.get((group, version, plural)) or self._crd_table.by_gvr.get(
            (group, version, plural)
        )

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        group, version = split_api_version(api_version)
        return _BUILTIN_TABLE.by_gvk.get((group, version, kind)) or self._crd_table.by_gvk.get(
            (group, version, kind)
        )

    def storage_type(self, group: str, plural: str) -> ResourceType | None:
        """The type whose version objects of ``(group, plural)`` are stored at."""
        for table in (_BUILTIN_TABLE, self._crd_table):
            for version in table.versions.get(group, []):
                t = table.by_gvr.get((group, version, plural))
                if t is not None and t.storage_version:
                    return t
        return None

    def resources(self, group: str, version: str) -> list[ResourceType]:
        return _BUILTIN_TABLE.by_gv.get((group, version), []) + self._crd_table.by_gv.get(
            (group, version), []
        )

    def groups(self) -> list[tuple[str, list[str]]]:
        """``[(group, [versions, preferred first])]`` for /apis (core group excluded)."""
        out = [(g, list(_BUILTIN_TABLE.versions[g])) for g in GROUP_ORDER if g in _BUILTIN_TABLE.versions]
        for group, versions in sorted(self._crd_table.versions.items()):
            if group in _BUILTIN_TABLE.versions:
                continue
            out.append((group, sorted(versions, key=version_priority)))
        return out

    def all_types(self) -> list[ResourceType]:
        return list(_BUILTIN_TABLE.by_gvr.values()) + list(self._crd_table.by_gvr.values())


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Kubernetes version ordering: GA > beta > alpha, higher numbers first (for sorting)."""
    import re

    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not m:
        return (3, 0, 0, version)
    major = int(m.group(1))
    stage = {"None": 0, "beta": 1, "alpha": 2}[str(m.group(2))]
    minor = int(m.group(3) or 0)
    return (stage, -major, -minor, version)
