"""Helpers for the perf tests: the agent's own account of its passes (a causal fence)."""

from __future__ import annotations

from shared.ops.metrics import REGISTRY


def unchanged_passes() -> float:
    """Agent passes that found the Work's status unchanged (nothing written to the hub)."""
    return REGISTRY.get_sample_value("waybill_agent_work_status_writes_total", {"result": "unchanged"}) or 0.0
