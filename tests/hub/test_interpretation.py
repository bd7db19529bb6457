"""The hub through the resource interpreter (hub.interpretation): replicas, revision, status
aggregation, dependencies and the scripts copied into Works; table tests, then the running hub
on kubesim (no agents): a customization change re-renders, broken scripts give conditions and
keep the last good output."""

from __future__ import annotations

from typing import Any

import pytest

from hub import dependencies, interpretation, keys, rendering, scheduling
from hub.clusters import ClusterView
from hub.matching import TemplateRef
from kubesim import SimServer
from shared.api import names
from shared.interpreter import Interpreter, InterpreterError
from shared.kube.client import KubeClient
from tests.crds import WIDGET_API, WIDGET_CRD
from tests.hub.fleet import add_member, eventually, running_hub
from tests.hub.helpers import configmap, deployment, policy

WORK = (names.WORK_API_VERSION, names.KIND_WORK)


def customization(
    name: str = "widgets", kind: str = "Widget", api_version: str = WIDGET_API, **scripts: str
) -> dict[str, Any]:
    return {
        "apiVersion": names.CONFIG_API_VERSION,
        "kind": names.KIND_RESOURCE_INTERPRETER_CUSTOMIZATION,
        "metadata": {"name": name},
        "spec": {
            "target": {"apiVersion": api_version, "kind": kind},
            "customizations": {field: {"luaScript": script} for field, script in scripts.items()},
        },
    }


GET_COUNT = """
function GetReplicas(obj)
  return obj.spec.count, {resourceRequest = {cpu = obj.spec.cpu}}
end
"""
REVISE_COUNT = """
function ReviseReplica(obj, desiredReplica)
  obj.spec.count = desiredReplica
  return obj
end
"""
AGGREGATE = """
function AggregateStatus(desiredObj, statusItems)
  local ready = 0
  for i = 1, #statusItems do ready = ready + ((statusItems[i].status or {}).ready or 0) end
  desiredObj.status = {ready = ready}
  return desiredObj
end
"""
DEPENDS = """
function GetDependencies(desiredObj)
  return {{apiVersion = "v1", kind = "ConfigMap", name = desiredObj.spec.config}}
end
"""


def broken(function: str) -> str:
    return f"function {function}(obj) return obj.spec.missing.field end"


def widget(count: int = 6, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": WIDGET_API,
        "kind": "Widget",
        "metadata": {"name": "shop", "namespace": "default", "generation": 1},
        "spec": {"count": count, "cpu": "500m", **spec},
    }


WIDGETS = Interpreter([customization(replicaResource=GET_COUNT, replicaRevision=REVISE_COUNT)])
CLUSTERS = [ClusterView("a", available={"cpu": "1"}), ClusterView("b", available={"cpu": "8"})]


def weighted(a: int, b: int) -> dict[str, Any]:
    return {
        "placement": {
            "replicaScheduling": {
                "replicaSchedulingType": "Divided",
                "replicaDivisionPreference": "Weighted",
                "weightPreference": {
                    "staticWeightList": [
                        {"targetCluster": {"clusterNames": ["a"]}, "weight": a},
                        {"targetCluster": {"clusterNames": ["b"]}, "weight": b},
                    ]
                },
            }
        }
    }


# ---------------------------------------------------------------- replicas (scheduling)


def test_a_customization_gives_a_custom_kind_replicas_divided_by_weight() -> None:
    decision = scheduling.schedule(
        policy_spec=weighted(1, 2), template=widget(6), clusters=CLUSTERS, interpreter=WIDGETS
    )
    assert decision.total_replicas == 6
    assert decision.replicas_by_cluster() == {"a": 2, "b": 4}
    # without the customization the kind has no replicas: it is duplicated whole
    plain = scheduling.schedule(policy_spec=weighted(1, 2), template=widget(6), clusters=CLUSTERS)
    assert plain.total_replicas is None and plain.replicas_by_cluster() == {"a": None, "b": None}


def test_the_scripts_requirements_are_the_replicas_requests() -> None:
    assert interpretation.replicas(widget(3), WIDGETS) == (3, {"cpu": 0.5})
    spec = {
        "placement": {
            "replicaScheduling": {
                "replicaSchedulingType": "Divided",
                "replicaDivisionPreference": "Weighted",
                "weightPreference": {"dynamicWeight": "AvailableReplicas"},
            }
        }
    }
    decision = scheduling.schedule(
        policy_spec=spec, template=widget(6), clusters=CLUSTERS, interpreter=WIDGETS
    )
    # a fits 2 replicas of 500m, b 16: divided by that room
    assert decision.replicas_by_cluster() == {"a": 1, "b": 5}


