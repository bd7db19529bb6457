"""The hub's view of the world: informer caches and the queries controllers need.

Everything here reads caches only (no API calls). Informers for template kinds are added while
running, as policies name new kinds (``TemplateKinds``).
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Mapping
from typing import Any

from hub import keys, schedule_priority
from hub.clusters import ClusterView
from hub.matching import PolicyRef, PolicyView, TemplateId, TemplateRef
from hub.rendering import policy_label_values, slim_work
from hub.views import BindingView, PolicyCheck, WorkView
from shared.api import names
from shared.interpreter import Interpreter
from shared.interpreter.feed import CustomizationFeed
from shared.kube.client import KubeClient
from shared.kube.informer import Informer, Views, strip_managed_fields
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

    def __init__(
        self, hub_api: KubeClient, *, interpreter_defaults: Iterable[Mapping[str, Any]] = ()
    ) -> None:
        """``interpreter_defaults``: defaults-layer ResourceInterpreterCustomizations (the
        ``--replica-path`` shorthand, ``hub.interpretation.shorthand_defaults``)."""
        self.hub_api = hub_api
        managed = f"{names.LABEL_MANAGED_BY}={names.MANAGED_BY_VALUE}"
        # the hub never reads managedFields (often half an object): not cached
        self.namespaces = Informer(
            hub_api,
            "v1",
            "Namespace",
            label_selector=names.LABEL_MEMBER,
            name="hub:ns",
            transform=strip_managed_fields,
        )
        # every hub namespace: what a namespaced template's namespace looks like on the members
        self.hub_namespaces = Informer(
            hub_api, "v1", "Namespace", name="hub:ns-all", transform=strip_managed_fields
        )
        self.members = Informer(
            hub_api,
            names.CLUSTER_API_VERSION,
            names.KIND_MEMBER_CLUSTER,
            name="hub:mc",
            transform=strip_managed_fields,
        )
        self.leases = Informer(
            hub_api,
            LEASE_API,
            "Lease",
            field_selector=f"metadata.name={names.HEARTBEAT_LEASE_NAME}",
            name="hub:lease",
            transform=strip_managed_fields,
        )
        self.policies = Informer(
            hub_api,
            names.POLICY_API_VERSION,
            names.KIND_PROPAGATION_POLICY,
            name="hub:pp",
            transform=strip_managed_fields,
        )
        self.cluster_policies = Informer(
            hub_api,
            names.POLICY_API_VERSION,
            names.KIND_CLUSTER_PROPAGATION_POLICY,
            name="hub:cpp",
            transform=strip_managed_fields,
        )
        self.overrides = Informer(
            hub_api,
            names.POLICY_API_VERSION,
            names.KIND_OVERRIDE_POLICY,
            name="hub:op",
            transform=strip_managed_fields,
        )
        self.cluster_overrides = Informer(
            hub_api,
            names.POLICY_API_VERSION,
            names.KIND_CLUSTER_OVERRIDE_POLICY,
            name="hub:cop",
            transform=strip_managed_fields,
        )
        self.bindings = Informer(
            hub_api,
            names.WORK_API_VERSION,
            names.KIND_RESOURCE_BINDING,
            label_selector=managed,
            name="hub:rb",
            transform=strip_managed_fields,
        )
        self.cluster_bindings = Informer(
            hub_api,
            names.WORK_API_VERSION,
            names.KIND_CLUSTER_RESOURCE_BINDING,
            label_selector=managed,
            name="hub:crb",
            transform=strip_managed_fields,
        )
        self.works = Informer(
            hub_api,
            names.WORK_API_VERSION,
            names.KIND_WORK,
            label_selector=managed,
            name="hub:work",
            # manifests as identity + digest only (the works controller reads the rest from the
            # API server when it needs a manifest's last good version): ~10 KB less per manifest
            transform=slim_work,
        )
        # ResourceInterpreterCustomizations (cluster-scoped) feed the one interpreter every
        # controller asks (hub.interpretation); ``interpreter_feed.problems``: broken ones by name
        self.customizations = Informer(
            hub_api,
            names.CONFIG_API_VERSION,
            names.KIND_RESOURCE_INTERPRETER_CUSTOMIZATION,
            name="hub:ric",
            transform=strip_managed_fields,
        )
        self.interpreter = Interpreter(defaults=interpreter_defaults)
        self.interpreter_feed = CustomizationFeed(self.interpreter, self.customizations)
        # schedulePriority: started on first need (a hub without such policies never lists them)
        self.priority_classes = Informer(
            hub_api,
            schedule_priority.PRIORITY_CLASS_API_VERSION,
            schedule_priority.PRIORITY_CLASS_KIND,
            name="hub:pc",
            transform=strip_managed_fields,
        )
        self._priority_classes_started = False
        self.templates: dict[tuple[str, str], Informer] = {}
        # per template kind: a digest of what members get, per template version
        self.template_contents: dict[tuple[str, str], Views[str]] = {}
        # Everything derived is an index of an informer (kept current before any handler runs)
        # or a typed view cached per object version; nothing is kept by hand.
        self.namespaces.add_indexer(INDEX_MEMBER, member_of_namespace)
        self._binding_views: dict[str, Views[BindingView]] = {
            names.KIND_RESOURCE_BINDING: Views(self.bindings, BindingView.of),
            names.KIND_CLUSTER_RESOURCE_BINDING: Views(self.cluster_bindings, BindingView.of),
        }
        for informer in (self.bindings, self.cluster_bindings):
            informer.add_indexer(INDEX_SLOT, lambda b: _binding_slots(self.binding_view(b)))
            informer.add_indexer(INDEX_TEMPLATE, lambda b: _binding_template(self.binding_view(b)))
            informer.add_indexer(INDEX_CLUSTER, lambda b: list(self.binding_view(b).clusters))
        self.works.add_indexer(INDEX_NAMESPACE, _namespace_of)
        self.works.add_indexer(INDEX_POLICY, _work_policy)
        self.work_views: Views[WorkView] = Views(self.works, WorkView.of)
        self.cluster_views: Views[ClusterView] = Views(self.members, ClusterView.from_member)
        self._member_namespaces: tuple[int, dict[str, str]] | None = None
        # each policy parsed once per resourceVersion: its validation and its typed model
        self._policy_views: dict[str, Views[PolicyView]] = {
            names.KIND_PROPAGATION_POLICY: Views(self.policies, PolicyView.of),
            names.KIND_CLUSTER_PROPAGATION_POLICY: Views(self.cluster_policies, PolicyView.of),
            names.KIND_OVERRIDE_POLICY: Views(self.overrides, PolicyView.of),
            names.KIND_CLUSTER_OVERRIDE_POLICY: Views(self.cluster_overrides, PolicyView.of),
        }
        # read-your-writes: the hub's latest write of a binding, until the cache has caught up
        # (so a second pass never computes a conditional status patch from a stale copy: 409)
        self._written: dict[keys.BindingKey, Obj] = {}
        # of those, the (policy, member) slots whose placement they change (HubState.placement_pending)
        self._pending_of: dict[keys.BindingKey, tuple[tuple[PolicyRef, str], ...]] = {}
        self._pending_slots: collections.Counter[tuple[PolicyRef, str]] = collections.Counter()
        self.bindings.add_handler(lambda key: self._binding_event(keys.BindingKey.from_informer_key(key)))
        self.cluster_bindings.add_handler(lambda name: self._binding_event(keys.BindingKey("", name)))

    @property
    def fixed_informers(self) -> list[Informer]:
        return [
            self.namespaces,
            self.hub_namespaces,
            self.members,
            self.leases,
            self.policies,
            self.cluster_policies,
            self.overrides,
            self.cluster_overrides,
            self.bindings,
            self.cluster_bindings,
            self.works,
            self.customizations,
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
        labelled = list(member_of_namespace(found)) if found is not None else []
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

    def policy_view(self, policy: Obj) -> PolicyView:
        """The typed view of a cached (override) policy (parsed once per resourceVersion)."""
        cached = self._policy_views.get(str(policy.get("kind")))
        if cached is None:
            return PolicyView.of(policy)
        return cached.of(object_key(policy), policy)

    def policy_check(self, policy: Obj) -> PolicyCheck:
        """The validation of a cached (override) policy (parsed once per resourceVersion)."""
        return self.policy_view(policy).check

    def propagation_policy_views(self) -> list[PolicyView]:
        return [self.policy_view(p) for p in self.propagation_policies()]

    def valid_propagation_policies(self) -> list[PolicyView]:
        """Propagation policies that may claim templates: the valid ones (typed views)."""
        return [v for v in self.propagation_policy_views() if v.valid]

    def override_policy(self, ref: PolicyRef) -> Obj | None:
        if ref.kind == names.KIND_CLUSTER_OVERRIDE_POLICY:
            return self.cluster_overrides.get(ref.name)
        return self.overrides.get(f"{ref.namespace}/{ref.name}")

    def policy(self, ref: PolicyRef) -> Obj | None:
        if ref.kind == names.KIND_CLUSTER_PROPAGATION_POLICY:
            return self.cluster_policies.get(ref.name)
        return self.policies.get(f"{ref.namespace}/{ref.name}")

    def priority_classes_ready(self) -> bool:
        """Start the PriorityClass informer on first call; whether its cache has synced."""
        if not self._priority_classes_started:
            self._priority_classes_started = True
            self.priority_classes.start()
        return self.priority_classes.has_synced

    def priority_class(self, name: str) -> Obj | None:
        return self.priority_classes.get(name)

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

    def _cached_binding(self, key: keys.BindingKey) -> Obj | None:
        informer = self.bindings if key.namespace else self.cluster_bindings
        return informer.get(key.informer_key)

    def binding(self, key: keys.BindingKey) -> Obj | None:
        """The binding from the cache, or the hub's own later write of it (read-your-writes)."""
        written = self._written.get(key)
        return written if written is not None else self._cached_binding(key)

    def remember_binding(self, obj: Obj) -> None:
        """Record a binding as the API server returned it after the hub wrote it."""
        key = keys.binding_key_of(obj)
        cached = self._cached_binding(key)
        written = self._written.get(key)
        if written is not None and _at_least(_rv(written), _rv(obj)) and _rv(written) != _rv(obj):
            return  # two writes answered out of order: keep the later
        if cached is None or not _at_least(_rv(cached), _rv(obj)):
            self._written[key] = obj
            self._track_placement(key, obj, cached)

    def _track_placement(self, key: keys.BindingKey, written: Obj | None, cached: Obj | None) -> None:
        """Count the (policy, member) slots whose placement ``written`` changes against the cache
        (off them or onto them), until the cache delivers it (``written`` None)."""
        for slot in self._pending_of.pop(key, ()):
            self._pending_slots[slot] -= 1
            if self._pending_slots[slot] <= 0:
                del self._pending_slots[slot]
        if written is None:
            return
        after = BindingView.of(written)
        before = self.binding_view(cached) if cached is not None else None
        if before is not None and before.placement == after.placement:
            return  # a status write: the placement is the cached one
        views = [v for v in (before, after) if v is not None and v.policy is not None]
        slots = tuple({(v.policy, c) for v in views if v.policy is not None for c in v.clusters})
        if slots:
            self._pending_of[key] = slots
            self._pending_slots.update(slots)

    def placement_pending(self, policy: PolicyRef, cluster: str) -> bool:
        """Whether the hub wrote a binding of ``policy`` whose new placement (on ``cluster``, or
        off it) the cache has not delivered yet: Works rendered now would miss it (O(1))."""
        return (policy, cluster) in self._pending_slots

    def forget_binding(self, key: keys.BindingKey) -> None:
        self._written.pop(key, None)
        self._track_placement(key, None, None)

    def binding_key_for(self, ref: TemplateRef | TemplateId) -> keys.BindingKey:
        """The key of ``ref``'s binding: the existing one (found by template identity, so one
        named before names carried the group keeps its name), else the one to create."""
        identity = str(ref.identity)
        informer = self.bindings if ref.namespace else self.cluster_bindings
        found = informer.index_keys(INDEX_TEMPLATE, identity)
        expected = keys.binding_key(ref)
        if not found or expected.informer_key in found:
            return expected
        return keys.BindingKey(ref.namespace, found[0].rpartition("/")[2])

    def _binding_event(self, key: keys.BindingKey) -> None:
        cached = self._cached_binding(key)
        written = self._written.get(key)
        if written is not None and (cached is None or _at_least(_rv(cached), _rv(written))):
            self._written.pop(key, None)
            self._track_placement(key, None, None)

    def binding_view(self, binding: Obj) -> BindingView:
        """The typed view of a binding (parsed once per version when it is the cached one)."""
        views_of = self._binding_views.get(str(binding.get("kind")))
        if views_of is None:
            return BindingView.of(binding)
        return views_of.of(object_key(binding), binding)

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

    def bindings_on(self, cluster: str) -> list[Obj]:
        """Bindings that place their template on ``cluster`` (from the index)."""
        return [
            *self.bindings.by_index(INDEX_CLUSTER, cluster),
            *self.cluster_bindings.by_index(INDEX_CLUSTER, cluster),
        ]

    def works_for(self, policy: PolicyRef, namespace: str) -> list[Obj]:
        """Existing Works of ``policy`` in one member namespace (from the index)."""
        policy_namespace, policy_name = policy_label_values(policy)
        out = []
        value = _policy_value(policy_namespace=policy_namespace, policy_name=policy_name, namespace=namespace)
        for work in self.works.by_index(INDEX_POLICY, value):
            labels = (work.get("metadata") or {}).get("labels") or {}
            if labels.get(names.LABEL_MANAGED_BY) == names.MANAGED_BY_VALUE:
                out.append(work)
        return out

    def work_carrying(
        self, ref: TemplateRef, namespace: str, *, policy: PolicyRef | None = None
    ) -> WorkView | None:
        """The Work in ``namespace`` whose manifests include ``ref``: among ``policy``'s Works
        there first (one or a few parts), else among every Work in the namespace (a template
        that just moved between policies)."""
        identity = ref.identity
        if policy is not None:
            for work in self.works_for(policy, namespace):
                view = self.work_views.of(object_key(work), work)
                if view.carries(identity):
                    return view
        for key in self.works.index_keys(INDEX_NAMESPACE, namespace):
            found = self.work_views.get(key)
            if found is not None and found.carries(identity):
                return found
        return None


