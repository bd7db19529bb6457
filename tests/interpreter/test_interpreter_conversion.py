"""Python values to Lua and back: empty objects vs lists, integers vs floats, nil, bad shapes."""

from __future__ import annotations

from typing import Any

import pytest

from shared.interpreter import errors
from shared.interpreter.sandbox import LuaSandbox


@pytest.fixture(scope="module")
def sandbox() -> LuaSandbox:
    return LuaSandbox()


def call(sandbox: LuaSandbox, body: str, *args: Any) -> list[Any]:
    script = sandbox.compile(f"function F(a, b) {body} end", customization="t", operation="Test")
    return sandbox.call(script, function="F", args=list(args), customization="t", operation="Test")


OBJECT = {
    "emptyObject": {},
    "emptyList": [],
    "nested": {"emptyObject": {}, "list": [{}, [], {"a": []}]},
    "int": 3,
    "negative": -7,
    "float": 1.5,
    "big": 2**52,
    "true": True,
    "false": False,
    "string": "héllo",
    "numericKeys": {"1": "a", "2": "b"},
}


def test_round_trip_is_exact(sandbox: LuaSandbox) -> None:
    assert call(sandbox, "return a", OBJECT) == [OBJECT]


def test_types_survive_exactly(sandbox: LuaSandbox) -> None:
    (back,) = call(sandbox, "return a", OBJECT)
    assert type(back["int"]) is int and type(back["float"]) is float and back["true"] is True
    assert back["numericKeys"] == {"1": "a", "2": "b"}  # string keys stay string keys


def test_emptied_and_moved_tables_keep_their_shape(sandbox: LuaSandbox) -> None:
    body = """
      table.remove(a.list)
      a.moved = a.obj
      a.obj = nil
      return a"""
    assert call(sandbox, body, {"list": [1], "obj": {}}) == [{"list": [], "moved": {}}]


def test_none_becomes_nil(sandbox: LuaSandbox) -> None:
    assert call(sandbox, "return a.gone == nil and b == nil", {"gone": None}, None) == [True]
    assert call(sandbox, "return a", {"gone": None, "kept": 1}) == [{"kept": 1}]


def test_script_made_empty_tables_take_the_inputs_shape_or_are_dropped(sandbox: LuaSandbox) -> None:
    body = """
      a.status.conditions = {}
      a.status.selector = {}
      a.status.invented = {}
      return a"""
    desired = {"status": {"conditions": [{"type": "Ready"}], "selector": {"app": "x"}}}
    assert call(sandbox, body, desired) == [{"status": {"conditions": [], "selector": {}}}]


def test_empty_top_level_result_is_an_empty_object(sandbox: LuaSandbox) -> None:
    assert call(sandbox, "return {}") == [{}]


def test_integral_numbers_come_back_as_int(sandbox: LuaSandbox) -> None:
    assert call(sandbox, "return a / 2, a / 4, 10 / 2", 6) == [3, 1.5, 5]
    assert [type(v) for v in call(sandbox, "return a / 2, a / 4", 6)] == [int, float]


def test_multiple_returns_and_nil(sandbox: LuaSandbox) -> None:
    assert call(sandbox, "return 1, nil, 'x'") == [1, None, "x"]
    assert call(sandbox, "return") == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("return {1, 2, nil, 4}", "array with holes"),
        ("return {a = 1, [1] = 2}", "mixing string keys"),
        ("return {[1.5] = 1}", "neither a string nor 1..n"),
        ("return {f = function() end}", "f: a Lua function"),
        ("return {x = {0/0}}", "x[]: a non-finite number"),
        ("return 1/0", "non-finite"),
    ],
)
def test_values_without_json_form_are_invalid_results(sandbox: LuaSandbox, body: str, message: str) -> None:
    with pytest.raises(errors.InvalidScriptResult) as raised:
        call(sandbox, body)
    assert message in str(raised.value)


def test_a_deeply_nested_result_is_an_invalid_result_not_a_recursion_error(sandbox: LuaSandbox) -> None:
    with pytest.raises(errors.InvalidScriptResult, match="nested more than 100 levels"):
        call(sandbox, "local t = {} for i = 1, 100000 do t = {t} end return t")


def test_deep_recursion_in_a_script_is_a_script_error(sandbox: LuaSandbox) -> None:
    with pytest.raises(errors.ScriptError, match="stack overflow"):
        call(sandbox, "local function f(n) return 1 + f(n + 1) end return f(1)")


def test_an_input_without_lua_form_is_an_invalid_input(sandbox: LuaSandbox) -> None:
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(500):
        node["x"] = {}
        node = node["x"]
    node["leaf"] = 1
    with pytest.raises(errors.InvalidInput, match="nested more than 100 levels"):
        call(sandbox, "return a", deep)
    with pytest.raises(errors.InvalidInput, match="non-finite"):
        call(sandbox, "return a", {"x": float("nan")})
