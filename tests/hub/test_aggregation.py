"""Table tests for hub.aggregation: Work status → binding items → template status."""

from __future__ import annotations

import json
from typing import Any

from hub import aggregation
from hub.matching import TemplateRef

REF = TemplateRef("apps/v1", "Deployment", "default", "web")


def work(
    *,
    applied: str = "True",
    available: str = "True",
    ready: int = 2,
    generation: int = 3,
    rendered: int = 3,
    drift: bool = False,
) -> dict[str, Any]:
    manifest: dict[str, Any] = {
        "identifier": {
            "ordinal": 0,
            "group": "apps",
            "version": "v1",
            "kind": "Deployment",
            "resource": "deployments",
            "namespace": "default",
            "name": "web",
        },
        "conditions": [
            {
                "type": "Applied",
                "status": applied,
                "reason": "Applied" if applied == "True" else "ManifestApplyFailed",
                "message": "" if applied == "True" else "boom",
            },
            {"type": "Available", "status": available, "reason": "x"},
        ],
        "statusFeedback": {
            "values": [
                {"name": "Replicas", "fieldValue": {"type": "Integer", "integer": ready}},
                {"name": "ReadyReplicas", "fieldValue": {"type": "Integer", "integer": ready}},
                {"name": "ObservedGeneration", "fieldValue": {"type": "Integer", "integer": 1}},
            ]
        },
    }
    if drift:
        manifest["drifts"] = [{"path": "/spec/replicas"}]
    return {
        "metadata": {
            "name": "w",
            "generation": 5,
            "annotations": {aggregation.ANNOTATION_GENERATIONS: json.dumps({str(REF.identity): rendered})},
        },
        "status": {
            "conditions": [{"type": "Applied", "status": "True", "observedGeneration": 5}],
            "manifestConditions": [manifest],
        },
    }


def test_cluster_item_healthy_and_up_to_date() -> None:
    item = aggregation.cluster_item(cluster="eu1", ref=REF, work=work(), generation=3)
    assert item["applied"] and item["available"] and item["upToDate"]
    assert item["health"] == "Healthy"
    assert item["status"]["ReadyReplicas"] == 2


def test_cluster_item_failures() -> None:
    failed = aggregation.cluster_item(cluster="eu1", ref=REF, work=work(applied="False"), generation=3)
    assert not failed["applied"] and failed["health"] == "Unhealthy"
    assert "ManifestApplyFailed" in failed["errors"][0]
    stale = aggregation.cluster_item(cluster="eu1", ref=REF, work=work(rendered=2), generation=3)
    assert not stale["upToDate"]
    missing = aggregation.cluster_item(cluster="eu1", ref=REF, work=None, generation=3)
    assert missing["errors"] == ["no Work for this cluster yet"]
    drifted = aggregation.cluster_item(cluster="eu1", ref=REF, work=work(drift=True), generation=3)
    assert drifted["drifted"]


def test_binding_conditions() -> None:
    good = aggregation.cluster_item(cluster="eu1", ref=REF, work=work(), generation=3)
    bad = aggregation.cluster_item(cluster="us1", ref=REF, work=work(available="False"), generation=3)
    conditions = {c.type: c for c in aggregation.binding_conditions([good, bad])}
    assert conditions["Applied"].status == "True"
    assert (conditions["Available"].status, conditions["Available"].reason) == (
        "False",
        "NotAvailableEverywhere",
    )
    assert "us1" in conditions["Available"].message


def test_template_status_sums_and_observed_generation() -> None:
    template = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "generation": 3}}
    items = [
        aggregation.cluster_item(cluster=c, ref=REF, work=work(ready=r), generation=3)
        for c, r in (("eu1", 2), ("us1", 3))
    ]
    status = aggregation.template_status(template=template, items=items)
    assert status == {"readyReplicas": 5, "replicas": 5, "observedGeneration": 3}
    items[1] = aggregation.cluster_item(cluster="us1", ref=REF, work=work(rendered=2), generation=3)
    status = aggregation.template_status(template=template, items=items)
    assert status is not None and "observedGeneration" not in status
    assert aggregation.template_status(template={"kind": "ConfigMap"}, items=items) is None
