"""structlog configuration: JSON lines (or console) on stderr, one level for the process.

``configure(level="info", json=True)`` once at process start; ``get_logger(name)`` anywhere.
Event names are constants (``reconcile.done``) and context goes in key/values, never in
f-strings; ``structlog.contextvars`` values (a reconcile id) are merged into every line.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, cast

import structlog
from structlog.typing import FilteringBoundLogger

__all__ = ["configure", "get_logger"]

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def _stderr_logger(*_args: Any) -> structlog.PrintLogger:
    # sys.stderr looked up per logger, not once at configure time: a CLI command run in-process
    # (tests do) must not leave every later log line writing to a stream that has been closed
    return structlog.PrintLogger(file=sys.stderr)


def configure(*, level: str = "info", json: bool = True) -> None:
    """Configure structlog for the process: ``level`` name, JSON or human-readable output."""
    numeric = _LEVELS.get(level.lower())
    if numeric is None:
        raise ValueError(f"unknown log level {level!r}; use one of {sorted(_LEVELS)}")
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )


def get_logger(name: str, **context: Any) -> FilteringBoundLogger:
    """A logger with ``component=name`` (and ``context``) bound."""
    # Lazy: a module-level logger created before ``configure`` must still follow it, so the
    # context goes into the lazy proxy's initial values instead of an early ``bind`` (which
    # would freeze the default configuration). ``logger`` is reserved by structlog's
    # ``get_logger``, hence ``component``.
    return cast(FilteringBoundLogger, structlog.get_logger(component=name, **context))
