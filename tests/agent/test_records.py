"""Table tests for the AppliedWork record, client-side apply patches, cluster status and RBAC rules."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent import applied_work as aw
from agent import cluster_status, csa
from agent.manifests import ManifestIdentifier
from shared import membership_rbac

CM = ManifestIdentifier(
    ordinal=0, version="v1", kind="ConfigMap", resource="configmaps", namespace="a", name="c"
)
DEP = ManifestIdentifier(ordinal=1, group="apps", version="v1", kind="Deployment", namespace="a", name="d")


def test_applied_work_name_is_short_and_unique() -> None:
    assert aw.applied_work_name(work_namespace="member-eu1", work_name="w") == "member-eu1.w"
    long_a = aw.applied_work_name(work_namespace="n" * 60, work_name="a" * 200)
    long_b = aw.applied_work_name(work_namespace="m" * 60, work_name="a" * 200)
    assert len(long_a) <= 253 and long_a != long_b


def test_write_ahead_then_uids_then_stale() -> None:
    first = aw.with_write_ahead([], [CM, DEP])
    assert [r.get("uid") for r in first] == [None, None]
    assert aw.with_write_ahead(first, [CM]) == first  # nothing new: same record
    with_uids = aw.with_uids(first, {aw.identifier_key(CM): "u-cm"})
    assert with_uids[0]["uid"] == "u-cm" and "uid" not in with_uids[1]
    stale = aw.stale(with_uids, [aw.identifier_key(CM)])
    assert [r["kind"] for r in stale] == ["Deployment"]
    assert aw.without(with_uids, [aw.record_key(stale[0])]) == [with_uids[0]]
    assert aw.api_version_of(with_uids[1]) == "apps/v1" and aw.api_version_of(with_uids[0]) == "v1"


@pytest.mark.parametrize(
    ("record", "live", "allowed"),
    [
        ({"uid": "u1"}, {"metadata": {"uid": "u1"}}, True),
        ({"uid": "u1"}, {"metadata": {"uid": "u2"}}, False),  # recreated by someone else
        ({"uid": "u1"}, None, False),
        ({}, {"metadata": {"uid": "u2", "ownerReferences": [{"kind": "AppliedWork", "name": "ns.w"}]}}, True),
        ({}, {"metadata": {"uid": "u2"}}, False),
    ],
)
def test_may_delete_is_uid_checked(
    record: dict[str, Any], live: dict[str, Any] | None, allowed: bool
) -> None:
    assert aw.may_delete(record, live, applied_work_name="ns.w") is allowed


def test_client_side_apply_patch_removes_dropped_fields() -> None:
    old = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "labels": {"x": "1", "y": "2"}},
        "data": {"a": "1", "b": "2"},
    }
    live = csa.with_last_applied(old)
    new = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "labels": {"x": "1"}},
        "data": {"a": "9"},
    }
    patch = csa.merge_patch(new, live)
    assert patch["data"] == {"a": "9", "b": None}
    assert patch["metadata"]["labels"] == {"x": "1", "y": None}
    assert json.loads(patch["metadata"]["annotations"][csa.LAST_APPLIED])["data"] == {"a": "9"}
    assert "kind" not in patch


def test_cluster_resources_subtract_running_pod_requests() -> None:
    nodes = [
        {
            "metadata": {"name": "n1"},
            "status": {
                "allocatable": {"cpu": "4", "memory": "8Gi"},
                "conditions": [{"type": "Ready", "status": "True"}],
            },
        },
        {
            "metadata": {"name": "n2"},
            "status": {
                "allocatable": {"cpu": "2", "memory": "4Gi"},
                "conditions": [{"type": "Ready", "status": "False"}],
            },
        },
    ]
    pods = [
        {
            "spec": {
                "nodeName": "n1",
                "containers": [{"resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}],
            },
            "status": {"phase": "Running"},
        },
        {
            "spec": {"nodeName": "n1", "containers": [{"resources": {"requests": {"cpu": "1"}}}]},
            "status": {"phase": "Succeeded"},
        },
        {"spec": {"nodeName": "n2", "containers": [{"resources": {"requests": {"cpu": "1"}}}]}},
    ]
    assert cluster_status.resources(nodes, pods) == {
        "allocatable": {"cpu": "4", "memory": "8Gi"},
        "available": {"cpu": "3500m", "memory": "7Gi"},
    }


def test_member_status_keeps_other_conditions_and_transition_time() -> None:
    old = {
        "conditions": [
            {"type": "Joined", "status": "True", "reason": "Joined", "lastTransitionTime": "T0"},
            {"type": "Ready", "status": "True", "reason": "AgentHealthy", "lastTransitionTime": "T1"},
        ]
    }
    fields = cluster_status.member_status(
        kubernetes_version="v1.31.0",
        agent_version="0.1.0",
        nodes=[],
        pods=[],
        enablements=cluster_status.api_enablements(
            [("apps/v1", [("deployments", "Deployment"), ("deployments/status", "Deployment")])]
        ),
    )
    merged = cluster_status.merge_member_status(
        old, fields, cluster_status.ready_condition(member_reachable=True), now="T2"
    )
    assert {c["type"]: c["lastTransitionTime"] for c in merged["conditions"]} == {
        "Joined": "T0",
        "Ready": "T1",
    }
    assert merged["apiEnablements"] == [
        {"groupVersion": "apps/v1", "resources": [{"name": "deployments", "kind": "Deployment"}]}
    ]
    down = cluster_status.merge_member_status(
        merged, fields, cluster_status.ready_condition(member_reachable=False), now="T3"
    )
    assert next(c for c in down["conditions"] if c["type"] == "Ready")["lastTransitionTime"] == "T3"


def test_agent_role_is_namespaced_and_narrow() -> None:
    objs = membership_rbac.agent_identity_objects(namespace="member-eu1", cluster="eu1")
    assert [o["kind"] for o in objs] == ["ServiceAccount", "Role", "RoleBinding"]
    assert all(o["metadata"]["namespace"] == "member-eu1" for o in objs)
    resources = {r for rule in membership_rbac.agent_role_rules() for r in rule["resources"]}
    assert resources == {
        "works",
        "works/status",
        "memberclusters",
        "memberclusters/status",
        "leases",
        "events",
        "serviceaccounts/token",  # its own token only (resourceNames), for credentials rotation
    }
    rules = membership_rbac.agent_role_rules()
    token_rule = next(r for r in rules if r["resources"] == ["serviceaccounts/token"])
    assert token_rule["resourceNames"] == [membership_rbac.AGENT_IDENTITY]
    verbs = {v for rule in membership_rbac.agent_role_rules() for v in rule["verbs"]}
    assert "delete" not in verbs and "*" not in verbs
