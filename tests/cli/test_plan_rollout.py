"""``waybill plan`` says, per member, when a template change would reach it under the policy's
``rolloutStrategy``: a Staged strategy's stage and gate, a RollingUpdate's batch (maxUnavailable
and maxSurge resolved against the member count), an invalid strategy holding every member (the
diff does not claim the change would be applied), and a Secret going everywhere at once
(``NotStaged``). The order is the hub's own (``hub.rollout.decide``, through
``hub.rollout_checks.plan_rollout``). Pure: the planner, the preview Works and the text."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub import planning, rollout, rollout_checks
from hub.clusters import ClusterView
from kubesim.testing import SimFactory
from shared.api import names
from shared.api.policy import RolloutStrategy
from shared.kube.client import KubeClient
from waybill import cli, cmd_plan, diffing, plan_sources

EXPIRES = datetime(2026, 12, 7, 23, 0, tzinfo=UTC)
WEB = ("apps", "Deployment", "shop", "web")


def member(name: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": names.CLUSTER_API_VERSION,
        "kind": names.KIND_MEMBER_CLUSTER,
        "metadata": {"name": name, "namespace": f"member-{name}", "labels": labels},
    }


def policy(strategy: dict[str, Any], clusters: list[str], *, kind: str = "Deployment") -> dict[str, Any]:
    api = "apps/v1" if kind == "Deployment" else "v1"
    name = "web" if kind == "Deployment" else "pw"
    return {
        "apiVersion": names.POLICY_API_VERSION,
        "kind": names.KIND_PROPAGATION_POLICY,
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {
            "resourceSelectors": [{"apiVersion": api, "kind": kind, "name": name}],
            "placement": {"clusterAffinity": {"clusterNames": clusters}},
            "rolloutStrategy": strategy,
        },
    }


def deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "nginx:2"}]},
            },
        },
    }


def secret() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "pw", "namespace": "shop"},
        "stringData": {"password": "x"},
    }


STAGED = {
    "type": "Staged",
    "staged": {
        "stages": [
            {
                "name": "canary",
                "labelSelector": {"matchLabels": {"ring": "0"}},
                "after": {"waitSeconds": 60, "approval": True},
            },
            {"name": "early", "labelSelector": {"matchLabels": {"ring": "1"}}, "maxConcurrency": 1},
            {"name": "rest"},
        ]
    },
}
RING_MEMBERS = [member("eu1", ring="0"), member("us1", ring="1"), member("us2", ring="1"), member("ap1")]


def plan(
    members: list[dict[str, Any]], *objects: dict[str, Any], **options: Any
) -> list[planning.TemplatePlan]:
    groups = planning.split_objects(list(objects))
    return planning.plan(
        templates=groups["templates"],
        policies=groups["policies"],
        override_policies=[],
        clusters=[ClusterView.from_member(m) for m in members],
        **options,
    )


def changed(plans: list[planning.TemplatePlan], clusters: list[str]) -> list[diffing.MemberAnswer]:
    """The agents' answers as if each member had an older version of every planned manifest."""
    answers = [
        diffing.MemberAnswer(
            c,
            diffing.ANSWERED,
            [
                diffing.ManifestDiff(
                    str(p.template), diffing.CHANGE, (diffing.FieldChange("/spec/x", '"1"', '"2"'),)
                )
                for p in plans
                if c in p.manifests
            ],
        )
        for c in clusters
    ]
    diffing.with_rollouts(answers, plans)
    return answers


