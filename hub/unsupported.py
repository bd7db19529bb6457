"""Karmada policy fields Waybill does not implement yet, found in a policy (pure).

Waybill's schema carries every field of Karmada's four policy kinds, so ``kubectl apply`` of a
Karmada file succeeds. A field that is in the schema but not implemented must never be accepted
and ignored: ``unsupported_fields(policy)`` names each one a policy *uses* (set to something
other than its no-op value), and the hub reports them as ``Valid=False`` with reason
``Unsupported`` (through the validation layer, ``hub.views.check_policy``); such a policy claims
nothing new (see docs/karmada.md).

``FEATURES`` is the single list of those fields; docs/karmada.md's field table is checked
against it by tests/karmada/test_docs_table.py, so the docs cannot claim more than the code does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from hub import reasons
from shared.api import load
from shared.api.policy import OverridePolicy, OverrideSpec, PropagationPolicy, PropagationSpec
from shared.api.validation import FieldProblem

REASON_UNSUPPORTED = reasons.UNSUPPORTED


@dataclass(frozen=True)
class Feature:
    """One Karmada field Waybill does not implement: its documented path and how to find its uses."""

    path: str
    """The field as docs/karmada.md names it, e.g. ``spec.failover.application``."""
    why: str
    """What Waybill would have to do, shown in the condition message."""
    uses: Callable[[PropagationSpec], Iterator[str]]
    """The concrete paths (with list indices) where a spec uses the field."""


FEATURES: tuple[Feature, ...] = ()
"""Karmada policy fields not implemented: none (the last, statePreservation, is in hub.state_preservation)."""


@dataclass(frozen=True)
class OverrideFeature:
    """One OverridePolicy field Waybill does not implement."""

    path: str
    why: str
    uses: Callable[[OverrideSpec], Iterator[str]]


OVERRIDE_FEATURES: tuple[OverrideFeature, ...] = ()
"""OverridePolicy fields not implemented: none (fieldOverrider is, in hub.field_overrider)."""


def documented_paths() -> list[str]:
    """Every unsupported field as docs/karmada.md's table names it."""
    paths = []
    for feature in FEATURES:
        paths.append(feature.path)
    return paths + [feature.path for feature in OVERRIDE_FEATURES]


def unsupported_in_spec(spec: PropagationSpec) -> list[FieldProblem]:
    """Every unsupported field a PropagationSpec uses, with its concrete path."""
    problems: list[FieldProblem] = []
    for feature in FEATURES:
        for path in feature.uses(spec):
            problems.append(FieldProblem(path, f"not supported by Waybill: {feature.why}"))
    return problems


def unsupported_fields(policy: PropagationPolicy | OverridePolicy | Mapping[str, Any]) -> list[FieldProblem]:
    """Every unsupported field a policy uses; [] for a policy that does not parse (validation reports it)."""
    if isinstance(policy, Mapping):
        try:
            parsed = load(policy)
        except (ValidationError, ValueError):
            return []
        if not isinstance(parsed, PropagationPolicy | OverridePolicy):
            return []
        policy = parsed
    if isinstance(policy, PropagationPolicy):
        return unsupported_in_spec(policy.spec)
    problems: list[FieldProblem] = []
    for feature in OVERRIDE_FEATURES:
        problems += [
            FieldProblem(where, f"not supported by Waybill: {feature.why}")
            for where in feature.uses(policy.spec)
        ]
    return problems


def condition_message(problems: list[FieldProblem]) -> str:
    """One line naming every unsupported field, for the ``Valid=False`` condition."""
    return "; ".join(str(problem) for problem in problems)
