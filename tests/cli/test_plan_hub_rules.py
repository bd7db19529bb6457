"""``waybill plan`` previews what the hub really does: ``propagateDeps`` dependencies per member,
``spec.suspension`` (nothing new applied, nothing asked of the agent), a ``schedulerName`` the
hub does not serve (not placed), and the rollout strategy problems the hub reports on the policy
(static: exit 2; a stage no member answers: an error line, exit 1). Pure: the planner, the
preview Works and the text, through the same functions the hub's controllers use."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub import planning, suspension
from hub.clusters import ClusterView
from shared.api import names
from waybill import cli, cmd_plan, diffing

EXPIRES = datetime(2026, 12, 7, 23, 0, tzinfo=UTC)
SELECT_WEB = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}]


def policy(name: str, *, selectors: list[dict[str, Any]] = SELECT_WEB, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": names.POLICY_API_VERSION,
        "kind": names.KIND_PROPAGATION_POLICY,
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {
            "resourceSelectors": selectors,
            "placement": {"clusterAffinity": {"clusterNames": ["eu1", "us1"]}},
            **spec,
        },
    }


def deployment(name: str = "web", *, config: str = "cfg") -> dict[str, Any]:
    container = {"name": "c", "image": "nginx:1", "envFrom": [{"configMapRef": {"name": config}}]}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [container],
                    "imagePullSecrets": [{"name": "pull"}],
                }
            }
        },
    }


def config_map(name: str = "cfg") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "shop"},
        "data": {},
    }


def member(name: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": names.CLUSTER_API_VERSION,
        "kind": names.KIND_MEMBER_CLUSTER,
        "metadata": {"name": name, "namespace": f"member-{name}", "labels": labels},
    }


MEMBERS = [member("eu1", ring="0"), member("us1", ring="1")]
CLUSTERS = [ClusterView.from_member(m) for m in MEMBERS]


def plan(
    *policies: dict[str, Any], templates: list[dict[str, Any]], **options: Any
) -> list[planning.TemplatePlan]:
    return planning.plan(
        templates=templates, policies=list(policies), override_policies=[], clusters=CLUSTERS, **options
    )


def entry_of(plans: list[planning.TemplatePlan], name: str) -> planning.TemplatePlan:
    return next(p for p in plans if p.template.name == name)


# --- propagateDeps -------------------------------------------------------------------------------
def test_dependencies_are_planned_and_previewed_per_member_marked_as_dependencies() -> None:
    plans = plan(policy("web", propagateDeps=True), templates=[deployment(), config_map()])
    web = entry_of(plans, "web")
    assert [str(d) for d in web.dependency_refs] == ["ConfigMap/shop/cfg", "Secret/shop/pull"]
    assert sorted(web.dependencies) == ["eu1", "us1"]
    assert list(web.dependencies["eu1"]) == ["ConfigMap/shop/cfg"]
    assert [str(d) for d in web.missing_dependencies] == ["Secret/shop/pull"]  # the hub sends nothing
    text = cmd_plan.render(plans, manifests=True)
    assert "   dependencies (propagateDeps):\n     ConfigMap/shop/cfg -> eu1, us1\n" in text, text
    assert "     Secret/shop/pull: not on the hub, nothing is sent for it" in text
    assert "--- # ConfigMap/shop/cfg on eu1 (dependency of Deployment/shop/web)" in text
    assert "   not claimed by any propagation policy (sent as a dependency of Deployment/shop/web)" in text
    works = diffing.preview_works(plans, MEMBERS, preview_id="p", expires=EXPIRES).works
    assert {w.cluster: w.manifests for w in works} == {
        cluster: ["Deployment/shop/web", "ConfigMap/shop/cfg (dependency of Deployment/shop/web)"]
        for cluster in ("eu1", "us1")
    }
    kinds = [m["kind"] for m in works[0].work["spec"]["workload"]["manifests"]]
    assert kinds == ["Deployment", "ConfigMap"]


def test_no_dependencies_without_propagate_deps_and_one_owner_for_a_shared_one() -> None:
    alone = plan(policy("web"), templates=[deployment(), config_map()])
    assert entry_of(alone, "web").dependencies == {}
    assert "dependencies" not in cmd_plan.render(alone, manifests=False)
    # two policies need cfg: the first one's Works carry it (hub.dependencies.owned_dependencies)
    api_selector = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"}]
    shared = plan(
        policy("web", propagateDeps=True),
        policy("a-api", selectors=api_selector, propagateDeps=True),
        templates=[deployment(), deployment("api"), config_map()],
    )
    assert list(entry_of(shared, "api").dependencies["eu1"]) == ["ConfigMap/shop/cfg"]
    assert entry_of(shared, "web").dependencies == {}
    # a ConfigMap a policy claims in its own right goes with its own binding, not as a dependency
    cm_selector = [{"apiVersion": "v1", "kind": "ConfigMap", "name": "cfg"}]
    own = plan(
        policy("web", propagateDeps=True),
        policy("cm", selectors=cm_selector),
        templates=[deployment(), config_map()],
    )
    assert entry_of(own, "web").dependencies == {}
    assert entry_of(own, "cfg").manifests.keys() == {"eu1", "us1"}


# --- suspension ----------------------------------------------------------------------------------
def test_a_member_whose_dispatching_is_suspended_gets_nothing_new_and_is_not_asked() -> None:
    suspended = policy(
        "web", propagateDeps=True, suspension={"dispatchingOnClusters": {"clusterNames": ["us1"]}}
    )
    plans = plan(suspended, templates=[deployment(), config_map()])
    web = entry_of(plans, "web")
    assert web.suspended("us1") == suspension.FIELD_ON_CLUSTERS  # the works controller's own rule
    assert web.suspended("eu1") is None
    assert set(web.manifests) == {"eu1"} and set(web.dependencies) == {"eu1"}
    text = cmd_plan.render(plans, manifests=False)
    assert (
        "us1       1 (suspended by spec.suspension.dispatchingOnClusters.clusterNames: gets nothing new)"
        in text
    )
    found = diffing.preview_works(plans, MEMBERS, preview_id="p", expires=EXPIRES)
    assert [w.cluster for w in found.works] == ["eu1"]
    assert found.not_sent == {
        "us1": [
            diffing.ManifestDiff(
                "Deployment/shop/web",
                diffing.SUSPENDED,
                message="dispatching suspended by spec.suspension.dispatchingOnClusters.clusterNames",
            )
        ]
    }
    # a template placed on us1 now that the policy no longer places there is not removed either
    narrowed = policy("web", suspension={"dispatching": True})
    narrowed["spec"]["placement"]["clusterAffinity"]["clusterNames"] = ["eu1"]
    left = plan(narrowed, templates=[deployment()])
    assert diffing.removals(left, {("apps", "Deployment", "shop", "web"): ["eu1", "us1"]}) == {}
    answer = diffing.MemberAnswer("us1", diffing.ANSWERED, found.not_sent["us1"])
    rendered = diffing.render([answer])
    assert rendered == (
        "== diff on us1: 0 of 1 manifests would change\n"
        "   Deployment/shop/web: nothing would be applied (the member keeps what it has): "
        "dispatching suspended by spec.suspension.dispatchingOnClusters.clusterNames"
    )
    assert diffing.exit_code([answer]) == 0


def test_suspended_dispatching_everywhere() -> None:
    plans = plan(policy("web", suspension={"dispatching": True}), templates=[deployment()])
    assert entry_of(plans, "web").manifests == {}
    found = diffing.preview_works(plans, MEMBERS, preview_id="p", expires=EXPIRES)
    assert found.works == [] and sorted(found.not_sent) == ["eu1", "us1"]


# --- schedulerName -------------------------------------------------------------------------------
def test_a_scheduler_the_hub_does_not_serve_is_not_placed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = policy("web", schedulerName="my-scheduler")
    plans = plan(other, templates=[deployment()])
    web = entry_of(plans, "web")
    assert web.decision is None and web.manifests == {}
    assert web.not_served == (
        "PropagationPolicy/shop/web: spec.schedulerName 'my-scheduler' is not a scheduler this hub runs "
        "(default-scheduler): left to that scheduler"
    )
    assert diffing.preview_works(plans, MEMBERS, preview_id="p", expires=EXPIRES).works == []
    assert diffing.removals(plans, {("apps", "Deployment", "shop", "web"): ["eu1"]}) == {}
    # placed by that scheduler already: the binding keeps its clusters and their Works follow the template
    web_id = ("apps", "Deployment", "shop", "web")
    kept = entry_of(plan(other, templates=[deployment()], current={web_id: {"us1": 2, "gone": 1}}), "web")
    assert kept.not_served is not None and set(kept.manifests) == {"us1"}
    assert kept.manifests["us1"]["spec"]["replicas"] == 2
    assert diffing.removals([kept], {web_id: ["us1"]}) == {}
    kept_text = cmd_plan.render([kept], manifests=False)
    assert "(the binding keeps the clusters it has, and their Works follow the template)" in kept_text
    served = plan(other, templates=[deployment()], scheduler_names=("default-scheduler", "my-scheduler"))
    assert set(entry_of(served, "web").manifests) == {"eu1", "us1"}
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump_all([*MEMBERS, other, deployment()]))
    assert cli.main(["plan", "-f", str(path), "--no-manifests"]) == 0
    assert (
        "   not placed by this hub (SchedulerNotServed): PropagationPolicy/shop/web"
        in capsys.readouterr().out
    )
    assert cli.main(["plan", "-f", str(path), "--no-manifests", "--scheduler-name", "my-scheduler"]) == 0
    out = capsys.readouterr().out
    assert "SchedulerNotServed" not in out and "eu1" in out


# --- rollout strategy problems -------------------------------------------------------------------
def staged(*stages: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Staged", "staged": {"stages": list(stages)}}


def test_a_stage_no_member_answers_is_an_error_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    strategy = staged(
        {"name": "canary", "labelSelector": {"matchLabels": {"ring": "0"}}},
        {"name": "early", "labelSelector": {"matchLabels": {"ring": "7"}}},
        {"name": "rest", "labelSelector": {"matchLabels": {"rnig": "1"}}},
    )
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump_all([*MEMBERS, policy("web", rolloutStrategy=strategy), deployment()]))
    assert cli.main(["plan", "-f", str(path), "--no-manifests"]) == 1
    out = capsys.readouterr().out
    assert (
        "   error: spec.rolloutStrategy.staged.stages[1] (early).labelSelector: selects no member cluster"
        in out
    )
    assert (
        "   error: spec.rolloutStrategy.staged.stages[2] (rest).labelSelector: "
        "no member cluster has the label rnig" in out
    )
    # without any member there is nothing to check the stages against (a warning says so)
    path.write_text(yaml.safe_dump_all([policy("web", rolloutStrategy=strategy), deployment()]))
    assert cli.main(["plan", "-f", str(path), "--no-manifests"]) == 0
    assert "error:" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("strategy", "problem"),
    [
        (
            staged({"name": "a"}, {"name": "a"}),
            "spec.rolloutStrategy.staged.stages[1].name: 'a' is used twice",
        ),
        (
            staged({"name": "a", "maxConcurrency": 0}),
            "spec.rolloutStrategy.staged.stages[0].maxConcurrency: 0 would release no cluster",
        ),
        (
            staged({"name": "a", "maxConcurrency": "150%"}),
            "spec.rolloutStrategy.staged.stages[0].maxConcurrency: 150% is more than 100% of the clusters",
        ),
        (
            {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0}},
            "spec.rolloutStrategy.rollingUpdate.maxUnavailable: 0 would release no cluster",
        ),
    ],
)
def test_static_rollout_strategy_problems_exit_2_naming_the_field(
    strategy: dict[str, Any], problem: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump_all([*MEMBERS, policy("web", rolloutStrategy=strategy), deployment()]))
    assert cli.main(["plan", "-f", str(path)]) == 2
    assert problem in capsys.readouterr().err
