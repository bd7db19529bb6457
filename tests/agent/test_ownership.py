"""Table tests of the handover decisions (agent.ownership) and the digest skip (agent.applied_work)."""

from __future__ import annotations

from typing import Any

import pytest

from agent import applied_work as aw
from agent.ownership import Claim, Removal, claim, holder, normalized, removal, same_work

NS = "member-eu1"


def _live(*, owner: str | None = None, work: str | None = None, work_ns: str = NS) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "x", "labels": {}}
    if owner is not None:
        meta["ownerReferences"] = [{"kind": "AppliedWork", "name": owner, "uid": "u"}]
    if work is not None:
        meta["labels"] = {"waybill.dev/work-namespace": work_ns, "waybill.dev/work-name": work}
    return {"metadata": meta}


@pytest.mark.parametrize(
    ("live", "expected"),
    [
        (None, None),
        (_live(), None),
        (_live(owner=f"{NS}.a"), f"{NS}/a"),
        (_live(owner=f"{NS}.a", work="b"), f"{NS}/a"),  # the ownerReference is exact, labels are cut at 63
        (_live(work="b"), f"{NS}/b"),
        (_live(owner="member-us1.a", work="a", work_ns="member-us1"), "member-us1/a"),
    ],
)
def test_holder(live: dict[str, Any] | None, expected: str | None) -> None:
    assert holder(live, work_namespace=NS) == expected


def test_same_work_knows_labels_keep_63_characters() -> None:
    long = "w" * 80
    assert same_work(f"{NS}/{long[:63]}", f"{NS}/{long}")
    assert not same_work(f"{NS}/{'w' * 62}", f"{NS}/{long}")
    assert not same_work(None, f"{NS}/a")


@pytest.mark.parametrize(
    ("holder_key", "carries", "expected"),
    [
        (None, True, Claim.OURS),
        (f"{NS}/me", True, Claim.OURS),
        (f"{NS}/old", False, Claim.TAKE),  # moved: the old Work dropped it (or is gone)
        (f"{NS}/old", True, Claim.CONFLICT),  # both carry it: the first holder keeps it
        ("member-us1/old", False, Claim.CONFLICT),  # another agent's namespace: never taken
    ],
)
def test_claim(holder_key: str | None, carries: bool, expected: Claim) -> None:
    assert claim(holder_key=holder_key, work_key=f"{NS}/me", holder_carries=carries) == expected


@pytest.mark.parametrize(
    ("holder_key", "claimant", "stale_for", "expected"),
    [
        (f"{NS}/new", None, 0.0, Removal.FORGET),  # already taken over: leave the object alone
        (f"{NS}/me", f"{NS}/new", 100.0, Removal.WAIT),  # another Work carries it: it will take it
        (None, f"{NS}/new", 100.0, Removal.WAIT),
        (f"{NS}/me", None, 1.0, Removal.WAIT),  # just left: the new Work may not have arrived yet
        (f"{NS}/me", None, 5.0, Removal.REMOVE),
        (None, None, 5.0, Removal.REMOVE),
    ],
)
def test_removal(holder_key: str | None, claimant: str | None, stale_for: float, expected: Removal) -> None:
    got = removal(
        holder_key=holder_key, work_key=f"{NS}/me", claimant=claimant, stale_for=stale_for, handover_grace=5.0
    )
    assert got == expected


def test_normalized_puts_namespaceless_manifests_in_default() -> None:
    assert normalized(("", "ConfigMap", "", "a")) == normalized(("", "ConfigMap", "default", "a"))
    assert normalized(("", "ConfigMap", "app", "a")) != normalized(("", "ConfigMap", "default", "a"))


