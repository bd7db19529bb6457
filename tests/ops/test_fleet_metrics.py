"""The fleet metrics' pure part: values from cached objects, and only for registered members."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.fleet_metrics import FleetFacts, fleet_samples


def _ns(name: str, member: str | None) -> dict[str, object]:
    labels = {"waybill.dev/member": member} if member else {}
    return {"metadata": {"name": name, "labels": labels}}


def _cond(kind: str, status: str) -> dict[str, str]:
    return {"type": kind, "status": status}


def test_fleet_samples() -> None:
    renewed = "2026-01-02T03:04:05.000000Z"
    facts = FleetFacts(
        namespaces=[_ns("member-eu1", "eu1"), _ns("member-us1", "us1"), _ns("shop", None)],
        members=[
            {
                "metadata": {"name": "eu1", "namespace": "member-eu1"},
                "status": {"conditions": [_cond("Ready", "True")]},
            },
            {
                "metadata": {"name": "us1", "namespace": "member-us1"},
                "status": {"conditions": [_cond("Ready", "Unknown")]},
            },
            {"metadata": {"name": "stray", "namespace": "shop"}, "status": {}},
        ],
        leases=[
            {"metadata": {"namespace": "member-eu1"}, "spec": {"renewTime": renewed}},
            {"metadata": {"namespace": "member-us1"}, "spec": {}},
        ],
        works=[
            {
                "metadata": {"namespace": "member-eu1"},
                "status": {
                    "conditions": [_cond("Applied", "True")],
                    "manifestConditions": [
                        {"conditions": [_cond("Applied", "True"), _cond("Drifted", "True")]},
                        {"conditions": [_cond("Applied", "False")]},
                    ],
                },
            },
            {"metadata": {"namespace": "member-us1"}},
            {"metadata": {"namespace": "shop"}, "status": {"conditions": [_cond("Applied", "True")]}},
        ],
        bindings=[{"status": {"conditions": [_cond("Scheduled", "True")]}}, {"status": {}}],
    )
    s = fleet_samples(facts)
    assert s.ready == {"eu1": 1.0, "us1": 0.0}
    assert s.heartbeat == {"eu1": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp()}
    assert dict(s.works) == {"eu1": 1, "us1": 1}
    assert dict(s.work_conditions) == {("eu1", "Applied", "True"): 1}
    assert dict(s.manifest_conditions) == {
        ("eu1", "Applied", "True"): 1,
        ("eu1", "Drifted", "True"): 1,
        ("eu1", "Applied", "False"): 1,
    }
    assert dict(s.drifted) == {"eu1": 1}
    assert s.bindings == 2 and dict(s.binding_conditions) == {("Scheduled", "True"): 1}
