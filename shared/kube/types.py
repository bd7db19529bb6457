"""Plain value types the client returns: lists, watch events, discovery entries, the version.

Objects themselves stay unstructured ``dict``s (``Obj``); these small frozen dataclasses only
wrap what comes around them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "ApiGroupResources",
    "EventType",
    "Obj",
    "ObjectList",
    "ResourceInfo",
    "ServerVersion",
    "WatchEvent",
    "object_key",
    "split_api_version",
]

Obj = dict[str, Any]
EventType = Literal["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"]


@dataclass(frozen=True, slots=True)
class ObjectList:
    """The items of a LIST (all pages) and the list's ``resourceVersion`` to watch from."""

    items: list[Obj]
    resource_version: str


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One watch event: ``type`` and the object (for BOOKMARK only metadata.resourceVersion)."""

    type: EventType
    object: Obj

    @property
    def resource_version(self) -> str:
        """The event object's ``metadata.resourceVersion`` ('' when absent)."""
        meta = self.object.get("metadata") or {}
        return str(meta.get("resourceVersion") or "")


@dataclass(frozen=True, slots=True)
class ResourceInfo:
    """What discovery says about one kind: how to address it and what it supports."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool
    verbs: frozenset[str] = frozenset()
    subresources: frozenset[str] = frozenset()
    short_names: tuple[str, ...] = ()
    singular: str = ""

    @property
    def group(self) -> str:
        """The API group ('' for the core group)."""
        return split_api_version(self.api_version)[0]

    @property
    def version(self) -> str:
        """The API version within the group (``v1``, ``v1alpha1``)."""
        return split_api_version(self.api_version)[1]


@dataclass(frozen=True, slots=True)
class ApiGroupResources:
    """One served group/version (``apps/v1``) and its resources (subresources folded in)."""

    group_version: str
    resources: tuple[ResourceInfo, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class ServerVersion:
    """The server's ``/version``: ``git_version`` such as ``v1.31.0``."""

    major: str
    minor: str
    git_version: str
    platform: str = ""


def split_api_version(api_version: str) -> tuple[str, str]:
    """``apps/v1`` → (``apps``, ``v1``); ``v1`` → (``''``, ``v1``)."""
    group, _, version = api_version.rpartition("/")
    return group, version


def object_key(obj: Obj) -> str:
    """``namespace/name`` of an object, or ``name`` for a cluster-scoped one."""
    meta = obj.get("metadata") or {}
    name = str(meta.get("name") or "")
    namespace = meta.get("namespace")
    return f"{namespace}/{name}" if namespace else name
