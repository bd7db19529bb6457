"""Entry point of the ``waybill`` command (also installed as the kubectl plugin ``kubectl-waybill``).

Each sub-command lives in its own ``waybill/cmd_<name>.py`` module exposing
``register(subparsers)``; the module's handler returns the process exit code
(0 ok, 1 failure, 2 bad usage or input).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Sub-command modules, in the order they appear in ``--help``.
COMMAND_MODULES = (
    "demo",
    "sim",
    "hub",
    "join",
    "agent",
    "get",
    "status",
    "plan",
    "crds",
)


class UsageError(Exception):
    """Bad usage or input: printed as ``error: ...`` and exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="waybill",
        description="Waybill: spread Kubernetes workloads over a fleet of clusters.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"waybill.cmd_{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"waybill.cmd_{name}":
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        code = handler(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
