"""``waybill rollout``'s pure parts (which revision undo restores, approval errors, the status
table), and history and undo of a cluster-scoped template on a running fleet."""

from __future__ import annotations

from typing import Any

import pytest

from shared.api import names, revision
from shared.kube.errors import NotFound
from tests.cli.cli_helpers import eventually, waybill
from waybill import cmd_rollout
from waybill.errors import CommandFailed, UsageError
from waybill.fleet import Fleet

STAGED = {
    "type": "Staged",
    "staged": {"stages": [{"name": "canary"}, {"name": "early", "after": {"approval": True}}]},
}
WHERE = "Deployment shop/web"


def rev(number: int, image: str) -> dict[str, Any]:
    content = {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": image}]}}}}
    return {
        "metadata": {"name": f"web-deployment-r{number}"},
        "spec": {"revision": number, "content": content},
    }


REVISIONS = [rev(1, "a"), rev(2, "b"), rev(3, "b"), rev(4, "c")]


def test_undo_picks_the_newest_earlier_revision_that_differs() -> None:
    current = REVISIONS[3]["spec"]["content"]
    assert cmd_rollout.pick_revision(REVISIONS, current=4, content=current, to=None)["spec"]["revision"] == 3
    # already back at b (e.g. after an undo): the one before that differs
    at_b = REVISIONS[2]["spec"]["content"]
    assert cmd_rollout.pick_revision(REVISIONS, current=5, content=at_b, to=None)["spec"]["revision"] == 4


def test_undo_to_a_revision_and_its_errors() -> None:
    current = REVISIONS[3]["spec"]["content"]
    assert cmd_rollout.pick_revision(REVISIONS, current=4, content=current, to=1)["spec"]["revision"] == 1
    with pytest.raises(UsageError, match=r"--to-revision 9: no such revision \(kept: 1, 2, 3, 4\)"):
        cmd_rollout.pick_revision(REVISIONS, current=4, content=current, to=9)
    with pytest.raises(CommandFailed, match="no earlier revision"):
        cmd_rollout.pick_revision([rev(1, "a")], current=1, content=rev(1, "a")["spec"]["content"], to=None)


@pytest.mark.parametrize(
    ("strategy", "stage", "message"),
    [
        (STAGED, "early", None),
        (STAGED, None, "approve needs --stage NAME"),
        (STAGED, "erly", "spec.rolloutStrategy.staged.stages has no stage 'erly' (stages: canary, early)"),
        (STAGED, "canary", "spec.rolloutStrategy.staged.stages[0].after.approval is not set for 'canary'"),
        ({"type": "RollingUpdate"}, "early", "spec.rolloutStrategy.type is RollingUpdate, not Staged"),
        (None, "early", "spec.rolloutStrategy.type is All, not Staged"),
    ],
)
def test_approval_problems_name_the_field(
    strategy: dict[str, Any] | None, stage: str | None, message: str | None
) -> None:
    problem = cmd_rollout.approval_problem(strategy, stage, WHERE)
    if message is None:
        assert problem is None
    else:
        assert problem is not None and message in problem


def test_status_table_per_stage_and_cluster() -> None:
    rollout = {
        "strategy": "Staged",
        "revision": 7,
        "phase": "Waiting",
        "stage": "early",
        "message": "waiting",
        "clusters": [
            {"name": "m1", "stage": "canary", "revision": 7, "state": "Available"},
            {"name": "m4", "stage": "early", "state": "Pending"},
        ],
    }
    text = cmd_rollout.render_status(rollout, WHERE)
    lines = text.splitlines()
    assert lines[0] == "Deployment shop/web: revision 7 (Staged) Waiting, stage early: waiting"
    assert lines[1].split() == ["STAGE", "CLUSTER", "REVISION", "STATE", "MESSAGE"]
    assert lines[2].split() == ["canary", "m1", "7", "Available"]
    assert lines[3].split() == ["early", "m4", "-", "Pending"]


def test_history_marks_the_current_revision() -> None:
    lines = cmd_rollout.render_history(REVISIONS, 4).splitlines()
    assert lines[-1].split()[:2] == ["4", "*"] and lines[-1].split()[-1] == "c"
    assert lines[1].split()[0] == "1" and "*" not in lines[1]
    # other kinds: a digest of the content (equal contents read equal)
    data = [
        {"spec": {"revision": n, "content": {"data": {"k": v}}}} for n, v in ((1, "a"), (2, "b"), (3, "a"))
    ]
    digests = [line.split()[-1] for line in cmd_rollout.render_history(data, 3).splitlines()[1:]]
    assert digests[0] == digests[2] != digests[1] and len(digests[0]) == 12


def test_status_follow_prints_the_clusters_that_changed() -> None:
    first = {
        "clusters": [
            {"name": "m1", "stage": "canary", "state": "Progressing"},
            {"name": "m2", "state": "Pending"},
        ]
    }
    states, lines = cmd_rollout.cluster_changes({}, first)
    assert lines == [] and states == {"m1": "Progressing", "m2": "Pending"}  # the table shows them first
    later = {
        "clusters": [
            {"name": "m1", "stage": "canary", "state": "Failed", "message": "deadline"},
            {"name": "m2", "state": "Pending"},
        ]
    }
    _, lines = cmd_rollout.cluster_changes(states, later)
    assert lines == ["  m1 (canary): Failed: deadline"]


def test_not_rolled_out_reads_the_hubs_condition() -> None:
    # (was reason NoGeneration for every kind without metadata.generation; now only Secrets)
    cond = {
        "type": "RolloutProgressing",
        "reason": "NotStaged",
        "message": "Secret data is not copied into revisions, so Secrets are not staged",
    }
    assert cmd_rollout.not_rolled_out({"status": {"conditions": [cond]}}) == cond["message"]
    assert cmd_rollout.not_rolled_out({"status": {}}) is None


def test_current_revision_of_a_kind_without_generation() -> None:
    cfg = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"k": "b"}}
    kept = [
        {"spec": {"revision": 1, "content": {"data": {"k": "a"}}}},
        {"spec": {"revision": 2, "content": {"data": {"k": "b"}}}},
    ]
    numbered = {"revision": 7, "contentDigest": revision.content_digest(cfg)}
    assert cmd_rollout.current_revision(cfg, numbered, kept) == 7  # the hub's number, from the binding
    assert cmd_rollout.current_revision(cfg, {"revision": 7, "contentDigest": "other"}, kept) == 2
    assert cmd_rollout.current_revision({**cfg, "data": {"k": "c"}}, None, kept) == -1  # not numbered yet
    deployment = {"metadata": {"generation": 4}, "spec": {}}
    assert cmd_rollout.current_revision(deployment, numbered, kept) == 4


