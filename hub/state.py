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


def _rv(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


def _at_least(cached: str, written: str) -> bool:
    """Whether the cached resourceVersion is the written one or later (opaque ones: only equal)."""
    if cached.isdigit() and written.isdigit():
        return int(cached) >= int(written)
    return cached == written


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
        # member namespace index, kept up to date from the namespace informer (registered first,
        # so every other handler sees it current): namespace → cluster, cluster → namespaces
        self._ns_cluster: dict[str, str] = {}
        self._cluster_nss: dict[str, set[str]] = {}
        self._member_namespaces: dict[str, str] | None = None
        self.namespaces.add_handler(self._namespace_changed)
        # read-your-writes: the hub's latest write of a binding, until the cache has caught up
        # (so a second pass never computes a conditional status patch from a stale copy: 409)
        self._written: dict[str, Obj] = {}
        self.bindings.add_handler(lambda key: self._binding_event(key.replace("/", "|", 1)))
        self.cluster_bindings.add_handler(lambda name: self._binding_event(f"|{name}"))
        # (policy, cluster) → keys of the cached bindings placing their template there
        self._by_slot: dict[tuple[PolicyRef, str], set[str]] = {}
        self._slots: dict[str, tuple[PolicyRef, tuple[str, ...]]] = {}
        # member namespace → keys of the cached Works there
        self._works_by_ns: dict[str, set[str]] = {}
        self.works.add_handler(self._work_event)
        # ClusterView per MemberCluster key, valid for one resourceVersion
        self._views: dict[str, tuple[str, ClusterView]] = {}

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

    def _namespace_changed(self, name: str) -> None:
        namespace = self.namespaces.get(name)
        meta = (namespace or {}).get("metadata") or {}
        cluster = (meta.get("labels") or {}).get(names.LABEL_MEMBER)
        cluster = str(cluster) if cluster and not meta.get("deletionTimestamp") else None
        old = self._ns_cluster.get(name)
        if old == cluster:
            return
        if old is not None:
            self._ns_cluster.pop(name, None)
            owners = self._cluster_nss.get(old)
            if owners is not None:
                owners.discard(name)
                if not owners:
                    self._cluster_nss.pop(old, None)
        if cluster is not None:
            self._ns_cluster[name] = cluster
            self._cluster_nss.setdefault(cluster, set()).add(name)
        self._member_namespaces = None

    def member_namespaces(self) -> dict[str, str]:
        """cluster name → member namespace, for namespaces that are not being deleted (when two
        namespaces name the same member, the first by name); a shared cache: do not mutate."""
        if self._member_namespaces is None:
            self._member_namespaces = {
                cluster: namespace
                for namespace, cluster in sorted(self._ns_cluster.items())
                if self.namespace_of(cluster) == namespace
            }
        return self._member_namespaces

    def namespace_of(self, cluster: str) -> str | None:
        """The member namespace of ``cluster`` (O(1))."""
        owners = self._cluster_nss.get(cluster)
        if not owners:
            return None
        return next(iter(owners)) if len(owners) == 1 else min(owners)

    def cluster_of(self, namespace: str) -> str | None:
        """The member that ``namespace`` registers (only if it is that member's namespace)."""
        cluster = self._ns_cluster.get(namespace)
        return cluster if cluster is not None and self.namespace_of(cluster) == namespace else None

    def labelled_cluster(self, namespace: str) -> str | None:
        """The member ``namespace`` is labelled for (even if another namespace wins that name)."""
        return self._ns_cluster.get(namespace)

    def is_member_namespace(self, namespace: str) -> bool:
        return self.cluster_of(namespace) is not None

    def member_cluster(self, cluster: str) -> Obj | None:
        namespace = self.namespace_of(cluster)
        return self.members.get(f"{namespace}/{cluster}") if namespace else None

    def _view(self, key: str, member: Obj) -> ClusterView:
        rv = str((member.get("metadata") or {}).get("resourceVersion") or "")
        cached = self._views.get(key)
        if cached is not None and cached[0] == rv and rv:
            return cached[1]
        view = ClusterView.from_member(member)
        self._views[key] = (rv, view)
        return view

    def clusters(self) -> list[ClusterView]:
        """Every registered member with a MemberCluster (what scheduling chooses from)."""
        views = []
        for cluster, namespace in self.member_namespaces().items():
            key = f"{namespace}/{cluster}"
            member = self.members.get(key)
            if member is not None and not (member.get("metadata") or {}).get("deletionTimestamp"):
                views.append(self._view(key, member))
        if len(self._views) > 2 * len(views) + 16:
            live = {v.name for v in views}
            self._views = {k: v for k, v in self._views.items() if k.rpartition("/")[2] in live}
        return views

    def cluster_view(self, cluster: str) -> ClusterView | None:
        namespace = self.namespace_of(cluster)
        if namespace is None:
            return None
        key = f"{namespace}/{cluster}"
        member = self.members.get(key)
        return self._view(key, member) if member else None

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

    def _cached_binding(self, key: str) -> Obj | None:
        namespace, name = keys.parse_binding_key(key)
        if namespace:
            return self.bindings.get(f"{namespace}/{name}")
        return self.cluster_bindings.get(name)

    def binding(self, key: str) -> Obj | None:
        """The binding from the cache, or the hub's own later write of it (read-your-writes)."""
        written = self._written.get(key)
        return written if written is not None else self._cached_binding(key)

    def remember_binding(self, obj: Obj) -> None:
        """Record a binding as the API server returned it after the hub wrote it."""
        key = keys.binding_key_of(obj)
        cached = self._cached_binding(key)
        if cached is None or not _at_least(_rv(cached), _rv(obj)):
            self._written[key] = obj

    def forget_binding(self, key: str) -> None:
        self._written.pop(key, None)

    def _binding_event(self, key: str) -> None:
        cached = self._cached_binding(key)
        old = self._slots.pop(key, None)
        if old is not None:
            for cluster in old[1]:
                holders = self._by_slot.get((old[0], cluster))
                if holders is not None:
                    holders.discard(key)
                    if not holders:
                        self._by_slot.pop((old[0], cluster), None)
        policy = keys.binding_policy(cached) if cached is not None else None
        if cached is not None and policy is not None:
            clusters = tuple(keys.binding_clusters(cached))
            if clusters:
                self._slots[key] = (policy, clusters)
                for cluster in clusters:
                    self._by_slot.setdefault((policy, cluster), set()).add(key)
        written = self._written.get(key)
        if written is not None and (cached is None or _at_least(_rv(cached), _rv(written))):
            self._written.pop(key, None)

    def _work_event(self, key: str) -> None:
        namespace = key.split("/", 1)[0]
        if key in self.works:
            self._works_by_ns.setdefault(namespace, set()).add(key)
        else:
            held = self._works_by_ns.get(namespace)
            if held is not None:
                held.discard(key)
                if not held:
                    self._works_by_ns.pop(namespace, None)

    def all_bindings(self) -> list[Obj]:
        return [*self.bindings.list(), *self.cluster_bindings.list()]

    def bindings_for(self, policy: PolicyRef, cluster: str) -> list[Obj]:
        """Bindings of ``policy`` that place their template on ``cluster`` (from the index)."""
        out = []
        for key in self._by_slot.get((policy, cluster), ()):
            binding = self._cached_binding(key)
            if binding is not None:
                out.append(binding)
        return out

    def works_for(self, policy: PolicyRef, namespace: str) -> list[Obj]:
        """Existing Works of ``policy`` in one member namespace."""
        wanted = policy_labels(policy)
        out = []
        for key in sorted(self._works_by_ns.get(namespace, ())):
            work = self.works.get(key)
            if work is None:
                continue
            meta = work.get("metadata") or {}
            labels = meta.get("labels") or {}
            if all(labels.get(k) == v for k, v in wanted.items()):
                out.append(work)
        return out

    def work_carrying(self, ref: TemplateRef, namespace: str) -> Obj | None:
        """The Work in ``namespace`` whose manifests include ``ref`` (from the index)."""
        key = self.work_index.carrying(ref, namespace)
        return self.works.get(key) if key else None
