"""Table tests for hub.rollout_gate and the revision helpers in shared.api.revision."""

from __future__ import annotations

from typing import Any

import pytest

from hub import rollout_gate
from hub.views import ANNOTATION_GENERATIONS
from shared.api import names, revision

STAGED = {"type": "Staged", "staged": {"stages": [{"name": "one"}]}}


def policy(strategy: dict[str, Any] | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap"}]}
    if strategy is not None:
        spec["rolloutStrategy"] = strategy
    return {"spec": spec}


def binding(rollout: dict[str, Any] | None) -> dict[str, Any]:
    return {"status": {"rollout": rollout}} if rollout is not None else {"status": {}}


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        (None, None),
        ({"type": "All"}, None),
        ({}, None),  # type defaults to All
        ({"type": "Staged"}, "Staged"),  # (staged missing: the policy is Valid=False; parsed all the same)
        (STAGED, "Staged"),
        ({"type": "RollingUpdate"}, "RollingUpdate"),
        ({"type": "Staged", "staged": {"stages": []}}, None),  # unreadable: the policy says why
    ],
)
def test_strategy_of(strategy: dict[str, Any] | None, expected: str | None) -> None:
    found = rollout_gate.strategy_of(policy(strategy))
    assert (found.type if found else None) == expected


@pytest.mark.parametrize(
    ("strategy", "rollout", "generation", "held"),
    [
        (None, None, 3, False),  # no strategy: nothing is ever held (rendering as before)
        ({"type": "All"}, {"revision": 2, "clusters": [{"name": "a", "revision": 2}]}, 3, False),
        (STAGED, None, 3, True),  # no rollout decided yet
        (STAGED, {"revision": 3, "clusters": [{"name": "a", "revision": 3}]}, 3, False),
        (STAGED, {"revision": 3, "clusters": [{"name": "a"}]}, 3, True),  # pending
        (STAGED, {"revision": 2, "clusters": [{"name": "a", "revision": 2}]}, 3, True),  # a newer edit
        (STAGED, {"revision": 3, "clusters": [{"name": "b", "revision": 3}]}, 3, True),
        (STAGED, None, None, False),  # a template without a generation is not gated
    ],
)
def test_held(
    strategy: dict[str, Any] | None, rollout: dict[str, Any] | None, generation: Any, held: bool
) -> None:
    parsed = rollout_gate.strategy_of(policy(strategy))
    assert (
        rollout_gate.held(strategy=parsed, binding=binding(rollout), cluster="a", generation=generation)
        is held
    )


def test_stamped_generation_reads_the_works_annotation() -> None:
    works = [
        {"metadata": {"annotations": {ANNOTATION_GENERATIONS: '{"ConfigMap/shop/a":4}'}}},
        {"metadata": {"annotations": {ANNOTATION_GENERATIONS: '{"Deployment.apps/shop/web":7}'}}},
    ]
    assert rollout_gate.stamped_generation(works, "Deployment.apps/shop/web") == 7
    assert rollout_gate.stamped_generation(works, "Deployment.apps/shop/other") is None


def template(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "generation": 3, "uid": "u"},
        "spec": spec,
        "status": {"replicas": 2},
    }


def test_revision_body_keeps_content_and_labels() -> None:
    body = revision.revision_body(
        template=template({"replicas": 2}), binding_name="web-deployment", revision=3
    )
    assert body["metadata"]["name"] == "web-deployment-r3"
    assert body["metadata"]["labels"] == {
        names.LABEL_MANAGED_BY: names.MANAGED_BY_VALUE,
        names.LABEL_REVISION_KIND: "Deployment.apps",
        names.LABEL_REVISION_NAME: "web",
    }
    assert body["spec"] == {
        "template": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web"},
        "revision": 3,
        "content": {"spec": {"replicas": 2}},
    }
    long = revision.template_labels("v1", "ConfigMap", "x" * 100)[names.LABEL_REVISION_NAME]
    assert len(long) <= 63


def test_restore_patch_removes_what_the_revision_lacks() -> None:
    now = template({"replicas": 2, "paused": True, "template": {"spec": {"containers": [{"image": "b"}]}}})
    patch = revision.restore_patch(
        now, {"spec": {"replicas": 2, "template": {"spec": {"containers": [{"image": "a"}]}}}}
    )
    assert patch == {"spec": {"paused": None, "template": {"spec": {"containers": [{"image": "a"}]}}}}
    assert revision.restore_patch(now, revision.content_of(now)) == {}