def test_staged_each_member_gets_its_stage_its_order_and_the_gate_before_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    everyone = ["eu1", "us1", "us2", "ap1"]
    plans = plan(RING_MEMBERS, policy(STAGED, everyone), deployment())
    (web,) = plans
    assert web.rollout is not None and web.rollout_problems == []
    assert {c: m.text for c, m in web.rollout.members.items()} == {
        "eu1": "stage 1/3 canary: released first",
        "us1": "stage 2/3 early: after canary is Available + waitSeconds 60 + approval",
        "us2": "stage 2/3 early: after the earlier clusters of stage early are Available (maxConcurrency 1)",
        "ap1": "stage 3/3 rest: after early is Available",
    }
    text = cmd_plan.render(plans, manifests=False)
    assert (
        "   rollout (Staged) of a new generation of the template: 3 stage(s), in order, assuming each "
        "released member becomes Available and each approval is given\n"
        "     eu1: stage 1/3 canary: released first\n"
        "     us1: stage 2/3 early: after canary is Available + waitSeconds 60 + approval\n"
        "     us2: stage 2/3 early: after the earlier clusters of stage early are Available "
        "(maxConcurrency 1)\n"
        "     ap1: stage 3/3 rest: after early is Available"
    ) in text, text
    # the first batch is what the hub's own first decision releases
    strategy = RolloutStrategy.from_dict(STAGED)
    observed = [
        rollout.ClusterObservation(
            m["metadata"]["name"], m["metadata"]["labels"], revision=1, health="Available", has_previous=True
        )
        for m in RING_MEMBERS
    ]
    first = rollout.decide(
        rollout.RolloutInput(
            template="Deployment shop/web",
            generation=2,
            strategy=strategy,
            clusters=observed,
            previous=None,
            now=EXPIRES,
            fleet_labels=[m["metadata"]["labels"] for m in RING_MEMBERS],
        )
    )
    assert first.released == {c for c, m in web.rollout.members.items() if m.state == "first"} == {"eu1"}
    # the diff of a member says when the change would reach it
    rendered = diffing.render(changed(plans, ["us1"]))
    assert rendered == (
        "== diff on us1: 1 of 1 manifests would change\n"
        "   Deployment/shop/web: 1 field(s) differ\n"
        '     /spec/x: "1" -> "2"\n'
        "     rollout (Staged): stage 2/3 early: after canary is Available + waitSeconds 60 + approval"
    )
    # -o json: a rollout field per member
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump_all([*RING_MEMBERS, policy(STAGED, everyone), deployment()]))
    assert cli.main(["plan", "-f", str(path), "--no-manifests", "-o", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    (entry,) = doc["templates"]
    assert entry["rollout"]["strategy"] == "Staged" and "manifests" not in entry
    by_cluster = {m["cluster"]: m["rollout"] for m in entry["members"]}
    assert by_cluster["us1"] == {
        "strategy": "Staged",
        "state": "later",
        "batch": 2,
        "batches": 4,
        "stage": "early",
        "stageNumber": 2,
        "stages": 3,
        "after": "canary is Available + waitSeconds 60 + approval",
        "text": "stage 2/3 early: after canary is Available + waitSeconds 60 + approval",
    }
    assert by_cluster["eu1"]["state"] == "first" and by_cluster["eu1"]["batch"] == 1


def test_rolling_update_resolves_the_batch_sizes_against_the_member_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    members = [member(f"m{i}") for i in range(8)]
    clusters = [f"m{i}" for i in range(8)]
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": 1}}
    # with a hub: m0..m5 run the template now, m6 and m7 are new placements (maxSurge)
    now = {WEB: {f"m{i}": 1 for i in range(6)}}
    plans = plan(members, policy(strategy, clusters), deployment(), current=now)
    (web,) = plans
    assert web.rollout is not None
    assert web.rollout.summary == (
        "maxUnavailable 25% of 8 member(s) = 2, maxSurge 1 = 1: 3 batch(es), "
        "assuming each released member becomes Available"
    )
    assert {c: m.text for c, m in web.rollout.members.items()} == {
        "m0": "batch 1/3: released first",
        "m1": "batch 1/3: released first",
        "m2": "batch 2/3: after batch 1 is Available",
        "m3": "batch 2/3: after batch 1 is Available",
        "m4": "batch 3/3: after batch 2 is Available",
        "m5": "batch 3/3: after batch 2 is Available",
        "m6": "batch 1/3 (new on this member: within maxSurge): released first",
        "m7": "batch 2/3 (new on this member: within maxSurge): after batch 1 is Available",
    }
    # without a hub every member is taken to run the template (a change): 25% of 8 = 2 a batch
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump_all([*members, policy(strategy, clusters), deployment()]))
    assert cli.main(["plan", "-f", str(path), "--no-manifests", "-o", "yaml"]) == 0
    doc = yaml.safe_load(capsys.readouterr().out)
    batches = {m["cluster"]: m["rollout"]["batch"] for m in doc["templates"][0]["members"]}
    assert batches == {f"m{i}": i // 2 + 1 for i in range(8)}
    assert cli.main(["plan", "-f", str(path), "--no-manifests"]) == 0
    text = capsys.readouterr().out
    assert "   rollout (RollingUpdate) of a new generation of the template: maxUnavailable 25% of 8" in text
    assert (
        "     m0: batch 1/4: released first\n     m1: batch 1/4: released first\n     m2: batch 2/4" in text
    )


def test_an_invalid_strategy_holds_every_member_and_the_diff_does_not_claim_the_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # us1 is placed, but no stage selects it: the binding's rollout is Invalid, nothing new released
    only_canary = {
        "type": "Staged",
        "staged": {"stages": [{"name": "canary", "labelSelector": {"matchLabels": {"ring": "0"}}}]},
    }
    members = [member("eu1", ring="0"), member("us1", ring="1")]
    plans = plan(members, policy(only_canary, ["eu1", "us1"]), deployment())
    (web,) = plans
    problem = "spec.rolloutStrategy.staged.stages: no stage selects cluster(s) us1"
    assert web.rollout is not None and web.rollout.problem == problem
    assert web.rollout_problems == [problem]
    assert {m.state for m in web.rollout.members.values()} == {"held"}
    found = diffing.preview_works(plans, members, preview_id="p", expires=EXPIRES)
    assert found.works == []  # nothing is asked: nothing would be applied
    held = diffing.ManifestDiff(
        "Deployment/shop/web",
        diffing.HELD,
        message=f"held by the rollout (InvalidRolloutStrategy): {problem}",
    )
    assert found.not_sent == {"eu1": [held], "us1": [held]}
    text = diffing.render([diffing.MemberAnswer("us1", diffing.ANSWERED, found.not_sent["us1"])])
    assert text == (
        "== diff on us1: 0 of 1 manifests would change\n"
        "   Deployment/shop/web: nothing would be applied (the member keeps what it has): "
        f"held by the rollout (InvalidRolloutStrategy): {problem}"
    )
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump_all([*members, policy(only_canary, ["eu1", "us1"]), deployment()]))
    assert cli.main(["plan", "-f", str(path), "--no-manifests"]) == 1
    out = capsys.readouterr().out
    assert f"   error: {problem} (the hub would release nothing new: RolloutStrategyValid=False)" in out
    assert (
        "   rollout (Staged) of a new generation of the template: held on every member "
        f"(InvalidRolloutStrategy): {problem}" in out
    )
    assert "released first" not in out
    # a stage no member answers (the policy's RolloutStrategyValid=False) holds every member too
    ghost = {
        "type": "Staged",
        "staged": {"stages": [{"name": "a", "labelSelector": {"matchLabels": {"ring": "7"}}}]},
    }
    (ghosted,) = plan(members, policy(ghost, ["eu1", "us1"]), deployment())
    assert ghosted.rollout is not None and ghosted.rollout.problem is not None
    assert "stages[0] (a).labelSelector: selects no member cluster" in ghosted.rollout.problem
    assert diffing.preview_works([ghosted], members, preview_id="p", expires=EXPIRES).works == []


def test_a_secret_is_not_staged_and_goes_to_every_member_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    members = [member("eu1"), member("us1")]
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}
    plans = plan(members, policy(strategy, ["eu1", "us1"], kind="Secret"), secret())
    (pw,) = plans
    assert pw.rollout is not None
    why = "Secret data is not copied into revisions, so Secrets are not staged"
    assert {c: m.to_dict() for c, m in pw.rollout.members.items()} == {
        c: {
            "strategy": "RollingUpdate",
            "state": "atOnce",
            "reason": "NotStaged",
            "message": why,
            "text": f"every member at once (NotStaged: {why})",
        }
        for c in ("eu1", "us1")
    }
    assert pw.rollout_problems == [] and set(pw.manifests) == {"eu1", "us1"}
    text = cmd_plan.render(plans, manifests=False)
    assert (
        "   rollout (RollingUpdate) of a new generation of the template: "
        f"every member at once (NotStaged: {why})" in text
    )
    assert "batch" not in text
    rendered = diffing.render(changed(plans, ["eu1"]))
    assert rendered.endswith(f"     rollout (RollingUpdate): every member at once (NotStaged: {why})")
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump_all([*members, policy(strategy, ["eu1", "us1"], kind="Secret"), secret()]))
    assert cli.main(["plan", "-f", str(path), "-o", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [m["rollout"]["state"] for m in doc["templates"][0]["members"]] == ["atOnce", "atOnce"]
    assert set(doc["templates"][0]["manifests"]) == {"eu1", "us1"}


def test_without_a_rollout_strategy_nothing_is_said_about_rollouts() -> None:
    plain = policy(STAGED, ["eu1", "us1"])
    del plain["spec"]["rolloutStrategy"]
    plans = plan(RING_MEMBERS, plain, deployment())
    assert plans[0].rollout is not None and plans[0].rollout.strategy == "All"
    assert "rollout" not in cmd_plan.render(plans, manifests=False)
    assert "rollout" not in diffing.render(changed(plans, ["eu1"]))
    doc = cmd_plan.document(plans, manifests=False)
    assert [m["rollout"]["state"] for m in doc["templates"][0]["members"]] == ["atOnce", "atOnce"]


def test_a_change_that_keeps_the_generation_is_not_rolled_out_but_new_placements_wait() -> None:
    # with a hub: the file changes only the template's labels (the dry run keeps its generation)
    now = {WEB: {"eu1": 1, "us1": 1}}
    plans = plan(
        RING_MEMBERS, policy(STAGED, ["eu1", "us1", "ap1"]), deployment(), current=now, unchanged={WEB}
    )
    (web,) = plans
    assert web.rollout is not None and not web.rollout.new_generation
    assert {c: (m.state, m.reason) for c, m in web.rollout.members.items()} == {
        "eu1": ("atOnce", "NoNewGeneration"),
        "us1": ("atOnce", "NoNewGeneration"),
        "ap1": ("pending", ""),
    }
    text = cmd_plan.render(plans, manifests=False)
    assert (
        "   rollout (Staged) of this change: no new generation (NoNewGeneration): the template's generation"
        in text
    )
    assert "     ap1: a new placement: gets the current generation once the hub's rollout releases it" in text
    assert "eu1: every member" not in text and "released first" not in text
    assert diffing.render(changed(plans, ["eu1"])).endswith(
        "     rollout (Staged): every member at once (NoNewGeneration: the template's generation does not "
        "change, so nothing is rolled out: what changes (labels, annotations, override policies, placement) "
        "reaches the members that run it at once)"
    )


def test_same_generation_is_what_the_rollout_goes_by() -> None:
    live = {**deployment(), "metadata": {"name": "web", "namespace": "shop", "generation": 3}}
    relabelled = {**live, "metadata": {**live["metadata"], "labels": {"a": "b"}}}
    bumped = {**live, "metadata": {**live["metadata"], "generation": 4}}
    assert rollout_checks.same_generation(live, relabelled)
    assert not rollout_checks.same_generation(live, bumped)
    assert not rollout_checks.same_generation(None, live)  # created: a first generation
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "1"}}
    assert rollout_checks.same_generation(cm, {**cm, "metadata": {"name": "c", "labels": {"a": "b"}}})
    assert not rollout_checks.same_generation(cm, {**cm, "data": {"k": "2"}})


