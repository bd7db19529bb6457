"""Entry point of the ``waybill`` command (also installed as the kubectl plugin ``kubectl-waybill``).

Each sub-command lives in its own ``waybill/cmd_<name>.py`` module exposing
``register(subparsers)``; the module's handler returns the process exit code
(0 ok, 1 failure, 2 bad usage or input).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence

from shared.kube import slim
from shared.kube.errors import ConfigError
from shared.ops.logging import configure
from waybill.errors import CommandFailed, UsageError

# Sub-command modules, in the order they appear in ``--help``.
COMMAND_MODULES = (
    "demo",
    "sim",
    "hub",
    "join",
    "agent",
    "get",
    "describe",
    "status",
    "plan",
    "promote",
    "rollout",
    "members",
    "version",
    "completion",
    "crds",
)


# Sub-commands registered by a module of another name.
COMMAND_ALIASES = {"unjoin": "join", "cordon": "members", "uncordon": "members", "taint": "members"}

__all__ = ["COMMAND_MODULES", "CommandFailed", "UsageError", "build_parser", "main"]


def build_parser(*, only: str | None = None) -> argparse.ArgumentParser:
    """The parser with every sub-command, or with only the module of command ``only`` (a running
    agent then does not import the hub, kubesim and the rest: less memory on every member)."""
    parser = argparse.ArgumentParser(
        prog="waybill",
        description="Waybill: spread Kubernetes workloads over a fleet of clusters.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        if only is not None and name != only:
            continue
        try:
            module = importlib.import_module(f"waybill.cmd_{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"waybill.cmd_{name}":
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None and not os.environ.get("WAYBILL_FULL_K8S_CLIENT"):
        # A real process (not a test calling main with arguments): load kubernetes-asyncio
        # without its generated models, which the CLI, hub and agent never use (~33 MB RSS).
        slim.install()
    words = list(sys.argv[1:] if argv is None else argv)
    command = next((word for word in words if not word.startswith("-")), None)
    module = COMMAND_ALIASES.get(command or "", command)
    parser = build_parser(only=module if module in COMMAND_MODULES else None)
    args = parser.parse_args(words)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    if argv is None:
        # A real process: client commands log nothing below warnings (the API client's retry
        # lines are debug); ``hub`` and ``agent`` configure their own logging when they start.
        # (Not for in-process callers: logging is process-wide and theirs to set.)
        configure(level="warning", json=False)
    try:
        code = handler(args)
        sys.stdout.flush()
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except CommandFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (``waybill get works | head``): stop quietly. Point stdout at
        # /dev/null so the interpreter's final flush does not raise again.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        return 130
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
