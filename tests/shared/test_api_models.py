"""API models: wire names, round trips, defaults, conditions, the kind registry, override variables."""

from __future__ import annotations

import re
from typing import Any

import pydantic
import pytest

from shared.api import ALL_KINDS, kind_for, load, names
from shared.api.binding import ClusterDecision, ResourceBinding, ResourceBindingStatus, SchedulingDecision
from shared.api.cluster import MemberCluster
from shared.api.meta import Condition, find_condition, set_condition
from shared.api.policy import OverridePolicy, PropagationPolicy, StaticClusterWeight
from shared.api.variables import VariableError, string_problems, substitute
from shared.api.work import AppliedWork, ManifestCondition, Work


def test_attributes_are_snake_case_and_the_wire_is_camel_case() -> None:
    weight = StaticClusterWeight.from_dict({"targetCluster": {"clusterNames": ["eu1"]}, "weight": 2})
    assert weight.target_cluster.cluster_names == ["eu1"]
    assert StaticClusterWeight(target_cluster=weight.target_cluster, weight=2) == weight
    assert weight.to_dict() == {"targetCluster": {"clusterNames": ["eu1"]}, "weight": 2}


def test_to_dict_leaves_out_unset_fields_but_keeps_embedded_objects_exactly() -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "labels": {}},
        "spec": {"volumes": [{"name": "scratch", "emptyDir": {}}], "nodeName": None, "containers": []},
    }
    work = Work.new(name="w", namespace="member-eu1", spec={"workload": {"manifests": [manifest]}})
    assert work.to_dict() == {
        "apiVersion": names.WORK_API_VERSION,
        "kind": "Work",
        "metadata": {"name": "w", "namespace": "member-eu1"},
        "spec": {"workload": {"manifests": [manifest]}},
    }


def test_unknown_fields_are_ignored_like_the_api_server_prunes_them() -> None:
    policy = PropagationPolicy.from_dict(
        {
            "apiVersion": names.POLICY_API_VERSION,
            "kind": "PropagationPolicy",
            "metadata": {"name": "p", "namespace": "default"},
            "spec": {
                "resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap"}],
                "frobnicate": {"x": 1},
            },
        }
    )
    assert "frobnicate" not in policy.to_dict()["spec"]


def test_defaults_follow_karmada() -> None:
    policy = PropagationPolicy.from_dict(
        {
            "apiVersion": names.POLICY_API_VERSION,
            "kind": "PropagationPolicy",
            "metadata": {"name": "p"},
            "spec": {
                "resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap"}],
                "placement": {"replicaScheduling": {}},
            },
        }
    )
    assert policy.spec.priority == 0
    assert policy.spec.propagate_deps is False
    assert policy.spec.placement.replica_scheduling is not None
    assert policy.spec.placement.replica_scheduling.replica_scheduling_type == "Divided"
    work = Work.from_dict(
        {"apiVersion": names.WORK_API_VERSION, "kind": "Work", "spec": {"applyStrategy": {}}}
    )
    assert work.spec.apply_strategy is not None
    assert (work.spec.apply_strategy.type, work.spec.apply_strategy.when_to_take_over) == (
        "ServerSideApply",
        "IfNoDiff",
    )
    assert MemberCluster.new(name="eu1", namespace="member-eu1").spec.sync_mode == "Pull"


@pytest.mark.parametrize("cls", ALL_KINDS, ids=lambda c: c.crd.kind)
def test_kind_registry_finds_every_kind(cls: Any) -> None:
    assert kind_for(cls.crd.api_version, cls.crd.kind) is cls
    assert cls.crd.api_version.endswith(".waybill.dev/v1alpha1")


def test_load_parses_by_kind_and_refuses_foreign_kinds() -> None:
    obj = {
        "apiVersion": names.WORK_API_VERSION,
        "kind": "AppliedWork",
        "metadata": {"name": "member-eu1.app"},
        "spec": {"workName": "app", "workNamespace": "member-eu1"},
        "status": {"appliedResources": [{"version": "v1", "kind": "ConfigMap", "name": "c", "uid": "u1"}]},
    }
    applied = load(obj)
    assert isinstance(applied, AppliedWork)
    assert applied.status is not None and applied.status.applied_resources[0].uid == "u1"
    assert applied.to_dict() == {
        **obj,
        "status": {
            "appliedResources": [
                {"group": "", "version": "v1", "kind": "ConfigMap", "resource": "", "name": "c", "uid": "u1"}
            ]
        },
    }
    with pytest.raises(ValueError, match="not a Waybill kind"):
        load({"apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy"})


