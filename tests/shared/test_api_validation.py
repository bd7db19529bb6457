"""Cross-field rules in shared.api.validation: what the CRD schema lets through but Waybill refuses."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from shared.api import names
from shared.api.policy import PropagationPolicy
from shared.api.validation import FieldProblem, path_of, validate_object, validate_policy

PLACEMENT = "spec.placement"
SCHEDULING = "spec.placement.replicaScheduling"


def propagation(**placement: Any) -> dict[str, Any]:
    return {
        "apiVersion": names.POLICY_API_VERSION,
        "kind": "PropagationPolicy",
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {
            "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment"}],
            "placement": placement,
        },
    }


def override(*rules: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": names.POLICY_API_VERSION,
        "kind": "OverridePolicy",
        "metadata": {"name": "o", "namespace": "default"},
        "spec": {
            "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment"}],
            "overrideRules": list(rules),
            **spec,
        },
    }


def divided(**strategy: Any) -> dict[str, Any]:
    return {"replicaSchedulingType": "Divided", **strategy}


def names_only(*clusters: str) -> dict[str, Any]:
    return {"clusterNames": list(clusters)}


CASES: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "affinity and affinities",
        propagation(
            clusterAffinity=names_only("a"), clusterAffinities=[{"affinityName": "x", **names_only("a")}]
        ),
        f"{PLACEMENT}.clusterAffinities",
        "cannot both be set",
    ),
    (
        "duplicate affinity names",
        propagation(clusterAffinities=[{"affinityName": "x"}, {"affinityName": "x"}]),
        f"{PLACEMENT}.clusterAffinities",
        "not unique",
    ),
    (
        "In without values",
        propagation(
            clusterAffinity={"labelSelector": {"matchExpressions": [{"key": "a", "operator": "In"}]}}
        ),
        f"{PLACEMENT}.clusterAffinity.labelSelector.matchExpressions[0].values",
        "non-empty",
    ),
    (
        "Exists with values",
        propagation(
            clusterAffinities=[
                {
                    "affinityName": "x",
                    "labelSelector": {
                        "matchExpressions": [{"key": "a", "operator": "Exists", "values": ["v"]}]
                    },
                }
            ]
        ),
        f"{PLACEMENT}.clusterAffinities[0].labelSelector.matchExpressions[0].values",
        "must be empty",
    ),
    (
        "field selector without values",
        propagation(
            clusterAffinity={"fieldSelector": {"matchExpressions": [{"key": "region", "operator": "NotIn"}]}}
        ),
        f"{PLACEMENT}.clusterAffinity.fieldSelector.matchExpressions[0].values",
        "non-empty",
    ),
    (
        "named and excluded",
        propagation(clusterAffinity={"clusterNames": ["a", "b"], "exclude": ["b"]}),
        f"{PLACEMENT}.clusterAffinity.exclude",
        "both named and excluded: b",
    ),
    (
        "toleration Exists with value",
        propagation(clusterTolerations=[{"key": "k", "operator": "Exists", "value": "v"}]),
        f"{PLACEMENT}.clusterTolerations[0].value",
        "must be empty",
    ),
    (
        "spread by field and label",
        propagation(spreadConstraints=[{"spreadByField": "cluster", "spreadByLabel": "team"}]),
        f"{PLACEMENT}.spreadConstraints[0]",
        "exactly one",
    ),
    (
        "minGroups above maxGroups",
        propagation(spreadConstraints=[{"spreadByField": "cluster", "minGroups": 3, "maxGroups": 2}]),
        f"{PLACEMENT}.spreadConstraints[0].minGroups",
        "greater than maxGroups 2",
    ),
    (
        "region spread without cluster spread",
        propagation(spreadConstraints=[{"spreadByField": "region", "maxGroups": 2}]),
        f"{PLACEMENT}.spreadConstraints",
        "spreadByField: cluster",
    ),
    (
        "repeated spread field",
        propagation(spreadConstraints=[{"spreadByField": "cluster"}, {"spreadByField": "cluster"}]),
        f"{PLACEMENT}.spreadConstraints",
        "repeats",
    ),
    (
        "minGroups above maxClusters",
        propagation(maxClusters=2, spreadConstraints=[{"spreadByField": "cluster", "minGroups": 3}]),
        f"{PLACEMENT}.spreadConstraints[0].minGroups",
        "maxClusters 2",
    ),
    (
        "division preference when duplicated",
        propagation(
            replicaScheduling={"replicaSchedulingType": "Duplicated", "replicaDivisionPreference": "Weighted"}
        ),
        f"{SCHEDULING}.replicaDivisionPreference",
        "only when replicaSchedulingType is Divided",
    ),
    (
        "replica limits when duplicated",
        propagation(
            replicaScheduling={
                "replicaSchedulingType": "Duplicated",
                "clusterReplicaLimits": [{"targetCluster": names_only("a"), "maxReplicas": 1}],
            }
        ),
        f"{SCHEDULING}.clusterReplicaLimits",
        "only when replicaSchedulingType is Divided",
    ),
    (
        "weights without Weighted",
        propagation(
            replicaScheduling=divided(
                replicaDivisionPreference="Aggregated",
                weightPreference={"dynamicWeight": "AvailableReplicas"},
            )
        ),
        f"{SCHEDULING}.weightPreference",
        "only when replicaDivisionPreference is Weighted",
    ),
    (
        "static and dynamic weights",
        propagation(
            replicaScheduling=divided(
                replicaDivisionPreference="Weighted",
                weightPreference={
                    "dynamicWeight": "AvailableReplicas",
                    "staticWeightList": [{"targetCluster": names_only("a"), "weight": 1}],
                },
            )
        ),
        f"{SCHEDULING}.weightPreference",
        "not both",
    ),
    (
        "limit without bounds",
        propagation(replicaScheduling=divided(clusterReplicaLimits=[{"targetCluster": names_only("a")}])),
        f"{SCHEDULING}.clusterReplicaLimits[0]",
        "set minReplicas, maxReplicas or both",
    ),
    (
        "min above max replicas",
        propagation(
            replicaScheduling=divided(
                clusterReplicaLimits=[{"targetCluster": names_only("a"), "minReplicas": 3, "maxReplicas": 1}]
            )
        ),
        f"{SCHEDULING}.clusterReplicaLimits[0].minReplicas",
        "greater than maxReplicas 1",
    ),
    (
        "selector for another namespace",
        {
            **propagation(),
            "spec": {
                "resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap", "namespace": "kube-system"}]
            },
        },
        "spec.resourceSelectors[0].namespace",
        "own namespace ('default')",
    ),
    ("no override rules", override(), "spec.overrideRules", "at least one rule"),
    (
        "image add without value",
        override({"overriders": {"imageOverrider": [{"component": "Registry", "operator": "add"}]}}),
        "spec.overrideRules[0].overriders.imageOverrider[0].value",
        "required when operator is add",
    ),
    (
        "plaintext remove with value",
        override({"overriders": {"plaintext": [{"path": "/data/a", "operator": "remove", "value": "x"}]}}),
        "spec.overrideRules[0].overriders.plaintext[0].value",
        "must be empty when operator is remove",
    ),
    (
        "plaintext replace without value",
        override({"overriders": {"plaintext": [{"path": "/data/a", "operator": "replace"}]}}),
        "spec.overrideRules[0].overriders.plaintext[0].value",
        "required when operator is replace",
    ),
    (
        "plaintext on the object's name",
        override(
            {"overriders": {"plaintext": [{"path": "/metadata/name", "operator": "replace", "value": "x"}]}}
        ),
        "spec.overrideRules[0].overriders.plaintext[0].path",
        "cannot be overridden",
    ),
    (
        "empty command add",
        override({"overriders": {"commandOverrider": [{"containerName": "c", "operator": "add"}]}}),
        "spec.overrideRules[0].overriders.commandOverrider[0].value",
        "non-empty",
    ),
    (
        "empty labels add",
        override({"overriders": {"labelsOverrider": [{"operator": "add"}]}}),
        "spec.overrideRules[0].overriders.labelsOverrider[0].value",
        "non-empty",
    ),
    (
        "unknown variable in a plaintext value",
        override(
            {
                "overriders": {
                    "plaintext": [{"path": "/data", "operator": "add", "value": {"a": ["${CLUSTER_ID}"]}}]
                }
            }
        ),
        "spec.overrideRules[0].overriders.plaintext[0].value.a[0]",
        "unknown variable ${CLUSTER_ID}",
    ),
    (
        "bad label key variable in the older form",
        override(
            overriders={
                "annotationsOverrider": [{"operator": "add", "value": {"k": "${MEMBER_CLUSTER_LABEL:a b}"}}]
            }
        ),
        "spec.overriders.annotationsOverrider[0].value.k",
        "not a valid label key",
    ),
]


@pytest.mark.parametrize(("case", "obj", "path", "message"), CASES, ids=[c[0] for c in CASES])
def test_cross_field_rules(case: str, obj: dict[str, Any], path: str, message: str) -> None:
    problems = validate_object(obj)
    assert [p.path for p in problems] == [path], (case, problems)
    assert message in problems[0].message


def test_older_form_paths_are_rooted_at_spec_overriders() -> None:
    # The older single-rule form reports its paths under spec (spec.overriders...), not under a rule index.
    obj = override(overriders={"plaintext": [{"path": "/data/a", "operator": "replace"}]})
    assert validate_object(obj) == [
        FieldProblem("spec.overriders.plaintext[0].value", "required when operator is replace")
    ]


@pytest.mark.parametrize(
    "obj",
    [
        propagation(),
        propagation(
            maxClusters=3,
            clusterAffinity={"clusterNames": ["a", "b"], "exclude": ["c"]},
            spreadConstraints=[
                {"spreadByField": "region", "maxGroups": 2},
                {"spreadByField": "cluster", "minGroups": 2},
            ],
            replicaScheduling=divided(
                replicaDivisionPreference="Weighted",
                weightPreference={"staticWeightList": [{"targetCluster": names_only("a"), "weight": 2}]},
                clusterReplicaLimits=[{"targetCluster": names_only("a"), "minReplicas": 1, "maxReplicas": 4}],
            ),
        ),
        override(
            {
                "targetCluster": {
                    "labelSelector": {"matchExpressions": [{"key": "env", "operator": "Exists"}]}
                },
                "overriders": {
                    "imageOverrider": [{"component": "Tag", "operator": "remove"}],
                    "plaintext": [
                        {"path": "/spec/replicas", "operator": "replace", "value": 2},
                        {
                            "path": "/metadata/labels/cluster",
                            "operator": "add",
                            "value": "${MEMBER_CLUSTER_NAME}",
                        },
                    ],
                },
            }
        ),
    ],
    ids=["minimal-propagation", "full-propagation", "override"],
)
def test_valid_policies_have_no_problems(obj: dict[str, Any]) -> None:
    assert validate_object(obj) == []


def work(*manifests: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": names.WORK_API_VERSION,
        "kind": "Work",
        "metadata": {"name": "w", "namespace": "member-eu1"},
        "spec": {"workload": {"manifests": list(manifests)}, **spec},
    }


CONFIG_MAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"}}


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (work(CONFIG_MAP), []),
        (work({"kind": "ConfigMap", "metadata": {"name": "c"}}), ["spec.workload.manifests[0].apiVersion"]),
        (
            work({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}),
            ["spec.workload.manifests[0].metadata.name"],
        ),
        (work(CONFIG_MAP, copy.deepcopy(CONFIG_MAP)), ["spec.workload.manifests[1]"]),
        (
            work(
                CONFIG_MAP,
                manifestConfigs=[
                    {"resourceIdentifier": {"name": "c"}, "feedbackRules": [{"type": "JSONPaths"}]}
                ],
            ),
            ["spec.manifestConfigs[0].feedbackRules[0].jsonPaths"],
        ),
        (
            work(
                CONFIG_MAP,
                manifestConfigs=[
                    {
                        "resourceIdentifier": {"name": "c"},
                        "feedbackRules": [
                            {"type": "WellKnownStatus", "jsonPaths": [{"name": "n", "path": ".x"}]}
                        ],
                    }
                ],
            ),
            ["spec.manifestConfigs[0].feedbackRules[0].jsonPaths"],
        ),
    ],
)
def test_work_rules(obj: dict[str, Any], expected: list[str]) -> None:
    assert [p.path for p in validate_object(obj)] == expected


def test_member_cluster_taints_are_unique_by_key_and_effect() -> None:
    cluster = {
        "apiVersion": names.CLUSTER_API_VERSION,
        "kind": "MemberCluster",
        "metadata": {"name": "eu1", "namespace": "member-eu1"},
        "spec": {
            "taints": [
                {"key": "gpu", "effect": "NoSchedule"},
                {"key": "gpu", "effect": "NoExecute"},
                {"key": "gpu", "value": "x", "effect": "NoSchedule"},
            ]
        },
    }
    assert validate_object(cluster) == [FieldProblem("spec.taints", "taint gpu:NoSchedule repeats")]


def test_foreign_kinds_are_a_problem_not_an_exception() -> None:
    assert [p.path for p in validate_object({"apiVersion": "v1", "kind": "ConfigMap"})] == ["kind"]


@pytest.mark.parametrize(
    ("loc", "path"),
    [
        (("spec", "items", 0, "name"), "spec.items[0].name"),
        ((), ""),
        (("a", "function-after[x]", "int"), "a"),
    ],
)
def test_path_of(loc: tuple[int | str, ...], path: str) -> None:
    assert path_of(loc) == path


def test_validate_policy_takes_a_model_or_a_wire_dict() -> None:
    obj = propagation(maxClusters=1, spreadConstraints=[{"spreadByField": "cluster", "minGroups": 2}])
    expected = [
        FieldProblem(
            "spec.placement.spreadConstraints[0].minGroups",
            "minGroups 2 is greater than placement.maxClusters 1",
        )
    ]
    assert validate_policy(obj) == expected
    assert validate_policy(PropagationPolicy.from_dict(obj)) == expected
