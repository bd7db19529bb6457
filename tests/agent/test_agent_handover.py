"""Ownership handover: an object moving from one Work to another on the same member keeps its UID
and is never deleted (issue #14: a policy change used to delete and re-create it on every member).

Every way a manifest can change Works is driven from the hub side, in both orders the hub may
write them, in pull and push: a policy change, a move between a namespaced and a cluster-scoped
policy (Works ``pp-...`` and ``cpp-...``), a rename, a split, a merge and a brief competing claim.
kubesim counts every DELETE of a namespaced object on the member.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.agent.fleet import AW_API, Fleet, RequestCount, configmap, deployment, eventually


def pvc(name: str, namespace: str = "app") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }


OBJECTS = [
    ("v1", "PersistentVolumeClaim", "data"),
    ("apps/v1", "Deployment", "web"),
    ("v1", "ConfigMap", "cfg"),
]


def moved() -> list[dict[str, Any]]:
    return [pvc("data"), deployment("web"), configmap("cfg")]


async def uids(fleet: Fleet) -> dict[str, str]:
    out = {}
    for api_version, kind, name in OBJECTS:
        live = await fleet.member_get(api_version, kind, name, "app")
        assert live is not None, f"{kind} {name} missing on the member"
        out[name] = live["metadata"]["uid"]
    return out


async def held_by(fleet: Fleet, work: str) -> bool:
    for api_version, kind, name in OBJECTS:
        live = await fleet.member_get(api_version, kind, name, "app")
        if live is None or live["metadata"]["labels"].get("waybill.dev/work-name") != work:
            return False
        refs = [r["name"] for r in live["metadata"].get("ownerReferences") or []]
        if refs != [f"{fleet.namespace}.{work}"]:
            return False
    return True


async def recorded(fleet: Fleet, work: str) -> set[str]:
    applied = await fleet.member_get(AW_API, "AppliedWork", f"{fleet.namespace}.{work}")
    entries = ((applied or {}).get("status") or {}).get("appliedResources") or []
    return {r["name"] for r in entries if r["kind"] != "Namespace"}  # not the namespace it created


async def start(
    fleet: Fleet, work: str, manifests: list[dict[str, Any]]
) -> tuple[dict[str, str], RequestCount]:
    await fleet.start_agent(handover_grace=2.0)
    await fleet.create_work(work, manifests)
    await fleet.wait_work(work, "Applied")
    return await uids(fleet), RequestCount(fleet.member, method="DELETE", path="/namespaces/app/")


async def settled(fleet: Fleet, new: str, before: dict[str, str], deletes: RequestCount) -> None:
    await fleet.wait_work(new, "Applied", within=20)
    await eventually(lambda: held_by(fleet, new), within=20)
    assert await uids(fleet) == before, "the objects kept their UIDs"
    assert deletes.count == 0, f"{deletes.count} DELETE(s) on the member"


@pytest.mark.parametrize("new_first", [False, True], ids=["old-first", "new-first"])
@pytest.mark.parametrize(
    ("old", "new"),
    [("pp-team-a-web-1a2b3c4d", "pp-team-b-web-5e6f7a8b"), ("pp-app-web-1a2b3c4d", "cpp-web-9c0d1e2f")],
    ids=["policy-change", "namespaced-to-cluster-policy"],
)
async def test_policy_change_hands_objects_over(fleet: Fleet, old: str, new: str, new_first: bool) -> None:
    before, deletes = await start(fleet, old, [*moved(), configmap("stays")])
    if new_first:
        await fleet.create_work(new, moved())
        await asyncio.sleep(0.3)
        await fleet.update_work_spec(old, workload={"manifests": [configmap("stays")]})
    else:
        await fleet.update_work_spec(old, workload={"manifests": [configmap("stays")]})
        await asyncio.sleep(0.3)  # the hub writes the Works one after the other
        await fleet.create_work(new, moved())
    await settled(fleet, new, before, deletes)
    await fleet.wait_work(old, "Applied")
    await eventually(lambda: _equals(recorded(fleet, old), {"stays"}))
    assert await recorded(fleet, new) >= {"data", "web", "cfg"}


@pytest.mark.parametrize("new_first", [False, True], ids=["delete-first", "create-first"])
async def test_rename_hands_objects_over(fleet: Fleet, new_first: bool) -> None:
    before, deletes = await start(fleet, "old-name", moved())
    if new_first:
        await fleet.create_work("new-name", moved())
        await asyncio.sleep(0.3)
        await fleet.hub_admin.delete(AW_API, "Work", name="old-name", namespace=fleet.namespace)
    else:
        await fleet.hub_admin.delete(AW_API, "Work", name="old-name", namespace=fleet.namespace)
        await asyncio.sleep(0.3)
        await fleet.create_work("new-name", moved())
    await settled(fleet, "new-name", before, deletes)
    await eventually(lambda: _absent(fleet, "old-name"))


async def test_split_and_merge_hand_objects_over(fleet: Fleet) -> None:
    before, deletes = await start(fleet, "part-0", moved())
    # split: part-0 keeps the PVC, part-1 gets the Deployment and the ConfigMap
    await fleet.update_work_spec("part-0", workload={"manifests": [pvc("data")]})
    await fleet.create_work("part-1", [deployment("web"), configmap("cfg")])
    await fleet.wait_work("part-1", "Applied", within=20)
    await eventually(lambda: _equals(recorded(fleet, "part-1"), {"web", "cfg"}))
    await eventually(lambda: _equals(recorded(fleet, "part-0"), {"data"}))
    assert await uids(fleet) == before
    # merge: part-0 carries everything again, part-1 goes
    await fleet.update_work_spec("part-0", workload={"manifests": moved()})
    await fleet.hub_admin.delete(AW_API, "Work", name="part-1", namespace=fleet.namespace)
    await settled(fleet, "part-0", before, deletes)
    await eventually(lambda: _absent(fleet, "part-1"))


async def test_a_brief_competing_claim_leaves_no_stray_copy_and_blocks_nothing(fleet: Fleet) -> None:
    """A Work that claimed the object for a moment, then vanished: the winner takes it at once."""
    before, deletes = await start(fleet, "brief", moved())
    await fleet.create_work("winner", moved())
    await fleet.hub_admin.delete(AW_API, "Work", name="brief", namespace=fleet.namespace)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await settled(fleet, "winner", before, deletes)
    assert loop.time() - started < 15, "not held back by the 600 s grace for vanished Works"
    await eventually(lambda: _absent(fleet, "brief"))
    work = await fleet.get_work("winner")
    assert work is not None
    reasons = {c["reason"] for m in work["status"]["manifestConditions"] for c in m["conditions"]}
    assert "AppliedByAnotherWork" not in reasons


async def test_two_works_carrying_one_object_keep_it_with_the_first(fleet: Fleet) -> None:
    await fleet.start_agent(handover_grace=2.0)
    await fleet.create_work("first", [configmap("cfg")])
    await fleet.wait_work("first", "Applied")
    deletes = RequestCount(fleet.member, method="DELETE", path="/namespaces/app/")
    await fleet.create_work("second", [configmap("cfg")])
    await fleet.wait_work("second", "Applied", status="False", within=20)
    live = await fleet.member_get("v1", "ConfigMap", "cfg", "app")
    assert live is not None and live["metadata"]["labels"]["waybill.dev/work-name"] == "first"
    # the first lets go: the second takes it over, same object
    await fleet.update_work_spec("first", workload={"manifests": [configmap("other")]})
    await fleet.wait_work("second", "Applied", within=20)
    after = await fleet.member_get("v1", "ConfigMap", "cfg", "app")
    assert after is not None and after["metadata"]["uid"] == live["metadata"]["uid"]
    assert after["metadata"]["labels"]["waybill.dev/work-name"] == "second"
    assert deletes.count == 0


async def _equals(value: Any, expected: Any) -> bool:
    return bool(await value == expected)


async def _absent(fleet: Fleet, work: str) -> bool:
    return await fleet.member_get(AW_API, "AppliedWork", f"{fleet.namespace}.{work}") is None
