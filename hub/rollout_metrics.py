"""Rollout metrics: how long rollouts take, by strategy and outcome.

``waybill_rollout_duration_seconds{strategy, outcome}`` (histogram): from the start of a
template generation's rollout (``status.rollout.started``) to the status write that makes it
``Complete`` (outcome ``complete``) or ``Halted`` (``halted``), observed once per binding and
generation by the rollout controller that writes that status (``record``). Its four series
(RollingUpdate and Staged, complete and halted) exist from the start, at zero.

The number of rollouts halted *now* is a gauge computed at scrape time from the bindings cache,
with the other fleet gauges: ``waybill_rollouts_halted{strategy}`` (``hub.fleet_metrics``,
counted by ``halted_strategy``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from shared.api.meta import parse_time
from shared.ops.metrics import histogram

STRATEGIES = ("RollingUpdate", "Staged")
OUTCOMES = {"Complete": "complete", "Halted": "halted"}
BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0, 21600.0)

DURATION = histogram(
    "rollout_duration_seconds",
    "Rollouts of a template generation, from their start to Complete or Halted, by strategy and outcome",
    labels=("strategy", "outcome"),
    buckets=BUCKETS,
)
for _strategy in STRATEGIES:
    for _outcome in OUTCOMES.values():
        DURATION.labels(_strategy, _outcome)


def finished(
    previous: Mapping[str, Any] | None, new: Mapping[str, Any], *, now: datetime
) -> tuple[str, str, float] | None:
    """(strategy, outcome, seconds since its start) when ``new`` (a binding's ``status.rollout``)
    ends the rollout of its revision and ``previous`` had not already said so; else None (pure)."""
    outcome = OUTCOMES.get(str(new.get("phase")))
    started = parse_time(new.get("started"))
    if outcome is None or started is None:
        return None
    before = previous or {}
    if before.get("revision") == new.get("revision") and before.get("phase") == new.get("phase"):
        return None
    return str(new.get("strategy")), outcome, max((now - started).total_seconds(), 0.0)


def record(previous: Mapping[str, Any] | None, new: Mapping[str, Any], *, now: datetime) -> None:
    """Observe the duration of a rollout that ``new`` ends (see ``finished``)."""
    done = finished(previous, new, now=now)
    if done is not None:
        strategy, outcome, seconds = done
        DURATION.labels(strategy, outcome).observe(seconds)


def halted_strategy(binding: Mapping[str, Any]) -> str | None:
    """The strategy of the binding's rollout when it is halted now (None: not halted)."""
    rollout = (binding.get("status") or {}).get("rollout")
    if not isinstance(rollout, Mapping) or rollout.get("phase") != "Halted":
        return None
    return str(rollout.get("strategy") or "Unknown")
