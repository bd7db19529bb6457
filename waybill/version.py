"""The one place that knows Waybill's version: the installed distribution's metadata."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "waybill"


def client_version() -> str:
    """Waybill's version as installed (``0.0.0+unknown`` when run from a tree without metadata)."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "0.0.0+unknown"
