"""``waybill status`` and ``waybill describe`` show the clusters left out grouped by reason
(``rejectedByReason``: count, first names, one message) next to the listed ones (``rejected``,
bounded by the hub), and still show a binding written before the grouping (``rejected`` only)."""

from __future__ import annotations

import re
from typing import Any

from hub import scheduling
from hub.controller_scheduling import rejections_status
from waybill import cmd_status, describing


def binding(decision: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "work.waybill.dev/v1alpha1",
        "kind": "ResourceBinding",
        "metadata": {"name": "cfg-configmap", "namespace": "default"},
        "spec": {
            "resource": {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "default", "name": "cfg"},
            "policy": {"kind": "PropagationPolicy", "namespace": "default", "name": "cfg"},
            "clusters": [{"name": "eu00"}],
        },
        "status": {"schedulingDecision": decision},
    }


def grouped() -> dict[str, Any]:
    rejections = [
        scheduling.Rejection(f"us{i:02d}", "LabelSelectorMismatch", "labels do not match") for i in range(40)
    ]
    rejections += [scheduling.Rejection(f"eu{i:02d}", "Excluded", "listed in exclude") for i in range(1, 6)]
    return {
        "result": "Scheduled",
        "summary": "eu00",
        "targets": [{"cluster": "eu00", "reason": "Scheduled"}],
        **rejections_status(rejections),
    }


def test_status_shows_the_count_per_reason_with_the_first_names() -> None:
    out = cmd_status.render(binding(grouped()))
    assert "Left out by reason: 45 clusters (10 listed above)" in out, out
    assert re.search(
        r"LabelSelectorMismatch\s+40\s+us00, us01, us02, us03, us04, \+35 more\s+labels do not match", out
    ), out
    assert re.search(r"Excluded\s+5\s+eu01, eu02, eu03, eu04, eu05\s+listed in exclude", out), out
    assert "  eu01: Excluded (listed in exclude)" in out and "  us04: LabelSelectorMismatch" in out, out
    assert "us39" not in out  # bounded: not every cluster is printed


def test_describe_lists_the_first_ten_and_the_groups() -> None:
    out = describing.binding_text(binding(grouped()), status_text="(status)", works=[], events=[])
    assert re.search(r"eu00\s+chosen\s+Scheduled", out), out
    left_out = re.findall(r"(\S+)\s+left out\s+(\S+)", out)
    assert left_out == [(f"eu{i:02d}", "Excluded") for i in range(1, 6)] + [
        (f"us{i:02d}", "LabelSelectorMismatch") for i in range(5)
    ], out
    assert "Left out by reason: 45 clusters (10 listed above)" in out, out
    assert re.search(r"LabelSelectorMismatch\s+40\s+us00, .*\+35 more", out), out


def test_a_decision_listing_every_cluster_shows_no_groups() -> None:
    listed = {"cluster": "us1", "reason": "TaintNotTolerated", "message": "gpu:NoSchedule"}
    small = {"result": "Scheduled", "targets": [], **rejections_status([scheduling.Rejection(**listed)])}
    old = {"result": "Scheduled", "targets": [], "rejected": [listed]}  # written before the grouping
    for decision in (small, old):
        out = cmd_status.render(binding(decision))
        assert out.endswith("Left out:\n  us1: TaintNotTolerated (gpu:NoSchedule)"), out
        assert describing.rejected_lines(decision) == []