def test_built_in_kinds_keep_their_rules_unless_a_customization_names_them() -> None:
    web = deployment(replicas=5, cpu="250m")
    assert interpretation.replicas(web, WIDGETS) == (5, {"cpu": 0.25})
    assert interpretation.replicas(configmap(), WIDGETS) == (None, {})
    custom = Interpreter(
        [
            customization(
                "deploys", "Deployment", "apps/v1", replicaResource="function GetReplicas(o) return 2 end"
            )
        ]
    )
    assert interpretation.replicas(web, custom) == (2, {})


def test_a_failing_replica_script_is_a_placement_error_naming_it() -> None:
    failing = Interpreter([customization(replicaResource=broken("GetReplicas"))])
    with pytest.raises(scheduling.PlacementError) as caught:
        scheduling.schedule(
            policy_spec=weighted(1, 1), template=widget(), clusters=CLUSTERS, interpreter=failing
        )
    assert caught.value.reason == interpretation.REASON_INTERPRETATION_FAILED
    assert "'widgets'" in str(caught.value) and "InterpretReplica" in str(caught.value)
    wrong = Interpreter(
        [
            customization(
                replicaResource='function GetReplicas(o) return 1, {resourceRequest = {cpu = "lots"}} end'
            )
        ]
    )
    with pytest.raises(InterpreterError, match=r"resourceRequest\.cpu"):
        interpretation.replicas(widget(), wrong)


def test_replica_path_shorthand_is_a_defaults_layer_a_user_customization_overrides() -> None:
    defaults = interpretation.shorthand_defaults(
        {("example.com", "Widget"): "spec.size", ("apps", "Deployment"): "spec.replicas"}
    )
    assert [d["spec"]["target"]["kind"] for d in defaults] == ["Widget"]  # the built-in one is left out
    shorthand = Interpreter(defaults=defaults)
    sized = {**widget(), "spec": {"size": 4}}
    assert interpretation.replicas(sized, shorthand) == (4, {})
    assert interpretation.revise(rendering.strip_server_fields(sized), 1, shorthand)["spec"]["size"] == 1
    shorthand.set_customization(customization(replicaResource=GET_COUNT))
    assert interpretation.replicas({**widget(7), "spec": {"size": 4, "count": 7, "cpu": "1"}}, shorthand) == (
        7,
        {"cpu": 1.0},
    )


# ---------------------------------------------------------------- revision (rendering)


def test_revision_writes_each_members_share() -> None:
    manifest = rendering.render_manifest(
        widget(6), cluster=CLUSTERS[0], replicas=2, overrides=[], interpreter=WIDGETS
    )
    assert manifest["spec"]["count"] == 2 and "generation" not in manifest["metadata"]
    web = rendering.render_manifest(deployment(replicas=6), cluster=CLUSTERS[0], replicas=4, overrides=[])
    assert web["spec"]["replicas"] == 4
    failing = Interpreter([customization(replicaRevision=broken("ReviseReplica"))])
    with pytest.raises(InterpreterError, match="ReviseReplica"):
        rendering.render_manifest(
            widget(), cluster=CLUSTERS[0], replicas=2, overrides=[], interpreter=failing
        )


# ---------------------------------------------------------------- status aggregation


def _items(*ready: int) -> list[dict[str, Any]]:
    return [
        {
            "clusterName": f"c{i}",
            "applied": True,
            "health": "Healthy",
            "status": {"ready": n},
            "upToDate": True,
        }
        for i, n in enumerate(ready)
    ]


def test_aggregation_customization_sets_the_template_status_and_says_so() -> None:
    aggregating = Interpreter([customization(statusAggregation=AGGREGATE)])
    outcome = interpretation.status_outcome(
        template=widget(), items=_items(2, 3), interpreter=aggregating, propagates_deps=False
    )
    assert outcome.template_status == {"ready": 5}
    assert [(c.type, c.status) for c in outcome.conditions] == [("StatusAggregated", "True")]
    # built-in kinds: hub.aggregation, as before; no condition unless one was set before
    web = {**deployment(), "metadata": {"name": "web", "namespace": "default", "generation": 2}}
    items = [{"clusterName": "a", "status": {"ReadyReplicas": 2}, "upToDate": True}]
    plain = interpretation.status_outcome(
        template=web, items=items, interpreter=aggregating, propagates_deps=False
    )
    assert plain.template_status == {"readyReplicas": 2, "observedGeneration": 2} and plain.conditions == []


