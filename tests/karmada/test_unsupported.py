"""Karmada fields Waybill does not implement are named, never silently accepted (hub.unsupported)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from hub.unsupported import documented_paths, unsupported_fields
from shared.api import names


def _pp(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": names.POLICY_API_VERSION,
        "kind": "PropagationPolicy",
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment"}], **spec},
    }


def _op(overriders: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": names.POLICY_API_VERSION,
        "kind": "OverridePolicy",
        "metadata": {"name": "o", "namespace": "default"},
        "spec": {"overrideRules": [{"overriders": overriders}]},
    }


CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("propagateDeps", _pp(propagateDeps=True), ["spec.propagateDeps"]),
    ("association", _pp(association=True), ["spec.association"]),
    (
        "application failover",
        _pp(
            failover={"application": {"decisionConditions": {"tolerationSeconds": 30}, "purgeMode": "Never"}}
        ),
        ["spec.failover.application"],
    ),
    ("cluster failover", _pp(failover={"cluster": {"purgeMode": "Directly"}}), ["spec.failover.cluster"]),
    (
        "tolerationSeconds",
        _pp(
            placement={
                "clusterTolerations": [
                    {"key": "a", "operator": "Exists"},
                    {"key": "b", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 60},
                ]
            }
        ),
        ["spec.placement.clusterTolerations[1].tolerationSeconds"],
    ),
    ("suspend all", _pp(suspension={"dispatching": True}), ["spec.suspension.dispatching"]),
    (
        "suspend some",
        _pp(suspension={"dispatchingOnClusters": {"clusterNames": ["m1"]}}),
        ["spec.suspension.dispatchingOnClusters"],
    ),
    ("preserve", _pp(preserveResourcesOnDeletion=True), ["spec.preserveResourcesOnDeletion"]),
    ("lazy", _pp(activationPreference="Lazy"), ["spec.activationPreference"]),
    (
        "schedulePriority",
        _pp(schedulePriority={"priorityClassSource": "KubePriorityClass", "priorityClassName": "high"}),
        ["spec.schedulePriority"],
    ),
    (
        "workloadAffinity",
        _pp(placement={"workloadAffinity": {"affinity": {"groupByLabelKey": "app"}}}),
        ["spec.placement.workloadAffinity"],
    ),
    (
        "overflow",
        _pp(
            placement={
                "clusterAffinities": [
                    {
                        "affinityName": "a",
                        "clusterNames": ["m1"],
                        "overflowAffinities": [{"affinityName": "b", "clusterNames": ["m2"]}],
                    }
                ]
            }
        ),
        ["spec.placement.clusterAffinities[0].overflowAffinities"],
    ),
    ("dependentOverrides", _pp(dependentOverrides=["op1"]), ["spec.dependentOverrides"]),
    ("another scheduler", _pp(schedulerName="my-scheduler"), ["spec.schedulerName"]),
    (
        "fieldOverrider",
        _op(
            {"fieldOverrider": [{"fieldPath": "/data/a", "json": [{"subPath": "/x", "operator": "remove"}]}]}
        ),
        ["spec.overrideRules[0].overriders.fieldOverrider"],
    ),
    # No-op values of those fields are not uses: a Karmada file that spells out the defaults is fine.
    (
        "defaults spelled out",
        _pp(
            propagateDeps=False,
            association=False,
            schedulerName="default-scheduler",
            preserveResourcesOnDeletion=False,
            suspension={"dispatching": False, "dispatchingOnClusters": {"clusterNames": []}},
            dependentOverrides=[],
        ),
        [],
    ),
    ("plain policy", _pp(placement={"clusterAffinity": {"clusterNames": ["m1"]}}), []),
    (
        "plain override",
        _op({"plaintext": [{"path": "/spec/replicas", "operator": "replace", "value": 1}]}),
        [],
    ),
    ("not a policy that parses", {"kind": "PropagationPolicy", "apiVersion": names.POLICY_API_VERSION}, []),
]


@pytest.mark.parametrize(("policy", "expected"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_unsupported_fields_are_named(policy: dict[str, Any], expected: list[str]) -> None:
    problems = unsupported_fields(policy)
    assert [p.path for p in problems] == expected
    assert all("not supported by Waybill" in p.message for p in problems)


def test_several_at_once_in_one_message() -> None:
    problems = unsupported_fields(_pp(propagateDeps=True, activationPreference="Lazy"))
    assert {p.path for p in problems} == {"spec.propagateDeps", "spec.activationPreference"}


def test_every_documented_path_has_a_case() -> None:
    covered = {re.sub(r"\[\d+\]", "[]", path) for _, _, paths in CASES for path in paths}
    assert covered == set(documented_paths())
