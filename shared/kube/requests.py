"""Building Kubernetes requests: pure functions from (resource, options) to method/path/query.

Nothing here sends anything; :mod:`shared.kube.client` does. Keeping this pure lets the paths,
queries and content types be table-tested.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from shared.kube.types import ResourceInfo

__all__ = [
    "PATCH_CONTENT_TYPES",
    "KubeRequest",
    "PatchType",
    "delete_options",
    "list_query",
    "resource_path",
]

PatchType = Literal["merge", "json", "strategic", "apply"]

PATCH_CONTENT_TYPES: dict[str, str] = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "apply": "application/apply-patch+yaml",
}


@dataclass(frozen=True, slots=True)
class KubeRequest:
    """One HTTP request to the API server; ``idempotent`` is False for creates."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    body: Any = None
    content_type: str = "application/json"
    idempotent: bool = True


def resource_path(
    info: ResourceInfo,
    *,
    namespace: str | None = None,
    name: str | None = None,
    subresource: str | None = None,
) -> str:
    """The URL path of a collection (no ``name``), an object, or an object's subresource.

    A namespaced kind without ``namespace`` addresses all namespaces (list/watch only); the
    namespace of a cluster-scoped kind is ignored.
    """
    group, version = info.group, info.version
    parts = [f"/apis/{group}/{version}" if group else f"/api/{version}"]
    if info.namespaced and namespace:
        parts.append(f"namespaces/{quote(namespace, safe='')}")
    elif info.namespaced and name is not None:
        raise ValueError(f"{info.kind} {name!r} is namespaced: a namespace is required")
    parts.append(info.plural)
    if name is not None:
        if not name:
            raise ValueError(f"{info.kind}: empty name")
        parts.append(quote(name, safe=""))
        if subresource:
            parts.append(subresource)
    return "/".join(parts)


def list_query(
    *,
    label_selector: str | None = None,
    field_selector: str | None = None,
    limit: int | None = None,
    continue_token: str | None = None,
    resource_version: str | None = None,
    watch: bool = False,
    allow_bookmarks: bool = False,
    timeout_seconds: int | None = None,
) -> tuple[tuple[str, str], ...]:
    """Query parameters of a LIST or WATCH."""
    query: list[tuple[str, str]] = []
    if label_selector:
        query.append(("labelSelector", label_selector))
    if field_selector:
        query.append(("fieldSelector", field_selector))
    if limit:
        query.append(("limit", str(limit)))
    if continue_token:
        query.append(("continue", continue_token))
    if resource_version is not None:
        query.append(("resourceVersion", resource_version))
    if watch:
        query.append(("watch", "true"))
        if allow_bookmarks:
            query.append(("allowWatchBookmarks", "true"))
    if timeout_seconds is not None:
        query.append(("timeoutSeconds", str(timeout_seconds)))
    return tuple(query)


def write_query(*, field_manager: str | None = None, force: bool = False, dry_run: bool = False) -> tuple[
    tuple[str, str], ...
]:
    """Query parameters of a write: ``fieldManager``, ``force`` (apply only), ``dryRun``."""
    query: list[tuple[str, str]] = []
    if field_manager:
        query.append(("fieldManager", field_manager))
    if force:
        query.append(("force", "true"))
    if dry_run:
        query.append(("dryRun", "All"))
    return tuple(query)


def delete_options(
    *,
    propagation_policy: str | None = None,
    preconditions: dict[str, str] | None = None,
    grace_period_seconds: int | None = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """A ``DeleteOptions`` body."""
    body: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
    if propagation_policy:
        if propagation_policy not in {"Foreground", "Background", "Orphan"}:
            raise ValueError(f"bad propagation_policy {propagation_policy!r}: Foreground|Background|Orphan")
        body["propagationPolicy"] = propagation_policy
    if preconditions:
        body["preconditions"] = dict(preconditions)
    if grace_period_seconds is not None:
        body["gracePeriodSeconds"] = grace_period_seconds
    if dry_run:
        body["dryRun"] = ["All"]
    return body
