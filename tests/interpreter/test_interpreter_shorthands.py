"""The defaults layer and the --replica-path shorthand: below user customizations, above built-ins."""

from __future__ import annotations

from typing import Any

import pytest

from shared.api import names
from shared.interpreter import Interpreter, Operation
from shared.interpreter.shorthands import replica_path_customization

WIDGET: dict[str, Any] = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}


def test_the_shorthand_reads_and_writes_a_nested_path() -> None:
    interpreter = Interpreter(
        defaults=[replica_path_customization(group="example.com", kind="Widget", path="spec.scale.size")]
    )
    sized = {**WIDGET, "spec": {"scale": {"size": 5}}}
    result = interpreter.replicas(sized)
    assert result is not None and (result.replicas, result.requirements) == (5, None)
    assert result.source == "customization replica-path.widget.example.com"
    assert interpreter.replicas(WIDGET) is not None and interpreter.replicas(WIDGET).replicas == 1  # type: ignore[union-attr]
    assert interpreter.revise_replicas(WIDGET, 3) == {**WIDGET, "spec": {"scale": {"size": 3}}}
    assert interpreter.revise_replicas(sized, 2) == {**WIDGET, "spec": {"scale": {"size": 2}}}
    # Any version of the kind.
    assert interpreter.replicas({**sized, "apiVersion": "example.com/v2"}).replicas == 5  # type: ignore[union-attr]


def test_a_user_customization_wins_over_a_default_and_a_default_over_the_built_in() -> None:
    user = {
        "apiVersion": names.CONFIG_API_VERSION,
        "kind": names.KIND_RESOURCE_INTERPRETER_CUSTOMIZATION,
        "metadata": {"name": "zzz-user"},
        "spec": {
            "target": {"apiVersion": "example.com/v1", "kind": "Widget"},
            "customizations": {"replicaResource": {"luaScript": "function GetReplicas(o) return 9 end"}},
        },
    }
    defaults = [
        replica_path_customization(group="example.com", kind="Widget", path="spec.size"),
        replica_path_customization(group="apps", kind="Deployment", path="spec.other"),
    ]
    interpreter = Interpreter([user], defaults=defaults)
    widget = {**WIDGET, "spec": {"size": 4}}
    assert interpreter.replicas(widget).replicas == 9  # type: ignore[union-attr]
    assert interpreter.rule_for(widget, Operation.INTERPRET_REPLICA) == "zzz-user"
    # The user customization does not define replicaRevision: the default answers that.
    assert interpreter.rule_for(widget, Operation.REVISE_REPLICA) == "replica-path.widget.example.com"
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": 2, "other": 7}}
    assert interpreter.replicas(deployment).replicas == 7  # type: ignore[union-attr]
    interpreter.remove_customization("zzz-user")
    assert interpreter.replicas(widget).replicas == 4  # type: ignore[union-attr]


@pytest.mark.parametrize("path", ["", "spec..size", "spec.size[0]", 'spec."x"'])
def test_bad_paths_are_refused(path: str) -> None:
    with pytest.raises(ValueError, match="dotted field names"):
        replica_path_customization(group="example.com", kind="Widget", path=path)


def test_the_core_group() -> None:
    interpreter = Interpreter(
        defaults=[replica_path_customization(group="", kind="ReplicationController", path="spec.replicas")]
    )
    rc = {"apiVersion": "v1", "kind": "ReplicationController", "spec": {"replicas": 3}}
    assert interpreter.rule_for(rc, Operation.INTERPRET_REPLICA) == "replica-path.replicationcontroller.core"
