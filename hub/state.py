"""The hub's view of the world: informer caches and the queries controllers need.

Everything here reads caches only (no API calls). Informers for template kinds are added while
running, as policies name new kinds (``TemplateKinds``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hub import keys, views
from hub.clusters import ClusterView
from hub.matching import PolicyRef, TemplateRef
from hub.rendering import policy_labels
from hub.views import PolicyCheck, WorkView
from shared.api import names
from shared.kube.client import KubeClient
from shared.kube.informer import Informer, Views
from shared.kube.types import object_key

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
        # Everything derived is an index of an informer (kept current before any handler runs)
        # or a typed view cached per object version; nothing is kept by hand.
        self.namespaces.add_indexer(INDEX_MEMBER, _member_of_namespace)
        for informer in (self.bindings, self.cluster_bindings):
            informer.add_indexer(INDEX_SLOT, _binding_slots)
            informer.add_indexer(INDEX_TEMPLATE, _binding_template)
        self.works.add_indexer(INDEX_NAMESPACE, _namespace_of)
        self.works.add_indexer(INDEX_CARRIES, views.carried_values)
        self.work_views: Views[WorkView] = Views(self.works, WorkView.of)
        self.cluster_views: Views[ClusterView] = Views(self.members, ClusterView.from_member)
        self._member_namespaces: tuple[int, dict[str, str]] | None = None
        # each policy's validation, once per resourceVersion
        self._policy_checks: dict[str, Views[PolicyCheck]] = {
            names.KIND_PROPAGATION_POLICY: Views(self.policies, views.check_policy),
            names.KIND_CLUSTER_PROPAGATION_POLICY: Views(self.cluster_policies, views.check_policy),
            names.KIND_OVERRIDE_POLICY: Views(self.overrides, views.check_policy),
            names.KIND_CLUSTER_OVERRIDE_POLICY: Views(self.cluster_overrides, views.check_policy),
        }
        # read-your-writes: the hub's latest write of a binding, until the cache has caught up
        # (so a second pass never computes a conditional status patch from a stale copy: 409)
        self._written: dict[str, Obj] = {}
        self.bindings.add_handler(lambda key: self._binding_event(key.replace("/", "|", 1)))
        self.cluster_bindings.add_handler(lambda name: self._binding_event(f"|{name}"))

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
        """cluster name → member namespace, for namespaces that are not being deleted (when two
        namespaces name the same member, the first by name); a shared memo: do not mutate."""
        memo = self._member_namespaces
        if memo is None or memo[0] != self.namespaces.version:
            found = {
                cluster: min(self.namespaces.index_keys(INDEX_MEMBER, cluster))
                for cluster in self.namespaces.index_values(INDEX_MEMBER)
            }
            memo = (self.namespaces.version, dict(sorted(found.items())))
            self._member_namespaces = memo
        return memo[1]

    def namespace_of(self, cluster: str) -> str | None:
        """The member namespace of ``cluster`` (O(1))."""
        owners = self.namespaces.index_keys(INDEX_MEMBER, cluster)
        return owners[0] if owners else None

    def labelled_cluster(self, namespace: str) -> str | None:
        """The member ``namespace`` is labelled for (even if another namespace wins that name)."""
        found = self.namespaces.get(namespace)
        labelled = list(_member_of_namespace(found)) if found is not None else []
        return labelled[0] if labelled else None

    def cluster_of(self, namespace: str) -> str | None:
        """The member that ``namespace`` registers (only if it is that member's namespace)."""
        cluster = self.labelled_cluster(namespace)
        return cluster if cluster is not None and self.namespace_of(cluster) == namespace else None

    def is_member_namespace(self, namespace: str) -> bool:
        return self.cluster_of(namespace) is not None

    def member_cluster(self, cluster: str) -> Obj | None:
        namespace = self.namespace_of(cluster)
        return self.members.get(f"{namespace}/{cluster}") if namespace else None

    def clusters(self) -> list[ClusterView]:
        """Every registered member with a MemberCluster (what scheduling chooses from)."""
        out = []
        for cluster, namespace in self.member_namespaces().items():
            key = f"{namespace}/{cluster}"
            member = self.members.get(key)
            if member is not None and not (member.get("metadata") or {}).get("deletionTimestamp"):
                out.append(self.cluster_views.of(key, member))
        return out

    def cluster_view(self, cluster: str) -> ClusterView | None:
        namespace = self.namespace_of(cluster)
        return None if namespace is None else self.cluster_views.get(f"{namespace}/{cluster}")

    # ---- policies --------------------------------------------------------------------------------

    def propagation_policies(self) -> list[Obj]:
        return [*self.policies.list(), *self.cluster_policies.list()]

    def override_policies(self) -> list[Obj]:
        return [*self.cluster_overrides.list(), *self.overrides.list()]

    def policy_check(self, policy: Obj) -> PolicyCheck:
        """The validation of a cached (override) policy (parsed once per resourceVersion)."""
        checks = self._policy_checks.get(str(policy.get("kind")))
        if checks is None:
            return views.check_policy(policy)
        return checks.of(object_key(policy), policy)

    def valid_propagation_policies(self, *, keep: PolicyRef | None = None) -> list[Obj]:
        """Propagation policies that may claim templates: the valid ones (and ``keep``, the
        policy already holding a template, so an invalid edit keeps its last placement)."""
        return [
            p
            for p in self.propagation_policies()
            if self.policy_check(p).valid or (keep is not None and PolicyRef.of(p) == keep)
        ]

    def override_policy(self, ref: PolicyRef) -> Obj | None:
        if ref.kind == names.KIND_CLUSTER_OVERRIDE_POLICY:
            return self.cluster_overrides.get(ref.name)
        return self.overrides.get(f"{ref.namespace}/{ref.name}")

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

    def binding_key_for(self, ref: TemplateRef) -> str:
        """The key of ``ref``'s binding: the existing one (found by template identity, so one
        named before names carried the group keeps its name), else the one to create."""
        identity = str(ref.identity)
        informer = self.bindings if ref.namespace else self.cluster_bindings
        found = informer.index_keys(INDEX_TEMPLATE, identity)
        expected = keys.binding_key(ref)
        if not found or expected.replace("|", "/", 1).lstrip("/") in found:
            return expected
        return f"{ref.namespace}|{found[0].rpartition('/')[2]}"

    def _binding_event(self, key: str) -> None:
        cached = self._cached_binding(key)
        written = self._written.get(key)
        if written is not None and (cached is None or _at_least(_rv(cached), _rv(written))):
            self._written.pop(key, None)

    def all_bindings(self) -> list[Obj]:
        return [*self.bindings.list(), *self.cluster_bindings.list()]

    def bindings_for(self, policy: PolicyRef, cluster: str) -> list[Obj]:
        """Bindings of ``policy`` that place their template on ``cluster`` (from the index)."""
        slot = _slot(policy, cluster)
        return [*self.bindings.by_index(INDEX_SLOT, slot), *self.cluster_bindings.by_index(INDEX_SLOT, slot)]

    def bindings_of_policy(self, policy: PolicyRef) -> list[Obj]:
        """Bindings (placed or not) of ``policy`` (from the index)."""
        value = _slot(policy, "")
        return [
            *self.bindings.by_index(INDEX_SLOT, value),
            *self.cluster_bindings.by_index(INDEX_SLOT, value),
        ]

    def works_for(self, policy: PolicyRef, namespace: str) -> list[Obj]:
        """Existing Works of ``policy`` in one member namespace."""
        wanted = policy_labels(policy)
        out = []
        for work in self.works.by_index(INDEX_NAMESPACE, namespace):
            labels = (work.get("metadata") or {}).get("labels") or {}
            if all(labels.get(k) == v for k, v in wanted.items()):
                out.append(work)
        return out

    def work_carrying(self, ref: TemplateRef, namespace: str) -> WorkView | None:
        """The Work in ``namespace`` whose manifests include ``ref`` (from the index)."""
        found = self.works.index_keys(INDEX_CARRIES, f"{namespace}|{ref.identity}")
        return self.work_views.get(found[0]) if found else None


INDEX_MEMBER = "member"  # namespace → the member it registers (unless being deleted)
INDEX_SLOT = "slot"  # binding → "policy|cluster" per chosen cluster, and "policy|" once
INDEX_TEMPLATE = "template"  # binding → its template identity
INDEX_NAMESPACE = "namespace"  # Work → its namespace
INDEX_CARRIES = "carries"  # Work → "namespace|template identity" per manifest


def _member_of_namespace(namespace: Obj) -> list[str]:
    meta = namespace.get("metadata") or {}
    cluster = (meta.get("labels") or {}).get(names.LABEL_MEMBER)
    return [str(cluster)] if cluster and not meta.get("deletionTimestamp") else []


def _slot(policy: PolicyRef, cluster: str) -> str:
    return f"{keys.policy_key(policy)}|{cluster}"


def _binding_slots(binding: Obj) -> list[str]:
    policy = keys.binding_policy(binding)
    if policy is None:
        return []
    return [_slot(policy, ""), *(_slot(policy, cluster) for cluster in keys.binding_clusters(binding))]


def _binding_template(binding: Obj) -> list[str]:
    ref = keys.binding_template(binding)
    return [] if ref is None else [str(ref.identity)]


def _namespace_of(obj: Obj) -> list[str]:
    return [str((obj.get("metadata") or {}).get("namespace") or "")]
