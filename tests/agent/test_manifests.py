"""Table tests for decoding and validating a Work's manifests."""

from __future__ import annotations

from typing import Any

import pytest

from agent.manifests import decode_manifests, split_api_version

CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "app"}}
DEPLOY = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "app"}}


@pytest.mark.parametrize(
    ("raw", "error_part"),
    [
        (CM, None),
        ('{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app"}}', None),
        ("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: app\n", None),
        ("{not json: [", "cannot decode"),
        ("a: 1\n---\nb: 2\n", "cannot decode"),
        (42, "cannot decode"),
        ([1, 2], "cannot decode"),
        ({"kind": "ConfigMap", "metadata": {"name": "x"}}, "apiVersion"),
        ({"apiVersion": "v1", "metadata": {"name": "x"}}, "kind"),
        ({"apiVersion": "v1", "kind": "ConfigMap"}, "metadata"),
        ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "x-"}}, "generateName"),
        ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}, "metadata.name"),
        ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}}, "DNS-1123"),
        (
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "a.b"}},
            "namespace",
        ),
        ({"apiVersion": "a/b/c", "kind": "X", "metadata": {"name": "x"}}, "apiVersion"),
    ],
)
def test_decode_one(raw: Any, error_part: str | None) -> None:
    [result] = decode_manifests([raw])
    assert result.identifier.ordinal == 0
    if error_part is None:
        assert result.ok and result.error is None and result.obj is not None
    else:
        assert not result.ok and result.obj is None
        assert result.error is not None and error_part in result.error


def test_bad_manifest_fails_alone_and_duplicates_are_rejected() -> None:
    results = decode_manifests([CM, "garbage: [", DEPLOY, dict(CM)])
    assert [r.ok for r in results] == [True, False, True, False]
    assert [r.identifier.ordinal for r in results] == [0, 1, 2, 3]
    assert results[3].error is not None and "duplicate of manifest #0" in results[3].error
    assert results[2].identifier.group == "apps" and results[2].identifier.kind == "Deployment"
    assert results[2].identifier.to_dict()["name"] == "web"


def test_same_name_different_kind_is_not_a_duplicate() -> None:
    other = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cfg", "namespace": "app"}}
    assert all(r.ok for r in decode_manifests([CM, other]))


@pytest.mark.parametrize(("api_version", "expected"), [("v1", ("", "v1")), ("apps/v1", ("apps", "v1"))])
def test_split_api_version(api_version: str, expected: tuple[str, str]) -> None:
    assert split_api_version(api_version) == expected


def test_a_packed_work_gives_back_the_manifests_the_hub_wrote() -> None:
    from agent.manifests import PackedManifests, packed_work, unpacked_work, work_manifests

    manifests = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "é"}}]
    work = {"metadata": {"name": "w"}, "spec": {"workload": {"manifests": manifests}, "deleteOption": {}}}
    packed = packed_work(work)
    assert isinstance(packed["spec"]["workload"]["manifests"], PackedManifests)
    assert packed["spec"]["deleteOption"] == {} and work["spec"]["workload"]["manifests"] is manifests
    assert work_manifests(packed) == manifests == work_manifests(work)
    assert unpacked_work(packed) == work
    assert unpacked_work(work) is work  # nothing packed: the same object
    assert work_manifests({"spec": {}}) == [] and packed_work({"spec": {}}) == {"spec": {}}
