"""Finding the binding of a template named as kubectl would name it (``deploy/web``)."""

from __future__ import annotations

from typing import Any

from shared.api import names
from shared.kube.client import KubeClient
from shared.kube.types import ResourceInfo
from waybill import kinds


async def resolve_kind(api: KubeClient, word: str) -> ResourceInfo:
    """The served kind ``word`` names on the server behind ``api``; a usage error if none."""
    info = kinds.resolve(word, kinds.flatten(await api.api_resources()))
    if info is None:
        raise kinds.unknown_kind(word)
    return info


def binding_matches(binding: dict[str, Any], *, info: ResourceInfo, name: str, namespace: str | None) -> bool:
    resource = (binding.get("spec") or {}).get("resource") or {}
    group = str(resource.get("apiVersion") or "").rpartition("/")[0]
    return (
        resource.get("name") == name
        and resource.get("kind") == info.kind
        and group == info.group
        and (not info.namespaced or (resource.get("namespace") or "") == (namespace or ""))
    )


async def find_binding(
    hub_api: KubeClient, *, info: ResourceInfo, name: str, namespace: str
) -> dict[str, Any] | None:
    """The ResourceBinding (namespaced template) or ClusterResourceBinding of one template."""
    if info.namespaced:
        candidates = (
            await hub_api.list(names.WORK_API_VERSION, names.KIND_RESOURCE_BINDING, namespace=namespace)
        ).items
    else:
        candidates = (await hub_api.list(names.WORK_API_VERSION, names.KIND_CLUSTER_RESOURCE_BINDING)).items
    for binding in candidates:
        if binding_matches(binding, info=info, name=name, namespace=namespace):
            return binding
    return None
