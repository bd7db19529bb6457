"""When the status controller writes a binding status that is not final yet (pure).

A template's members report a new generation one after another; every report changes the
binding's ``aggregatedStatus`` (and the template status it drives), and writing each
intermediate state costs a binding status apply and, for well-known kinds, a template status
patch per member. The status controller therefore **holds** a status in which not every placed
member has reported the template's current generation, and writes it when the first of these
comes:

* every placed member reported the generation (``complete``), or no cluster is chosen: at once;
* the status brings bad news (``worse``: a condition of the status controller leaves ``True``,
  an entry's ``applied`` / ``available`` leaves ``True`` or its health leaves ``Healthy``, a
  member error or ``Rendered=False`` appears): ``hold`` seconds after the first pass that
  computed it, so a condition going from True to False is never late by more than ``hold``;
* a member reported the current generation (``reported``) since the last write: ``hold``
  seconds after the first pass that saw it (the other members' reports usually follow within
  that time, and then the complete status goes in one write);
* otherwise (the hub wrote the Works, no member has reported yet, nothing got worse):
  ``report_wait`` seconds after the first pass that computed a change, so a member that is slow
  to report still shows up as "not applied yet".

``waybill hub --status-hold S`` sets ``hold`` to S and ``report_wait`` to 10 S (default 0.5 s and
5 s; 0 writes every change at once). docs/hub.md, "Binding writes".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hub.aggregation import PLACEHOLDER_ERRORS
from shared.api import names

HOLD_SECONDS = 0.5
REPORT_WAIT_SECONDS = 5.0
AGGREGATED_CONDITIONS = (
    names.CONDITION_APPLIED,
    names.CONDITION_AVAILABLE,
    "Rendered",
    "StatusAggregated",
    "DependenciesResolved",
)


@dataclass(frozen=True)
class Hold:
    """How long an intermediate binding status may wait (seconds; see the module docstring)."""

    hold: float = HOLD_SECONDS
    report_wait: float = REPORT_WAIT_SECONDS

    @classmethod
    def of(cls, seconds: float) -> Hold:
        """``waybill hub --status-hold S``: ``hold`` S, ``report_wait`` ten times that (0: no hold)."""
        if seconds < 0:
            raise ValueError(f"status hold must not be negative, not {seconds}")
        return cls(hold=seconds, report_wait=seconds * REPORT_WAIT_SECONDS / HOLD_SECONDS)


@dataclass
class Pending:
    """An unwritten status change of one binding: when passes first computed each kind of it
    (clock seconds), since the last write."""

    since: float
    reported: float | None = None
    worse: float | None = None

    def observe(self, *, now: float, reported: bool, worse: bool) -> None:
        if reported and self.reported is None:
            self.reported = now
        if worse and self.worse is None:
            self.worse = now

    def deadline(self, hold: Hold) -> float:
        """When the held status is written at the latest."""
        due = self.since + hold.report_wait
        for anchor in (self.reported, self.worse):
            if anchor is not None:
                due = min(due, anchor + hold.hold)
        return due


def complete(items: Sequence[Mapping[str, Any]]) -> bool:
    """Nothing to wait for: every placed member reported the current generation (or none is placed)."""
    return all(i.get("upToDate") for i in items)


def reported(items: Sequence[Mapping[str, Any]]) -> bool:
    """Some placed member reported the current generation (applied, or an error of its own)."""
    return any(i.get("upToDate") or _member_errors(i) for i in items)


def _member_errors(item: Mapping[str, Any]) -> set[str]:
    return {str(e) for e in item.get("errors") or []} - PLACEHOLDER_ERRORS


def _true_conditions(status: Mapping[str, Any]) -> set[str]:
    return {
        str(c.get("type"))
        for c in status.get("conditions") or []
        if c.get("type") in AGGREGATED_CONDITIONS and c.get("status") == "True"
    }


def _rendered_false(status: Mapping[str, Any]) -> bool:
    return any(
        c.get("type") == "Rendered" and c.get("status") == "False" for c in status.get("conditions") or []
    )


def worse(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether ``new`` (a binding status) brings bad news that ``old`` did not carry."""
    if _true_conditions(old) - _true_conditions(new):
        return True
    if _rendered_false(new) and not _rendered_false(old):
        return True
    before = {str(i.get("clusterName")): i for i in old.get("aggregatedStatus") or []}
    for item in new.get("aggregatedStatus") or []:
        was = before.get(str(item.get("clusterName")))
        if was is None:
            if _member_errors(item):
                return True
            continue
        if was.get("applied") is True and item.get("applied") is not True:
            return True
        if was.get("available") is True and item.get("available") is not True:
            return True
        if was.get("health") == "Healthy" and item.get("health") != "Healthy":
            return True
        if _member_errors(item) - _member_errors(was):
            return True
    return False
