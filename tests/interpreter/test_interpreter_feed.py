"""CustomizationFeed on kubesim: customizations created, changed, broken and deleted on the hub reach
the interpreter; a broken one is a problem by name while the others keep being served."""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from typing import Any

from hub.crds import ensure_crds
from shared.api import names
from shared.interpreter import Interpreter, Operation, errors
from shared.interpreter.feed import CustomizationFeed
from shared.kube.client import KubeClient
from shared.kube.informer import Informer
from tests.e2e.e2e_fleet import SimFactory
from tests.hub.fleet import eventually

WIDGET = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "status": {"ok": True}}
GADGET = {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}, "status": {"ok": True}}


def ric(name: str, kind: str, script: str) -> dict[str, Any]:
    return {
        "apiVersion": names.CONFIG_API_VERSION,
        "kind": names.KIND_RESOURCE_INTERPRETER_CUSTOMIZATION,
        "metadata": {"name": name},
        "spec": {
            "target": {"apiVersion": "example.com/v1", "kind": kind},
            "customizations": {"healthInterpretation": {"luaScript": script}},
        },
    }


def condition(check: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        return check()

    return probe


async def test_the_feed_follows_the_hub(sim_factory: SimFactory) -> None:
    hub = await sim_factory("hub")
    hub_api = await KubeClient.from_kubeconfig(hub.kubeconfig_path, name="hub")
    informer = Informer(hub_api, names.CONFIG_API_VERSION, names.KIND_RESOURCE_INTERPRETER_CUSTOMIZATION)
    interpreter = Interpreter()
    feed = CustomizationFeed(interpreter, informer)
    try:
        await ensure_crds(hub_api)
        informer.start()
        await hub_api.create(ric("widgets", "Widget", "function InterpretHealth(o) return o.status.ok end"))
        await hub_api.create(ric("gadgets", "Gadget", "function InterpretHealth(o) return true end"))
        await eventually(condition(lambda: interpreter.health(WIDGET) is True), what="widgets loaded")
        await eventually(
            condition(lambda: interpreter.rule_for(GADGET, Operation.INTERPRET_HEALTH) == "gadgets"),
            what="gadgets loaded",
        )

        live = await hub_api.get(
            names.CONFIG_API_VERSION, names.KIND_RESOURCE_INTERPRETER_CUSTOMIZATION, name="widgets"
        )
        changed = copy.deepcopy(live)
        changed["spec"]["customizations"]["healthInterpretation"]["luaScript"] = (
            "function InterpretHealth(o) return not o.status.ok end"
        )
        await hub_api.replace(changed)
        await eventually(condition(lambda: interpreter.health(WIDGET) is False), what="widgets changed")

        broken = await hub_api.get(
            names.CONFIG_API_VERSION, names.KIND_RESOURCE_INTERPRETER_CUSTOMIZATION, name="widgets"
        )
        broken["spec"]["customizations"]["healthInterpretation"]["luaScript"] = "function InterpretHealth("
        await hub_api.replace(broken)
        await eventually(condition(lambda: "widgets" in feed.problems), what="compile problem recorded")
        assert "ScriptCompileError" not in feed.problems["widgets"][0]  # the message, not the class
        assert "InterpretHealth" in feed.problems["widgets"][0]
        try:
            interpreter.health(WIDGET)
            raise AssertionError("a broken script must not fall back to anything")
        except errors.ScriptCompileError:
            pass
        assert interpreter.health(GADGET) is True  # the other customization is still served

        await hub_api.delete(
            names.CONFIG_API_VERSION, names.KIND_RESOURCE_INTERPRETER_CUSTOMIZATION, name="widgets"
        )
        await eventually(
            condition(lambda: interpreter.rule_for(WIDGET, Operation.INTERPRET_HEALTH) is None),
            what="widgets removed",
        )
        assert interpreter.health(WIDGET) is None  # no rule for Widget any more
        assert "widgets" not in feed.problems
        assert interpreter.customization_names() == ["gadgets"]
    finally:
        await informer.stop()
        await hub_api.close()


def test_an_invalid_object_is_a_problem_and_keeps_the_last_good_version() -> None:
    class FakeInformer:
        def __init__(self) -> None:
            self.objects: dict[str, Any] = {}

        def add_handler(self, handler: Callable[[str], None]) -> None:
            self.handler = handler

        def get(self, key: str) -> Any:
            return self.objects.get(key)

    informer = FakeInformer()
    interpreter = Interpreter()
    feed = CustomizationFeed(interpreter, informer)  # type: ignore[arg-type]
    informer.objects["widgets"] = ric("widgets", "Widget", "function InterpretHealth(o) return true end")
    informer.handler("widgets")
    invalid = ric("widgets", "Widget", "")
    informer.objects["widgets"] = invalid
    informer.handler("widgets")
    assert list(feed.problems) == ["widgets"]
    assert feed.problems["widgets"][0].startswith("spec.customizations.healthInterpretation.luaScript: ")
    assert interpreter.health(WIDGET) is True  # the last good version is still served
