"""Small pure helpers of the agent's I/O shell: event bodies, key mapping, namespaces, object preparation."""

from __future__ import annotations

from typing import Any

import pytest

from agent.events import event_body
from agent.manifests import ManifestIdentifier
from agent.member_apply import prepare
from agent.member_cache import work_keys_of
from agent.work_sync import _namespaces_needed
from shared.kube.types import ResourceInfo

CM_INFO = ResourceInfo(api_version="v1", kind="ConfigMap", plural="configmaps", namespaced=True)
NS_INFO = ResourceInfo(api_version="v1", kind="Namespace", plural="namespaces", namespaced=False)


def test_event_body_names_the_work_and_is_stable() -> None:
    work = {
        "apiVersion": "work.waybill.dev/v1alpha1",
        "kind": "Work",
        "metadata": {"name": "w", "namespace": "member-eu1", "uid": "u1"},
    }
    one = event_body(work, reason="NotTakenOver", message="m", event_type="Warning", host="h", now="T")
    two = event_body(work, reason="NotTakenOver", message="m", event_type="Warning", host="h", now="T2")
    assert one["metadata"]["name"] == two["metadata"]["name"] and one["metadata"]["name"].startswith("w.")
    assert one["involvedObject"]["kind"] == "Work" and one["metadata"]["namespace"] == "member-eu1"
    other = event_body(
        work, reason="ManifestApplyFailed", message="m", event_type="Warning", host="h", now="T"
    )
    assert other["metadata"]["name"] != one["metadata"]["name"]


@pytest.mark.parametrize(
    ("meta", "keys"),
    [
        ({"ownerReferences": [{"kind": "AppliedWork", "name": "member-eu1.web"}]}, ["member-eu1/web"]),
        ({"labels": {"waybill.dev/work-name": "web"}}, ["member-eu1/web"]),
        ({"ownerReferences": [{"kind": "AppliedWork", "name": "member-us1.web"}]}, []),
        ({}, []),
    ],
)
def test_member_objects_map_to_their_work(meta: dict[str, Any], keys: list[str]) -> None:
    assert list(work_keys_of({"metadata": meta}, work_namespace="member-eu1")) == keys


def test_namespaces_needed_skips_shipped_default_and_cluster_scoped() -> None:
    resolved = [
        (ManifestIdentifier(ordinal=0, kind="ConfigMap", namespace="app", name="a"), CM_INFO),
        (ManifestIdentifier(ordinal=1, kind="ConfigMap", namespace="shipped", name="b"), CM_INFO),
        (ManifestIdentifier(ordinal=2, kind="Namespace", name="shipped"), NS_INFO),
        (ManifestIdentifier(ordinal=3, kind="ConfigMap", name="c"), CM_INFO),
        (ManifestIdentifier(ordinal=4, kind="Widget", namespace="unserved", name="d"), None),
    ]
    assert _namespaces_needed(resolved) == {"app"}


def test_prepare_adds_bookkeeping_and_drops_server_fields() -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "status": {"x": 1},
        "metadata": {"name": "c", "uid": "old", "resourceVersion": "9", "managedFields": []},
    }
    applied = {"metadata": {"name": "member-eu1.w", "uid": "aw-uid"}}
    obj = prepare(manifest, info=CM_INFO, applied_work=applied, work_namespace="member-eu1", work_name="w")
    meta = obj["metadata"]
    assert "status" not in obj and not {"uid", "resourceVersion", "managedFields"} & set(meta)
    assert meta["namespace"] == "default"
    assert meta["labels"] == {
        "waybill.dev/managed-by": "waybill",
        "waybill.dev/work-namespace": "member-eu1",
        "waybill.dev/work-name": "w",
    }
    assert meta["ownerReferences"][0]["uid"] == "aw-uid" and manifest["metadata"]["uid"] == "old"
    ns = prepare(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n", "namespace": "x"}},
        info=NS_INFO,
        applied_work=applied,
        work_namespace="member-eu1",
        work_name="w",
    )
    assert "namespace" not in ns["metadata"]
