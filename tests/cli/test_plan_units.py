"""Table tests for the pure parts of ``waybill plan`` over a hub and ``--diff``:
``waybill.plan_sources`` (merge, scopes, relevant templates) and ``waybill.diffing``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub import planning
from hub.clusters import ClusterView
from hub.matching import PolicyRef, TemplateRef
from shared.api import names
from waybill import cli, cmd_plan, diffing, plan_sources


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
    found = diffing.preview_works(planned(), [member("eu1")], preview_id="abc", expires=expires)
    assert found.refused == {"us1": "no MemberCluster of that name on the hub"}
    [work] = found.works
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
    found = diffing.preview_works(plans, [member("eu1")], preview_id="x", expires=datetime.now(UTC))
    assert found.works == [] and found.refused == {}
    [not_sent] = found.not_sent["eu1"]  # that manifest is not compared; the member's others would be
    assert not_sent.outcome == diffing.NOT_COMPARED and "status.sealingKey" in not_sent.message


def test_policies_with_different_takeover_go_in_different_preview_works() -> None:
    plans = planning.plan(
        templates=[deployment("web"), deployment("api")],
        policies=[
            policy("web", selectors=SELECT_WEB, clusters=["eu1"]),
            policy(
                "api",
                selectors=[{"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"}],
                clusters=["eu1"],
            ),
        ],
        override_policies=[],
        clusters=[ClusterView.from_member(member("eu1"))],
    )
    takeover = {
        PolicyRef(names.KIND_PROPAGATION_POLICY, "shop", "web"): "Never",
        PolicyRef(names.KIND_PROPAGATION_POLICY, "shop", "api"): "Always",
    }
    found = diffing.preview_works(
        plans, [member("eu1")], preview_id="t", expires=datetime.now(UTC), takeover=takeover
    )
    strategies = {
        w.manifests[0]: (w.work["metadata"]["name"], w.work["spec"]["applyStrategy"]) for w in found.works
    }
    assert strategies == {
        "Deployment/shop/api": ("waybill-preview-t", {"type": "ReportDiff", "whenToTakeOver": "Always"}),
        "Deployment/shop/web": ("waybill-preview-t-p1", {"type": "ReportDiff", "whenToTakeOver": "Never"}),
    }


def answered(status: dict[str, Any], generation: int = 1) -> dict[str, Any]:
    return {"metadata": {"generation": generation}, "status": status}


def test_reading_the_agents_answer() -> None:
    [work] = diffing.preview_works(
        planned(), [member("eu1")], preview_id="a", expires=datetime.now(UTC)
    ).works
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
        "   Deployment/shop/web: 1 field(s) differ",
        "     /spec/x: (unset) -> 1",
        "   Namespace/shop: no change",
        "== diff on us1: no answer within 3 s",
    ]
    assert diffing.exit_code(answers) == 1 and diffing.exit_code(answers[:1]) == 0
    not_compared = diffing.MemberAnswer(
        "eu1", diffing.ANSWERED, [diffing.ManifestDiff("X/y", diffing.NOT_COMPARED)]
    )
    assert diffing.exit_code([not_compared]) == 1


@pytest.mark.parametrize("value", ["0", "-1", "soon", "7200"])
def test_a_bad_diff_timeout_is_a_usage_error(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["plan", "-f", "x.yaml", "--diff", "--diff-timeout", value])
    assert exit_info.value.code == 2
    assert "--diff-timeout" in capsys.readouterr().err


def test_members_a_template_would_leave() -> None:
    plans = planned()  # web on eu1 and us1
    placed_now = {("apps", "Deployment", "shop", "web"): ["eu1", "ap1"]}
    assert diffing.removals(plans, placed_now) == {
        "ap1": [
            diffing.ManifestDiff(
                "Deployment/shop/web", diffing.REMOVE, message="no longer placed on this member"
            )
        ]
    }
    unclaimed = planning.plan(
        templates=[deployment("web")],
        policies=[],
        override_policies=[],
        clusters=[ClusterView.from_member(member("eu1"))],
    )
    assert diffing.removals(unclaimed, placed_now) == {}  # the hub keeps an orphaned binding's placement


def test_a_bad_customization_names_its_field_and_hub_kinds_are_not_planned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ric = {
        "apiVersion": names.CONFIG_API_VERSION,
        "kind": names.KIND_RESOURCE_INTERPRETER_CUSTOMIZATION,
        "metadata": {"name": "widgets"},
        "spec": {"target": {"apiVersion": "example.com/v1"}},
    }
    path = tmp_path / "ric.yaml"
    path.write_text(yaml.safe_dump_all([ric, deployment("web")]))
    assert cli.main(["plan", "-f", str(path)]) == 2
    err = capsys.readouterr().err
    assert "ResourceInterpreterCustomization widgets: spec.target.kind: Field required" in err, err
    work = {
        "apiVersion": names.WORK_API_VERSION,
        "kind": names.KIND_WORK,
        "metadata": {"name": "w", "namespace": "m"},
    }
    path.write_text(yaml.safe_dump_all([work, deployment("web")]))
    assert cli.main(["plan", "-f", str(path), "--no-manifests"]) == 0
    assert (
        f"warning: {path}: Work m/w is not planned (the hub writes that kind itself)"
        in capsys.readouterr().err
    )


def test_a_customization_of_a_planned_kind_is_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    ric = {
        "apiVersion": names.CONFIG_API_VERSION,
        "kind": names.KIND_RESOURCE_INTERPRETER_CUSTOMIZATION,
        "metadata": {"name": "deployments"},
        "spec": {"target": {"apiVersion": "apps/v1", "kind": "Deployment"}, "customizations": {}},
    }
    objects = [ric, deployment("web"), policy("web", selectors=SELECT_WEB, clusters=["eu1"]), member("eu1")]
    planned_ = cmd_plan.make_plan("f.yaml", objects, hub=False)
    assert [str(p.template) for p in planned_.plans] == ["Deployment/shop/web"]  # not planned as a template
    err = capsys.readouterr().err
    assert "warning: ResourceInterpreterCustomization deployments customizes apps/v1 Deployment" in err