def test_a_failing_aggregation_keeps_the_last_status_and_gives_a_condition() -> None:
    failing = Interpreter([customization(statusAggregation=broken("AggregateStatus"))])
    outcome = interpretation.status_outcome(
        template=widget(), items=_items(1), interpreter=failing, propagates_deps=False
    )
    assert outcome.template_status is None  # nothing written: the last good status stays
    (condition,) = outcome.conditions
    assert (condition.type, condition.status, condition.reason) == (
        "StatusAggregated",
        "False",
        "InterpretationFailed",
    )
    assert "'widgets'" in condition.message and "AggregateStatus" in condition.message
    # the customization deleted: the condition set before turns True (the built-in rule)
    back = interpretation.status_outcome(
        template=widget(),
        items=_items(1),
        interpreter=Interpreter(),
        propagates_deps=False,
        existing=[{"type": "StatusAggregated", "status": "False"}],
    )
    assert [(c.type, c.status) for c in back.conditions] == [("StatusAggregated", "True")]


# ---------------------------------------------------------------- dependencies


def test_dependencies_come_from_the_customization_and_unsupported_ones_are_refused() -> None:
    depending = Interpreter([customization(dependencyInterpretation=DEPENDS)])
    assert interpretation.dependencies(widget(config="settings"), depending) == [
        dependencies.DependencyRef("v1", "ConfigMap", "default", "settings")
    ]
    # built-in kinds: hub.dependencies' own rule
    web = deployment()
    web["spec"]["template"]["spec"]["serviceAccountName"] = "runner"
    assert interpretation.dependencies(web, depending) == dependencies.dependencies_of(web)
    for script, message in (
        ('return {{apiVersion = "example.com/v1", kind = "Gadget", name = "g"}}', "not a kind propagated"),
        (
            'return {{apiVersion = "v1", kind = "Secret", labelSelector = {matchLabels = {a = "b"}}}}',
            "labelSelector",
        ),
        (
            'return {{apiVersion = "v1", kind = "Secret", namespace = "other", name = "s"}}',
            "namespace 'other'",
        ),
    ):
        refusing = Interpreter(
            [customization(dependencyInterpretation=f"function GetDependencies(o) {script} end")]
        )
        with pytest.raises(InterpreterError, match=message):
            interpretation.dependencies(widget(), refusing)


def test_a_failing_dependency_script_keeps_the_last_list_and_gives_a_condition() -> None:
    failing = Interpreter([customization(dependencyInterpretation=broken("GetDependencies"))])
    spec = {"propagateDeps": True}
    previous = [{"apiVersion": "v1", "kind": "ConfigMap", "namespace": "default", "name": "settings"}]
    assert interpretation.binding_dependencies(spec, widget(), failing, previous=previous) == previous
    assert interpretation.listed_dependencies({"spec": {"dependencies": previous}}) == [
        dependencies.DependencyRef("v1", "ConfigMap", "default", "settings")
    ]
    outcome = interpretation.status_outcome(
        template=widget(), items=[], interpreter=failing, propagates_deps=True
    )
    assert [(c.type, c.status, c.reason) for c in outcome.conditions] == [
        ("DependenciesResolved", "False", "InterpretationFailed")
    ]
    assert (
        "GetDependencies" in outcome.conditions[0].message
        or "InterpretDependency" in outcome.conditions[0].message
    )


# ---------------------------------------------------------------- what the agent gets


def test_works_carry_only_the_agents_scripts_of_the_carried_kinds() -> None:
    interpreter = Interpreter(
        [
            customization(
                replicaResource=GET_COUNT,
                healthInterpretation="function InterpretHealth(o) return true end",
                statusReflection="function ReflectStatus(o) return {} end",
            ),
            customization("gadgets", "Gadget", statusAggregation=AGGREGATE),
            customization(
                "unrelated", "Thing", healthInterpretation="function InterpretHealth(o) return true end"
            ),
        ],
        defaults=interpretation.shorthand_defaults({("example.com", "Sized"): "spec.size"}),
    )
    gadget = {"apiVersion": WIDGET_API, "kind": "Gadget", "metadata": {"name": "g", "namespace": "default"}}
    sized = {"apiVersion": WIDGET_API, "kind": "Sized", "metadata": {"name": "s", "namespace": "default"}}
    carried = interpretation.agent_customizations([widget(), gadget, sized, deployment()], interpreter)
    assert [c["name"] for c in carried] == ["gadgets", "widgets"]
    assert carried[0] == {
        "name": "gadgets",
        "target": {"apiVersion": WIDGET_API, "kind": "Gadget"},
        "customizations": {},
    }
    assert set(carried[1]["customizations"]) == {"healthInterpretation", "statusReflection"}
    assert interpretation.agent_customizations([deployment()], interpreter) == []


