"""Drift as a fact, on kubesim (pull and push): an edit on the member is corrected and its record
stays in the Work status; ``whenToApply: IfNotDrifted`` leaves the edit and reports it; Secret
values never reach the hub; the agent counts drifts per member."""

from __future__ import annotations

import base64
import json
from typing import Any

from shared.ops.metrics import REGISTRY
from tests.agent.fleet import Fleet, configmap, deployment, eventually, manifest_condition, manifest_entry

DRIFTS = "waybill_agent_drifts_total"


def drift_count(result: str) -> float:
    return REGISTRY.get_sample_value(DRIFTS, {"cluster": "eu1", "result": result}) or 0.0


async def applied_generation(fleet: Fleet, name: str) -> dict[str, Any]:
    """The Work once the agent reported on its current generation (a pass has run since)."""
    return await fleet.wait_work(name, "Applied", status="True")


async def test_a_corrected_drift_stays_in_the_work_status(fleet: Fleet) -> None:
    """Seen: corrected in ~0.3 s, the drift then vanished from the Work (NoDrift, nothing else)."""
    await fleet.start_agent()
    await fleet.create_work("web", [configmap("cfg", a="1"), deployment("web", replicas=2)])
    await fleet.wait_work("web", "Available")
    corrected_before = drift_count("corrected")
    await fleet.member_admin.patch(
        "apps/v1",
        "Deployment",
        name="web",
        namespace="app",
        patch={"spec": {"replicas": 5}},
        field_manager="kubectl-edit",
    )

    async def recorded() -> dict[str, Any] | None:
        work = await fleet.get_work("web")
        return work if work and manifest_entry(work, 1).get("lastDrift") else None

    work = await eventually(recorded)
    live = await fleet.member_get("apps/v1", "Deployment", "web", "app")
    assert live is not None and live["spec"]["replicas"] == 2  # corrected before it was reported
    record = manifest_entry(work, 1)["lastDrift"]
    assert record["corrected"] is True
    assert record["fields"] == [{"path": "/spec/replicas", "memberValue": "5", "hubValue": "2"}]
    assert record["changedBy"] == ["kubectl-edit"]
    assert record["manifestDigest"] and record["observedTime"]
    assert manifest_condition(work, 1, "Drifted")["reason"] == "DriftCorrected"  # type: ignore[index]
    assert work["status"]["driftSummary"]["driftedManifests"] == 1
    assert work["status"]["driftSummary"]["driftCorrected"] is True

    # Fence: another manifest of the Work changes, so the agent runs a whole pass again; the
    # drift record of the Deployment (whose manifest did not change) is still there afterwards.
    await fleet.update_work_spec(
        "web", workload={"manifests": [configmap("cfg", a="2"), deployment("web", replicas=2)]}
    )

    async def cfg_applied() -> dict[str, Any] | None:
        found = await applied_generation(fleet, "web")
        cm = await fleet.member_get("v1", "ConfigMap", "cfg", "app")
        return found if cm and cm["data"] == {"a": "2"} else None

    later = await eventually(cfg_applied)
    assert manifest_entry(later, 1).get("lastDrift") == record
    assert drift_count("corrected") - corrected_before == 1

    # A new manifest for the Deployment ends the record.
    await fleet.update_work_spec(
        "web", workload={"manifests": [configmap("cfg", a="2"), deployment("web", replicas=3)]}
    )

    async def record_gone() -> dict[str, Any] | None:
        found = await applied_generation(fleet, "web")
        return found if "lastDrift" not in manifest_entry(found, 1) else None

    cleared = await eventually(record_gone)
    assert "driftSummary" not in cleared["status"]
    assert manifest_condition(cleared, 1, "Drifted")["reason"] == "NoDrift"  # type: ignore[index]


