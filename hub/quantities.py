"""Kubernetes resource quantities ("500m", "2", "128Mi", "1G") as floats (pure)."""

from __future__ import annotations

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}


class QuantityError(ValueError):
    """A string that is not a Kubernetes quantity."""


def parse_quantity(value: str | int | float) -> float:
    """Parse a quantity into base units (cores for CPU, bytes for memory)."""
    if isinstance(value, int | float):
        return float(value)
    text = value.strip()
    for suffix, factor in _BINARY.items():
        if text.endswith(suffix):
            return _number(text[: -len(suffix)], value) * factor
    if text and text[-1] in _DECIMAL:
        return _number(text[:-1], value) * _DECIMAL[text[-1]]
    return _number(text, value)


def _number(text: str, original: object) -> float:
    try:
        return float(text)
    except ValueError as exc:
        raise QuantityError(f"{original!r} is not a valid quantity") from exc
