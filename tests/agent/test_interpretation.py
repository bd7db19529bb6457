"""The agent through the resource interpreter (agent.interpretation): the scripts a Work carries
(``spec.interpreterCustomizations``) decide a manifest's Available condition, its
``reflectedStatus`` and what is kept from the member's object before a write; a failing script
gives a condition naming the customization and the operation. Table tests, then the agent on
kubesim (pull and push)."""

from __future__ import annotations

from typing import Any

from agent.interpretation import AgentInterpreters, WorkInterpretation
from agent.manifests import ManifestIdentifier
from agent.status import ManifestResult, build_work_status
from tests.agent.fleet import Fleet, configmap, eventually, manifest_condition, manifest_entry
from tests.crds import WIDGET_API, WIDGET_CRD

HEALTH = """
function InterpretHealth(observedObj)
  local status = observedObj.status or {}
  for _, condition in ipairs(status.conditions or {}) do
    if condition.type == "Ready" then return condition.status == "True" end
  end
  return false
end
"""
REFLECT = """
function ReflectStatus(observedObj)
  if observedObj.status == nil then return {} end
  return {readyReplicas = observedObj.status.readyReplicas, phase = observedObj.status.phase}
end
"""
RETAIN = """
function Retain(desiredObj, observedObj)
  if observedObj.spec ~= nil and observedObj.spec.replicas ~= nil then
    desiredObj.spec.replicas = observedObj.spec.replicas
  end
  return desiredObj
end
"""


def broken(function: str) -> str:
    return f"function {function}(obj) return obj.status.nothing.here end"


def entry(name: str = "widgets", kind: str = "Widget", **scripts: str) -> dict[str, Any]:
    return {
        "name": name,
        "target": {"apiVersion": WIDGET_API, "kind": kind},
        "customizations": {field: {"luaScript": script} for field, script in scripts.items()},
    }


def widget(*, ready: bool | None = None, replicas: int = 3) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": WIDGET_API,
        "kind": "Widget",
        "metadata": {"name": "shop", "namespace": "app"},
        "spec": {"replicas": replicas},
    }
    if ready is not None:
        obj["status"] = {
            "readyReplicas": replicas if ready else 0,
            "phase": "Running" if ready else "Failed",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        }
    return obj


def interpretation(*entries: dict[str, Any]) -> WorkInterpretation:
    made = AgentInterpreters().for_work({"interpreterCustomizations": list(entries)})
    assert made is not None
    return made


# ---------------------------------------------------------------- table tests


def test_health_script_decides_available() -> None:
    interp = interpretation(entry(healthInterpretation=HEALTH))
    assert interp.availability(widget(ready=True)).status == "True"
    failed = interp.availability(widget(ready=False))
    assert (failed.status, failed.reason) == ("False", "Unhealthy")
    assert "'widgets'" in failed.message
    assert not failed.failed  # not healthy is not a terminal failure (Degraded stays False)
    assert interp.availability(widget()).status == "False"  # no Ready condition yet
    # a kind without a health script keeps the built-in rules
    assert interp.availability(configmap("c")).reason == "AvailableOnceApplied"
    gadget = {**widget(), "kind": "Gadget"}
    assert interp.availability(gadget).reason == "NotTracked"


def test_a_failing_health_script_is_a_condition_never_an_exception() -> None:
    interp = interpretation(entry(healthInterpretation=broken("InterpretHealth")))
    result = interp.availability(widget(ready=True))
    assert (result.status, result.reason) == ("False", "InterpretationFailed")
    assert "'widgets'" in result.message and "InterpretHealth" in result.message
    compile_error = interpretation(entry(healthInterpretation="function InterpretHealth(")).availability(
        widget()
    )
    assert compile_error.reason == "InterpretationFailed" and "ScriptCompileError" in compile_error.message


def test_reflection_by_script_by_default_rule_or_not_at_all() -> None:
    scripted = interpretation(entry(statusReflection=REFLECT))
    reflected = scripted.reflect(widget(ready=True))
    assert reflected is not None and reflected.status == {"readyReplicas": 3, "phase": "Running"}
    assert reflected.condition["status"] == "True" and "'widgets'" in reflected.condition["message"]
    # listed without a script (only aggregated on the hub): the built-in rule, the whole status
    listed = interpretation(entry()).reflect(widget(ready=True))
    assert listed is not None and listed.status == widget(ready=True)["status"]
    assert scripted.reflect(configmap("c")) is None  # a kind the Work does not list
    failing = interpretation(entry(statusReflection=broken("ReflectStatus"))).reflect(widget(ready=True))
    assert failing is not None and failing.status is None
    assert (failing.condition["type"], failing.condition["status"], failing.condition["reason"]) == (
        "StatusReflected",
        "False",
        "InterpretationFailed",
    )
    assert "InterpretStatus" in failing.condition["message"]


