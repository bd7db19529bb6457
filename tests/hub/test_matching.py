"""Table tests for hub.matching: which policy claims a template."""

from __future__ import annotations

from typing import Any, cast

import pytest

from hub import matching
from hub.state import HubState
from shared.kube.client import KubeClient
from shared.kube.types import WatchEvent
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


def test_one_parse_gives_the_validation_and_the_typed_view(monkeypatch: pytest.MonkeyPatch) -> None:
    parses: list[str] = []
    real_load = matching.load

    def counting_load(obj: Any) -> Any:
        parses.append(str(obj["metadata"]["name"]))
        return real_load(obj)

    monkeypatch.setattr(matching, "load", counting_load)
    pol = policy("a", selectors=[by_labels(tier="front")], priority=4, placement={"maxClusters": 2})
    view = matching.PolicyView.of(pol)
    assert view.valid and view.check.problems == ()
    assert view.priority == 4 and view.placement is not None and view.placement.max_clusters == 2
    assert view.resource_selectors[0].label_selector is not None
    assert matching.choose_policy(deployment(labels={"tier": "front"}), [view]) == view.ref
    assert parses == ["a"], "validation, selectors and placement come from one parse"


def test_a_policy_that_does_not_parse_is_invalid_and_claims_nothing() -> None:
    bad = policy("a", selectors=[DEP], placement={"maxClusters": "many"})
    view = matching.PolicyView.of(bad)
    assert view.model is None and not view.valid
    assert any(p.startswith("spec.placement.maxClusters") for p in view.check.problems), view.check
    assert matching.choose_policy(deployment(), [view]) is None


def test_the_hub_parses_a_policy_once_per_resource_version(monkeypatch: pytest.MonkeyPatch) -> None:
    parses: list[str] = []
    real_of = matching.PolicyView.of.__func__  # type: ignore[attr-defined]

    def counting_of(cls: type[matching.PolicyView], obj: Any) -> matching.PolicyView:
        parses.append(str(obj["metadata"]["resourceVersion"]))
        view: matching.PolicyView = real_of(cls, obj)
        return view

    monkeypatch.setattr(matching.PolicyView, "of", classmethod(counting_of))
    state = HubState(cast(KubeClient, None))
    first = policy("a", selectors=[DEP])
    first["metadata"]["resourceVersion"] = "1"
    state.policies._apply(WatchEvent("ADDED", first))
    cached = state.policies.get("default/a")
    assert cached is not None
    view = state.policy_view(cached)
    assert state.policy_view(cached) is view and state.policy_check(cached) is view.check
    assert state.valid_propagation_policies() == [view]
    assert parses == ["1"]
    second = {**first, "metadata": {**first["metadata"], "resourceVersion": "2"}}
    state.policies._apply(WatchEvent("MODIFIED", second))
    assert state.valid_propagation_policies()[0] is not view
    assert state.valid_propagation_policies()[0] is state.valid_propagation_policies()[0]
    assert parses == ["1", "2"]
