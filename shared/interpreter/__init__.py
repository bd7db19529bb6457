"""The resource interpreter: how Waybill reads any kind (replicas, status, health, dependencies).

``Interpreter`` answers Karmada's interpreter operations from ResourceInterpreterCustomization
Lua scripts, run in a bounded sandbox (``sandbox``), or from built-in rules for Kubernetes' own
kinds (``builtin_*``). Errors are ``errors.InterpreterError``; "no rule" is None.
"""

from __future__ import annotations

from shared.interpreter.errors import InterpreterError
from shared.interpreter.interpreter import Interpreter
from shared.interpreter.rules import BUILT_IN, DependentObject, KindKey, Operation, ReplicaResult
from shared.interpreter.sandbox import Limits

__all__ = [
    "BUILT_IN",
    "DependentObject",
    "Interpreter",
    "InterpreterError",
    "KindKey",
    "Limits",
    "Operation",
    "ReplicaResult",
]
