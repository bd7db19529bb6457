"""A binding's rejections are bounded: ``rejected`` lists at most ``REJECTED_LISTED`` clusters
(the first by name), ``rejectedByReason`` counts every one per reason, ``rejectedTotal`` says how
many. Before, ``rejected`` listed every member left out (900 entries per binding at 1,000
members, most of the hub's memory: docs/performance.md "Hub scale")."""

from __future__ import annotations

import json
from typing import Any

from hub import keys, scheduling
from hub.controller_scheduling import rejections_status
from hub.matching import TemplateRef
from kubesim import SimServer
from shared.api import names
from shared.api.binding import REJECTED_GROUP_NAMES, REJECTED_LISTED, SchedulingDecision
from tests.hub.fleet import add_member, eventually, running_hub, settled
from tests.hub.helpers import configmap, policy

HUB_USER = "kubernetes-admin"


def test_rejections_are_listed_up_to_the_bound_and_counted_per_reason() -> None:
    rejections = [
        scheduling.Rejection(f"us{i:02d}", "LabelSelectorMismatch", "labels differ") for i in range(40)
    ]
    rejections += [scheduling.Rejection(f"eu{i:02d}", "Excluded", "listed in exclude") for i in range(5)]
    out = rejections_status(reversed(rejections))
    assert out["rejectedTotal"] == 45
    assert len(out["rejected"]) == REJECTED_LISTED == 10
    assert [r["cluster"] for r in out["rejected"]] == [f"eu{i:02d}" for i in range(5)] + [
        f"us{i:02d}" for i in range(5)
    ]
    assert out["rejectedByReason"] == [
        {
            "reason": "LabelSelectorMismatch",
            "count": 40,
            "message": "labels differ",
            "clusters": [f"us{i:02d}" for i in range(REJECTED_GROUP_NAMES)],
        },
        {
            "reason": "Excluded",
            "count": 5,
            "message": "listed in exclude",
            "clusters": [f"eu{i:02d}" for i in range(5)],
        },
    ]
    # the wire shape is the API model's (camelCase, validated)
    SchedulingDecision.model_validate({"result": "Scheduled", **out})


def test_the_status_size_does_not_grow_with_the_fleet() -> None:
    def size(members: int) -> int:
        rejections = [scheduling.Rejection(f"m{i:05d}", "LabelSelectorMismatch", "x") for i in range(members)]
        return len(json.dumps(rejections_status(rejections)))

    assert size(45) == size(4500) - 4  # only the digits of count and rejectedTotal differ


def test_no_rejection_writes_empty_lists() -> None:
    assert rejections_status([]) == {"rejected": [], "rejectedByReason": [], "rejectedTotal": 0}


async def test_a_binding_on_fifty_members_lists_ten_and_counts_the_rest(hub_sim: SimServer) -> None:
    async with running_hub(str(hub_sim.kubeconfig_path)) as (hub, hub_api):
        for i in range(10):
            await add_member(hub_api, f"eu{i:02d}", labels={"geo": "eu"})
        for i in range(40):
            await add_member(hub_api, f"us{i:02d}", labels={"geo": "us"})
        placement = {
            "clusterAffinity": {
                "labelSelector": {"matchLabels": {"geo": "eu"}},
                "exclude": [f"eu{i:02d}" for i in range(5, 10)],
            }
        }
        await hub_api.create(
            policy(
                "cfg",
                selectors=[{"apiVersion": "v1", "kind": "ConfigMap", "name": "cfg"}],
                placement=placement,
            )
        )
        await hub_api.create(configmap("cfg"))
        ref = TemplateRef("v1", "ConfigMap", "default", "cfg")

        async def decision() -> dict[str, Any] | None:
            found = await hub_api.get(
                names.WORK_API_VERSION,
                names.KIND_RESOURCE_BINDING,
                name=keys.binding_name(ref),
                namespace="default",
            )
            made = (found.get("status") or {}).get("schedulingDecision") or {}
            return made if made.get("rejectedTotal") == 45 else None

        made = await eventually(decision, within=30, what="a decision with 45 clusters left out")
        assert {t["cluster"] for t in made["targets"]} == {f"eu{i:02d}" for i in range(5)}
        assert len(made["rejected"]) == REJECTED_LISTED, made["rejected"]
        assert [r["cluster"] for r in made["rejected"]] == [f"eu{i:02d}" for i in range(5, 10)] + [
            f"us{i:02d}" for i in range(5)
        ]
        assert {g["reason"]: g["count"] for g in made["rejectedByReason"]} == {
            "LabelSelectorMismatch": 40,
            "Excluded": 5,
        }
        assert made["rejectedByReason"][0]["clusters"] == [f"us{i:02d}" for i in range(REJECTED_GROUP_NAMES)]

        # an unchanged decision writes nothing: the scheduler compares the grouped shape
        await settled(hub)
        bkey = hub.state.binding_key_for(ref)
        cached = hub.state.binding(bkey)
        assert cached is not None and cached["status"]["schedulingDecision"] == made
        hub_sim.audit.reset()
        hub_sim.audit.enable()
        await hub.scheduler_ctl.reconcile(ref)
        writes = hub_sim.audit.counts(
            "verb",
            where=lambda e: (
                e.user == HUB_USER
                and e.resource == "resourcebindings"
                and e.verb not in ("get", "list", "watch")
            ),
        )
        assert not writes, writes
        assert (await decision()) == made

        # the causal fence: the same pass does write a decision in the shape before the bound
        # (every cluster listed, no counts), the way a binding written by an older hub looks
        old_shape = {
            "rejectedByReason": None,
            "rejectedTotal": None,
            "rejected": [{"cluster": "x", "reason": "Old"}],
        }
        await hub_api.patch_status(
            names.WORK_API_VERSION,
            names.KIND_RESOURCE_BINDING,
            name=keys.binding_name(ref),
            namespace="default",
            patch={"status": {"schedulingDecision": old_shape}},
        )

        async def cached_old() -> bool:
            found = hub.state.binding(bkey)
            return found is not None and "rejectedTotal" not in found["status"]["schedulingDecision"]

        await eventually(cached_old, what="the old shape in the hub's cache")
        hub_sim.audit.reset()
        await hub.scheduler_ctl.reconcile(ref)
        writes = hub_sim.audit.counts(
            "verb",
            "subresource",
            where=lambda e: (
                e.user == HUB_USER
                and e.resource == "resourcebindings"
                and e.verb not in ("get", "list", "watch")
            ),
        )
        hub_sim.audit.disable()
        assert writes == {("apply", "status"): 1}, writes
        rewritten = await decision()
        assert rewritten is not None and len(rewritten["rejected"]) == REJECTED_LISTED
