"""The pure parts of the served-APIs watch: what an Established CRD serves, when discovery agrees."""

from __future__ import annotations

from typing import Any

from agent.served_apis import crd_resources, discovery_settled


def crd(*, established: bool, versions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "spec": {"group": "example.com", "names": {"plural": "gadgets"}, "versions": versions},
        "status": {"conditions": [{"type": "Established", "status": "True" if established else "False"}]},
    }


def test_an_established_crd_serves_its_served_versions_only() -> None:
    versions = [{"name": "v1", "served": True}, {"name": "v2", "served": False}]
    assert crd_resources(crd(established=True, versions=versions)) == {("example.com/v1", "gadgets")}


def test_a_crd_not_yet_established_serves_nothing() -> None:
    assert crd_resources(crd(established=False, versions=[{"name": "v1", "served": True}])) == frozenset()
    assert crd_resources({"spec": {"group": "x"}}) == frozenset()


def test_discovery_settles_when_it_lists_every_new_and_no_removed_resource() -> None:
    new, old = ("example.com/v1", "gadgets"), ("example.com/v1", "widgets")
    builtin = ("apps/v1", "deployments")
    assert not discovery_settled(frozenset({builtin}), expected=frozenset({new}), removed=frozenset())
    assert discovery_settled(frozenset({builtin, new}), expected=frozenset({new}), removed=frozenset())
    assert not discovery_settled(frozenset({new, old}), expected=frozenset({new}), removed=frozenset({old}))
    assert discovery_settled(frozenset({new}), expected=frozenset({new}), removed=frozenset({old}))