def test_up_to_date_needs_same_digest_and_untouched_object() -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}}
    digest = aw.digest_of(obj, strategy="ServerSideApply/None")
    assert digest == aw.digest_of(dict(reversed(list(obj.items()))), strategy="ServerSideApply/None")
    assert digest != aw.digest_of(obj, strategy="ClientSideApply/None")
    rec = {"name": "a", "digest": digest, "resourceVersion": "7"}
    live = {"metadata": {"resourceVersion": "7"}}
    assert aw.up_to_date(rec, digest=digest, live=live)
    assert not aw.up_to_date(rec, digest=digest, live={"metadata": {"resourceVersion": "8"}})
    assert not aw.up_to_date(rec, digest="other", live=live)
    assert not aw.up_to_date({"name": "a"}, digest=digest, live=live)
    assert not aw.up_to_date(rec, digest=digest, live=None)


def test_work_copy_round_trip() -> None:
    work = {
        "metadata": {"name": "w", "namespace": NS, "uid": "u", "generation": 3, "resourceVersion": "9"},
        "spec": {"workload": {"manifests": [{"kind": "ConfigMap"}]}},
    }
    applied = {
        "spec": {"workName": "w", "workNamespace": NS},
        "status": {"appliedResources": [], "work": aw.work_copy(work)},
    }
    rebuilt = aw.work_from_copy(applied)
    assert rebuilt is not None
    assert rebuilt["metadata"] == {"name": "w", "namespace": NS, "uid": "u", "generation": 3}
    assert rebuilt["spec"] == work["spec"]
    assert aw.work_from_copy({"spec": {"workName": "w", "workNamespace": NS}, "status": {}}) is None


def test_write_ahead_digest_forgets_the_resource_version_of_a_changing_manifest() -> None:
    key = ("", "ConfigMap", "default", "a")
    other = ("", "ConfigMap", "default", "b")
    record = [
        {"kind": "ConfigMap", "namespace": "default", "name": "a", "digest": "old", "resourceVersion": "5"},
        {"kind": "ConfigMap", "namespace": "default", "name": "b", "digest": "same", "resourceVersion": ""},
    ]
    ahead = aw.with_digests(record, {key: "new", other: "same"}, {other: "9"})
    # a killed agent must not take "a" as written: no resourceVersion goes with the new digest
    assert ahead[0]["digest"] == "new" and ahead[0]["resourceVersion"] == ""
    assert not aw.up_to_date(ahead[0], digest="new", live={"metadata": {"resourceVersion": "5"}})
    # "b" was written by this process since: its resourceVersion rides along
    assert ahead[1]["resourceVersion"] == "9"
    assert aw.needs_completion(record, ahead)  # a digest changed
    assert not aw.needs_completion(record, aw.with_digests(record, {}, {other: "9"}))  # only a version


def test_large_work_copy_is_compressed_deterministically_and_round_trips() -> None:
    """A Work part near the 800 KiB split size must not push its record past the 1.5 MiB limit."""
    import json

    manifests = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"cm-{i}", "namespace": "app"},
            "data": {"payload": f"value-{i}-" + "x" * 700},
        }
        for i in range(1000)
    ]
    work = {
        "metadata": {"name": "w", "namespace": NS, "uid": "u", "generation": 1},
        "spec": {"workload": {"manifests": manifests}},
    }
    spec_bytes = len(json.dumps(work["spec"]))
    assert spec_bytes > 700 * 1024
    copy = aw.work_copy(work)
    assert "spec" not in copy and copy["specGzip"]
    assert len(json.dumps(copy)) < spec_bytes / 5
    assert aw.work_copy(work) == copy  # equal Works, equal copies: no rewrite of an unchanged record
    applied = {
        "spec": {"workName": "w", "workNamespace": NS},
        "status": {"appliedResources": [], "work": copy},
    }
    rebuilt = aw.work_from_copy(applied)
    assert rebuilt is not None and rebuilt["spec"] == work["spec"]
    damaged = {**applied, "status": {"work": {**copy, "specGzip": "not-base64-gzip"}}}
    assert (aw.work_from_copy(damaged) or {}).get("spec") == {}