INDEX_MEMBER = "member"  # namespace → the member it registers (unless being deleted)
INDEX_SLOT = "slot"  # binding → "policy|cluster" per chosen cluster, and "policy|" once
INDEX_TEMPLATE = "template"  # binding → its template identity
INDEX_CLUSTER = "cluster"  # binding → each chosen cluster
INDEX_NAMESPACE = "namespace"  # Work → its namespace
INDEX_POLICY = "policy"  # Work → "policy namespace|policy name|member namespace" (its labels)


def member_of_namespace(namespace: Obj) -> list[str]:
    """The member a namespace registers ([] when none, or it is being deleted)."""
    meta = namespace.get("metadata") or {}
    cluster = (meta.get("labels") or {}).get(names.LABEL_MEMBER)
    return [str(cluster)] if cluster and not meta.get("deletionTimestamp") else []


def _slot(policy: PolicyRef, cluster: str) -> str:
    where = f"{policy.namespace}/" if policy.namespace else ""
    return f"{policy.kind}|{where}{policy.name}|{cluster}"


def _binding_slots(view: BindingView) -> list[str]:
    if view.policy is None:
        return []
    return [_slot(view.policy, ""), *(_slot(view.policy, cluster) for cluster in view.clusters)]


def _binding_template(view: BindingView) -> list[str]:
    return [] if view.template is None else [str(view.template.identity)]


def _policy_value(*, policy_namespace: str, policy_name: str, namespace: str) -> str:
    return f"{policy_namespace}|{policy_name}|{namespace}"


def _work_policy(work: Obj) -> list[str]:
    meta = work.get("metadata") or {}
    labels = meta.get("labels") or {}
    if names.LABEL_POLICY_NAME not in labels:
        return []
    return [
        _policy_value(
            policy_namespace=str(labels.get(names.LABEL_POLICY_NAMESPACE) or ""),
            policy_name=str(labels[names.LABEL_POLICY_NAME]),
            namespace=str(meta.get("namespace") or ""),
        )
    ]


def _namespace_of(obj: Obj) -> list[str]:
    return [str((obj.get("metadata") or {}).get("namespace") or "")]
