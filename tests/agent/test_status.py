"""Table tests for building a Work's status, stability, and trimming."""

from __future__ import annotations

import json

import pytest

from agent import cluster_status, drift_record
from agent import status as agent_status
from agent.availability import Availability
from agent.drift import FieldDiff
from agent.manifests import ManifestIdentifier
from agent.status import ManifestResult, build_work_status, status_changed, trim
from hub import conditions
from shared.api import meta
from shared.api.work import WorkStatus

OK = Availability("True", "Available", "ok")
NOT_YET = Availability("False", "NotAvailableYet", "1/3")
JOB_FAILED = Availability("False", "Failed", "job failed")


def ident(ordinal: int, kind: str = "ConfigMap") -> ManifestIdentifier:
    return ManifestIdentifier(
        ordinal=ordinal, version="v1", kind=kind, resource="configmaps", namespace="a", name=f"m{ordinal}"
    )


def conds(status: dict[str, object]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        (
            [ManifestResult(ident(0), True, "Applied", availability=OK)],
            {
                "Applied": ("True", "AllManifestsApplied"),
                "Available": ("True", "AllManifestsAvailable"),
                "Degraded": ("False", "AsExpected"),
            },
        ),
        (
            [ManifestResult(ident(0), True, "Applied", availability=NOT_YET)],
            {
                "Applied": ("True", "AllManifestsApplied"),
                "Available": ("False", "ManifestsNotAvailableYet"),
                "Degraded": ("False", "AsExpected"),
            },
        ),
        (
            [
                ManifestResult(ident(0), True, "Applied", availability=OK),
                ManifestResult(ident(1), False, "DecodingErred", "bad"),
            ],
            {
                "Applied": ("False", "ManifestApplyFailed"),
                "Available": ("False", "NotAllManifestsApplied"),
                "Degraded": ("True", "ManifestsFailed"),
            },
        ),
        (
            [ManifestResult(ident(0), False, "NotTakenOver", "exists")],
            {
                "Applied": ("False", "ManifestApplyFailed"),
                "Available": ("False", "NotAllManifestsApplied"),
                "Degraded": ("True", "ManifestsFailed"),
            },
        ),
        (
            [ManifestResult(ident(0, "Job"), True, "Applied", availability=JOB_FAILED)],
            {
                "Applied": ("True", "AllManifestsApplied"),
                "Available": ("False", "ManifestsNotAvailableYet"),
                "Degraded": ("True", "ManifestsFailed"),
            },
        ),
        (
            [
                ManifestResult(
                    ident(0), False, "DiffReported", report_diff=True, diffs=[FieldDiff("/data/k", "a", "b")]
                )
            ],
            {"DiffReported": ("True", "DiffReported")},
        ),
        (
            [],
            {
                "Applied": ("True", "AllManifestsApplied"),
                "Available": ("True", "AllManifestsAvailable"),
                "Degraded": ("False", "AsExpected"),
            },
        ),
    ],
)
def test_work_conditions(results: list[ManifestResult], expected: dict[str, tuple[str, str]]) -> None:
    status = build_work_status(results, generation=3, existing=None, now="2024-01-01T00:00:00Z")
    assert conds(status) == expected
    assert all(c["observedGeneration"] == 3 for c in status["conditions"])
    WorkStatus.model_validate(status)  # the shape the CRD accepts


def test_manifest_conditions_carry_reasons_feedback_and_drift() -> None:
    results = [
        ManifestResult(ident(1), False, "NotTakenOver", "exists", diffs=[FieldDiff("/data/k", "x", "y")]),
        ManifestResult(
            ident(0),
            True,
            "Applied",
            availability=OK,
            feedback=[{"name": "ReadyReplicas", "fieldValue": {"type": "Integer", "integer": 1}}],
            drifts=[FieldDiff("/spec/replicas", 5, 3)],
        ),
    ]
    status = build_work_status(results, generation=1, existing=None, now="T1")
    first, second = status["manifestConditions"]
    assert first["identifier"]["ordinal"] == 0 and second["identifier"]["ordinal"] == 1
    assert first["statusFeedback"]["values"][0]["name"] == "ReadyReplicas"
    assert first["drifts"] == [{"path": "/spec/replicas", "memberValue": "5", "hubValue": "3"}]
    assert {c["type"]: c["reason"] for c in first["conditions"]}["Drifted"] == "DriftCorrected"
    assert {c["type"]: c["reason"] for c in second["conditions"]}["Applied"] == "NotTakenOver"
    assert second["diffs"][0]["path"] == "/data/k"
    WorkStatus.model_validate(status)


