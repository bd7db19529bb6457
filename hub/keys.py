"""Work-queue keys of the hub's controllers, and binding names (pure).

Keys are strings (the runtime's queue is keyed by ``str``); each controller has its own shape:

* template (scheduler): ``apiVersion|kind|namespace|name``
* binding (status): ``namespace|name`` (namespace empty for a ClusterResourceBinding)
* works: ``policyKind|policyNamespace|policyName|cluster``
* member: the member namespace's name
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from hub import views
from hub.matching import PolicyRef, TemplateRef
from shared.api import names


def template_key(ref: TemplateRef) -> str:
    return "|".join((ref.api_version, ref.kind, ref.namespace, ref.name))


def parse_template_key(key: str) -> TemplateRef:
    api_version, kind, namespace, name = key.split("|")
    return TemplateRef(api_version, kind, namespace, name)


def works_key(policy: PolicyRef, cluster: str) -> str:
    return "|".join((policy.kind, policy.namespace, policy.name, cluster))


def parse_works_key(key: str) -> tuple[PolicyRef, str]:
    kind, namespace, name, cluster = key.split("|")
    return PolicyRef(kind, namespace, name), cluster


def binding_name(ref: TemplateRef) -> str:
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


def binding_key(ref: TemplateRef) -> str:
    return f"{ref.namespace}|{binding_name(ref)}"


def binding_key_of(binding: Mapping[str, Any]) -> str:
    meta = binding.get("metadata") or {}
    return f"{meta.get('namespace') or ''}|{meta.get('name', '')}"


def parse_binding_key(key: str) -> tuple[str, str]:
    namespace, name = key.split("|")
    return namespace, name


binding_template = views.binding_template
binding_policy = views.binding_policy
binding_clusters = views.binding_clusters


def policy_key(policy: PolicyRef) -> str:
    return "|".join((policy.kind, policy.namespace, policy.name))


def parse_policy_key(key: str) -> PolicyRef:
    kind, namespace, name = key.split("|")
    return PolicyRef(kind, namespace, name)
