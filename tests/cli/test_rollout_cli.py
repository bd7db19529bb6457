"""``waybill rollout``'s pure parts: which revision undo restores, approval errors, the status table."""

from __future__ import annotations

from typing import Any

import pytest

from shared.api import revision
from waybill import cmd_rollout
from waybill.errors import CommandFailed, UsageError

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
