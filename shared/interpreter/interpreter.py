"""The resource interpreter: one call per operation, a customization's Lua or the built-in rule.

``Interpreter`` holds the ResourceInterpreterCustomizations (``set_customization`` /
``remove_customization``, fed by an informer on the hub or the agent) and answers:

==========================  ===================  ============================================
method                      operation            result (None: no rule for this kind)
==========================  ===================  ============================================
``replicas(obj)``           InterpretReplica     ``ReplicaResult(replicas, requirements)``
``revise_replicas(obj, n)`` ReviseReplica        the object with ``n`` replicas
``retain(desired, obs)``    Retain               the object to apply
``reflect_status(obs)``     InterpretStatus      the status a member reports
``aggregate_status(d, it)`` AggregateStatus      the template with its status aggregated
``health(obs)``             InterpretHealth      ``True`` / ``False``
``dependencies(desired)``   InterpretDependency  ``[DependentObject]``
==========================  ===================  ============================================

Precedence per (kind, operation), as in Karmada: a customization defining the operation's script
wins over the built-in rule; one whose target names the object's exact apiVersion before one
naming another version of the same group and kind, and among equals the first by name. Then the
process's ``defaults`` (e.g. ``shorthands.replica_path_customization``), then the built-in rule
(see ``builtin_*``); otherwise None. A customization's script that fails to compile, raises, runs
out of its budget or returns the wrong shape raises an ``InterpreterError`` naming the
customization and operation: it never silently falls back to the built-in rule. Inputs are never
mutated. Thread-safe; pure apart from the Lua runtime it owns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.api.interpreter import ResourceInterpreterCustomization
from shared.interpreter import (
    builtin_health,
    builtin_retain,
    builtin_status,
    builtin_workloads,
    errors,
    kube_library,
)
from shared.interpreter.rules import (
    BUILT_IN,
    DependentObject,
    KindKey,
    Obj,
    Operation,
    ReplicaResult,
)
from shared.interpreter.sandbox import CompiledScript, Limits, LuaSandbox


@dataclass(frozen=True)
class _Rule:
    customization: str
    operation: Operation
    script: CompiledScript | None
    problem: errors.InterpreterError | None


class Interpreter:
    """Answers the interpreter operations for any kind; see the module docstring."""

    def __init__(
        self,
        customizations: Iterable[ResourceInterpreterCustomization | Mapping[str, Any]] = (),
        *,
        limits: Limits | None = None,
        defaults: Iterable[ResourceInterpreterCustomization | Mapping[str, Any]] = (),
    ) -> None:
        """``defaults``: customizations the process brings (``shorthands``, such as the hub's
        ``--replica-path``), below every user customization and above the built-in rules, like
        Karmada's third-party layer. They must compile (``ValueError`` otherwise)."""
        self.sandbox = LuaSandbox(limits=limits, libraries={"kube": kube_library.FUNCTIONS})
        self._customizations: dict[str, ResourceInterpreterCustomization] = {}
        self._compiled: dict[tuple[str, Operation], _Rule] = {}
        self._exact: dict[tuple[str, str, Operation], _Rule] = {}
        self._by_kind: dict[tuple[KindKey, Operation], _Rule] = {}
        self._defaults: dict[tuple[KindKey, Operation], _Rule] = {}
        for default in sorted((_model(d) for d in defaults), key=lambda c: c.metadata.name or ""):
            self._add_default(default)
        for customization in customizations:
            self.set_customization(customization)

    def _add_default(self, customization: ResourceInterpreterCustomization) -> None:
        name = customization.metadata.name or ""
        target = customization.spec.target
        key = KindKey.parse(target.api_version, target.kind)
        for operation in Operation:
            script = getattr(customization.spec.customizations, operation.field)
            if script is None or (key, operation) in self._defaults:
                continue
            rule = self._compile(name, operation, script.lua_script)
            if rule.problem is not None:
                raise ValueError(str(rule.problem))
            self._defaults[(key, operation)] = rule

    # --- customizations ----------------------------------------------------------------------
    def set_customization(
        self, customization: ResourceInterpreterCustomization | Mapping[str, Any]
    ) -> list[errors.InterpreterError]:
        """Add or replace a customization (by name); the compile errors of its scripts, if any.

        A script that does not compile is kept as that error: calls for its operation raise it.
        """
        customization = _model(customization)
        name = customization.metadata.name or ""
        self._customizations[name] = customization
        self._rebuild()
        return [
            rule.problem
            for (owner, _), rule in self._compiled.items()
            if owner == name and rule.problem is not None
        ]

    def remove_customization(self, name: str) -> None:
        if self._customizations.pop(name, None) is not None:
            self._rebuild()

    def customization(self, name: str) -> ResourceInterpreterCustomization | None:
        """The user customization of that name (None: none, or a defaults-layer one)."""
        return self._customizations.get(name)

    def customization_names(self) -> list[str]:
        return sorted(self._customizations)

    def _rebuild(self) -> None:
        compiled: dict[tuple[str, Operation], _Rule] = {}
        exact: dict[tuple[str, str, Operation], _Rule] = {}
        by_kind: dict[tuple[KindKey, Operation], _Rule] = {}
        for name in sorted(self._customizations):
            customization = self._customizations[name]
            target = customization.spec.target
            key = KindKey.parse(target.api_version, target.kind)
            for operation in Operation:
                script = getattr(customization.spec.customizations, operation.field)
                if script is None:
                    continue
                previous = self._compiled.get((name, operation))
                if previous is not None and self._same(previous, script):
                    rule = previous
                else:
                    rule = self._compile(name, operation, script.lua_script)
                compiled[(name, operation)] = rule
                exact.setdefault((target.api_version, target.kind, operation), rule)
                by_kind.setdefault((key, operation), rule)
        self._compiled, self._exact, self._by_kind = compiled, exact, by_kind

    def _rule(self, obj: Mapping[str, Any], operation: Operation) -> _Rule | None:
        """The target's exact apiVersion first, then any version of its group (first by name)."""
        exact = self._exact.get((str(obj.get("apiVersion") or ""), str(obj.get("kind") or ""), operation))
        key = (KindKey.of(obj), operation)
        return exact or self._by_kind.get(key) or self._defaults.get(key)

    def _same(self, rule: _Rule, script: Any) -> bool:
        return rule.script is not None and rule.script.source == script.lua_script

    def _compile(self, name: str, operation: Operation, source: str) -> _Rule:
        try:
            compiled = self.sandbox.compile(source, customization=name, operation=operation.value)
        except errors.InterpreterError as problem:
            return _Rule(name, operation, None, problem)
        return _Rule(name, operation, compiled, None)

    def rule_for(self, obj: Mapping[str, Any], operation: Operation) -> str | None:
        """Which customization answers ``operation`` for this object (None: built-in or no rule)."""
        rule = self._rule(obj, operation)
        return None if rule is None else rule.customization

    def _call(
        self, obj: Mapping[str, Any], operation: Operation, args: Sequence[Any]
    ) -> tuple[str, list[Any]] | None:
        rule = self._rule(obj, operation)
        if rule is None:
            return None
        if rule.problem is not None:
            raise rule.problem
        assert rule.script is not None
        values = self.sandbox.call(
            rule.script,
            function=operation.function,
            args=args,
            customization=rule.customization,
            operation=operation.value,
        )
        return rule.customization, values

    def _invalid(self, name: str, operation: Operation, message: str) -> errors.InvalidScriptResult:
        return errors.InvalidScriptResult(customization=name, operation=operation.value, message=message)

    def _object(self, name: str, operation: Operation, values: list[Any], what: str) -> Obj:
        value = values[0] if values else None
        if not isinstance(value, dict):
            message = f"{operation.function} must return {what}, got {_kind(value)}"
            raise self._invalid(name, operation, message)
        return value

    # --- operations ------------------------------------------------------------------------------
    def replicas(self, obj: Mapping[str, Any]) -> ReplicaResult | None:
        """InterpretReplica: declared replicas and per-replica requirements."""
        op = Operation.INTERPRET_REPLICA
        called = self._call(obj, op, [obj])
        if called is None:
            return builtin_workloads.replicas(obj)
        name, values = called
        count = values[0] if values else None
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            message = f"GetReplicas must return a non-negative integer first, got {count!r}"
            raise self._invalid(name, op, message)
        requirements = values[1] if len(values) > 1 else None
        if requirements is not None and not isinstance(requirements, dict):
            message = f"the requirement must be a table or nil, got {_kind(requirements)}"
            raise self._invalid(name, op, message)
        return ReplicaResult(count, requirements or None, f"customization {name}")

    def revise_replicas(self, obj: Mapping[str, Any], replicas: int) -> Obj | None:
        """ReviseReplica: the object carrying ``replicas`` replicas."""
        op = Operation.REVISE_REPLICA
        called = self._call(obj, op, [obj, replicas])
        if called is None:
            return builtin_workloads.revise_replicas(obj, replicas)
        return self._object(called[0], op, called[1], "the revised object (a table)")

    def retain(self, desired: Mapping[str, Any], observed: Mapping[str, Any]) -> Obj | None:
        """Retain: the desired object with the values kept that the member's controllers own."""
        op = Operation.RETAIN
        called = self._call(desired, op, [desired, observed])
        if called is None:
            return builtin_retain.retain(desired, observed)
        return self._object(called[0], op, called[1], "the retained object (a table)")

    def reflect_status(self, observed: Mapping[str, Any]) -> Obj | None:
        """InterpretStatus: the status a member reports (None: the object has no status)."""
        op = Operation.INTERPRET_STATUS
        called = self._call(observed, op, [observed])
        if called is None:
            return builtin_status.reflect_status(observed)
        return self._object(called[0], op, called[1], "a status table")

    def aggregate_status(
        self, desired: Mapping[str, Any], items: Sequence[Mapping[str, Any]] | None
    ) -> Obj | None:
        """AggregateStatus: the template with its status from the members' ``{clusterName, status}``.

        ``items`` None reaches a script as nil (Karmada passes nil when nothing was collected).
        """
        op = Operation.AGGREGATE_STATUS
        called = self._call(desired, op, [desired, None if items is None else list(items)])
        if called is None:
            return builtin_status.aggregate_status(desired, items or [])
        return self._object(called[0], op, called[1], "the object with its status (a table)")

    def health(self, observed: Mapping[str, Any]) -> bool | None:
        """InterpretHealth: is the object healthy on its member."""
        op = Operation.INTERPRET_HEALTH
        called = self._call(observed, op, [observed])
        if called is None:
            return builtin_health.health(observed)
        name, values = called
        value = values[0] if values else None
        if not isinstance(value, bool):
            raise self._invalid(name, op, f"InterpretHealth must return a boolean, got {_kind(value)}")
        return value

    def dependencies(self, desired: Mapping[str, Any]) -> list[DependentObject] | None:
        """InterpretDependency: what must be propagated with the object."""
        op = Operation.INTERPRET_DEPENDENCY
        called = self._call(desired, op, [desired])
        if called is None:
            return builtin_workloads.dependencies(desired)
        name, values = called
        value = values[0] if values else None
        if value == {}:
            value = []  # an empty Lua table: no dependencies
        if not isinstance(value, list):
            raise self._invalid(name, op, f"GetDependencies must return a list, got {_kind(value)}")
        return [self._dependency(name, index, ref) for index, ref in enumerate(value)]

    def _dependency(self, name: str, index: int, ref: Any) -> DependentObject:
        op = Operation.INTERPRET_DEPENDENCY
        if not isinstance(ref, dict):
            raise self._invalid(name, op, f"dependency [{index}] is {_kind(ref)}, not a table")
        for field in ("apiVersion", "kind"):
            if not isinstance(ref.get(field), str) or not ref[field]:
                raise self._invalid(name, op, f"dependency [{index}] has no {field}")
        selector = ref.get("labelSelector")
        if not isinstance(ref.get("name"), str) and not isinstance(selector, dict):
            raise self._invalid(name, op, f"dependency [{index}] has neither name nor labelSelector")
        namespace = ref.get("namespace")
        return DependentObject(
            api_version=ref["apiVersion"],
            kind=ref["kind"],
            namespace=namespace if isinstance(namespace, str) and namespace else None,
            name=ref.get("name") if isinstance(ref.get("name"), str) else None,
            label_selector=selector if isinstance(selector, dict) else None,
        )


def _model(
    customization: ResourceInterpreterCustomization | Mapping[str, Any],
) -> ResourceInterpreterCustomization:
    if isinstance(customization, ResourceInterpreterCustomization):
        return customization
    return ResourceInterpreterCustomization.from_dict(customization)


def _kind(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "a table"


__all__ = ["BUILT_IN", "Interpreter"]