def test_the_json_document_carries_the_diff_with_its_rollout() -> None:
    plans = plan(RING_MEMBERS, policy(STAGED, ["eu1", "us1"]), deployment())
    answers = changed(plans, ["us1"])
    doc = cmd_plan.document(plans, manifests=False, answers=answers)
    assert json.loads(json.dumps(doc))["diff"] == [
        {
            "cluster": "us1",
            "state": "answered",
            "manifests": [
                {
                    "manifest": "Deployment/shop/web",
                    "outcome": "change",
                    "changes": [{"path": "/spec/x", "memberValue": '"1"', "hubValue": '"2"'}],
                    "rollout": {
                        "strategy": "Staged",
                        "state": "later",
                        "batch": 2,
                        "batches": 2,
                        "stage": "early",
                        "stageNumber": 2,
                        "stages": 3,
                        "after": "canary is Available + waitSeconds 60 + approval",
                        "text": "stage 2/3 early: after canary is Available + waitSeconds 60 + approval",
                    },
                }
            ],
        }
    ]


def test_an_invalid_strategy_without_a_new_generation_holds_only_the_new_placements() -> None:
    # released members keep the generation they run, so what changes reaches them; ap1 is new
    only_canary = {
        "type": "Staged",
        "staged": {"stages": [{"name": "canary", "labelSelector": {"matchLabels": {"ring": "0"}}}]},
    }
    members = [member("eu1", ring="0"), member("us1", ring="1"), member("ap1")]
    now = {WEB: {"eu1": 1, "us1": 1}}
    plans = plan(
        members, policy(only_canary, ["eu1", "us1", "ap1"]), deployment(), current=now, unchanged={WEB}
    )
    (web,) = plans
    assert web.rollout is not None and web.rollout.problem is not None
    assert web.rollout_problems == [web.rollout.problem]
    assert {c: m.state for c, m in web.rollout.members.items()} == {
        "eu1": "atOnce",
        "us1": "atOnce",
        "ap1": "held",
    }
    found = diffing.preview_works(plans, members, preview_id="p", expires=EXPIRES)
    assert sorted(w.cluster for w in found.works) == ["eu1", "us1"]
    assert [d.outcome for d in found.not_sent["ap1"]] == [diffing.HELD]
    text = cmd_plan.render(plans, manifests=False)
    assert "     ap1: held: the hub would release nothing new (InvalidRolloutStrategy): " in text