# --- a cluster-scoped template on a running fleet (real agents) ------------------------------------------
RBAC = "rbac.authorization.k8s.io/v1"


def reader(verbs: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": RBAC,
        "kind": "ClusterRole",
        "metadata": {"name": "reader"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": verbs}],
    }


async def test_history_and_undo_of_a_cluster_scoped_template(fleet: Fleet) -> None:
    """A ClusterRole (cluster-scoped, no metadata.generation): `waybill rollout history|undo
    clusterrole/reader` used to fail with "revisions are kept for namespaced templates only"."""
    hub = str(fleet.hub.kubeconfig_path)
    await fleet.hub_api.create(
        {
            "apiVersion": names.POLICY_API_VERSION,
            "kind": names.KIND_CLUSTER_PROPAGATION_POLICY,
            "metadata": {"name": "roles"},
            "spec": {
                "resourceSelectors": [{"apiVersion": RBAC, "kind": "ClusterRole", "name": "reader"}],
                "placement": {"clusterAffinity": {"clusterNames": ["eu1", "us1"]}},
                "rolloutStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            },
        }
    )

    async def rollout() -> dict[str, Any]:
        try:
            found = await fleet.hub_api.get(
                names.WORK_API_VERSION,
                names.KIND_CLUSTER_RESOURCE_BINDING,
                name="reader-clusterrole.rbac.authorization.k8s.io",
            )
        except NotFound:  # not scheduled yet
            return {}
        return dict((found.get("status") or {}).get("rollout") or {})

    async def complete(number: int) -> bool:
        found = await rollout()
        return found.get("revision") == number and found.get("phase") == "Complete"

    async def verbs_everywhere(verbs: list[str]) -> bool:
        for api in fleet.member_apis.values():
            try:
                role = await api.get(RBAC, "ClusterRole", name="reader")
            except NotFound:
                return False
            if role["rules"][0]["verbs"] != verbs:
                return False
        return True

    await fleet.hub_api.create(reader(["get"]))
    await eventually(lambda: complete(1), what="revision 1 complete")
    await fleet.hub_api.patch(
        RBAC, "ClusterRole", name="reader", patch={"rules": reader(["get", "list"])["rules"]}
    )
    await eventually(lambda: complete(2), what="revision 2 complete")
    assert await verbs_everywhere(["get", "list"])

    done = await waybill("rollout", "history", "clusterrole/reader", "--kubeconfig", hub)
    assert done.code == 0, done
    rows = [line.split() for line in done.out.splitlines()[1:]]
    assert [row[0] for row in rows] == ["1", "2"] and rows[1][1] == "*", done
    done = await waybill("rollout", "undo", "clusterrole/reader", "--kubeconfig", hub)
    assert done.code == 0 and "ClusterRole reader: rolled back to revision 1 (a new revision)" in done.out, (
        done
    )
    await eventually(lambda: complete(3), what="revision 3 (the undo) complete")
    assert await eventually(lambda: verbs_everywhere(["get"]), what="the undo on every member")
    kept = await fleet.hub_api.list(names.WORK_API_VERSION, names.KIND_CLUSTER_TEMPLATE_REVISION)
    assert sorted(r["spec"]["revision"] for r in kept.items) == [1, 2, 3]
    done = await waybill("rollout", "undo", "clusterrole/reader", "--to-revision", "9", "--kubeconfig", hub)
    assert done.code == 2 and "--to-revision 9: no such revision (kept: 1, 2, 3)" in done.err, done
