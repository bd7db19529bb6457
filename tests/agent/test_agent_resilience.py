"""Resilience on kubesim: hub outage, forced 410s, 503/429 storms, restart convergence (pull and push)."""

from __future__ import annotations

from tests.agent.fleet import Fleet, configmap, eventually

AW = "work.waybill.dev/v1alpha1"


async def data_is(fleet: Fleet, name: str, value: str, namespace: str = "default") -> bool:
    live = await fleet.member_get("v1", "ConfigMap", name, namespace)
    return bool(live and live.get("data") == {"k": value})


async def test_hub_outage_deletes_nothing_and_drift_is_still_corrected(fleet: Fleet) -> None:
    await fleet.start_agent()
    await fleet.create_work("w", [configmap("cfg", namespace="default", k="hub")])
    await fleet.wait_work("w", "Applied")
    await fleet.hub.stop()
    try:
        await fleet.member_admin.patch(
            "v1",
            "ConfigMap",
            name="cfg",
            namespace="default",
            patch={"data": {"k": "edited"}},
            field_manager="kubectl-edit",
        )
        await eventually(lambda: data_is(fleet, "cfg", "hub"))
        await fleet.member_admin.delete("v1", "ConfigMap", name="cfg", namespace="default")
        await eventually(lambda: data_is(fleet, "cfg", "hub"))
        applied = await fleet.member_get(AW, "AppliedWork", f"{fleet.namespace}.w")
        assert applied is not None
    finally:
        await fleet.hub.restart()
    await fleet.update_work_spec("w", workload={"manifests": [configmap("cfg", namespace="default", k="v2")]})
    await eventually(lambda: data_is(fleet, "cfg", "v2"), within=30)
    await fleet.wait_work("w", "Applied", within=30)


async def test_forced_410_on_watches_relists_and_keeps_working(fleet: Fleet) -> None:
    await fleet.start_agent()
    await fleet.create_work("w", [configmap("cfg", namespace="default", k="hub")])
    await fleet.wait_work("w", "Applied")
    # The running watches are cut at their next event; every re-watch then starts with 410 Expired.
    fleet.member.faults.drop_watch(path="/configmaps", times=1)
    fleet.member.faults.expire_watch(path="/configmaps", times=2)
    fleet.hub.faults.drop_watch(path="/works", times=1)
    fleet.hub.faults.expire_watch(path="/works", times=2)
    member_lists = fleet.agents[0].cache._informers[("v1", "ConfigMap")].lists  # type: ignore[union-attr]
    hub_lists = fleet.agents[0].works.lists  # type: ignore[union-attr]
    await fleet.member_admin.patch(
        "v1",
        "ConfigMap",
        name="cfg",
        namespace="default",
        patch={"data": {"k": "edited"}},
        field_manager="kubectl-edit",
    )
    await eventually(lambda: data_is(fleet, "cfg", "hub"), within=20)
    await fleet.update_work_spec("w", workload={"manifests": [configmap("cfg", namespace="default", k="v2")]})
    await eventually(lambda: data_is(fleet, "cfg", "v2"), within=20)
    assert fleet.member.faults.injected >= 2 and fleet.hub.faults.injected >= 2
    assert fleet.agents[0].cache._informers[("v1", "ConfigMap")].lists > member_lists  # type: ignore[union-attr]
    assert fleet.agents[0].works.lists > hub_lists  # type: ignore[union-attr]


async def test_503_429_and_connection_resets_are_retried(fleet: Fleet) -> None:
    fleet.hub.faults.error(503, path="/works", times=6, retry_after=0)
    fleet.member.faults.throttle(path="/configmaps", times=4, retry_after=0)
    fleet.member.faults.error(500, path="/appliedworks", times=2, retry_after=0)
    fleet.member.faults.reset(path="/configmaps/a", method="PATCH", times=2)
    await fleet.start_agent()
    await fleet.create_work(
        "w", [configmap("a", namespace="default", k="x"), configmap("b", namespace="default")]
    )
    await fleet.wait_work("w", "Applied", within=30)
    assert await data_is(fleet, "a", "x")
    assert fleet.hub.faults.injected >= 1 and fleet.member.faults.injected >= 1


async def test_killed_between_apply_and_status_converges_on_restart(fleet: Fleet) -> None:
    first = await fleet.start_agent()
    await fleet.create_work("w", [configmap("a", namespace="default"), configmap("b", namespace="default")])
    await fleet.create_work("gone", [configmap("doomed", namespace="default")])
    await fleet.wait_work("w", "Applied")
    await fleet.wait_work("gone", "Applied")
    # The member gets the change, but no status can reach the hub; then the agent dies.
    fleet.hub.faults.error(503, path="/status", method="PATCH")
    updated = await fleet.update_work_spec(
        "w",
        workload={"manifests": [configmap("a", namespace="default"), configmap("c", namespace="default")]},
    )

    async def member_converged() -> bool:
        return (
            await fleet.member_get("v1", "ConfigMap", "c", "default") is not None
            and await fleet.member_get("v1", "ConfigMap", "b", "default") is None
        )

    await eventually(member_converged)
    await fleet.stop_agent(first)
    fleet.hub.faults.clear()
    # While it is down, a Work is deleted (nothing holds it on the hub): the next agent removes
    # what it applied, after the grace for Works it did not see deleted.
    await fleet.hub_admin.delete(AW, "Work", name="gone", namespace=fleet.namespace)
    assert await fleet.get_work("gone") is None
    await fleet.start_agent(orphaned_applied_work_grace=1.0)
    work = await fleet.wait_work("w", "Applied")
    assert work["metadata"]["generation"] == updated["metadata"]["generation"]

    async def cleaned() -> bool:
        return (
            await fleet.get_work("gone") is None
            and await fleet.member_get("v1", "ConfigMap", "doomed", "default") is None
        )

    await eventually(cleaned)
    applied = await fleet.member_get(AW, "AppliedWork", f"{fleet.namespace}.w")
    assert applied is not None
    names = sorted(r["name"] for r in applied["status"]["appliedResources"])
    assert names == ["a", "c"]
    assert all(r.get("uid") for r in applied["status"]["appliedResources"])
    listed = await fleet.member_admin.list(AW, "AppliedWork")
    assert sorted(i["metadata"]["name"] for i in listed.items) == [f"{fleet.namespace}.w"]
