"""Keeps an ``Interpreter`` in step with the ResourceInterpreterCustomizations an informer sees.

The hub (and an agent that interprets health) wires it in three lines::

    customizations = Informer(api, names.CONFIG_API_VERSION, names.KIND_RESOURCE_INTERPRETER_CUSTOMIZATION)
    feed = CustomizationFeed(interpreter, customizations)
    customizations.start()

Every change of a customization replaces it in the interpreter, a deletion removes it. An object
that is not a valid customization (the API server's schema normally refuses it first) or whose
scripts do not compile is kept as a problem, by name, in ``problems`` and logged: the other
customizations keep being served, and calls for a broken script's operation raise its
``ScriptCompileError``.
"""

from __future__ import annotations

import pydantic

from shared.api.validation import problems_from_error
from shared.interpreter.interpreter import Interpreter
from shared.kube.informer import Informer
from shared.ops.logging import get_logger

_log = get_logger("shared.interpreter.feed")


class CustomizationFeed:
    """Feeds one interpreter from one informer (keys are customization names: cluster-scoped)."""

    def __init__(self, interpreter: Interpreter, informer: Informer) -> None:
        self.interpreter = interpreter
        self.informer = informer
        self.problems: dict[str, list[str]] = {}
        informer.add_handler(self.changed)

    def changed(self, key: str) -> None:
        obj = self.informer.get(key)
        if obj is None:
            self.interpreter.remove_customization(key)
            self.problems.pop(key, None)
            _log.info("customization.removed", customization=key)
            return
        try:
            errors = self.interpreter.set_customization(obj)
        except pydantic.ValidationError as exc:
            # Keep serving the last good version of it, if any: the new one says nothing usable.
            self.problems[key] = [f"{p.path}: {p.message}" for p in problems_from_error(exc)]
            _log.warning("customization.invalid", customization=key, problems=self.problems[key])
            return
        if errors:
            self.problems[key] = [str(error) for error in errors]
            _log.warning("customization.compile_failed", customization=key, problems=self.problems[key])
        else:
            self.problems.pop(key, None)
            _log.info("customization.loaded", customization=key)