def test_unchanged_world_gives_identical_status_and_transitions_are_kept() -> None:
    results = [ManifestResult(ident(0), True, "Applied", availability=NOT_YET)]
    first = build_work_status(results, generation=1, existing=None, now="T1")
    again = build_work_status(results, generation=1, existing=first, now="T2")
    assert not status_changed(first, again)
    results[0].availability = OK
    later = build_work_status(results, generation=1, existing=again, now="T3")
    assert status_changed(again, later)
    by_type = {c["type"]: c["lastTransitionTime"] for c in later["conditions"]}
    assert by_type == {"Applied": "T1", "Available": "T3", "Degraded": "T1"}


def test_corrected_drift_stays_on_record_after_the_member_is_clean() -> None:
    """Seen: after the correction the Work said NoDrift and nothing else (the drift was gone)."""
    corrected = drift_record.DriftObservation(
        diffs=(FieldDiff("/data/k", "a", "b", ("f:data", "f:k")),),
        corrected=True,
        changed_by=("kubectl-edit",),
        manifest_digest="d1",
    )
    drifted = [
        ManifestResult(
            ident(0),
            True,
            "Applied",
            availability=OK,
            drifts=list(corrected.diffs),
            drift=corrected,
            manifest_digest="d1",
        )
    ]
    first = build_work_status(drifted, generation=1, existing=None, now="T1")
    clean = [ManifestResult(ident(0), True, "Applied", availability=OK, manifest_digest="d1")]
    later = build_work_status(clean, generation=1, existing=first, now="T2")
    entry = later["manifestConditions"][0]
    assert "drifts" not in entry  # this pass saw none
    assert entry["lastDrift"] == {
        "observedTime": "T1",
        "corrected": True,
        "fields": [{"path": "/data/k", "memberValue": "a", "hubValue": "b"}],
        "fieldCount": 1,
        "changedBy": ["kubectl-edit"],
        "manifestDigest": "d1",
    }
    drifted_cond = {c["type"]: c for c in entry["conditions"]}["Drifted"]
    assert (drifted_cond["status"], drifted_cond["reason"]) == ("False", "DriftCorrected")
    assert "kubectl-edit" in drifted_cond["message"] and "/data/k" in drifted_cond["message"]
    assert later["driftSummary"] == {
        "driftedManifests": 1,
        "driftedFieldCount": 1,
        "driftCorrected": True,
        "lastObservedTime": "T1",
    }
    assert not status_changed(later, build_work_status(clean, generation=1, existing=later, now="T3"))
    WorkStatus.model_validate(later)
    # a new manifest (digest d2) ends the record
    changed = [ManifestResult(ident(0), True, "Applied", availability=OK, manifest_digest="d2")]
    after_change = build_work_status(changed, generation=2, existing=later, now="T4")
    entry = after_change["manifestConditions"][0]
    assert "lastDrift" not in entry and "driftSummary" not in after_change
    assert {c["type"]: c["reason"] for c in entry["conditions"]}["Drifted"] == "NoDrift"


def test_the_agents_memory_covers_a_status_it_has_not_read_back() -> None:
    """The Work the agent reads may predate its last status write: the record is not lost."""
    record = {
        "observedTime": "2026-12-06T10:00:00Z",
        "corrected": True,
        "fields": [],
        "fieldCount": 1,
        "changedBy": [],
        "manifestDigest": "d1",
    }
    clean = [
        ManifestResult(
            ident(0), True, "Applied", availability=OK, manifest_digest="d1", remembered_drift=record
        )
    ]
    status = build_work_status(clean, generation=1, existing=None, now="T2")
    assert status["manifestConditions"][0]["lastDrift"] == record