def test_rendered_reason_says_which_kind_of_problem() -> None:
    problem = interpretation.describe(
        InterpreterError(customization="widgets", operation="ReviseReplica", message="boom")
    )
    assert interpretation.render_reason([problem]) == "InterpretationFailed"
    assert interpretation.render_reason([problem, "override x failed"]) == "OverrideFailed"


# ---------------------------------------------------------------- the running hub (kubesim)

REF = TemplateRef(WIDGET_API, "Widget", "default", "shop")


async def _setup(hub_api: KubeClient, **policy_spec: Any) -> None:
    for name in ("a", "b"):
        await add_member(hub_api, name)
    await hub_api.create(WIDGET_CRD)

    async def served() -> bool:
        hub_api.invalidate_discovery()
        await hub_api.resource_info(WIDGET_API, "Widget")
        return True

    await eventually(served, what="Widget served")
    pp = policy(
        "w", selectors=[{"apiVersion": WIDGET_API, "kind": "Widget"}], placement=weighted(1, 2)["placement"]
    )
    pp["spec"].update(policy_spec)
    await hub_api.create(pp)


async def _binding(hub_api: KubeClient) -> dict[str, Any]:
    return await hub_api.get(
        names.WORK_API_VERSION, names.KIND_RESOURCE_BINDING, name=keys.binding_name(REF), namespace="default"
    )


def _condition(obj: dict[str, Any], type_: str) -> dict[str, Any] | None:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == type_), None)


async def _manifests(hub_api: KubeClient, member: str) -> dict[str, dict[str, Any]]:
    works = (await hub_api.list(*WORK, namespace=f"member-{member}")).items
    return {m["kind"]: m for w in works for m in w["spec"]["workload"]["manifests"]}


async def _counts(hub_api: KubeClient, expected: dict[str, int]) -> bool:
    for member, count in expected.items():
        if (await _manifests(hub_api, member)).get("Widget", {}).get("spec", {}).get("count") != count:
            return False
    return True


async def test_a_customization_change_reschedules_and_rerenders_and_a_broken_revision_keeps_the_manifest(
    hub_sim: SimServer,
) -> None:
    async with running_hub(str(hub_sim.kubeconfig_path)) as (_hub, hub_api):
        await _setup(hub_api)
        shop = widget(6)
        del shop["metadata"]["generation"]
        await hub_api.create(shop)
        # no customization yet: the kind has no replicas, each member gets the whole object
        await eventually(lambda: _counts(hub_api, {"a": 6, "b": 6}), what="duplicated whole")
        await hub_api.create(customization(replicaResource=GET_COUNT, replicaRevision=REVISE_COUNT))
        await eventually(
            lambda: _counts(hub_api, {"a": 2, "b": 4}), what="divided once the customization exists"
        )
        # a broken ReviseReplica: Rendered=False naming it; the members keep their last good manifests
        await hub_api.patch(
            names.CONFIG_API_VERSION,
            names.KIND_RESOURCE_INTERPRETER_CUSTOMIZATION,
            name="widgets",
            patch={"spec": {"customizations": {"replicaRevision": {"luaScript": broken("ReviseReplica")}}}},
        )
        await hub_api.patch(
            WIDGET_API, "Widget", name="shop", namespace="default", patch={"spec": {"count": 9}}
        )

        async def not_rendered() -> dict[str, Any] | None:
            rendered = _condition(await _binding(hub_api), "Rendered")
            return rendered if rendered and rendered["status"] == "False" else None

        rendered = await eventually(not_rendered, what="Rendered=False")
        assert rendered["reason"] == "InterpretationFailed"
        assert "'widgets'" in rendered["message"] and "ReviseReplica" in rendered["message"]
        assert (await _binding(hub_api))["spec"]["replicas"] == 9  # InterpretReplica still works
        assert await _counts(hub_api, {"a": 2, "b": 4})  # the last good manifests
        # fixed: rendered again with the new count
        await hub_api.patch(
            names.CONFIG_API_VERSION,
            names.KIND_RESOURCE_INTERPRETER_CUSTOMIZATION,
            name="widgets",
            patch={"spec": {"customizations": {"replicaRevision": {"luaScript": REVISE_COUNT}}}},
        )
        await eventually(lambda: _counts(hub_api, {"a": 3, "b": 6}), what="rendered again")
        await eventually(lambda: _rendered_true(hub_api), what="Rendered=True")
        # deleting the customization: the built-in rule again (no replicas: duplicated whole)
        await hub_api.delete(
            names.CONFIG_API_VERSION, names.KIND_RESOURCE_INTERPRETER_CUSTOMIZATION, name="widgets"
        )
        await eventually(lambda: _counts(hub_api, {"a": 9, "b": 9}), what="duplicated again")


