"""Writes skipped because the writer already made them: the hub's Work guard, the agent's kept records.

Each pins one cut of ``docs/performance.md`` at the level of the component, with a fake API
that counts what it is asked, so the cause is shown without timing: a pass that reads a cache
older than the controller's own last write must not write the same content again, and one
that sees a newer version (someone else wrote) must read or write as before.
"""

from __future__ import annotations

import copy
from typing import Any

from agent import applied_work as aw
from agent.work_removal import AppliedWorks
from hub.controller_works import WorksController
from shared.api import names


class CountingApi:
    """Answers patch / get / replace_status like an API server keeping one object per name."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.version = 100
        self.objects: dict[str, dict[str, Any]] = {}

    def _bump(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.version += 1
        obj = copy.deepcopy(obj)
        obj.setdefault("metadata", {})["resourceVersion"] = str(self.version)
        self.objects[str(obj["metadata"]["name"])] = obj
        return copy.deepcopy(obj)

    async def patch(self, api_version: str, kind: str, *, name: str, namespace: str, patch: Any) -> Any:
        self.calls.append(f"patch {kind}/{name}")
        base = self.objects.get(name) or {"metadata": {"name": name, "namespace": namespace}}
        return self._bump({**base, "spec": (patch.get("spec") or base.get("spec"))})

    async def get(self, api_version: str, kind: str, *, name: str) -> Any:
        self.calls.append(f"get {kind}/{name}")
        return copy.deepcopy(self.objects[name])

    async def replace_status(self, body: dict[str, Any], *, field_manager: str) -> Any:
        self.calls.append(f"update {body['kind']}/{body['metadata']['name']}")
        return self._bump(body)


class FakeState:
    def __init__(self, api: CountingApi) -> None:
        self.hub_api = api


def work(image: str, *, version: str) -> dict[str, Any]:
    return {
        "apiVersion": names.WORK_API_VERSION,
        "kind": names.KIND_WORK,
        "metadata": {
            "name": "w",
            "namespace": "member-a",
            "resourceVersion": version,
            "labels": {"l": "1"},
            "annotations": {"a": "1"},
        },
        "spec": {"workload": {"manifests": [{"image": image}]}},
    }


async def test_hub_does_not_rewrite_a_work_its_cache_has_not_caught_up_with() -> None:
    api = CountingApi()
    controller = WorksController(state=FakeState(api), enqueue_status=lambda key: None)  # type: ignore[arg-type]
    stale = work("v1", version="50")  # the informer's copy, from before this controller's write
    desired = work("v2", version="")
    await controller._write(copy.deepcopy(desired), stale)
    assert api.calls == ["patch Work/w"]
    # a second pass (a binding update, say) before the informer delivers the write: same content
    await controller._write(copy.deepcopy(desired), stale)
    assert api.calls == ["patch Work/w"], "the same content was written twice"
    # different content is written even while the cache lags
    await controller._write(work("v3", version=""), stale)
    assert api.calls == ["patch Work/w", "patch Work/w"]
    # the cache at a newer version than the last write (someone else wrote it): compared as before
    newer = work("v1", version=str(api.version + 5))
    await controller._write(work("v3", version=""), newer)
    assert api.calls == ["patch Work/w"] * 3


class VersionsOnly:
    """An AppliedWork informer stand-in: synced, holding resourceVersions (status dropped)."""

    def __init__(self) -> None:
        self.has_synced = True
        self.versions: dict[str, str] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        version = self.versions.get(key)
        return None if version is None else {"metadata": {"name": key, "resourceVersion": version}}


async def test_agent_serves_its_own_applied_work_record_without_a_get() -> None:
    api = CountingApi()
    name = aw.applied_work_name(work_namespace="member-a", work_name="w")
    api._bump({**aw.applied_work_object(work_namespace="member-a", work_name="w"), "status": {}})
    informer = VersionsOnly()
    records = AppliedWorks(api, field_manager="waybill-agent")  # type: ignore[arg-type]
    records.attach(informer)  # type: ignore[arg-type]
    informer.versions[name] = api.objects[name]["metadata"]["resourceVersion"]
    first = await records.get("member-a", "w", create=True)
    assert first is not None and api.calls == [f"get AppliedWork/{name}"]
    copy_ = {"uid": "u", "generation": 2, "spec": {"workload": {"manifests": [{"a": 1}]}}}
    entry = {"group": "", "kind": "ConfigMap", "name": "c", "namespace": "n", "uid": "1"}
    await records.write(first, [entry], work_copy=copy_)
    # the informer has not delivered the write yet (older version): the kept record is current
    again = await records.get("member-a", "w", create=True)
    assert api.calls == [f"get AppliedWork/{name}", f"update AppliedWork/{name}"]
    assert again is not None and aw.records(again) == [entry] and aw.copy_of(again) == copy_
    informer.versions[name] = api.objects[name]["metadata"]["resourceVersion"]  # delivered
    assert aw.records(await records.get("member-a", "w", create=True)) == [entry]
    assert len(api.calls) == 2
    # someone else wrote it since (a newer version in the informer): read the member again
    informer.versions[name] = str(api.version + 1)
    await records.get("member-a", "w", create=True)
    assert api.calls[-1] == f"get AppliedWork/{name}" and len(api.calls) == 3
    # not in the informer (deleted, or not delivered yet): read
    del informer.versions[name]
    await records.get("member-a", "w", create=True)
    assert len(api.calls) == 4
