"""``schedulePriority`` and ``schedulerName`` (hub.schedule_priority), as Karmada's
PriorityBasedScheduling gate and its scheduler-name filter: the order in which bindings are
scheduled, a missing PriorityClass, and bindings left to another scheduler."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hub import schedule_priority
from hub.app import Hub
from hub.crds import ensure_crds
from hub.matching import TemplateRef
from kubesim import SimServer
from shared.api import names
from shared.kube.client import KubeClient
from shared.runtime.controller import Controller
from shared.runtime.workqueue import WorkQueue
from tests.hub.fleet import add_member, eventually, running_hub
from tests.hub.helpers import deployment, policy


def priority_class(name: str, value: int) -> dict[str, Any]:
    return {
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": {"name": name},
        "value": value,
    }


def prioritized(name: str, template: str, priority_class_name: str | None, **spec: Any) -> dict[str, Any]:
    found = policy(name, selectors=[{"apiVersion": "apps/v1", "kind": "Deployment", "name": template}])
    if priority_class_name is not None:
        found["spec"]["schedulePriority"] = {
            "priorityClassSource": "KubePriorityClass",
            "priorityClassName": priority_class_name,
        }
    found["spec"].update(spec)
    return found


# --- pure -------------------------------------------------------------------------------------------
def test_priority_is_the_priority_class_value_and_zero_without_one() -> None:
    classes = {"high": {"value": 1000}, "broken": {"value": "x"}}
    spec = {"schedulePriority": {"priorityClassSource": "KubePriorityClass", "priorityClassName": "high"}}
    assert schedule_priority.priority_of(spec, classes.get) == schedule_priority.Priority(1000)
    assert schedule_priority.priority_of({}, classes.get) == schedule_priority.Priority(0)
    missing = schedule_priority.priority_of(
        {"schedulePriority": {"priorityClassSource": "KubePriorityClass", "priorityClassName": "gone"}},
        classes.get,
    )
    assert missing.problem is not None and "spec.schedulePriority.priorityClassName" in missing.problem
    assert "gone" in missing.problem
    broken = {"schedulePriority": {"priorityClassSource": "KubePriorityClass", "priorityClassName": "broken"}}
    assert schedule_priority.priority_of(broken, classes.get).problem is not None
    assert schedule_priority.binding_fields(spec, schedule_priority.Priority(1000)) == {
        "schedulePriority": {"priority": 1000}
    }
    assert schedule_priority.binding_fields({}, schedule_priority.Priority()) == {}


@pytest.mark.parametrize(
    ("scheduler", "served"),
    [(None, True), ("", True), ("default-scheduler", True), ("my-scheduler", False)],
)
def test_only_the_served_scheduler_names_are_placed(scheduler: str | None, served: bool) -> None:
    spec = {} if scheduler is None else {"schedulerName": scheduler}
    assert schedule_priority.served(spec, ["default-scheduler"]) is served
    assert schedule_priority.served(spec, ["default-scheduler", "my-scheduler"])
    if not served:
        message = schedule_priority.not_served_message(spec, ["default-scheduler"])
        assert "spec.schedulerName" in message and "my-scheduler" in message


async def test_a_priority_queue_hands_out_the_highest_first_then_in_arrival_order() -> None:
    ranks = {"low-1": 1, "none-1": 0, "high-1": 10, "low-2": 1, "high-2": 10, "none-2": 0}
    queue: WorkQueue[str] = WorkQueue(name="t", priority=ranks.__getitem__)
    for key in ranks:
        queue.add(key)
    order = [await queue.get() for _ in ranks]
    assert order == ["high-1", "high-2", "low-1", "low-2", "none-1", "none-2"]
    for key in ranks:
        if key != "high-1":
            queue.done(key)
    # a key re-added while it is processed re-enters by its priority when done, not last
    queue.add("high-1")  # processing: due again when done
    queue.add("none-1")  # waits
    queue.done("high-1")
    assert [await queue.get(), await queue.get()] == ["high-1", "none-1"]


async def test_a_controller_with_priority_reconciles_the_highest_first() -> None:
    seen: list[str] = []

    async def reconcile(key: str) -> None:
        seen.append(key)
        if len(seen) == 3:
            controller.stop()

    ranks = {"a": 0, "b": 5, "c": 1}
    controller: Controller[str] = Controller("t", reconcile, workers=1, priority=ranks.__getitem__)
    for key in ranks:  # queued before the workers start: the order is the queue's alone
        controller.enqueue(key)
    await asyncio.wait_for(controller.run(), 5)
    assert seen == ["b", "c", "a"]


# --- on a hub -----------------------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def synced_hub(kubeconfig: str) -> AsyncIterator[tuple[Hub, KubeClient]]:
    """A hub whose caches are synced but whose controllers do not run: its scheduler queue fills
    from the informers and nothing takes keys from it, so the test reads the order itself."""
    hub_api = await KubeClient.from_kubeconfig(kubeconfig)
    await ensure_crds(hub_api)
    hub = Hub(hub_api)
    try:
        for informer in hub.state.fixed_informers:
            informer.start()
        for informer in hub.state.fixed_informers:
            await informer.wait_synced()
        hub._sync_template_kinds()
        for informer in hub.state.templates.values():
            await informer.wait_synced()
        yield hub, hub_api
    finally:
        for informer in [
            *hub.state.fixed_informers,
            hub.state.priority_classes,
            *hub.state.templates.values(),
        ]:
            await informer.stop()
        await hub_api.close()


async def test_the_hub_schedules_higher_priority_policies_first(hub_sim: SimServer) -> None:
    """The order decisions are taken in: highest PriorityClass value first, then arrival order."""
    setup = await KubeClient.from_kubeconfig(str(hub_sim.kubeconfig_path))
    await ensure_crds(setup)
    for name, value in (("high", 1000), ("mid", 10)):
        await setup.create(priority_class(name, value))
    templates = {"t-none": None, "t-mid": "mid", "t-high": "high", "t-mid2": "mid", "t-none2": None}
    for template, klass in templates.items():
        await setup.create(prioritized(f"p-{template}", template, klass))
    await setup.close()
    async with synced_hub(str(hub_sim.kubeconfig_path)) as (hub, hub_api):
        assert hub.scheduler_ctl.priority(TemplateRef("apps/v1", "Deployment", "default", "x")) == 0
        await eventually(lambda: _synced(hub), what="PriorityClass cache")
        hub.scheduler.queue.shutdown()  # the informers' first adds: replaced by ours, in a known order
        hub.scheduler.queue = WorkQueue(name="t", priority=hub.scheduler_ctl.priority)
        for template in templates:  # arrival order: t-none, t-mid, t-high, t-mid2, t-none2
            await hub_api.create(deployment(template))
            ref = TemplateRef("apps/v1", "Deployment", "default", template)
            await eventually(lambda r=ref: _cached(hub, r), what=f"{template} cached")
            hub.scheduler.enqueue(ref)
        order = [str((await hub.scheduler.queue.get()).name) for _ in templates]  # type: ignore[union-attr]
        assert order == ["t-high", "t-mid", "t-mid2", "t-none", "t-none2"]


async def _cached(hub: Hub, ref: TemplateRef) -> dict[str, Any] | None:
    return hub.state.template(ref)


async def _synced(hub: Hub) -> bool:
    return hub.state.priority_classes_ready()


async def _binding(hub_api: KubeClient, name: str) -> dict[str, Any]:
    found: dict[str, Any] = await hub_api.get(
        names.WORK_API_VERSION, names.KIND_RESOURCE_BINDING, name=name, namespace="default"
    )
    return found


def _scheduled(found: dict[str, Any]) -> dict[str, Any]:
    for condition in (found.get("status") or {}).get("conditions") or []:
        if condition["type"] == names.CONDITION_SCHEDULED:
            return dict(condition)
    return {}


async def test_the_binding_records_the_priority_and_waits_for_a_missing_class(hub_sim: SimServer) -> None:
    async with running_hub(str(hub_sim.kubeconfig_path)) as (_hub, hub_api):
        await add_member(hub_api, "m1")
        await hub_api.create(prioritized("web", "web", "urgent"))
        await hub_api.create(deployment("web"))

        async def waiting() -> dict[str, Any] | None:
            condition = _scheduled(await _binding(hub_api, "web-deployment"))
            return condition if condition.get("reason") == "PriorityClassNotFound" else None

        condition = await eventually(waiting, what="PriorityClassNotFound")
        assert condition["status"] == "False"
        assert "spec.schedulePriority.priorityClassName" in condition["message"]
        assert (await _binding(hub_api, "web-deployment"))["spec"]["clusters"] == []
        await hub_api.create(priority_class("urgent", 7))

        async def placed() -> dict[str, Any] | None:
            found = await _binding(hub_api, "web-deployment")
            return found if _scheduled(found).get("status") == "True" else None

        found = await eventually(placed, what="scheduled once the PriorityClass exists")
        assert found["spec"]["schedulePriority"] == {"priority": 7}
        assert [c["name"] for c in found["spec"]["clusters"]] == ["m1"]
        # a new value reaches the binding
        await hub_api.patch("scheduling.k8s.io/v1", "PriorityClass", name="urgent", patch={"value": 9})

        async def updated() -> bool:
            return (await _binding(hub_api, "web-deployment"))["spec"].get("schedulePriority") == {
                "priority": 9
            }

        await eventually(updated, what="new priority recorded")


async def test_a_binding_for_another_scheduler_is_left_to_it(hub_sim: SimServer) -> None:
    async with running_hub(str(hub_sim.kubeconfig_path)) as (_hub, hub_api):
        await add_member(hub_api, "m1")
        await hub_api.create(prioritized("mine", "mine", None, schedulerName="my-scheduler"))
        await hub_api.create(prioritized("plain", "plain", None, schedulerName="default-scheduler"))
        await hub_api.create(deployment("mine"))
        await hub_api.create(deployment("plain"))

        async def left() -> dict[str, Any] | None:
            found = await _binding(hub_api, "mine-deployment")
            return found if _scheduled(found).get("reason") == "SchedulerNotServed" else None

        found = await eventually(left, what="SchedulerNotServed")
        assert found["spec"]["schedulerName"] == "my-scheduler"
        assert "spec.schedulerName" in _scheduled(found)["message"]
        # Fence: the other template, created after it, was placed...
        plain = await eventually(
            lambda: _placed(hub_api, "plain-deployment"), what="the default-scheduler template placed"
        )
        assert plain["spec"]["schedulerName"] == "default-scheduler"
        # ...while this one has no placement, and its policy is valid (no longer Unsupported).
        assert (await _binding(hub_api, "mine-deployment"))["spec"]["clusters"] == []

        async def valid() -> str | None:
            pp = await hub_api.get(
                names.POLICY_API_VERSION, "PropagationPolicy", name="mine", namespace="default"
            )
            found = [c for c in (pp.get("status") or {}).get("conditions") or [] if c["type"] == "Valid"]
            return str(found[0]["status"]) if found else None

        assert await eventually(valid, what="the policy's Valid condition") == "True"
        # Another scheduler places it: the hub keeps that placement and renders its Works.
        await hub_api.patch(
            names.WORK_API_VERSION,
            names.KIND_RESOURCE_BINDING,
            name="mine-deployment",
            namespace="default",
            patch={"spec": {"clusters": [{"name": "m1", "replicas": 3}]}},
        )

        async def work_carries_mine() -> bool:
            works = await hub_api.list(names.WORK_API_VERSION, names.KIND_WORK, namespace="member-m1")
            return any(
                m.get("metadata", {}).get("name") == "mine"
                for w in works.items
                for m in w["spec"]["workload"]["manifests"]
            )

        await eventually(work_carries_mine, what="the other scheduler's placement rendered")


async def test_a_hub_serving_that_scheduler_name_places_it(hub_sim: SimServer) -> None:
    async with running_hub(
        str(hub_sim.kubeconfig_path), scheduler_names=("default-scheduler", "my-scheduler")
    ) as (_hub, hub_api):
        await add_member(hub_api, "m1")
        await hub_api.create(prioritized("mine", "mine", None, schedulerName="my-scheduler"))
        await hub_api.create(deployment("mine"))
        found = await eventually(lambda: _placed(hub_api, "mine-deployment"), what="placed")
        assert found["spec"]["schedulerName"] == "my-scheduler"


async def _placed(hub_api: KubeClient, name: str) -> dict[str, Any] | None:
    found = await _binding(hub_api, name)
    return found if _scheduled(found).get("status") == "True" and found["spec"]["clusters"] else None
