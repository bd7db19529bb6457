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
        (STAGED, None, None, False),  # generation_of None (a Secret): not gated
        (STAGED, {"revision": 3, "clusters": [{"name": "a", "revision": 3}]}, 0, True),  # UNNUMBERED
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


CFG = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"k": "v2"}}


@pytest.mark.parametrize(
    ("template", "strategy", "rollout", "expected"),
    [
        ({**CFG, "metadata": {"name": "cfg", "generation": 5}}, STAGED, None, 5),  # its own generation
        (CFG, None, None, None),  # no strategy: a kind without a generation is not gated (as before)
        (CFG, {"type": "All"}, None, None),
        (CFG, STAGED, {"revision": 4, "contentDigest": revision.content_digest(CFG)}, 4),  # numbered
        # the content changed since the hub numbered it: held everywhere until it is renumbered
        (CFG, STAGED, {"revision": 4, "contentDigest": revision.content_digest({"data": {"k": "v1"}})}, 0),
        (CFG, STAGED, None, 0),
        ({**CFG, "kind": "Secret"}, STAGED, {"revision": 4}, None),  # Secrets are not staged
    ],
)
def test_generation_of(
    template: dict[str, Any], strategy: dict[str, Any] | None, rollout: dict[str, Any] | None, expected: Any
) -> None:
    parsed = rollout_gate.strategy_of(policy(strategy))
    assert rollout_gate.generation_of(template, binding(rollout), parsed) == expected
    assert rollout_gate.UNNUMBERED == 0


def test_content_digest_ignores_metadata_and_status() -> None:
    other = {**CFG, "metadata": {"name": "cfg", "labels": {"a": "b"}}, "status": {"x": 1}}
    assert revision.content_digest(other) == revision.content_digest(CFG)
    assert revision.content_digest({**CFG, "data": {"k": "v3"}}) != revision.content_digest(CFG)
    assert revision.same_content(other, CFG) and not revision.same_content({**CFG, "data": {}}, CFG)


def test_a_cluster_scoped_template_gets_a_cluster_template_revision() -> None:
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "reader"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
    }
    body = revision.revision_body(template=role, binding_name="reader-clusterrole", revision=2)
    assert body["kind"] == names.KIND_CLUSTER_TEMPLATE_REVISION and "namespace" not in body["metadata"]
    assert body["spec"]["template"] == {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "name": "reader",
    }
    assert body["spec"]["content"] == {"rules": role["rules"]}
    assert revision.revision_kind("shop") == names.KIND_TEMPLATE_REVISION


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


def work_with(conditions: list[dict[str, Any]] | None, *, observed: int = 2, stamp: int = 5) -> Any:
    from hub.views import WorkView

    manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
    }
    status: dict[str, Any] = {
        "conditions": [{"type": "Applied", "status": "True", "observedGeneration": observed}]
    }
    if conditions is not None:
        identifier = {
            "group": "apps",
            "version": "v1",
            "kind": "Deployment",
            "namespace": "shop",
            "name": "web",
        }
        status["manifestConditions"] = [{"identifier": identifier, "conditions": conditions}]
    return WorkView.of(
        {
            "metadata": {
                "name": "w",
                "namespace": "member-a",
                "generation": 2,
                "annotations": {ANNOTATION_GENERATIONS: f'{{"Deployment.apps/shop/web":{stamp}}}'},
            },
            "spec": {"workload": {"manifests": [manifest]}},
            "status": status,
        }
    )


def c(kind: str, status: str, reason: str = "R", message: str = "") -> dict[str, Any]:
    return {"type": kind, "status": status, "reason": reason, "message": message}


@pytest.mark.parametrize(
    ("work", "health", "message"),
    [
        (work_with([c("Applied", "True"), c("Available", "True", "Available")]), "Available", ""),
        (work_with([c("Applied", "True"), c("Available", "True", "NotTracked")]), "NotTracked", ""),
        (
            work_with([c("Applied", "False", "ManifestApplyFailed", "boom")]),
            "Failed",
            "Applied: ManifestApplyFailed: boom",
        ),
        (
            work_with([c("Applied", "True"), c("Available", "False", "Failed", "job failed")]),
            "Failed",
            "Available: Failed: job failed",
        ),
        (
            work_with([c("Applied", "True"), c("Available", "False", "NotAvailableYet", "1/2")]),
            "Progressing",
            "1/2",
        ),
        (
            work_with([c("Applied", "True"), c("Available", "True")], observed=1),
            "Progressing",
            "not applied yet",
        ),
        (work_with(None), "Progressing", "not applied yet"),
    ],
)
def test_observe_reads_the_agents_report(work: Any, health: str, message: str) -> None:
    from hub.controller_rollout import observe
    from hub.matching import TemplateRef

    ref = TemplateRef("apps/v1", "Deployment", "shop", "web")
    found = observe("a", labels={"ring": "0"}, ref=ref, work=work)
    assert (found.health, found.message, found.revision, found.has_previous) == (health, message, 5, True)


def test_observe_a_cluster_without_the_template() -> None:
    from hub.controller_rollout import observe
    from hub.matching import TemplateRef

    found = observe(
        "a", labels={}, ref=TemplateRef("apps/v1", "Deployment", "shop", "other"), work=work_with(None)
    )
    assert (found.health, found.revision, found.has_previous) == ("Unknown", None, False)