async def test_the_dry_run_tells_which_templates_keep_their_generation(sim_factory: SimFactory) -> None:
    sim = await sim_factory("hub")
    hub = await KubeClient.from_kubeconfig(sim.kubeconfig_path, name="test")
    try:
        await hub.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
        await hub.create(deployment())
        cm: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cfg", "namespace": "shop"},
        }
        await hub.create({**cm, "data": {"k": "1"}})
        relabelled = {**deployment(), "metadata": {"name": "web", "namespace": "shop", "labels": {"a": "b"}}}
        new_image = deployment()
        new_image["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:3"
        cm_relabelled = {**cm, "metadata": {**cm["metadata"], "labels": {"a": "b"}}, "data": {"k": "1"}}
        created = {**deployment(), "metadata": {"name": "api", "namespace": "shop"}}
        found: set[plan_sources.Identity] = set()
        warnings: list[str] = []
        await plan_sources.as_stored(
            hub, "f", [relabelled, cm_relabelled, created], warnings=warnings, unchanged=found
        )
        assert warnings == [] and found == {WEB, ("", "ConfigMap", "shop", "cfg")}
        changed_too: set[plan_sources.Identity] = set()
        await plan_sources.as_stored(
            hub, "f", [new_image, {**cm, "data": {"k": "2"}}], warnings=warnings, unchanged=changed_too
        )
        assert changed_too == set()
    finally:
        await hub.close()
