"""The hub's view of the world: informer caches and the queries controllers need.

Everything here reads caches only (no API calls). Informers for template kinds are added while
running, as policies name new kinds (``TemplateKinds``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hub import keys
from hub.clusters import ClusterView
from hub.matching import PolicyRef, TemplateRef
from hub.rendering import policy_labels
from hub.work_index import WorkIndex
from shared.api import names
from shared.kube.client import KubeClient
from shared.kube.informer import Informer

Obj = dict[str, Any]
LEASE_API = "coordination.k8s.io/v1"


class HubState:
    """Informers over the hub API and read-only queries on their caches."""

    def __init__(self, hub_api: KubeClient) -> None:
        self.hub_api = hub_api
        managed = f"{names.LABEL_MANAGED_BY}={names.MANAGED_BY_VALUE}"
        self.namespaces = Informer(
            hub_api, "v1", "Namespace", label_selector=names.LABEL_MEMBER, name="hub:ns"
        )
        self.members = Informer(hub_api, names.CLUSTER_API_VERSION, names.KIND_MEMBER_CLUSTER, name="hub:mc")
        self.leases = Informer(
            hub_api,
            LEASE_API,
            "Lease",
            field_selector=f"metadata.name={names.HEARTBEAT_LEASE_NAME}",
            name="hub:lease",
        )
        self.policies = Informer(
            hub_api, names.POLICY_API_VERSION, names.KIND_PROPAGATION_POLICY, name="hub:pp"
        )
        self.cluster_policies = Informer(
            hub_api, names.POLICY_API_VERSION, names.KIND_CLUSTER_PROPAGATION_POLICY, name="hub:cpp"
        )
        self.overrides = Informer(
            hub_api, names.POLICY_API_VERSION, names.KIND_OVERRIDE_POLICY, name="hub:op"
        )
        self.cluster_overrides = Informer(
            hub_api, names.POLICY_API_VERSION, names.KIND_CLUSTER_OVERRIDE_POLICY, name="hub:cop"
        )
        self.bindings = Informer(
            hub_api,
            names.WORK_API_VERSION,
            names.KIND_RESOURCE_BINDING,
            label_selector=managed,
            name="hub:rb",
        )
        self.cluster_bindings = Informer(
            hub_api,
            names.WORK_API_VERSION,
            names.KIND_CLUSTER_RESOURCE_BINDING,
            label_selector=managed,
            name="hub:crb",
        )
        self.works = Informer(
            hub_api, names.WORK_API_VERSION, names.KIND_WORK, label_selector=managed, name="hub:work"
        )
        self.templates: dict[tuple[str, str], Informer] = {}
        self.work_index = WorkIndex()

    @property
    def fixed_informers(self) -> list[Informer]:
        return [
            self.namespaces,
            self.members,
            self.leases,
            self.policies,
            self.cluster_policies,
            self.overrides,
            self.cluster_overrides,
            self.bindings,
            self.cluster_bindings,
            self.works,
        ]

    # ---- members ---------------------------------------------------------------------------------

    def member_namespaces(self) -> dict[str, str]:
        """cluster name → member namespace, for namespaces that are not being deleted."""
        out: dict[str, str] = {}
        for namespace in sorted(self.namespaces.list(), key=lambda n: str(n["metadata"]["name"])):
            meta = namespace.get("metadata") or {}
            cluster = (meta.get("labels") or {}).get(names.LABEL_MEMBER)
            if cluster and not meta.get("deletionTimestamp") and cluster not in out:
                out[str(cluster)] = str(meta["name"])
        return out

    def member_cluster(self, cluster: str) -> Obj | None:
        namespace = self.member_namespaces().get(cluster)
        return self.members.get(f"{namespace}/{cluster}") if namespace else None

    def clusters(self) -> list[ClusterView]:
        """Every registered member with a MemberCluster (what scheduling chooses from)."""
        views = []
        for cluster, namespace in self.member_namespaces().items():
            member = self.members.get(f"{namespace}/{cluster}")
            if member is not None and not (member.get("metadata") or {}).get("deletionTimestamp"):
                views.append(ClusterView.from_member(member))
        return views

    def cluster_view(self, cluster: str) -> ClusterView | None:
        member = self.member_cluster(cluster)
        return ClusterView.from_member(member) if member else None

    # ---- policies --------------------------------------------------------------------------------

    def propagation_policies(self) -> list[Obj]:
        return [*self.policies.list(), *self.cluster_policies.list()]

    def override_policies(self) -> list[Obj]:
        return [*self.cluster_overrides.list(), *self.overrides.list()]

    def policy(self, ref: PolicyRef) -> Obj | None:
        if ref.kind == names.KIND_CLUSTER_PROPAGATION_POLICY:
            return self.cluster_policies.get(ref.name)
        return self.policies.get(f"{ref.namespace}/{ref.name}")

    # ---- templates and bindings --------------------------------------------------------------

    def template(self, ref: TemplateRef) -> Obj | None:
        informer = self.templates.get((ref.api_version, ref.kind))
        if informer is None:
            return None
        return informer.get(f"{ref.namespace}/{ref.name}" if ref.namespace else ref.name)

    def template_known(self, ref: TemplateRef) -> bool:
        """Whether the cache for the template's kind has synced (so None really means deleted)."""
        informer = self.templates.get((ref.api_version, ref.kind))
        return informer is not None and informer.has_synced

    def all_templates(self) -> Iterable[tuple[TemplateRef, Obj]]:
        for informer in list(self.templates.values()):
            for obj in informer.list():
                yield TemplateRef.of(obj), obj

    def binding(self, key: str) -> Obj | None:
        namespace, name = keys.parse_binding_key(key)
        if namespace:
            return self.bindings.get(f"{namespace}/{name}")
        return self.cluster_bindings.get(name)

    def all_bindings(self) -> list[Obj]:
        return [*self.bindings.list(), *self.cluster_bindings.list()]

    def bindings_for(self, policy: PolicyRef, cluster: str) -> list[Obj]:
        """Bindings of ``policy`` that place their template on ``cluster``."""
        return [
            b
            for b in self.all_bindings()
            if keys.binding_policy(b) == policy and cluster in keys.binding_clusters(b)
        ]

    def works_for(self, policy: PolicyRef, namespace: str) -> list[Obj]:
        """Existing Works of ``policy`` in one member namespace."""
        wanted = policy_labels(policy)
        out = []
        for work in self.works.list():
            meta = work.get("metadata") or {}
            labels = meta.get("labels") or {}
            if meta.get("namespace") == namespace and all(labels.get(k) == v for k, v in wanted.items()):
                out.append(work)
        return out

    def work_carrying(self, ref: TemplateRef, namespace: str) -> Obj | None:
        """The Work in ``namespace`` whose manifests include ``ref`` (from the index)."""
        key = self.work_index.carrying(ref, namespace)
        return self.works.get(key) if key else None
