"""Work-queue keys of the hub's controllers, and binding names (pure).

Keys are typed, hashable records (the runtime's queue is generic over its key type), so nothing
is formatted into a string and parsed back:

* scheduler: the template's ``TemplateRef``;
* status: ``BindingKey`` (namespace empty for a ClusterResourceBinding);
* works: ``WorksKey`` (policy, member cluster);
* policy status: the policy's ``PolicyRef`` (override policies too);
* members: the member namespace's name.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hub import views
from hub.matching import PolicyRef, TemplateId, TemplateRef
from shared.api import names


@dataclass(frozen=True, order=True, slots=True)
class BindingKey:
    """A (Cluster)ResourceBinding: ``namespace`` is empty for a cluster-scoped one."""

    namespace: str
    name: str

    @classmethod
    def of(cls, binding: Mapping[str, Any]) -> BindingKey:
        meta = binding.get("metadata") or {}
        return cls(str(meta.get("namespace") or ""), str(meta.get("name", "")))

    @classmethod
    def from_informer_key(cls, key: str) -> BindingKey:
        namespace, _, name = key.rpartition("/")
        return cls(namespace, name)

    @property
    def informer_key(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    def __str__(self) -> str:
        return self.informer_key


@dataclass(frozen=True, order=True, slots=True)
class WorksKey:
    """The Works of one policy in one member's namespace."""

    policy: PolicyRef
    cluster: str

    def __str__(self) -> str:
        return f"{self.policy}@{self.cluster}"


def binding_name(ref: TemplateRef | TemplateId) -> str:
    """Deterministic binding name, unique per template identity (group included, version not).

    ``<name>-<kind>`` (Karmada's convention) for the core group and Kubernetes' dot-less groups
    (``apps``, ``batch``...: no two of them share a kind name), ``<name>-<kind>.<group>`` for
    every other group, so ``Certificate/shop/web`` of two groups get two bindings; hashed when
    too long. Bindings named before the group was part of the name are found by their template
    (``HubState.binding_key_for``) and keep their name.
    """
    group = ref.group
    suffix = f".{group}" if "." in group else ""
    readable = re.sub(r"[^a-z0-9.-]+", "-", f"{ref.name}-{ref.kind}{suffix}".lower()).strip("-.")
    if len(readable) <= 240:
        return readable
    digest = hashlib.sha256(str(ref.identity).encode()).hexdigest()[:10]
    return f"{readable[:229].rstrip('-.')}-{digest}"


def binding_kind(ref: TemplateRef) -> str:
    return names.KIND_RESOURCE_BINDING if ref.namespace else names.KIND_CLUSTER_RESOURCE_BINDING


binding_template = views.binding_template
binding_policy = views.binding_policy
binding_clusters = views.binding_clusters


def binding_key(ref: TemplateRef | TemplateId) -> BindingKey:
    """The key of the binding ``ref`` gets when it is created (see ``HubState.binding_key_for``)."""
    return BindingKey(ref.namespace, binding_name(ref))


binding_key_of = BindingKey.of