def test_older_override_form_is_one_more_rule_after_override_rules() -> None:
    policy = OverridePolicy.from_dict(
        {
            "apiVersion": names.POLICY_API_VERSION,
            "kind": "OverridePolicy",
            "metadata": {"name": "o", "namespace": "default"},
            "spec": {
                "overrideRules": [
                    {"overriders": {"labelsOverrider": [{"operator": "add", "value": {"a": "1"}}]}}
                ],
                "targetCluster": {"clusterNames": ["eu1"]},
                "overriders": {"plaintext": [{"path": "/data/x", "operator": "replace", "value": "y"}]},
            },
        }
    )
    rules = policy.spec.effective_rules()
    assert [bool(r.overriders.labels_overrider) for r in rules] == [True, False]
    assert rules[1].target_cluster is not None and rules[1].target_cluster.cluster_names == ["eu1"]
    assert rules[1].overriders.plaintext[0].value == "y"


def test_set_condition_moves_transition_time_only_when_status_changes() -> None:
    conditions = set_condition(
        [], type="Applied", status="False", reason="Pending", now="2026-01-01T00:00:00Z"
    )
    conditions = set_condition(conditions, type="Available", status="False", reason="Pending", now="t1")
    same = set_condition(conditions, type="Applied", status="False", reason="StillPending", now="t2")
    assert same[0].last_transition_time == "2026-01-01T00:00:00Z"
    assert same[0].reason == "StillPending"
    changed = set_condition(same, type="Applied", status="True", reason="Applied", message="ok", now="t3")
    assert [c.type for c in changed] == ["Applied", "Available"]
    applied = find_condition(changed, "Applied")
    assert applied is not None and (applied.status, applied.last_transition_time) == ("True", "t3")
    assert find_condition(changed, "Degraded") is None


def test_condition_reason_must_be_a_camel_case_word() -> None:
    with pytest.raises(pydantic.ValidationError, match="reason"):
        Condition(type="Ready", status="True", reason="not ok", last_transition_time="t")


def test_quantities_are_checked_in_member_cluster_status() -> None:
    status = {"resources": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": 110}}}
    cluster = MemberCluster.from_dict(
        {"apiVersion": names.CLUSTER_API_VERSION, "kind": "MemberCluster", "status": status}
    )
    assert cluster.status is not None and cluster.status.resources is not None
    assert cluster.status.resources.allocatable == {"cpu": "4", "memory": "8Gi", "pods": 110}
    with pytest.raises(pydantic.ValidationError, match="not a Kubernetes quantity"):
        MemberCluster.from_dict(
            {
                "apiVersion": names.CLUSTER_API_VERSION,
                "kind": "MemberCluster",
                "status": {"resources": {"available": {"cpu": "lots"}}},
            }
        )


def test_binding_status_reads_like_a_report() -> None:
    binding = ResourceBinding.new(
        name="nginx-deployment",
        namespace="default",
        spec={"resource": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "nginx"}, "replicas": 3},
    )
    binding.status = ResourceBindingStatus()
    binding.status.scheduling_decision = SchedulingDecision(
        result="Scheduled",
        summary="eu1=2, us1=1",
        targets=[ClusterDecision(cluster="eu1", reason="Weighted", replicas=2)],
        rejected=[ClusterDecision(cluster="ap1", reason="TaintNotTolerated", message="gpu:NoSchedule")],
    )
    wire = binding.to_dict()
    assert wire["status"]["schedulingDecision"]["rejected"] == [
        {"cluster": "ap1", "reason": "TaintNotTolerated", "message": "gpu:NoSchedule"}
    ]
    assert ResourceBinding.from_dict(wire) == binding


