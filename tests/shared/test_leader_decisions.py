"""Pure leader-election decisions: who may take the lease, and what is written."""

from __future__ import annotations

import pytest

from shared.runtime.leader import LeaseRecord, lease_record, may_acquire, next_lease


def _lease(holder: str, *, duration: int = 15, transitions: int = 0, rv: str = "7") -> dict[str, object]:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "hub", "namespace": "waybill-system", "resourceVersion": rv},
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": duration,
            "acquireTime": "2026-01-01T00:00:00.000000Z",
            "renewTime": "2026-01-01T00:00:05.000000Z",
            "leaseTransitions": transitions,
        },
    }


@pytest.mark.parametrize(
    ("record", "observed_at", "now", "allowed"),
    [
        (None, 0.0, 0.0, True),  # no lease yet
        (LeaseRecord(holder="", lease_duration=15), 100.0, 100.0, True),  # released
        (LeaseRecord(holder="me", lease_duration=15), 100.0, 100.0, True),  # renewing my own
        (LeaseRecord(holder="other", lease_duration=15), 100.0, 110.0, False),  # other still fresh
        (LeaseRecord(holder="other", lease_duration=15), 100.0, 114.9, False),
        (LeaseRecord(holder="other", lease_duration=15), 100.0, 115.0, True),  # other expired
    ],
)
def test_may_acquire(record: LeaseRecord | None, observed_at: float, now: float, allowed: bool) -> None:
    assert may_acquire(record=record, identity="me", observed_at=observed_at, now=now) is allowed


def test_taking_over_counts_a_transition_and_keeps_the_resource_version() -> None:
    lease = next_lease(
        _lease("other", transitions=2),
        name="hub",
        namespace="waybill-system",
        identity="me",
        lease_duration=15,
        now="T1",
    )
    assert lease["metadata"]["resourceVersion"] == "7"
    assert lease["spec"] == {
        "holderIdentity": "me",
        "leaseDurationSeconds": 15,
        "acquireTime": "T1",
        "renewTime": "T1",
        "leaseTransitions": 3,
    }


def test_renewing_keeps_acquire_time_and_transitions() -> None:
    lease = next_lease(
        _lease("me", transitions=2),
        name="hub",
        namespace="waybill-system",
        identity="me",
        lease_duration=15,
        now="T2",
    )
    assert lease["spec"]["acquireTime"] == "2026-01-01T00:00:00.000000Z"
    assert lease["spec"]["renewTime"] == "T2"
    assert lease["spec"]["leaseTransitions"] == 2


def test_first_lease() -> None:
    lease = next_lease(None, name="hub", namespace="ns", identity="me", lease_duration=10, now="T0")
    assert "resourceVersion" not in lease["metadata"]
    assert lease["spec"]["leaseTransitions"] == 0
    assert lease["spec"]["acquireTime"] == "T0"


def test_taking_a_released_lease_is_a_transition_as_in_client_go() -> None:
    lease = next_lease(
        _lease("", transitions=4), name="hub", namespace="ns", identity="me", lease_duration=10, now="T3"
    )
    assert lease["spec"]["leaseTransitions"] == 5


def test_lease_record_parses_spec() -> None:
    assert lease_record(_lease("x", duration=40, transitions=1)) == LeaseRecord(
        holder="x",
        lease_duration=40.0,
        acquire_time="2026-01-01T00:00:00.000000Z",
        renew_time="2026-01-01T00:00:05.000000Z",
        transitions=1,
    )
    assert lease_record(None) is None
