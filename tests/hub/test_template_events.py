"""Drift on the hub side (pure parts and the Event writer): a Work's ``lastDrift`` in the binding's
aggregated status, the Events it calls for (one per drift), ``waybill status`` text, and the
policy's ``applyStrategy.whenToApply`` reaching the Works."""

from __future__ import annotations

from typing import Any, cast

import pytest

from hub import aggregation, drift_status, rendering, template_events
from hub.matching import PolicyRef, TemplateRef
from shared.api.binding import AggregatedStatusItem
from shared.kube.client import KubeClient
from shared.kube.errors import AlreadyExists, ServerError
from waybill import cmd_status, columns

REF = TemplateRef("apps/v1", "Deployment", "shop", "web")
RECORD = {
    "observedTime": "2026-12-06T10:00:00Z",
    "corrected": True,
    "fields": [{"path": "/spec/replicas", "memberValue": "5", "hubValue": "2"}],
    "fieldCount": 1,
    "changedBy": ["kubectl-edit"],
    "manifestDigest": "d1",
}


def work(
    last_drift: dict[str, Any] | None = None, applied: tuple[str, str, str] = ("True", "Applied", "")
) -> Any:
    entry: dict[str, Any] = {
        "identifier": {
            "ordinal": 0,
            "group": "apps",
            "version": "v1",
            "kind": "Deployment",
            "namespace": "shop",
            "name": "web",
        },
        "conditions": [
            {"type": "Applied", "status": applied[0], "reason": applied[1], "message": applied[2]}
        ],
    }
    if last_drift is not None:
        entry["lastDrift"] = last_drift
    return {
        "metadata": {"name": "w", "namespace": "member-eu1", "generation": 1},
        "spec": {
            "workload": {
                "manifests": [
                    {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "metadata": {"name": "web", "namespace": "shop"},
                    }
                ]
            }
        },
        "status": {
            "conditions": [{"type": "Applied", "status": "True", "observedGeneration": 1}],
            "manifestConditions": [entry],
        },
    }


def test_a_corrected_drift_reaches_the_binding_item() -> None:
    """Seen: once corrected, the binding's ``drifted`` was unset."""
    item = aggregation.cluster_item(cluster="eu1", ref=REF, work=work(RECORD), generation=None)
    assert item["drifted"] is True
    assert item["lastDrift"] == {
        "observedTime": "2026-12-06T10:00:00Z",
        "corrected": True,
        "fields": ["/spec/replicas"],
        "fieldCount": 1,
        "changedBy": ["kubectl-edit"],
    }
    AggregatedStatusItem.model_validate({k: v for k, v in item.items() if k != "upToDate"})
    clean = aggregation.cluster_item(cluster="eu1", ref=REF, work=work(), generation=None)
    assert "drifted" not in clean and "lastDrift" not in clean


def test_events_for_drift_and_failures() -> None:
    items = [
        {"clusterName": "eu1", "lastDrift": drift_status.cluster_drift({"lastDrift": RECORD})["lastDrift"]},
        {
            "clusterName": "eu2",
            "lastDrift": {**RECORD, "corrected": False, "fields": ["/data/a"]},
            "errors": ["Applied: FoundDrifts: left as it is"],
        },
        {"clusterName": "us1", "errors": ["Applied: NotTakenOver: exists", "Applied: WaitingForCRD: soon"]},
        {"clusterName": "us2", "errors": ["Applied: ManifestApplyFailed: Invalid: bad", "not applied yet"]},
    ]
    found = [(e.reason, e.message, e.warning) for e in template_events.events_for(items)]
    assert found == [
        (
            "DriftCorrected",
            "eu1: /spec/replicas changed by kubectl-edit at 2026-12-06T10:00:00Z; corrected",
            False,
        ),
        (
            "DriftDetected",
            "eu2: /data/a changed by kubectl-edit at 2026-12-06T10:00:00Z; not corrected",
            True,
        ),
        ("NotTakenOver", "us1: exists", True),
        ("ApplyFailed", "us2: ManifestApplyFailed: Invalid: bad", True),
    ]


class FakeHub:
    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []
        self.fail_next: Exception | None = None

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        if any(c["metadata"]["name"] == body["metadata"]["name"] for c in self.created):
            raise AlreadyExists("exists")
        self.created.append(body)
        return body


TEMPLATE = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop", "uid": "u-1"},
}


async def test_one_drift_is_one_event_even_across_hub_restarts() -> None:
    hub = FakeHub()
    items = [
        {"clusterName": "eu1", "lastDrift": drift_status.cluster_drift({"lastDrift": RECORD})["lastDrift"]}
    ]
    recorder = template_events.TemplateEvents(cast(KubeClient, hub), lookup=lambda ref: TEMPLATE, host="h")
    for _ in range(3):  # every status reconcile sees the same record
        await recorder.observe(REF, items)
    assert [e["reason"] for e in hub.created] == ["DriftCorrected"]
    event = hub.created[0]
    assert event["involvedObject"]["uid"] == "u-1" and event["type"] == "Normal"
    assert event["metadata"]["namespace"] == "shop"
    # a new hub process: same occurrence, same Event name: no second Event
    restarted = template_events.TemplateEvents(cast(KubeClient, hub), lookup=lambda ref: TEMPLATE, host="h2")
    await restarted.observe(REF, items)
    assert len(hub.created) == 1
    # the next drift is a new Event
    later = {**items[0]["lastDrift"], "observedTime": "2026-12-06T10:05:00Z"}
    await recorder.observe(REF, [{"clusterName": "eu1", "lastDrift": later}])
    assert len(hub.created) == 2