async def _rendered_true(hub_api: KubeClient) -> bool:
    rendered = _condition(await _binding(hub_api), "Rendered")
    return rendered is not None and rendered["status"] == "True"


async def test_propagate_deps_follows_get_dependencies_and_a_broken_script_keeps_them(
    hub_sim: SimServer,
) -> None:
    async with running_hub(str(hub_sim.kubeconfig_path)) as (_hub, hub_api):
        await _setup(hub_api, propagateDeps=True)
        await hub_api.create(customization(dependencyInterpretation=DEPENDS))
        await hub_api.create(configmap("settings"))
        await hub_api.create(configmap("other"))
        shop = widget(config="settings")
        del shop["metadata"]["generation"]
        await hub_api.create(shop)

        async def shipped(member: str, config: str) -> bool:
            manifests = await _manifests(hub_api, member)
            return (
                "Widget" in manifests
                and manifests.get("ConfigMap", {}).get("metadata", {}).get("name") == config
            )

        for member in ("a", "b"):
            await eventually(
                lambda m=member: shipped(m, "settings"), what=f"settings with the Widget on {member}"
            )

        async def resolved(status: str) -> dict[str, Any] | None:
            cond = _condition(await _binding(hub_api), "DependenciesResolved")
            return cond if cond and cond["status"] == status else None

        assert (
            "ConfigMap/default/settings"
            in (await eventually(lambda: resolved("True"), what="resolved"))["message"]
        )
        await hub_api.patch(
            names.CONFIG_API_VERSION,
            names.KIND_RESOURCE_INTERPRETER_CUSTOMIZATION,
            name="widgets",
            patch={
                "spec": {
                    "customizations": {"dependencyInterpretation": {"luaScript": broken("GetDependencies")}}
                }
            },
        )
        await hub_api.patch(
            WIDGET_API, "Widget", name="shop", namespace="default", patch={"spec": {"config": "other"}}
        )
        failed = await eventually(lambda: resolved("False"), what="DependenciesResolved=False")
        assert failed["reason"] == "InterpretationFailed" and "'widgets'" in failed["message"]
        # the Works are rendered for the new Widget, with the last good dependency
        for member in ("a", "b"):

            async def rendered(m: str = member) -> dict[str, dict[str, Any]] | None:
                manifests = await _manifests(hub_api, m)
                return manifests if manifests["Widget"]["spec"]["config"] == "other" else None

            manifests = await eventually(rendered, what=f"the new Widget on {member}")
            assert manifests["ConfigMap"]["metadata"]["name"] == "settings"
        # fixed: the new dependency replaces the old one
        await hub_api.patch(
            names.CONFIG_API_VERSION,
            names.KIND_RESOURCE_INTERPRETER_CUSTOMIZATION,
            name="widgets",
            patch={"spec": {"customizations": {"dependencyInterpretation": {"luaScript": DEPENDS}}}},
        )
        for member in ("a", "b"):
            await eventually(lambda m=member: shipped(m, "other"), what=f"other on {member}")
        await eventually(lambda: resolved("True"), what="resolved again")


def test_a_reflected_status_of_a_built_in_kind_is_summed_without_its_generations() -> None:
    # a statusReflection customization of Deployment: the members report camelCase fields
    web = {**deployment(), "metadata": {"name": "web", "namespace": "default", "generation": 4}}
    items = [
        {"clusterName": c, "status": {"readyReplicas": 2, "observedGeneration": 4, "generation": 4}}
        for c in ("a", "b")
    ]
    outcome = interpretation.status_outcome(
        template=web, items=items, interpreter=Interpreter(), propagates_deps=False
    )
    assert outcome.template_status == {"readyReplicas": 4}
