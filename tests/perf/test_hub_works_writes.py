"""Work writes per Work when many bindings arrive at once (docs/performance.md, "Hub scale").

Every binding the scheduler writes wakes the (policy, member) Works key of each of its members.
Rendering at each wake rewrote a Work as its templates arrived one by one (~3.5 writes per Work
while 100 templates were placed, before this was batched). A Works key woken by a binding waits
for the scheduler to drain (and a short batch window), so a burst is one write per Work.

The counts are Work write events on the hub API server (kubesim's store, in process): creates,
updates and deletes of Works, whoever made them (no agents run here, so only the hub writes).
"""

from __future__ import annotations

from typing import Any

from hub.app import Hub
from kubesim import SimServer
from shared.api import names
from shared.kube.client import KubeClient
from tests.hub.fleet import add_member, eventually, running_hub, settled

TEMPLATES = 100
POLICIES = ("p0", "p1")
MEMBERS = {"a": "0", "b": "0", "c": "1", "d": "1"}  # member → slot


class WorkWrites:
    """Every Work event of the hub API server's store, by type."""

    def __init__(self, server: SimServer) -> None:
        self.events: list[str] = []
        self.close = server.store.subscribe(self._on_event)

    def _on_event(self, event: Any) -> None:
        if event.rtype.key == (names.WORK_GROUP, "works"):
            self.events.append(event.type)

    def take(self) -> list[str]:
        out, self.events = self.events, []
        return out


def _policy(name: str, slot: str) -> dict[str, Any]:
    return {
        "apiVersion": names.POLICY_API_VERSION,
        "kind": names.KIND_PROPAGATION_POLICY,
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "resourceSelectors": [
                {"apiVersion": "v1", "kind": "ConfigMap", "labelSelector": {"matchLabels": {"policy": name}}}
            ],
            "placement": {"clusterAffinity": {"labelSelector": {"matchLabels": {"slot": slot}}}},
        },
    }


async def _placed(hub_api: KubeClient, where: dict[str, str]) -> bool:
    """Each policy's Works carry its templates on exactly the members of its slot."""
    works = (await hub_api.list(names.WORK_API_VERSION, names.KIND_WORK)).items
    have: dict[str, dict[str, int]] = {}
    for work in works:
        policy_name = work["metadata"]["labels"].get(names.LABEL_POLICY_NAME, "")
        per = have.setdefault(policy_name, {})
        per[work["metadata"]["namespace"]] = len(work["spec"]["workload"]["manifests"])
    for name, slot in where.items():
        want = {f"{names.MEMBER_NAMESPACE_PREFIX}{m}" for m, s in MEMBERS.items() if s == slot}
        if have.get(name, {}) != dict.fromkeys(want, TEMPLATES // len(POLICIES)):
            return False
    return True


async def _settle(hub: Hub, hub_api: KubeClient, where: dict[str, str], what: str) -> None:
    await eventually(lambda: _placed(hub_api, where), within=60, what=what)
    await settled(hub, polls=10)


async def test_a_burst_of_bindings_writes_each_work_once(hub_sim: SimServer) -> None:
    writes = WorkWrites(hub_sim)
    try:
        async with running_hub(str(hub_sim.kubeconfig_path)) as (hub, hub_api):
            for member, slot in MEMBERS.items():
                await add_member(hub_api, member, labels={"slot": slot})
            for index in range(TEMPLATES):
                await hub_api.create(
                    {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "metadata": {
                            "name": f"cm-{index:03d}",
                            "namespace": "default",
                            "labels": {"policy": POLICIES[index % len(POLICIES)]},
                        },
                        "data": {"index": str(index)},
                    }
                )
            await settled(hub)
            writes.take()
            where = {"p0": "0", "p1": "1"}
            for name, slot in where.items():
                await hub_api.create(_policy(name, slot))
            await _settle(hub, hub_api, where, "templates placed")
            placed = writes.take()
            # 2 policies x 2 members: 4 Works, each created once with its 50 manifests
            assert placed.count("ADDED") == 4, placed
            assert len(placed) <= 5, f"{len(placed)} Work writes for 4 Works: {placed}"

            # both policies change at once: every template moves to the other slot's members
            where = {"p0": "1", "p1": "0"}
            for name, slot in where.items():
                await hub_api.patch(
                    names.POLICY_API_VERSION,
                    names.KIND_PROPAGATION_POLICY,
                    name=name,
                    namespace="default",
                    patch={"spec": {"placement": _policy(name, slot)["spec"]["placement"]}},
                )
            await _settle(hub, hub_api, where, "templates re-placed")
            moved = writes.take()
            # 4 Works created on the new members, the 4 old ones deleted (at most one write more)
            assert moved.count("ADDED") == 4 and moved.count("DELETED") == 4, moved
            assert len(moved) <= 9, f"{len(moved)} Work writes to move 4 Works: {moved}"
    finally:
        writes.close()
