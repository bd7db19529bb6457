"""Table tests for drift/diff detection, redaction and fields owned by other managers."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from agent.drift import REDACTED, diff, respected_fields, strip_fields


def deploy(replicas: int = 2, image: str = "nginx:1", **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "app", **meta},
        "spec": {
            "replicas": replicas,
            "template": {"spec": {"containers": [{"name": "main", "image": image}]}},
        },
    }


def live_of(desired: dict[str, Any], **changes: Any) -> dict[str, Any]:
    import copy

    live = copy.deepcopy(desired)
    live["metadata"].update(uid="u1", resourceVersion="7", managedFields=[])
    live["spec"]["strategy"] = {"type": "RollingUpdate"}  # a server default: not a difference
    live["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "IfNotPresent"
    live["status"] = {"replicas": 1}
    for key, value in changes.items():
        live[key] = value
    return live


@pytest.mark.parametrize(
    ("desired", "live", "paths"),
    [
        (deploy(), live_of(deploy()), []),
        (deploy(replicas=3), live_of(deploy(replicas=2)), ["/spec/replicas"]),
        (
            deploy(image="nginx:2"),
            live_of(deploy(image="nginx:1")),
            ["/spec/template/spec/containers/0/image"],
        ),
        (deploy(labels={"a": "1"}), live_of(deploy(labels={"a": "2", "b": "x"})), ["/metadata/labels/a"]),
        (deploy(labels={"a": "1"}), live_of(deploy()), ["/metadata/labels/a"]),
        (
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "c"},
                "data": {"k": "v", "n": "1"},
            },
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "w"}},
            ["/data/k", "/data/n"],
        ),
        (
            {"apiVersion": "v1", "kind": "X", "metadata": {"name": "c"}, "spec": {"list": [1, 2]}},
            {"apiVersion": "v1", "kind": "X", "metadata": {"name": "c"}, "spec": {"list": [2, 1]}},
            ["/spec/list"],
        ),
        (
            {"apiVersion": "v1", "kind": "X", "metadata": {"name": "c"}, "spec": {"n": 1}},
            {"apiVersion": "v1", "kind": "X", "metadata": {"name": "c"}, "spec": {"n": 1.0}},
            [],
        ),
    ],
)
def test_diff_paths(desired: dict[str, Any], live: dict[str, Any], paths: list[str]) -> None:
    assert [d.path for d in diff(desired, live)] == paths


def test_diff_values_are_reported_as_text() -> None:
    [d] = diff(deploy(replicas=3), live_of(deploy(replicas=5)))
    assert d.to_dict() == {"path": "/spec/replicas", "memberValue": "5", "hubValue": "3"}


def test_container_matched_by_name_not_position() -> None:
    desired = deploy()
    live = live_of(desired)
    live["spec"]["template"]["spec"]["containers"].insert(0, {"name": "sidecar", "image": "envoy"})
    assert diff(desired, live) == []


def test_secret_values_are_redacted_and_string_data_compared_encoded() -> None:
    desired = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "stringData": {"pw": "hunter2"},
    }
    same = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "data": {"pw": base64.b64encode(b"hunter2").decode()},
    }
    assert diff(desired, same) == []
    changed = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"pw": "b3RoZXI="}}
    [d] = diff(desired, changed)
    assert d.path == "/data/pw" and d.member_value == REDACTED and d.hub_value == REDACTED
    assert "hunter2" not in str(d.to_dict()) and "b3RoZXI=" not in str(d.to_dict())


def test_limit_caps_the_report() -> None:
    desired = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
        "data": {str(i): "a" for i in range(9)},
    }
    live = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}}
    assert len(diff(desired, live, limit=4)) == 4


HPA_FIELDS = {
    "manager": "kube-controller-manager",
    "operation": "Update",
    "subresource": "scale",
    "fieldsV1": {"f:spec": {"f:replicas": {}}},
}
EDIT_FIELDS = {"manager": "kubectl-edit", "operation": "Update", "fieldsV1": {"f:spec": {"f:replicas": {}}}}
OWN_FIELDS = {"manager": "waybill-agent", "operation": "Apply", "fieldsV1": {"f:spec": {"f:replicas": {}}}}


@pytest.mark.parametrize(
    ("entries", "respected", "expected"),
    [
        ([HPA_FIELDS], (), {("f:spec", "f:replicas")}),
        ([EDIT_FIELDS], (), set()),
        ([EDIT_FIELDS], ("kubectl-edit",), {("f:spec", "f:replicas")}),
        ([OWN_FIELDS], ("waybill-agent",), set()),
        ([], (), set()),
    ],
)
def test_respected_fields(
    entries: list[dict[str, Any]], respected: tuple[str, ...], expected: set[Any]
) -> None:
    live = live_of(deploy())
    live["metadata"]["managedFields"] = entries
    assert respected_fields(live, field_manager="waybill-agent", respected_managers=respected) == expected


def test_respected_fields_are_not_drift_and_are_stripped() -> None:
    desired = deploy(replicas=2)
    live = live_of(deploy(replicas=7))
    skip = {("f:spec", "f:replicas")}
    assert diff(desired, live, skip=skip) == []
    stripped = strip_fields(desired, skip)
    assert "replicas" not in stripped["spec"] and desired["spec"]["replicas"] == 2


def test_strip_keyed_list_field() -> None:
    desired = deploy()
    path = ("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"main"}', "f:image")
    stripped = strip_fields(desired, [path])
    assert stripped["spec"]["template"]["spec"]["containers"] == [{"name": "main"}]
