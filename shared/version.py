"""Waybill's version, from one place: ``version`` in pyproject.toml, read from the installed
distribution's metadata (so ``waybill version``, the ``waybill_build_info`` metric and the
charts' ``appVersion``, checked by a test, all say the same)."""

from __future__ import annotations

from importlib import metadata

__all__ = ["DISTRIBUTION", "version"]

DISTRIBUTION = "waybill"


def version() -> str:
    """The installed Waybill version (``0+unknown`` when run from a tree that is not installed)."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "0+unknown"
