"""Table tests for agent.report_diff: what a server-side apply would remove, preview refusal."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent import report_diff
from agent.drift import REDACTED, FieldDiff
from agent.manifests import decode_manifests
from agent.takeover import Strategy
from shared.api import names

MANAGER = "waybill-agent"


def entry(manager: str, fields: dict[str, Any], operation: str = "Apply") -> dict[str, Any]:
    return {"manager": manager, "operation": operation, "fieldsType": "FieldsV1", "fieldsV1": fields}


def live_deployment(*entries: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "labels": {"app": "web", "tier": "web"},
            "managedFields": list(entries),
            "ownerReferences": [{"kind": "AppliedWork", "name": "member-eu1.pp", "uid": "u1"}],
        },
        "spec": {
            "replicas": 3,
            "template": {
                "spec": {
                    "containers": [
                        {"name": "main", "image": "nginx:1", "env": [{"name": "A", "value": "1"}]},
                        {"name": "sidecar", "image": "envoy:1"},
                    ]
                }
            },
        },
    }


APPLIED = {
    "f:metadata": {
        "f:labels": {"f:app": {}, "f:tier": {}},
        "f:ownerReferences": {'k:{"uid":"u1"}': {}},
    },
    "f:spec": {
        "f:replicas": {},
        "f:template": {
            "f:spec": {
                "f:containers": {
                    'k:{"name":"main"}': {
                        ".": {},
                        "f:name": {},
                        "f:image": {},
                        "f:env": {'k:{"name":"A"}': {".": {}, "f:name": {}, "f:value": {}}},
                    },
                    'k:{"name":"sidecar"}': {".": {}, "f:name": {}, "f:image": {}},
                }
            }
        },
    },
}


def desired(
    *, tier: bool = True, sidecar: bool = True, env: bool = True, replicas: bool = True
) -> dict[str, Any]:
    main: dict[str, Any] = {"name": "main", "image": "nginx:2"}
    if env:
        main["env"] = [{"name": "A", "value": "1"}]
    containers = [main, *([{"name": "sidecar", "image": "envoy:1"}] if sidecar else [])]
    spec: dict[str, Any] = {"template": {"spec": {"containers": containers}}}
    if replicas:
        spec["replicas"] = 3
    labels = {"app": "web", **({"tier": "web"} if tier else {})}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": labels},
        "spec": spec,
    }


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        (desired(), []),
        (desired(tier=False), [FieldDiff("/metadata/labels/tier", "web", None)]),
        # a whole container dropped: reported once, at the container
        (
            desired(sidecar=False),
            [FieldDiff("/spec/template/spec/containers/1", {"name": "sidecar", "image": "envoy:1"}, None)],
        ),
        (
            desired(env=False),
            [FieldDiff("/spec/template/spec/containers/0/env", [{"name": "A", "value": "1"}], None)],
        ),
    ],
)
def test_fields_the_agent_applies_that_the_manifest_drops(
    wanted: dict[str, Any], expected: list[FieldDiff]
) -> None:
    live = live_deployment(entry(MANAGER, APPLIED))
    assert report_diff.removed_fields(wanted, live, field_manager=MANAGER) == expected


def test_fields_another_manager_owns_too_or_respected_ones_are_not_removed() -> None:
    autoscaler = entry("autoscaler", {"f:spec": {"f:replicas": {}}}, operation="Update")
    live = live_deployment(entry(MANAGER, APPLIED), autoscaler)
    assert report_diff.removed_fields(desired(replicas=False), live, field_manager=MANAGER) == []
    live = live_deployment(entry(MANAGER, APPLIED))
    skip = [("f:spec", "f:replicas")]
    assert report_diff.removed_fields(desired(replicas=False), live, field_manager=MANAGER, skip=skip) == []
    # an Update by the same manager name (client-side apply) is not what SSA would remove
    live = live_deployment(entry(MANAGER, APPLIED, operation="Update"))
    assert report_diff.removed_fields(desired(tier=False), live, field_manager=MANAGER) == []


def test_removed_secret_values_are_redacted() -> None:
    live = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "db",
            "managedFields": [entry(MANAGER, {"f:data": {"f:user": {}, "f:password": {}}})],
        },
        "data": {"user": "dXNlcg==", "password": "c2VjcmV0"},
    }
    wanted = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "stringData": {"user": "user"},
    }
    found = report_diff.removed_fields(wanted, live, field_manager=MANAGER)
    assert found == [FieldDiff("/data/password", REDACTED, None)]
    assert "c2VjcmV0" not in json.dumps([d.to_dict() for d in found])


@pytest.mark.parametrize(
    ("when", "exists", "owned", "held", "differs", "left_alone"),
    [
        ("Never", True, False, False, False, True),
        ("IfNoDiff", True, False, False, True, True),
        ("IfNoDiff", True, False, False, False, False),
        ("Always", True, False, False, True, False),
        ("Never", False, False, False, True, False),  # created, not taken over
        ("Never", True, True, False, True, False),  # this Work's own object
        ("Never", True, False, True, True, False),  # another Work's: handed over, not taken over
    ],
)
def test_which_objects_an_apply_would_leave_alone(
    when: str, exists: bool, owned: bool, held: bool, differs: bool, left_alone: bool
) -> None:
    strategy = Strategy(type="ReportDiff", when_to_take_over=when)
    why = report_diff.takeover_refusal(strategy, exists=exists, owned=owned, held=held, differs=differs)
    assert (why is not None) == left_alone
    if why is not None:
        assert f"whenToTakeOver={when}" in why


def test_only_preview_works_carry_nothing_and_must_report_diff() -> None:
    preview = {"metadata": {"labels": {names.LABEL_PREVIEW: "x"}}}
    assert report_diff.carries_nothing(preview) and not report_diff.carries_nothing({"metadata": {}})
    assert report_diff.refusal(preview, Strategy(type="ReportDiff")) is None
    why = report_diff.refusal(preview, Strategy())
    assert why is not None and "spec.applyStrategy.type must be ReportDiff, not ServerSideApply" in why
    assert report_diff.refusal({"metadata": {}}, Strategy()) is None
    decoded = decode_manifests([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}])
    results = report_diff.refused(decoded, why)
    assert [r.reason for r in results.values()] == ["PreviewNotReportDiff"] and not results[0].applied
