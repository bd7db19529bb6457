"""``waybill version``: print the Waybill version (the one in pyproject.toml, as installed)."""

from __future__ import annotations

import argparse
import platform
from typing import Any

from shared.version import version


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("version", help="print the Waybill version",
                                   description="Print the Waybill version.")
    parser.add_argument("--verbose", "-v", action="store_true", help="also print the Python version")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    text = version()
    if args.verbose:
        text += f" (Python {platform.python_version()})"
    print(text)
    return 0
