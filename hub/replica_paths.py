"""Where a kind keeps its replica count (pure, configurable).

The hub's built-in rule for Kubernetes' kinds: the table maps ``(group, kind)`` to a dotted
path. Other kinds get replicas from a ResourceInterpreterCustomization (``hub.interpretation``);
``--replica-path GROUP/KIND=PATH`` on ``waybill hub`` (``example.com/Widget=spec.size``; the core
group is written as an empty string, e.g. ``/ReplicationController=spec.replicas``) is parsed
here and becomes a defaults-layer customization (``hub.interpretation.shorthand_defaults``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.kube.types import split_api_version

DEFAULT_REPLICA_PATHS: Mapping[tuple[str, str], str] = {
    ("apps", "Deployment"): "spec.replicas",
    ("apps", "StatefulSet"): "spec.replicas",
    ("apps", "ReplicaSet"): "spec.replicas",
    ("batch", "Job"): "spec.parallelism",
    ("", "ReplicationController"): "spec.replicas",
}


def group_of(api_version: str) -> str:
    return split_api_version(api_version)[0]


def replica_path(template: Mapping[str, Any], table: Mapping[tuple[str, str], str]) -> str | None:
    return table.get((group_of(str(template.get("apiVersion", ""))), str(template.get("kind", ""))))


def get_path(obj: Mapping[str, Any], path: str) -> Any:
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    return current


def set_path(obj: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    current = obj
    for part in parts[:-1]:
        nxt = current.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            current[part] = nxt
        current = nxt
    current[parts[-1]] = value


def template_replicas(template: Mapping[str, Any], table: Mapping[tuple[str, str], str]) -> int | None:
    """The template's replica count, None for kinds without replicas (absent field means 1)."""
    path = replica_path(template, table)
    if path is None:
        return None
    value = get_path(template, path)
    return 1 if value is None else int(value)


def parse_replica_path(text: str) -> tuple[tuple[str, str], str]:
    """``GROUP/KIND=PATH`` → ((group, kind), path); raises ValueError naming what is wrong."""
    key, sep, path = text.partition("=")
    group, slash, kind = key.rpartition("/")
    if not sep or not slash or not kind or not path:
        raise ValueError(f"replica path {text!r} is not GROUP/KIND=PATH (e.g. apps/Deployment=spec.replicas)")
    return (group, kind), path
