"""Kubernetes quantities: parsing, unit conversion and formatting (table tests)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.api.quantity import (
    QuantityError,
    cpu_millis,
    format_bytes,
    format_cpu,
    format_quantity,
    is_quantity,
    memory_bytes,
    parse_quantity,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", Decimal(0)),
        ("4", Decimal(4)),
        ("500m", Decimal("0.5")),
        ("1.5", Decimal("1.5")),
        (".5", Decimal("0.5")),
        ("250u", Decimal("0.00025")),
        ("100n", Decimal("1E-7")),
        ("1k", Decimal(1000)),
        ("2M", Decimal(2_000_000)),
        ("3G", Decimal(3 * 10**9)),
        ("1Ki", Decimal(1024)),
        ("128Mi", Decimal(128 * 2**20)),
        ("2Gi", Decimal(2 * 2**30)),
        ("1Ti", Decimal(2**40)),
        ("1e3", Decimal(1000)),
        ("1.5E-3", Decimal("0.0015")),
        ("-1", Decimal(-1)),
        ("+2", Decimal(2)),
        (3, Decimal(3)),
        (0.25, Decimal("0.25")),
    ],
)
def test_parse_quantity(text: str | int | float, value: Decimal) -> None:
    assert parse_quantity(text) == value
    assert is_quantity(text)


@pytest.mark.parametrize("text", ["", "four", "1.2.3", "5 Gi", "Gi", "1gi", "1KiB", "0x10", "m"])
def test_parse_quantity_rejects_garbage(text: str) -> None:
    with pytest.raises(QuantityError, match="not a quantity"):
        parse_quantity(text)
    assert not is_quantity(text)


def test_booleans_are_not_quantities() -> None:
    assert not is_quantity(True)
    with pytest.raises(QuantityError):
        parse_quantity(True)


@pytest.mark.parametrize(
    ("text", "millis"),
    [("1", 1000), ("1.5", 1500), ("250m", 250), ("0.0001", 1), ("100u", 1), ("2k", 2_000_000)],
)
def test_cpu_millis_rounds_up(text: str, millis: int) -> None:
    assert cpu_millis(text) == millis


@pytest.mark.parametrize(
    ("text", "count"),
    [("1Ki", 1024), ("2Gi", 2**31), ("1G", 10**9), ("1500m", 2), ("128974848", 128974848)],
)
def test_memory_bytes(text: str, count: int) -> None:
    assert memory_bytes(text) == count


@pytest.mark.parametrize(("millis", "text"), [(0, "0"), (2000, "2"), (1500, "1500m"), (250, "250m")])
def test_format_cpu(millis: int, text: str) -> None:
    assert format_cpu(millis) == text
    assert cpu_millis(text) == millis


@pytest.mark.parametrize(
    ("count", "text"),
    [(0, "0"), (1024, "1Ki"), (2**31, "2Gi"), (3 * 2**20, "3Mi"), (1000, "1000"), (1536, "1536")],
)
def test_format_bytes(count: int, text: str) -> None:
    assert format_bytes(count) == text
    assert memory_bytes(text) == count


@pytest.mark.parametrize(
    ("value", "text"), [(Decimal(3), "3"), (Decimal("0.5"), "500m"), (Decimal("1.0001"), "1001m"), (7, "7")]
)
def test_format_quantity(value: Decimal | int, text: str) -> None:
    assert format_quantity(value) == text
