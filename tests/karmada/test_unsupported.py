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
    ("propagateDeps is implemented", _pp(propagateDeps=True), []),
    ("association is implemented", _pp(association=True), []),
    (
        "application failover is implemented",
        _pp(
            failover={"application": {"decisionConditions": {"tolerationSeconds": 30}, "purgeMode": "Never"}}
        ),
        [],
    ),
    (
        "application failover state preservation is implemented",
        _pp(
            failover={
                "application": {
                    "decisionConditions": {},
                    "statePreservation": {"rules": [{"aliasLabelName": "a", "jsonPath": "{.x}"}]},
                }
            }
        ),
        [],
    ),
    ("cluster failover purge mode is implemented", _pp(failover={"cluster": {"purgeMode": "Directly"}}), []),
    (
        "cluster failover state preservation is implemented",
        _pp(
            failover={
                "cluster": {"statePreservation": {"rules": [{"aliasLabelName": "a", "jsonPath": "{.x}"}]}}
            }
        ),
        [],
    ),
    ("suspension is implemented", _pp(suspension={"dispatching": True}), []),
    ("preserve is implemented", _pp(preserveResourcesOnDeletion=True), []),
    ("lazy is implemented", _pp(activationPreference="Lazy"), []),
    (
        "schedulePriority is implemented",
        _pp(schedulePriority={"priorityClassSource": "KubePriorityClass", "priorityClassName": "high"}),
        [],
    ),
    (
        "workloadAffinity is implemented",
        _pp(placement={"workloadAffinity": {"affinity": {"groupByLabelKey": "app"}}}),
        [],
    ),
    ("another scheduler is left to it", _pp(schedulerName="my-scheduler"), []),
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


def test_a_policy_using_every_karmada_feature_at_once_is_refused_nothing() -> None:
    rules = {"rules": [{"aliasLabelName": "a", "jsonPath": "{.x}"}]}
    problems = unsupported_fields(
        _pp(
            schedulerName="mine",
            dependentOverrides=[],
            association=True,
            failover={
                "application": {"decisionConditions": {}, "statePreservation": rules},
                "cluster": {"statePreservation": rules},
            },
        )
    )
    assert problems == []


def test_every_documented_path_has_a_case() -> None:
    covered = {re.sub(r"\[\d+\]", "[]", path) for _, _, paths in CASES for path in paths}
    assert covered == set(documented_paths())
