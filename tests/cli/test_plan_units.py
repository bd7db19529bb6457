"""Table tests for the pure parts of ``waybill plan`` over a hub and ``--diff``:
``waybill.plan_sources`` (merge, scopes, relevant templates) and ``waybill.diffing``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hub import planning
from hub.clusters import ClusterView
from hub.matching import TemplateRef
from shared.api import names
from waybill import diffing, plan_sources


def policy(
    name: str, *, namespace: str = "shop", selectors: list[dict[str, Any]], clusters: list[str]
) -> dict[str, Any]:
    return {
        "apiVersion": names.POLICY_API_VERSION,
        "kind": names.KIND_PROPAGATION_POLICY,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "resourceSelectors": selectors,
            "placement": {"clusterAffinity": {"clusterNames": clusters}},
        },
    }


def deployment(name: str, namespace: str = "shop", image: str = "nginx:1") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": image}]}}},
    }


def member(name: str) -> dict[str, Any]:
    return {
        "apiVersion": names.CLUSTER_API_VERSION,
        "kind": names.KIND_MEMBER_CLUSTER,
        "metadata": {"name": name, "namespace": f"member-{name}"},
    }


SELECT_WEB = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}]


def test_the_files_objects_replace_their_live_versions() -> None:
    live = [policy("web", selectors=SELECT_WEB, clusters=["eu1"]), member("eu1"), deployment("web")]
    changed = policy("web", selectors=SELECT_WEB, clusters=["eu1", "us1"])
    merged = plan_sources.merge([changed], live)
    assert merged == [changed, member("eu1"), deployment("web")]


def test_list_scopes_follow_the_policy_scope() -> None:
    namespaced = policy(
        "web", selectors=[*SELECT_WEB, {"apiVersion": "v1", "kind": "ConfigMap"}], clusters=[]
    )
    cluster_wide = {
        **policy(
            "all",
            selectors=[{"apiVersion": "v1", "kind": "Secret", "namespace": "ops"}, {"kind": "X"}],
            clusters=[],
        ),
        "kind": names.KIND_CLUSTER_PROPAGATION_POLICY,
    }
    assert plan_sources.list_scopes([namespaced, cluster_wide]) == {
        ("apps/v1", "Deployment", "shop"),
        ("v1", "ConfigMap", "shop"),
        ("v1", "Secret", "ops"),
    }


def test_relevant_templates_are_those_the_new_or_the_live_policy_selects() -> None:
    narrowed = policy("web", selectors=SELECT_WEB, clusters=["eu1"])
    live_version = policy(
        "web", selectors=[{"apiVersion": "apps/v1", "kind": "Deployment"}], clusters=["eu1"]
    )
    templates = [deployment("web"), deployment("api"), deployment("web", namespace="other")]
    relevant = plan_sources.relevant_templates(templates, policies=[narrowed], file_identities=set())
    assert [TemplateRef.of(t) for t in relevant] == [TemplateRef("apps/v1", "Deployment", "shop", "web")]
    both = plan_sources.relevant_templates(
        templates, policies=[narrowed, live_version], file_identities=set()
    )
    assert [str(TemplateRef.of(t)) for t in both] == ["Deployment/shop/web", "Deployment/shop/api"]
    in_file = {plan_sources.identity(deployment("web"))}
    assert plan_sources.relevant_templates(templates, policies=[narrowed], file_identities=in_file) == []


def planned(image: str = "nginx:2") -> list[planning.TemplatePlan]:
    return planning.plan(
        templates=[deployment("web", image=image)],
        policies=[policy("web", selectors=SELECT_WEB, clusters=["eu1", "us1"])],
        override_policies=[],
        clusters=[ClusterView.from_member(member("eu1")), ClusterView.from_member(member("us1"))],
    )


def test_preview_works_are_report_diff_unmanaged_and_expire() -> None:
    expires = datetime(2026, 12, 6, 23, 0, tzinfo=UTC)
    works, refused = diffing.preview_works(planned(), [member("eu1")], preview_id="abc", expires=expires)
    assert refused == {"us1": "no MemberCluster of that name on the hub"}
    [work] = works
    meta = work.work["metadata"]
    assert (work.cluster, meta["name"], meta["namespace"]) == ("eu1", "waybill-preview-abc", "member-eu1")
    assert meta["labels"] == {names.LABEL_PREVIEW: "abc", names.LABEL_CLUSTER: "eu1"}
    assert names.LABEL_MANAGED_BY not in meta["labels"]  # the hub's works informer never sees it
    assert meta["annotations"] == {names.ANNOTATION_PREVIEW_EXPIRES: "2026-12-06T23:00:00Z"}
    assert work.work["spec"]["applyStrategy"] == {"type": "ReportDiff"}
    assert work.manifests == ["Deployment/shop/web"]
    assert (
        work.work["spec"]["workload"]["manifests"][0]["spec"]["template"]["spec"]["containers"][0]["image"]
        == "nginx:2"
    )


def test_a_secret_is_not_previewed_to_a_member_without_a_sealing_key() -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "shop"},
        "data": {},
    }
    plans = planning.plan(
        templates=[secret],
        policies=[policy("db", selectors=[{"apiVersion": "v1", "kind": "Secret"}], clusters=["eu1"])],
        override_policies=[],
        clusters=[ClusterView.from_member(member("eu1"))],
    )
    works, refused = diffing.preview_works(plans, [member("eu1")], preview_id="x", expires=datetime.now(UTC))
    assert works == [] and "status.sealingKey" in refused["eu1"]


def answered(status: dict[str, Any], generation: int = 1) -> dict[str, Any]:
    return {"metadata": {"generation": generation}, "status": status}


def test_reading_the_agents_answer() -> None:
    [work], _ = diffing.preview_works(planned(), [member("eu1")], preview_id="a", expires=datetime.now(UTC))
    assert diffing.read_answer(work, answered({})) is None
    stale = {"conditions": [{"type": "DiffReported", "status": "True", "observedGeneration": 1}]}
    assert diffing.read_answer(work, answered(stale, generation=2)) is None
    diffs = [
        {"path": "/spec/template/spec/containers/0/image", "memberValue": "nginx:1", "hubValue": "nginx:2"}
    ]
    status = {
        **stale,
        "manifestConditions": [
            {
                "identifier": {"ordinal": 0},
                "conditions": [{"type": "DiffReported", "message": "1"}],
                "diffs": diffs,
            }
        ],
    }
    [diff] = diffing.read_answer(work, answered(status)) or []
    assert diff.outcome == diffing.CHANGE
    assert diff.changes == (
        diffing.FieldChange("/spec/template/spec/containers/0/image", "nginx:1", "nginx:2"),
    )
    missing = {
        **status,
        "manifestConditions": [
            {**status["manifestConditions"][0], "diffs": [{"path": "/", "hubValue": "(object)"}]}
        ],
    }
    assert [d.outcome for d in diffing.read_answer(work, answered(missing)) or []] == [diffing.CREATE]
    refused = {
        "conditions": [{"type": "Applied", "status": "False", "observedGeneration": 1}],
        "manifestConditions": [
            {
                "identifier": {"ordinal": 0},
                "conditions": [{"type": "Applied", "reason": "Forbidden", "message": "guard"}],
            }
        ],
    }
    [diff] = diffing.read_answer(work, answered(refused)) or []
    assert (diff.outcome, diff.message) == (diffing.NOT_COMPARED, "Forbidden: guard")


def test_rendering_and_exit_codes() -> None:
    change = diffing.ManifestDiff(
        "Deployment/shop/web", diffing.CHANGE, (diffing.FieldChange("/spec/x", None, "1"),)
    )
    answers = [
        diffing.MemberAnswer(
            "eu1", diffing.ANSWERED, [change, diffing.ManifestDiff("Namespace/shop", diffing.SAME)]
        ),
        diffing.MemberAnswer("us1", diffing.NO_ANSWER, message="no answer within 3 s"),
    ]
    text = diffing.render(answers)
    assert text.splitlines() == [
        "== diff on eu1: 1 of 2 manifests would change",
        "   Deployment/shop/web: 1 field(s)",
        "     /spec/x: (unset) -> 1",
        "   Namespace/shop: no change",
        "== diff on us1: no answer within 3 s",
    ]
    assert diffing.exit_code(answers) == 1 and diffing.exit_code(answers[:1]) == 0
    not_compared = diffing.MemberAnswer(
        "eu1", diffing.ANSWERED, [diffing.ManifestDiff("X/y", diffing.NOT_COMPARED)]
    )
    assert diffing.exit_code([not_compared]) == 1
