"""Label and field selectors, evaluated purely over the typed selector models.

``labels_match`` implements a Kubernetes ``LabelSelector`` (``matchLabels`` and
``matchExpressions`` with In, NotIn, Exists, DoesNotExist); ``fields_match`` implements
Karmada's ``FieldSelector`` over a member's provider, region and zone. Both take the
``shared.api`` models (parsed once with their policy) and treat a missing (``None``) selector
as "everything".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from shared.api.meta import LabelSelector
from shared.api.policy import FieldSelector


class SelectorError(ValueError):
    """A selector that cannot be evaluated (an In/NotIn requirement without values)."""


def _expression_matches(
    key: str, operator: str, values: Sequence[str], values_by_key: Mapping[str, str]
) -> bool:
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


def labels_match(selector: LabelSelector | None, labels: Mapping[str, str] | None) -> bool:
    """Whether ``labels`` satisfy a LabelSelector; ``None`` selects everything, an empty one too."""
    if selector is None:
        return True
    have = labels or {}
    for key, value in selector.match_labels.items():
        if have.get(key) != value:
            return False
    return all(_expression_matches(e.key, e.operator, e.values, have) for e in selector.match_expressions)


FIELD_KEYS = ("provider", "region", "zone")


def fields_match(selector: FieldSelector | None, fields: Mapping[str, str | None]) -> bool:
    """Whether a member's provider/region/zone satisfy a Karmada-style FieldSelector."""
    if selector is None:
        return True
    have = {k: v for k, v in fields.items() if v}
    return all(_expression_matches(e.key, e.operator, e.values, have) for e in selector.match_expressions)
