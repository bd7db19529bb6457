"""The interpreter's typed errors: every failure of a script names the customization and operation.

A caller never sees a ``lupa`` exception or a Python traceback from a script: compiling, running,
exceeding the instruction, time or memory budget, and returning a value of the wrong shape each
raise a subclass of :class:`InterpreterError`, whose ``reason`` is a condition reason
(``ScriptError``, ``ScriptTimeout``...) and whose message reads well in a status condition.
"""

from __future__ import annotations


class InterpreterError(Exception):
    """A customization's script could not give a result for an operation."""

    reason = "InterpreterError"

    def __init__(self, *, customization: str, operation: str, message: str) -> None:
        self.customization = customization
        self.operation = operation
        self.message = message
        super().__init__(f"ResourceInterpreterCustomization {customization!r}, {operation}: {message}")


class ScriptCompileError(InterpreterError):
    """The Lua script does not compile."""

    reason = "ScriptCompileError"


class ScriptMissingFunction(InterpreterError):
    """The script does not define the function its operation calls (``GetReplicas``...)."""

    reason = "ScriptMissingFunction"


class ScriptError(InterpreterError):
    """The script raised an error (``error(...)``, indexing nil, a forbidden library...)."""

    reason = "ScriptError"


class ScriptTimeout(InterpreterError):
    """The script ran past its instruction or time budget."""

    reason = "ScriptTimeout"


class ScriptMemoryExceeded(InterpreterError):
    """The script allocated more than its memory budget."""

    reason = "ScriptMemoryExceeded"


class InvalidScriptResult(InterpreterError):
    """The script returned a value of the wrong type or shape for its operation."""

    reason = "InvalidScriptResult"


class InvalidInput(InterpreterError):
    """The object handed to the script has no Lua form (nested too deeply, a non-finite number)."""

    reason = "InvalidInput"
