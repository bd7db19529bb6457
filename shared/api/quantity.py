"""Kubernetes resource quantities (``500m``, ``2Gi``, ``1.5``, ``1e3``): parse to exact decimals, format back.

The hub sums and compares member capacity with these; the agent formats what it measured.
Pure functions, no I/O.
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, Decimal, InvalidOperation

# The regular expression the API server's int-or-string quantity schema uses.
QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
_QUANTITY_RE = re.compile(
    r"^(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?P<suffix>[KMGTPE]i|[numkMGTPE]|[eE][+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))?$"
)

BINARY_SUFFIXES = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
DECIMAL_SUFFIXES = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}


class QuantityError(ValueError):
    """Not a Kubernetes quantity."""


def parse_quantity(value: str | int | float | Decimal) -> Decimal:
    """The exact value of a quantity: ``parse_quantity("500m") == Decimal("0.5")``, ``"1Ki"`` is 1024."""
    if isinstance(value, bool):
        raise QuantityError(f"not a quantity: {value!r}")
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    match = _QUANTITY_RE.match(value.strip())
    if match is None:
        raise QuantityError(f"not a quantity: {value!r}")
    try:
        number = Decimal(match.group("number"))
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only valid numbers
        raise QuantityError(f"not a quantity: {value!r}") from exc
    suffix = match.group("suffix") or ""
    if not suffix:
        return number
    if suffix in BINARY_SUFFIXES:
        return number * BINARY_SUFFIXES[suffix]
    if suffix in DECIMAL_SUFFIXES:
        return number * DECIMAL_SUFFIXES[suffix]
    return number * (Decimal(10) ** Decimal(suffix[1:]))


def is_quantity(value: object) -> bool:
    """True if ``value`` parses as a quantity."""
    if not isinstance(value, str | int | float | Decimal) or isinstance(value, bool):
        return False
    try:
        parse_quantity(value)
    except QuantityError:
        return False
    return True


def cpu_millis(value: str | int | float | Decimal) -> int:
    """CPU in millicores, rounded up as the kubelet does: ``"1.5"`` is 1500, ``"250m"`` is 250."""
    return int((parse_quantity(value) * 1000).to_integral_value(rounding=ROUND_CEILING))


def memory_bytes(value: str | int | float | Decimal) -> int:
    """Memory (or any byte quantity) in bytes, rounded up: ``"2Gi"`` is 2147483648."""
    return int(parse_quantity(value).to_integral_value(rounding=ROUND_CEILING))


def format_cpu(millis: int) -> str:
    """Millicores as a quantity: 2000 is ``"2"``, 1500 is ``"1500m"``."""
    if millis % 1000 == 0:
        return str(millis // 1000)
    return f"{millis}m"


def format_bytes(count: int) -> str:
    """Bytes in the largest binary suffix that divides them exactly: 2147483648 is ``"2Gi"``."""
    if count == 0:
        return "0"
    for suffix, factor in sorted(BINARY_SUFFIXES.items(), key=lambda item: -item[1]):
        if count % factor == 0:
            return f"{count // factor}{suffix}"
    return str(count)


def format_quantity(value: Decimal | int) -> str:
    """A canonical decimal form: integers plain, fractions in milli (rounded up) units."""
    number = Decimal(value)
    if number == number.to_integral_value():
        return str(int(number))
    millis = (number * 1000).to_integral_value(rounding=ROUND_CEILING)
    return f"{int(millis)}m"