def test_trim_keeps_status_under_limit_and_says_so() -> None:
    results = [
        ManifestResult(
            ident(i),
            True,
            "Applied",
            "x" * 400,
            availability=OK,
            feedback=[{"name": "Raw", "fieldValue": {"type": "JsonRaw", "jsonRaw": "y" * 1000}}],
        )
        for i in range(200)
    ]
    results.append(ManifestResult(ident(999), False, "ManifestApplyFailed", "boom"))
    status = build_work_status(results, generation=1, existing=None, now="T", limit_bytes=40_000)
    assert len(json.dumps(status)) <= 45_000
    assert conds(status)["StatusTrimmed"] == ("True", "StatusTooLarge")
    failing = [m for m in status["manifestConditions"] if m["identifier"]["ordinal"] == 999]
    assert failing, "failed manifests survive trimming"
    small = {"conditions": [], "manifestConditions": []}
    assert trim(small, limit_bytes=1000) is small


def test_every_agent_condition_is_stamped_by_the_one_shared_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """Work conditions, manifest conditions, the removal condition and MemberCluster Ready all get
    their lastTransitionTime from ``shared.api.meta.transition_time``, the hub's rule too."""
    calls: list[tuple[str | None, str | None, str]] = []

    def rule(*, previous_status: str | None, previous_time: str | None, status: str, now: str) -> str:
        calls.append((previous_status, previous_time, status))
        return "STAMPED-BY-THE-SHARED-RULE"

    monkeypatch.setattr(meta, "transition_time", rule)
    results = [
        ManifestResult(ident(0), True, "Applied", availability=OK),
        ManifestResult(ident(1), False, "ManifestApplyFailed", "boom"),
    ]
    status = build_work_status(results, generation=1, existing=None, now="T1")
    stamped = [*status["conditions"], *(c for m in status["manifestConditions"] for c in m["conditions"])]
    assert len(stamped) >= 7
    assert {c["lastTransitionTime"] for c in stamped} == {"STAMPED-BY-THE-SHARED-RULE"}
    trimmed = build_work_status(results, generation=1, existing=None, now="T1", limit_bytes=10)
    assert {c["lastTransitionTime"] for c in trimmed["conditions"]} == {"STAMPED-BY-THE-SHARED-RULE"}
    # the Removed condition the work controller writes goes through the same function
    assert agent_status.merge_conditions is meta.stamp_wire_conditions
    ready = cluster_status.ready_condition(member_reachable=True)
    member = cluster_status.merge_member_status(None, {"nodeCount": 1}, ready, now="T1")
    assert [c["lastTransitionTime"] for c in member["conditions"]] == ["STAMPED-BY-THE-SHARED-RULE"]
    assert conditions.set_condition([], type="Valid", status="True", reason="Valid")[0][
        "lastTransitionTime"
    ] == ("STAMPED-BY-THE-SHARED-RULE")
    assert len(calls) >= len(stamped) + 2


def test_member_ready_keeps_its_time_while_the_status_stays() -> None:
    ready = cluster_status.ready_condition(member_reachable=True)
    first = cluster_status.merge_member_status(None, {}, ready, now="T1")
    other = {"type": "CapacityTrusted", "status": "True", "reason": "Ok", "lastTransitionTime": "T0"}
    first["conditions"].insert(0, other)
    again = cluster_status.merge_member_status(first, {}, ready, now="T2")
    assert [(c["type"], c["lastTransitionTime"]) for c in again["conditions"]] == [
        ("CapacityTrusted", "T0"),
        ("Ready", "T1"),
    ]
    lost = cluster_status.merge_member_status(
        again, {}, cluster_status.ready_condition(member_reachable=False), now="T3"
    )
    assert lost["conditions"][-1]["lastTransitionTime"] == "T3"