async def test_a_failed_event_write_is_tried_again_and_unknown_templates_are_skipped() -> None:
    hub = FakeHub()
    hub.fail_next = ServerError("boom")
    recorder = template_events.TemplateEvents(cast(KubeClient, hub), lookup=lambda ref: TEMPLATE)
    assert not await recorder.record_template_event(
        REF, "MemberUnreachable", "eu1: no heartbeat", key="eu1/1"
    )
    assert await recorder.record_template_event(REF, "MemberUnreachable", "eu1: no heartbeat", key="eu1/1")
    assert not await recorder.record_template_event(
        REF, "MemberUnreachable", "eu1: no heartbeat", key="eu1/1"
    )
    missing = template_events.TemplateEvents(cast(KubeClient, hub), lookup=lambda ref: None)
    assert not await missing.record_template_event(REF, "X", "y")
    assert len(hub.created) == 1


def test_event_names_are_valid_for_long_template_names() -> None:
    name = template_events.event_name("x" * 253, uid="u", reason="DriftCorrected", key="k")
    assert len(name) <= 253 and name.startswith("x")


def binding(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "spec": {
            "resource": {"kind": "Deployment", "namespace": "shop", "name": "web"},
            "policy": {"kind": "PropagationPolicy", "namespace": "shop", "name": "p"},
            "clusters": [{"name": "eu1", "replicas": 2}, {"name": "eu2", "replicas": 1}],
        },
        "status": {"aggregatedStatus": [item, {"clusterName": "eu2", "applied": True}]},
    }


@pytest.mark.parametrize(
    ("item", "cell"),
    [
        ({"clusterName": "eu1", "applied": True}, "no"),
        (
            {
                "clusterName": "eu1",
                "applied": True,
                "drifted": True,
                "lastDrift": {**RECORD, "fields": ["/spec/replicas"]},
            },
            "corrected",
        ),
        (
            {
                "clusterName": "eu1",
                "applied": False,
                "drifted": True,
                "lastDrift": {**RECORD, "corrected": False, "fields": ["/spec/replicas"]},
            },
            "yes",
        ),
    ],
)
def test_status_shows_the_drift_column_and_the_last_drift(item: dict[str, Any], cell: str) -> None:
    text = cmd_status.render(binding(item))
    row = next(line for line in text.splitlines() if line.startswith("eu1 "))
    assert row.split()[5] == cell
    if "lastDrift" in item:
        assert "Last drift:" in text
        assert "  eu1: /spec/replicas changed by kubectl-edit at 2026-12-06T10:00:00Z" in text
    else:
        assert "Last drift:" not in text


def test_when_to_apply_reaches_the_works() -> None:
    policy = PolicyRef("PropagationPolicy", "shop", "p")
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "shop"}}

    def strategy(spec: dict[str, Any]) -> Any:
        options = rendering.WorkOptions.for_policy(spec)
        [packed] = rendering.pack_works(
            policy=policy, cluster="eu1", member_namespace="member-eu1", manifests=[manifest], options=options
        )
        return packed["spec"]["applyStrategy"]

    assert strategy({"applyStrategy": {"whenToApply": "IfNotDrifted"}}) == {
        "type": "ServerSideApply",
        "whenToTakeOver": "Never",
        "whenToApply": "IfNotDrifted",
    }
    assert strategy({"applyStrategy": {"whenToApply": "Always"}}) == {
        "type": "ServerSideApply",
        "whenToTakeOver": "Never",
    }  # the default is not written: Works of other policies stay byte for byte as they were
    kept = rendering.WorkOptions.of_strategy({"whenToTakeOver": "Always", "whenToApply": "IfNotDrifted"})
    assert kept.apply_strategy() == {
        "type": "ServerSideApply",
        "whenToTakeOver": "Always",
        "whenToApply": "IfNotDrifted",
    }


@pytest.mark.parametrize(
    ("summary", "cell"),
    [
        (None, "-"),
        ({"driftedManifests": 2, "driftedFieldCount": 3, "driftCorrected": True}, "2 corrected"),
        ({"driftedManifests": 1, "driftedFieldCount": 1, "driftCorrected": False}, "1 not corrected"),
    ],
)
def test_get_works_wide_shows_the_drift_summary(summary: dict[str, Any] | None, cell: str) -> None:
    """Seen: DRIFTED read a Work-level Drifted condition that no agent writes (always '-')."""
    work = {"kind": "Work", "metadata": {"name": "w", "namespace": "member-eu1"}, "spec": {}, "status": {}}
    if summary:
        work["status"]["driftSummary"] = summary
    cells = columns.row(work, wide=True, namespace_column=False)
    assert cells[columns.headers("Work", wide=True, namespace_column=False).index("DRIFTED")] == cell
