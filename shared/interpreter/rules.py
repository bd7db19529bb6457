"""Typed pieces shared by the built-in rules and the interpreter: operations, results, kind keys.

``Operation`` names each operation as Karmada does (``InterpretReplica``...) and knows the
customization field and Lua function behind it. Results are frozen records; "no rule" is None
everywhere, never an exception, so a caller can tell "this kind has no replicas" from "the script
failed" (an ``InterpreterError``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

Obj = dict[str, Any]


class Operation(StrEnum):
    """An interpreter operation, by Karmada's name."""

    INTERPRET_REPLICA = "InterpretReplica"
    REVISE_REPLICA = "ReviseReplica"
    RETAIN = "Retain"
    INTERPRET_STATUS = "InterpretStatus"
    AGGREGATE_STATUS = "AggregateStatus"
    INTERPRET_HEALTH = "InterpretHealth"
    INTERPRET_DEPENDENCY = "InterpretDependency"

    @property
    def field(self) -> str:
        """The ``spec.customizations`` field holding its script (Python attribute name)."""
        return _FIELDS[self][0]

    @property
    def function(self) -> str:
        """The Lua function the script defines."""
        return _FIELDS[self][1]


_FIELDS = {
    Operation.INTERPRET_REPLICA: ("replica_resource", "GetReplicas"),
    Operation.REVISE_REPLICA: ("replica_revision", "ReviseReplica"),
    Operation.RETAIN: ("retention", "Retain"),
    Operation.INTERPRET_STATUS: ("status_reflection", "ReflectStatus"),
    Operation.AGGREGATE_STATUS: ("status_aggregation", "AggregateStatus"),
    Operation.INTERPRET_HEALTH: ("health_interpretation", "InterpretHealth"),
    Operation.INTERPRET_DEPENDENCY: ("dependency_interpretation", "GetDependencies"),
}

BUILT_IN = "built-in"


@dataclass(frozen=True)
class KindKey:
    """A kind by group (not version: a rule holds for every version of a kind) and name."""

    group: str
    kind: str

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> KindKey:
        return cls.parse(str(obj.get("apiVersion") or ""), str(obj.get("kind") or ""))

    @classmethod
    def parse(cls, api_version: str, kind: str) -> KindKey:
        group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
        return cls(group=group, kind=kind)

    def __str__(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind


@dataclass(frozen=True)
class ReplicaResult:
    """What ``GetReplicas`` says: the declared replicas and what each replica needs (may be None)."""

    replicas: int
    requirements: Obj | None
    source: str


@dataclass(frozen=True)
class DependentObject:
    """A dependency to propagate with the object (by name, or by label selector)."""

    api_version: str
    kind: str
    namespace: str | None
    name: str | None
    label_selector: Obj | None = None


def section(obj: Mapping[str, Any], *path: str) -> Mapping[str, Any]:
    """The mapping at ``path`` or an empty one: built-in rules read objects that may lack anything."""
    node: Any = obj
    for part in path:
        node = node.get(part) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else {}


def integer(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def deep_copy(obj: Mapping[str, Any]) -> Obj:
    return copy.deepcopy(dict(obj))
