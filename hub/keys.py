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
    """Deterministic binding name: ``<name>-<kind>`` (Karmada's convention), hashed when too long."""
    readable = re.sub(r"[^a-z0-9.-]+", "-", f"{ref.name}-{ref.kind}".lower()).strip("-.")
    if len(readable) <= 240:
        return readable
    digest = hashlib.sha256(str(ref).encode()).hexdigest()[:10]
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


def binding_template(binding: Mapping[str, Any]) -> TemplateRef | None:
    resource = (binding.get("spec") or {}).get("resource") or {}
    if not resource.get("kind") or not resource.get("name"):
        return None
    return TemplateRef(
        str(resource.get("apiVersion", "")),
        str(resource["kind"]),
        str(resource.get("namespace") or ""),
        str(resource["name"]),
    )


def binding_policy(binding: Mapping[str, Any]) -> PolicyRef | None:
    policy = (binding.get("spec") or {}).get("policy") or {}
    if not policy.get("name"):
        return None
    return PolicyRef(str(policy.get("kind", "")), str(policy.get("namespace") or ""), str(policy["name"]))


def binding_clusters(binding: Mapping[str, Any]) -> dict[str, int | None]:
    return {
        str(c["name"]): c.get("replicas")
        for c in (binding.get("spec") or {}).get("clusters") or []
        if c.get("name")
    }


def policy_key(policy: PolicyRef) -> str:
    return "|".join((policy.kind, policy.namespace, policy.name))


def parse_policy_key(key: str) -> PolicyRef:
    kind, namespace, name = key.split("|")
    return PolicyRef(kind, namespace, name)