def test_manifest_condition_carries_feedback_and_drift() -> None:
    condition = ManifestCondition.from_dict(
        {
            "identifier": {
                "ordinal": 0,
                "group": "apps",
                "version": "v1",
                "kind": "Deployment",
                "name": "nginx",
            },
            "statusFeedback": {
                "values": [{"name": "readyReplicas", "fieldValue": {"type": "Integer", "integer": 2}}]
            },
            "drifts": [{"path": "/spec/replicas", "memberValue": "5", "hubValue": "2"}],
        }
    )
    assert condition.status_feedback is not None
    assert condition.status_feedback.values[0].field_value.integer == 2
    assert condition.drifts[0].member_value == "5"


# --- variables ----------------------------------------------------------------------------------------
def test_substitute_replaces_cluster_name_and_labels_everywhere() -> None:
    value = {
        "image": "${MEMBER_CLUSTER_LABEL:region}.registry.io/app",
        "args": ["--cluster=${MEMBER_CLUSTER_NAME}"],
    }
    result = substitute(value, cluster_name="eu1", cluster_labels={"region": "eu-west"})
    assert result == {"image": "eu-west.registry.io/app", "args": ["--cluster=eu1"]}
    assert substitute(3, cluster_name="eu1", cluster_labels={}) == 3


def test_substitute_fails_for_a_missing_label_or_unknown_variable() -> None:
    with pytest.raises(VariableError, match="no label 'zone'"):
        substitute("${MEMBER_CLUSTER_LABEL:zone}", cluster_name="eu1", cluster_labels={})
    with pytest.raises(VariableError, match="unknown variable"):
        substitute(["${CLUSTER}"], cluster_name="eu1", cluster_labels={})


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ("plain", 0),
        ("${MEMBER_CLUSTER_NAME}", 0),
        ("${MEMBER_CLUSTER_LABEL:topology.kubernetes.io/region}", 0),
        ("${MEMBER_CLUSTER_LABEL:}", 1),
        ("${NAME} and ${MEMBER_CLUSTER_LABEL:bad key}", 2),
    ],
)
def test_string_problems(text: str, problems: int) -> None:
    assert len(string_problems(text)) == problems


# --- names ----------------------------------------------------------------------------------------------
QUALIFIED_NAME = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)


@pytest.mark.parametrize(
    "constant",
    sorted(n for n in dir(names) if n.startswith(("LABEL_", "ANNOTATION_", "FINALIZER_", "TAINT_"))),
)
def test_label_annotation_finalizer_and_taint_keys_are_qualified_names(constant: str) -> None:
    value = getattr(names, constant)
    assert re.match(QUALIFIED_NAME, value), value
    prefix, _, name = value.rpartition("/")
    assert prefix.endswith("waybill.dev") and len(name) <= 63


def test_the_names_the_design_promises() -> None:
    assert names.LABEL_MEMBER == "waybill.dev/member"
    assert names.LABEL_MANAGED_BY == "waybill.dev/managed-by"
    assert names.LABEL_POLICY == "waybill.dev/policy"
    assert names.TAINT_UNREACHABLE == "cluster.waybill.dev/unreachable"
    assert names.FIELD_MANAGER_AGENT == "waybill-agent"
    # config.waybill.dev: ResourceInterpreterCustomization, Karmada's config.karmada.io (issue #10).
    assert {cls.crd.group for cls in ALL_KINDS} == {
        names.POLICY_GROUP,
        names.WORK_GROUP,
        names.CLUSTER_GROUP,
        names.CONFIG_GROUP,
    }


def test_parse_time_reads_kubernetes_timestamps_and_refuses_the_rest() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from shared.api.meta import parse_time

    assert parse_time("2026-12-04T10:00:00Z") == datetime(2026, 12, 4, 10, tzinfo=UTC)
    assert parse_time("2026-12-04T10:00:00.123456Z") == datetime(2026, 12, 4, 10, 0, 0, 123456, tzinfo=UTC)
    plus_two = timezone(timedelta(hours=2))
    assert parse_time("2026-12-04T12:00:00+02:00") == datetime(2026, 12, 4, 12, tzinfo=plus_two)
    assert parse_time("2026-12-04T10:00:00") == datetime(2026, 12, 4, 10, tzinfo=UTC)  # naive means UTC
    for bad in (None, "", "yesterday", 17, {"t": 1}):
        assert parse_time(bad) is None
