"""Preview Works (``waybill plan --diff``) on a real agent, pull and push: compared only, claiming
nothing, never written; see ``agent.report_diff``."""

from __future__ import annotations

from typing import Any

from shared.api import names
from tests.agent.fleet import (
    AW_API,
    Fleet,
    condition,
    configmap,
    eventually,
    manifest_condition,
    manifest_entry,
)

PREVIEW = {names.LABEL_PREVIEW: "t1"}


async def create_preview(fleet: Fleet, name: str, manifests: list[dict[str, Any]], **spec: Any) -> None:
    body = {
        "apiVersion": names.WORK_API_VERSION,
        "kind": names.KIND_WORK,
        "metadata": {"name": name, "namespace": fleet.namespace, "labels": PREVIEW},
        "spec": {"workload": {"manifests": manifests}, **spec},
    }
    await fleet.hub_admin.create(body)


async def test_a_preview_compares_an_object_another_work_holds_and_never_holds_it_up(fleet: Fleet) -> None:
    await fleet.start_agent()
    await fleet.create_work("real", [configmap("cfg", k="hub"), configmap("other")])
    await fleet.wait_work("real", "Applied")
    await create_preview(fleet, "preview", [configmap("cfg", k="new")], applyStrategy={"type": "ReportDiff"})
    work = await fleet.wait_work("preview", "DiffReported")
    # not "AppliedByAnotherWork": a comparison fights no holder; the hub's manifest is compared as
    # given (no difference in Waybill's own labels, which name the holding Work)
    assert manifest_entry(work, 0)["diffs"] == [{"path": "/data/k", "memberValue": "hub", "hubValue": "new"}]
    assert await fleet.member_get(AW_API, "AppliedWork", f"{fleet.namespace}.preview") is None
    live = await fleet.member_get("v1", "ConfigMap", "cfg", "app")
    assert live is not None and live["data"] == {"k": "hub"}
    # The real Work drops cfg while the preview still carries it: it is removed after the
    # handover grace (0.5 s), not kept waiting for the preview to take it over.
    await fleet.update_work_spec("real", workload={"manifests": [configmap("other")]})

    async def removed() -> bool:
        return await fleet.member_get("v1", "ConfigMap", "cfg", "app") is None

    await eventually(removed, within=10)


async def test_a_preview_work_that_would_write_is_refused(fleet: Fleet) -> None:
    await fleet.start_agent()
    await create_preview(fleet, "writes", [configmap("absent")])  # ServerSideApply by default
    work = await fleet.wait_work("writes", names.CONDITION_APPLIED, "False")
    refused = manifest_condition(work, 0, names.CONDITION_APPLIED)
    assert refused is not None and refused["reason"] == "PreviewNotReportDiff", work
    assert "spec.applyStrategy.type must be ReportDiff" in refused["message"]
    assert condition(work, "DiffReported") is None
    assert await fleet.member_get("v1", "ConfigMap", "absent", "app") is None
    assert await fleet.member_get(AW_API, "AppliedWork", f"{fleet.namespace}.writes") is None