def test_reflected_status_reaches_the_work_status_and_survives_a_failing_script() -> None:
    ident = ManifestIdentifier(ordinal=0, group="example.com", version="v1", kind="Widget", name="shop")
    good = interpretation(entry(statusReflection=REFLECT)).reflect(widget(ready=True))
    assert good is not None
    first = build_work_status(
        [ManifestResult(ident, True, "Applied", reflected_status=good.status, reflection=good.condition)],
        generation=1,
        existing=None,
        now="2026-12-06T00:00:00Z",
    )
    assert first["manifestConditions"][0]["reflectedStatus"] == {"readyReplicas": 3, "phase": "Running"}
    bad = interpretation(entry(statusReflection=broken("ReflectStatus"))).reflect(widget(ready=True))
    assert bad is not None
    second = build_work_status(
        [ManifestResult(ident, True, "Applied", reflected_status=bad.status, reflection=bad.condition)],
        generation=1,
        existing=first,
        now="2026-12-06T00:01:00Z",
    )
    kept = second["manifestConditions"][0]
    assert kept["reflectedStatus"] == {"readyReplicas": 3, "phase": "Running"}  # the last good one
    assert [c["status"] for c in kept["conditions"] if c["type"] == "StatusReflected"] == ["False"]


def test_retention_keeps_what_the_script_says() -> None:
    interp = interpretation(entry(retention=RETAIN))
    desired = widget(replicas=3)
    assert interp.retain(desired, widget(replicas=5))["spec"]["replicas"] == 5
    assert desired["spec"]["replicas"] == 3  # not mutated
    assert interp.retain(desired, None) is desired  # nothing on the member yet
    assert interpretation(entry(healthInterpretation=HEALTH)).retain(desired, widget(replicas=5)) is desired


def test_interpreters_are_cached_per_customization_list() -> None:
    cache = AgentInterpreters(capacity=2)
    spec = {"interpreterCustomizations": [entry(healthInterpretation=HEALTH)]}
    first = cache.for_work(spec)
    assert first is not None and cache.for_work({**spec}) is first
    assert cache.for_work({"interpreterCustomizations": []}) is None
    for script in ("return true", "return false"):
        cache.for_work(
            {
                "interpreterCustomizations": [
                    entry(healthInterpretation=f"function InterpretHealth(o) {script} end")
                ]
            }
        )
    assert cache.for_work(spec) is not first  # evicted beyond capacity, compiled again
    invalid = cache.for_work({"interpreterCustomizations": [{"name": "x", "target": {"kind": "Widget"}}]})
    assert invalid is not None and invalid.problems and "'x'" in invalid.problems[0]


# ---------------------------------------------------------------- the agent on kubesim


async def _crd(fleet: Fleet) -> None:
    await fleet.member_admin.create(WIDGET_CRD)

    async def served() -> bool:
        fleet.member_admin.invalidate_discovery()
        await fleet.member_admin.resource_info(WIDGET_API, "Widget")
        return True

    await eventually(served)


async def test_agent_reports_health_and_reflected_status_from_the_works_scripts(fleet: Fleet) -> None:
    await _crd(fleet)
    agent = await fleet.start_agent()
    try:
        carried = [entry(healthInterpretation=HEALTH, statusReflection=REFLECT, retention=RETAIN)]
        await fleet.create_work("shop", [configmap("cfg"), widget()], interpreterCustomizations=carried)

        async def widget_status(status: str, reason: str) -> dict[str, Any] | None:
            work = await fleet.get_work("shop")
            cond = manifest_condition(work or {}, 1, "Available") if work else None
            return work if cond and cond["status"] == status and cond["reason"] == reason else None

        work = await eventually(lambda: widget_status("False", "Unhealthy"))
        assert manifest_condition(work, 0, "Available")["status"] == "True"  # the ConfigMap
        # the member's Widget controller (the test) reports Ready: Available, reflected
        await fleet.member_admin.patch_status(
            WIDGET_API, "Widget", name="shop", namespace="app", patch={"status": widget(ready=True)["status"]}
        )
        work = await eventually(lambda: widget_status("True", "Healthy"), within=20)
        assert manifest_entry(work, 1)["reflectedStatus"] == {"readyReplicas": 3, "phase": "Running"}
        assert manifest_condition(work, 1, "StatusReflected")["status"] == "True"

        # retention: a member-side owner of spec.replicas is kept (not drift) across re-applies
        await fleet.member_admin.patch(
            WIDGET_API, "Widget", name="shop", namespace="app", patch={"spec": {"replicas": 5}}
        )
        relabelled = widget()
        relabelled["metadata"]["labels"] = {"rev": "2"}
        await fleet.update_work_spec("shop", workload={"manifests": [configmap("cfg"), relabelled]})

        async def relabelled_on_member() -> dict[str, Any] | None:
            live = await fleet.member_get(WIDGET_API, "Widget", "shop", "app")
            return live if live and (live["metadata"].get("labels") or {}).get("rev") == "2" else None

        live = await eventually(relabelled_on_member)  # the fence: the agent wrote after the edit
        assert live["spec"]["replicas"] == 5

        # a broken health script: a condition naming it; the other manifest is still served
        await fleet.update_work_spec(
            "shop", interpreterCustomizations=[entry(healthInterpretation=broken("InterpretHealth"))]
        )
        work = await eventually(lambda: widget_status("False", "InterpretationFailed"), within=20)
        message = manifest_condition(work, 1, "Available")["message"]
        assert "'widgets'" in message and "InterpretHealth" in message
        assert manifest_condition(work, 0, "Available")["status"] == "True"
    finally:
        await fleet.stop_agent(agent)
