"""Table tests for hub.matching: which policy claims a template."""

from __future__ import annotations

from typing import Any

import pytest

from hub import matching
from tests.hub.helpers import configmap, deployment, policy

DEP = {"apiVersion": "apps/v1", "kind": "Deployment"}


def by_name(name: str) -> dict[str, Any]:
    return {**DEP, "name": name}


def by_labels(**labels: str) -> dict[str, Any]:
    return {**DEP, "labelSelector": {"matchLabels": labels}}


@pytest.mark.parametrize(
    ("policies", "expected"),
    [
        pytest.param([], None, id="no-policy"),
        pytest.param([policy("a", selectors=[DEP])], "a", id="kind-only"),
        pytest.param(
            [policy("a", selectors=[DEP]), policy("b", selectors=[by_name("web")])], "b", id="name-beats-kind"
        ),
        pytest.param(
            [policy("a", selectors=[by_labels(tier="front")]), policy("b", selectors=[DEP])],
            "a",
            id="labels-beat-kind",
        ),
        pytest.param(
            [policy("a", selectors=[by_labels(tier="front")]), policy("b", selectors=[by_name("web")])],
            "b",
            id="name-beats-labels",
        ),
        pytest.param(
            [policy("a", selectors=[by_name("web")]), policy("b", selectors=[DEP], priority=5)],
            "b",
            id="priority-beats-specificity",
        ),
        pytest.param([policy("b", selectors=[DEP]), policy("a", selectors=[DEP])], "a", id="name-order"),
        pytest.param([policy("a", selectors=[by_name("other")])], None, id="other-name"),
        pytest.param([policy("a", selectors=[by_labels(tier="back")])], None, id="labels-mismatch"),
        pytest.param([policy("a", namespace="prod", selectors=[DEP])], None, id="other-namespace"),
        pytest.param(
            [
                policy("c", namespace=None, selectors=[by_name("web")], priority=100),
                policy("a", selectors=[DEP]),
            ],
            "a",
            id="namespaced-beats-cluster",
        ),
        pytest.param([policy("c", namespace=None, selectors=[DEP])], "c", id="cluster-when-alone"),
        pytest.param(
            [policy("c", namespace=None, selectors=[{**DEP, "namespace": "prod"}])],
            None,
            id="cluster-selector-namespace",
        ),
        pytest.param(
            [policy("a", selectors=[{"apiVersion": "apps/v1", "kind": "StatefulSet"}])], None, id="other-kind"
        ),
    ],
)
def test_choose_policy(policies: list[dict[str, Any]], expected: str | None) -> None:
    template = deployment(labels={"tier": "front"})
    chosen = matching.choose_policy(template, policies)
    assert (chosen.name if chosen else None) == expected


def test_policy_being_deleted_does_not_claim() -> None:
    doomed = policy("a", selectors=[DEP], priority=10)
    doomed["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    chosen = matching.choose_policy(deployment(), [doomed, policy("b", selectors=[DEP])])
    assert chosen is not None and chosen.name == "b"


def test_claims_move_when_policies_change() -> None:
    templates = [deployment("web"), deployment("api"), configmap("cfg")]
    broad = policy("broad", selectors=[DEP, {"apiVersion": "v1", "kind": "ConfigMap"}])
    claims = matching.claims(templates, [broad])
    assert {str(t): p.name for t, p in claims.items()} == {
        "Deployment/default/web": "broad",
        "Deployment/default/api": "broad",
        "ConfigMap/default/cfg": "broad",
    }
    narrow = policy("narrow", selectors=[by_name("api")])
    claims = matching.claims(templates, [broad, narrow])
    assert claims[matching.TemplateRef("apps/v1", "Deployment", "default", "api")].name == "narrow"
    claims = matching.claims(templates, [narrow])
    assert set(map(str, claims)) == {"Deployment/default/api"}


def test_selected_kinds() -> None:
    kinds = matching.selected_kinds([policy("a", selectors=[DEP, {"apiVersion": "v1", "kind": "ConfigMap"}])])
    assert kinds == {("apps/v1", "Deployment"), ("v1", "ConfigMap")}