async def test_if_not_drifted_leaves_the_edit_and_reports_it(fleet: Fleet) -> None:
    await fleet.start_agent()
    strategy = {"type": "ServerSideApply", "whenToApply": "IfNotDrifted"}
    await fleet.create_work("cfg", [configmap("cfg", a="1")], applyStrategy=strategy)
    await fleet.wait_work("cfg", "Applied")
    reported_before = drift_count("reported")
    await fleet.member_admin.patch(
        "v1",
        "ConfigMap",
        name="cfg",
        namespace="app",
        patch={"data": {"a": "edited"}},
        field_manager="ops-fix",
    )

    async def detected() -> dict[str, Any] | None:
        work = await fleet.get_work("cfg")
        cond = manifest_condition(work or {}, 0, "Drifted")
        return work if cond and cond["status"] == "True" else None

    work = await eventually(detected)
    # The pass that reported the drift decided not to write: the edit is still there.
    live = await fleet.member_get("v1", "ConfigMap", "cfg", "app")
    assert live is not None and live["data"] == {"a": "edited"}
    assert manifest_condition(work, 0, "Drifted")["reason"] == "DriftDetected"  # type: ignore[index]
    applied = manifest_condition(work, 0, "Applied")
    assert applied is not None and (applied["status"], applied["reason"]) == ("False", "FoundDrifts")
    record = manifest_entry(work, 0)["lastDrift"]
    assert record["corrected"] is False and record["changedBy"] == ["ops-fix"]
    assert record["fields"] == [{"path": "/data/a", "memberValue": "edited", "hubValue": "1"}]
    assert work["status"]["driftSummary"]["driftCorrected"] is False
    assert drift_count("reported") - reported_before == 1

    # A new manifest from the hub is applied (KubeFleet's semantics), and the record goes.
    await fleet.update_work_spec("cfg", workload={"manifests": [configmap("cfg", a="2")]})

    async def new_manifest_applied() -> dict[str, Any] | None:
        found = await applied_generation(fleet, "cfg")
        cm = await fleet.member_get("v1", "ConfigMap", "cfg", "app")
        return (
            found if cm and cm["data"] == {"a": "2"} and "lastDrift" not in manifest_entry(found, 0) else None
        )

    await eventually(new_manifest_applied)
    assert drift_count("reported") - reported_before == 1  # the persisting drift was counted once


async def test_secret_drift_is_recorded_without_its_values(fleet: Fleet) -> None:
    await fleet.start_agent()
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "app"},
        "stringData": {"password": "hub-secret-value"},
    }
    await fleet.create_work("db", [secret])
    await fleet.wait_work("db", "Applied")
    leaked = base64.b64encode(b"member-secret-value").decode()
    await fleet.member_admin.patch(
        "v1",
        "Secret",
        name="db",
        namespace="app",
        patch={"data": {"password": leaked}},
        field_manager="intruder",
    )

    async def recorded() -> dict[str, Any] | None:
        work = await fleet.get_work("db")
        return work if work and manifest_entry(work, 0).get("lastDrift") else None

    work = await eventually(recorded)
    record = manifest_entry(work, 0)["lastDrift"]
    assert record["fields"] == [
        {"path": "/data/password", "memberValue": "(redacted)", "hubValue": "(redacted)"}
    ]
    assert record["changedBy"] == ["intruder"] and record["corrected"] is True
    text = json.dumps(work["status"])  # (the spec is the hub's manifest, Secret and all)
    for value in (
        "hub-secret-value",
        "member-secret-value",
        leaked,
        base64.b64encode(b"hub-secret-value").decode(),
    ):
        assert value not in text


async def test_a_deleted_object_is_recreated_and_recorded_as_a_drift(fleet: Fleet) -> None:
    await fleet.start_agent()
    await fleet.create_work("cfg", [configmap("cfg", a="1")])
    await fleet.wait_work("cfg", "Applied")
    before = await fleet.member_get("v1", "ConfigMap", "cfg", "app")
    assert before is not None
    await fleet.member_admin.delete("v1", "ConfigMap", name="cfg", namespace="app")

    async def recorded() -> dict[str, Any] | None:
        work = await fleet.get_work("cfg")
        return work if work and manifest_entry(work, 0).get("lastDrift") else None

    work = await eventually(recorded)
    again = await fleet.member_get("v1", "ConfigMap", "cfg", "app")
    assert again is not None and again["metadata"]["uid"] != before["metadata"]["uid"]
    record = manifest_entry(work, 0)["lastDrift"]
    assert record["fields"] == [{"path": "/", "hubValue": "(object)"}]
    assert record["corrected"] is True and record["changedBy"] == []
    drifted = manifest_condition(work, 0, "Drifted")
    assert drifted is not None and "deleted on the member" in drifted["message"]
