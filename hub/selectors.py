"""Label and field selectors, evaluated purely over plain dicts.

``labels_match`` implements a Kubernetes ``LabelSelector`` (``matchLabels`` and
``matchExpressions`` with In, NotIn, Exists, DoesNotExist); ``fields_match`` implements
Karmada's ``FieldSelector`` over a member's provider, region and zone. Both treat a missing
(``None``) selector as "everything".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class SelectorError(ValueError):
    """A selector that cannot be evaluated (unknown operator, missing values)."""


def _expression_matches(expression: Mapping[str, Any], values_by_key: Mapping[str, str]) -> bool:
    key = str(expression.get("key", ""))
    operator = str(expression.get("operator", ""))
    values = [str(v) for v in (expression.get("values") or [])]
    present = key in values_by_key
    if operator == "In":
        if not values:
            raise SelectorError(f"operator In on key {key!r} needs values")
        return present and values_by_key[key] in values
    if operator == "NotIn":
        if not values:
            raise SelectorError(f"operator NotIn on key {key!r} needs values")
        return not present or values_by_key[key] not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    raise SelectorError(f"unknown selector operator {operator!r} on key {key!r}")


def labels_match(selector: Mapping[str, Any] | None, labels: Mapping[str, str] | None) -> bool:
    """Whether ``labels`` satisfy a LabelSelector; ``None`` selects everything, ``{}`` too."""
    if selector is None:
        return True
    have = dict(labels or {})
    for key, value in (selector.get("matchLabels") or {}).items():
        if have.get(key) != str(value):
            return False
    return all(_expression_matches(expr, have) for expr in selector.get("matchExpressions") or [])


FIELD_KEYS = ("provider", "region", "zone")


def fields_match(selector: Mapping[str, Any] | None, fields: Mapping[str, str | None]) -> bool:
    """Whether a member's provider/region/zone satisfy a Karmada-style FieldSelector."""
    if selector is None:
        return True
    have = {k: v for k, v in fields.items() if v}
    for expression in selector.get("matchExpressions") or []:
        key = str(expression.get("key", ""))
        if key not in FIELD_KEYS:
            raise SelectorError(f"fieldSelector key {key!r} is not one of {', '.join(FIELD_KEYS)}")
        if not _expression_matches(expression, have):
            return False
    return True
