"""Table tests for a manifest's last drift record: who changed what, when, kept until when."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from agent import drift_record
from agent.drift import REDACTED, FieldDiff, diff

AGENT = "waybill-agent"


def deployment(replicas: int, *, managed: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "app", "generation": 4, "managedFields": managed or []},
        "spec": {
            "replicas": replicas,
            "template": {"spec": {"containers": [{"name": "main", "image": "a"}]}},
        },
    }


EDIT = {
    "manager": "kubectl-edit",
    "operation": "Update",
    "time": "2026-12-06T10:00:02Z",
    "fieldsV1": {"f:spec": {"f:replicas": {}}},
}
LABELLER = {
    "manager": "labeller",
    "operation": "Update",
    "time": "2026-12-06T10:00:01Z",
    "fieldsV1": {"f:metadata": {"f:labels": {"f:x": {}}}},
}
OWN = {"manager": AGENT, "operation": "Apply", "fieldsV1": {"f:spec": {"f:replicas": {}}}}


@pytest.mark.parametrize(
    ("managed", "expected"),
    [
        ([OWN, LABELLER, EDIT], ("kubectl-edit",)),  # the owner of the drifted field
        ([OWN, LABELLER], ("labeller",)),  # nobody owns it (removed): the latest writer
        ([OWN], ()),  # never the agent itself
        # a controller writing status is not a suspect
        ([OWN, LABELLER, {**EDIT, "manager": "kcm", "subresource": "status", "fieldsV1": {}}], ("labeller",)),
    ],
)
def test_changed_by_names_the_managed_fields_owner(
    managed: list[dict[str, Any]], expected: tuple[str, ...]
) -> None:
    desired = deployment(2)
    live = deployment(5, managed=managed)
    drifts = diff(desired, live)
    assert [d.path for d in drifts] == ["/spec/replicas"]
    assert drift_record.changed_by(live, drifts, field_manager=AGENT) == expected


def test_changed_by_matches_named_list_items() -> None:
    desired = deployment(2)
    live = deployment(
        2,
        managed=[
            {
                "manager": "kubectl-set",
                "operation": "Update",
                "time": "2026-12-06T10:00:00Z",
                "fieldsV1": {
                    "f:spec": {
                        "f:template": {"f:spec": {"f:containers": {'k:{"name":"main"}': {"f:image": {}}}}}
                    }
                },
            }
        ],
    )
    live["spec"]["template"]["spec"]["containers"][0]["image"] = "b"
    drifts = diff(desired, live)
    assert drift_record.changed_by(live, drifts, field_manager=AGENT) == ("kubectl-set",)


def observation(member: int, *, corrected: bool, digest: str = "d1") -> drift_record.DriftObservation:
    live = deployment(member, managed=[EDIT])
    found = drift_record.observe(
        live, diff(deployment(2), live), corrected=corrected, field_manager=AGENT, manifest_digest=digest
    )
    assert found is not None
    return found


def test_a_record_names_fields_values_manager_time_and_outcome() -> None:
    record = drift_record.next_record(observation(5, corrected=True), None, manifest_digest="d1", now="T1")
    assert record == {
        "observedTime": "T1",
        "corrected": True,
        "fields": [{"path": "/spec/replicas", "memberValue": "5", "hubValue": "2"}],
        "fieldCount": 1,
        "changedBy": ["kubectl-edit"],
        "manifestDigest": "d1",
        "observedGeneration": 4,
    }


def test_records_are_kept_replaced_and_dropped() -> None:
    first = drift_record.next_record(observation(5, corrected=True), None, manifest_digest="d1", now="T1")
    # no drift, same manifest: kept
    assert drift_record.next_record(None, first, manifest_digest="d1", now="T2") == first
    # unknown digest this pass (the member could not be read): kept
    assert drift_record.next_record(None, first, manifest_digest=None, now="T2") == first
    # a new manifest: dropped
    assert drift_record.next_record(None, first, manifest_digest="d2", now="T2") is None
    # the same edit again, corrected again: a second drift, a new record
    again = drift_record.next_record(observation(5, corrected=True), first, manifest_digest="d1", now="T3")
    assert again is not None and again["observedTime"] == "T3"


def test_an_uncorrected_drift_is_one_record_while_it_stays() -> None:
    first = drift_record.next_record(observation(5, corrected=False), None, manifest_digest="d1", now="T1")
    same = drift_record.next_record(observation(5, corrected=False), first, manifest_digest="d1", now="T2")
    assert same == first  # observed once, not once per pass
    other = drift_record.next_record(observation(7, corrected=False), first, manifest_digest="d1", now="T3")
    assert other is not None and other["observedTime"] == "T3" and other["fields"][0]["memberValue"] == "7"


def test_secret_values_never_reach_the_record() -> None:
    desired = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "stringData": {"pw": "hunter2"},
    }
    live = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "s",
            "managedFields": [
                {
                    "manager": "kubectl-edit",
                    "operation": "Update",
                    "time": "2026-12-06T10:00:00Z",
                    "fieldsV1": {"f:data": {"f:pw": {}}},
                }
            ],
        },
        "data": {"pw": base64.b64encode(b"leaked!").decode()},
    }
    found = drift_record.observe(
        live, diff(desired, live), corrected=True, field_manager=AGENT, manifest_digest="d"
    )
    record = drift_record.next_record(found, None, manifest_digest="d", now="T1")
    assert record is not None
    assert record["fields"] == [{"path": "/data/pw", "memberValue": REDACTED, "hubValue": REDACTED}]
    assert record["changedBy"] == ["kubectl-edit"]
    text = json.dumps(record)
    assert (
        "hunter2" not in text and "leaked" not in text and base64.b64encode(b"leaked!").decode() not in text
    )


@pytest.mark.parametrize(
    ("record", "drifting", "had", "expected"),
    [
        (None, False, False, None),
        (None, False, True, (False, "NoDrift")),
        ({"corrected": True, "fields": []}, True, False, (False, "DriftCorrected")),
        ({"corrected": True, "fields": []}, False, True, (False, "DriftCorrected")),
        ({"corrected": False, "fields": []}, True, False, (True, "DriftDetected")),
        ({"corrected": False, "fields": []}, False, True, (False, "NoDrift")),
    ],
)
def test_drifted_condition(
    record: dict[str, Any] | None, drifting: bool, had: bool, expected: tuple[bool, str] | None
) -> None:
    found = drift_record.drift_condition(record, drifting=drifting, had_condition=had)
    assert (found[:2] if found else None) == expected


def test_newest_and_memory() -> None:
    older = {"observedTime": "2026-12-06T10:00:00Z"}
    newer = {"observedTime": "2026-12-06T10:00:05Z"}
    assert drift_record.newest(older, None, newer) == newer
    assert drift_record.newest(None, None) is None
    memory = drift_record.DriftMemory()
    ident = {"ordinal": 0, "kind": "ConfigMap", "name": "a"}
    memory.remember("ns/w", [{"identifier": ident, "lastDrift": newer}, {"identifier": {"ordinal": 1}}])
    assert memory.recall("ns/w", ident) == newer
    assert memory.recall("ns/w", {**ident, "name": "b"}) is None  # another manifest at that ordinal
    assert drift_record.fresh_records(
        {}, [{"identifier": ident, "lastDrift": newer}], now=newer["observedTime"]
    )
    assert not drift_record.fresh_records(
        {0: newer}, [{"identifier": ident, "lastDrift": newer}], now=newer["observedTime"]
    )
    memory.remember("ns/w", [])
    assert memory.recall_all("ns/w") == {}


def test_field_path_rides_along_without_changing_equality() -> None:
    assert FieldDiff("/a", 1, 2, ("f:a",)) == FieldDiff("/a", 1, 2)


def test_a_deletion_is_a_drift_of_the_whole_object() -> None:
    found = drift_record.observe(
        None, [drift_record.deleted()], corrected=True, field_manager=AGENT, manifest_digest="d"
    )
    record = drift_record.next_record(found, None, manifest_digest="d", now="T1")
    assert record is not None and record["fields"] == [{"path": "/", "hubValue": "(object)"}]
    assert drift_record.describe(record) == "the object was deleted on the member at T1; corrected"
