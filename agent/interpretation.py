"""The agent's calls into the resource interpreter: health, status reflection, retention (pure).

An agent's credentials reach only its member namespace on the hub, so it cannot read the hub's
ResourceInterpreterCustomizations: the hub copies what the agent needs of them into each Work
(``spec.interpreterCustomizations``: the target kind and its ``healthInterpretation``,
``statusReflection`` and ``retention`` scripts). ``AgentInterpreters.for_work(spec)`` gives a
``WorkInterpretation`` for one Work's list (one ``Interpreter`` per distinct list, a few kept), and
for every applied manifest of a listed kind:

* ``availability(obj)``: the script's ``InterpretHealth`` becomes the manifest's ``Available``
  condition (reason ``Healthy`` / ``Unhealthy``); kinds without a health script keep the agent's
  built-in rules (``agent.availability``);
* ``reflect(obj)``: ``ReflectStatus`` (or, without a script, the built-in rule: Kubernetes' kinds'
  counters, any other kind's whole status) becomes ``manifestConditions[].reflectedStatus``, what
  the hub aggregates, with a ``StatusReflected`` condition;
* ``retain(desired, observed)``: ``Retain`` runs before each write over a live object.

A script that fails never stops the agent: health gives ``Available=False``, reflection
``StatusReflected=False`` (the last reflected status is kept), retention ``Applied=False`` (the
object is not written), each with reason ``InterpretationFailed`` and a message naming the
customization and the operation.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pydantic

from agent.availability import STATUS_FALSE, STATUS_TRUE, Availability, evaluate
from shared.api import names
from shared.interpreter import Interpreter, InterpreterError, KindKey, Operation

COND_STATUS_REFLECTED = "StatusReflected"
REASON_INTERPRETATION_FAILED = "InterpretationFailed"
REASON_HEALTHY = "Healthy"
REASON_UNHEALTHY = "Unhealthy"
REASON_REFLECTED = "Reflected"
CACHED_INTERPRETERS = 8  # distinct customization lists kept compiled (one Lua runtime each)


def describe(error: InterpreterError) -> str:
    return f"{error} ({error.reason})"


@dataclass(frozen=True)
class Reflection:
    """``status``: the reflected status (None: keep the last one); ``condition``: StatusReflected."""

    status: dict[str, Any] | None
    condition: dict[str, Any]


@dataclass
class WorkInterpretation:
    """The customizations one Work carries, compiled."""

    interpreter: Interpreter
    kinds: frozenset[KindKey]
    problems: list[str] = field(default_factory=list)  # entries that are not valid customizations
    reported: bool = False  # the problems were logged (once per compiled list)

    def interpreted(self, obj: Mapping[str, Any]) -> bool:
        """Whether the Work lists a customization for this object's kind."""
        return KindKey.of(obj) in self.kinds

    def availability(self, obj: Mapping[str, Any]) -> Availability:
        """The manifest's Available condition: its health script, else the built-in rules."""
        name = self.interpreter.rule_for(obj, Operation.INTERPRET_HEALTH)
        if name is None or (obj.get("metadata") or {}).get("deletionTimestamp"):
            return evaluate(obj)
        try:
            healthy = self.interpreter.health(obj)
        except InterpreterError as exc:
            return Availability(STATUS_FALSE, REASON_INTERPRETATION_FAILED, describe(exc))
        source = f"InterpretHealth of ResourceInterpreterCustomization {name!r}"
        if healthy:
            return Availability(STATUS_TRUE, REASON_HEALTHY, f"{source}: healthy")
        return Availability(STATUS_FALSE, REASON_UNHEALTHY, f"{source}: not healthy")

    def reflect(self, obj: Mapping[str, Any]) -> Reflection | None:
        """The status the member reports for an interpreted kind (None: the kind is not listed)."""
        if not self.interpreted(obj):
            return None
        name = self.interpreter.rule_for(obj, Operation.INTERPRET_STATUS)
        try:
            status = self.interpreter.reflect_status(obj)
        except InterpreterError as exc:
            return Reflection(None, _condition(False, REASON_INTERPRETATION_FAILED, describe(exc)))
        source = (
            f"ReflectStatus of ResourceInterpreterCustomization {name!r}"
            if name is not None
            else "the built-in rule"
        )
        return Reflection(dict(status or {}), _condition(True, REASON_REFLECTED, f"reflected by {source}"))

    def retain(self, desired: dict[str, Any], observed: Mapping[str, Any] | None) -> dict[str, Any]:
        """``desired`` with the values the kind's Retain script keeps from the member's object.

        Only a customization's script runs (the agent applies server-side, owning only its own
        fields, so the built-in retention rules are not needed). Raises ``InterpreterError``.
        """
        if observed is None or self.interpreter.rule_for(desired, Operation.RETAIN) is None:
            return desired
        retained = self.interpreter.retain(desired, observed)
        return desired if retained is None else retained


def _condition(ok: bool, reason: str, message: str) -> dict[str, Any]:
    return {
        "type": COND_STATUS_REFLECTED,
        "status": "True" if ok else "False",
        "reason": reason,
        "message": message[:512],
    }


def _customization(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A Work's ``interpreterCustomizations[]`` entry as a ResourceInterpreterCustomization."""
    return {
        "apiVersion": names.CONFIG_API_VERSION,
        "kind": names.KIND_RESOURCE_INTERPRETER_CUSTOMIZATION,
        "metadata": {"name": str(entry.get("name") or "")},
        "spec": {"target": entry.get("target") or {}, "customizations": entry.get("customizations") or {}},
    }


class AgentInterpreters:
    """One compiled ``WorkInterpretation`` per distinct customization list (least recently used
    dropped beyond ``capacity``). Not thread-safe; the agent calls it from its event loop."""

    def __init__(self, capacity: int = CACHED_INTERPRETERS) -> None:
        self.capacity = capacity
        self._cache: OrderedDict[str, WorkInterpretation] = OrderedDict()

    def for_work(self, spec: Mapping[str, Any]) -> WorkInterpretation | None:
        """The Work's interpretation (None: it carries no customizations)."""
        entries = [e for e in spec.get("interpreterCustomizations") or [] if isinstance(e, Mapping)]
        if not entries:
            return None
        key = hashlib.sha256(json.dumps(entries, sort_keys=True).encode()).hexdigest()
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        made = self._build(entries)
        self._cache[key] = made
        while len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
        return made

    @staticmethod
    def _build(entries: Sequence[Mapping[str, Any]]) -> WorkInterpretation:
        interpreter = Interpreter()
        kinds: set[KindKey] = set()
        problems: list[str] = []
        for entry in entries:
            try:
                interpreter.set_customization(_customization(entry))
            except pydantic.ValidationError as exc:
                problems.append(f"interpreterCustomizations {entry.get('name')!r}: {exc.errors()[0]['msg']}")
                continue
            target = entry.get("target") or {}
            kinds.add(KindKey.parse(str(target.get("apiVersion") or ""), str(target.get("kind") or "")))
        return WorkInterpretation(interpreter, frozenset(kinds), problems)


__all__ = [
    "COND_STATUS_REFLECTED",
    "REASON_INTERPRETATION_FAILED",
    "AgentInterpreters",
    "Reflection",
    "WorkInterpretation",
]
