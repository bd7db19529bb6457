"""The CLI's own errors: what a handler raises to end with a one-line message and an exit code."""

from __future__ import annotations


class UsageError(Exception):
    """Bad usage or input: printed as ``error: ...`` and exit code 2."""


class CommandFailed(Exception):
    """The command could not do its job: printed as ``error: ...`` and exit code 1."""
