"""``waybill crds``: print Waybill's CustomResourceDefinitions, or regenerate the ``crds/`` directory.

``waybill crds`` prints every CRD as one multi-document YAML stream (``| kubectl apply -f -``);
``waybill crds --write crds/`` writes one file per kind (``<plural>.<group>.yaml``) and removes
stale generated files there. The content comes from ``shared.api.crdgen``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from shared.api import crdgen


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "crds",
        help="print the CRDs (or regenerate crds/ with --write)",
        description="Print Waybill's CustomResourceDefinitions as multi-document YAML.",
    )
    parser.add_argument(
        "--write",
        metavar="DIR",
        type=Path,
        help="write one file per kind into DIR instead of printing (e.g. --write crds/)",
    )
    parser.set_defaults(handler=run)


def write_crds(directory: Path) -> list[Path]:
    """Write every CRD file into ``directory``; delete generated files that no longer belong there."""
    directory.mkdir(parents=True, exist_ok=True)
    files = crdgen.crd_files()
    for stale in sorted(directory.glob("*.yaml")):
        if stale.name not in files and stale.read_text(encoding="utf-8").startswith(crdgen.HEADER):
            stale.unlink()
    written = []
    for name, content in files.items():
        path = directory / name
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return written


def run(args: argparse.Namespace) -> int:
    if args.write is None:
        sys.stdout.write(crdgen.render_all())
        return 0
    for path in write_crds(args.write):
        print(path)
    return 0
