"""The Lua sandbox: escape attempts fail, budgets hold, and each failure is a typed error.

Every escape and bound is checked through the public ``Interpreter`` (a customization's
``healthInterpretation``), so the error must name the customization and the operation, and the
interpreter must keep answering afterwards (no crash, no hang, no leaked state).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from shared.api import names
from shared.interpreter import Interpreter, InterpreterError, Limits, errors

TARGET = {"apiVersion": "example.com/v1", "kind": "Widget"}
WIDGET = {**TARGET, "metadata": {"name": "w", "namespace": "default"}, "spec": {"replicas": 2}}
HEALTHY = "function InterpretHealth(obj) return true end"


def customization(
    script: str, *, name: str = "widgets", field: str = "healthInterpretation"
) -> dict[str, Any]:
    return {
        "apiVersion": names.CONFIG_API_VERSION,
        "kind": "ResourceInterpreterCustomization",
        "metadata": {"name": name},
        "spec": {"target": TARGET, "customizations": {field: {"luaScript": script}}},
    }


def health_of(script: str, *, limits: Limits | None = None) -> tuple[Interpreter, InterpreterError]:
    interpreter = Interpreter([customization(script)], limits=limits)
    with pytest.raises(InterpreterError) as raised:
        interpreter.health(WIDGET)
    error = raised.value
    assert error.customization == "widgets"
    assert error.operation == "InterpretHealth"
    assert str(error).startswith("ResourceInterpreterCustomization 'widgets', InterpretHealth: ")
    return interpreter, error


def still_answers(interpreter: Interpreter) -> None:
    """After a failure the runtime is intact: a good script on it runs."""
    interpreter.set_customization(customization(HEALTHY))
    assert interpreter.health(WIDGET) is True


ESCAPES = {
    "io.open": 'function InterpretHealth(o) return io.open("/etc/passwd") ~= nil end',
    "os.execute": 'function InterpretHealth(o) return os.execute("true") == 0 end',
    "os.getenv": 'function InterpretHealth(o) return os.getenv("HOME") ~= nil end',
    "require os": 'function InterpretHealth(o) local os = require("os") return true end',
    "require io": 'function InterpretHealth(o) return require("io") ~= nil end',
    "package.loadlib": 'function InterpretHealth(o) return package.loadlib("libc.so.6", "system") end',
    "load": 'function InterpretHealth(o) return load("return true")() end',
    "loadstring": 'function InterpretHealth(o) return loadstring("return true")() end',
    "dofile": 'function InterpretHealth(o) return dofile("/etc/passwd") end',
    "debug.getregistry": "function InterpretHealth(o) return debug.getregistry() ~= nil end",
    "getfenv": "function InterpretHealth(o) return getfenv(0).io ~= nil end",
    "setmetatable": "function InterpretHealth(o) setmetatable(o, {}) return true end",
    "string.dump via a string's metatable": 'function InterpretHealth(o) return ("x").dump(print) ~= nil end',
    "coroutine": "function InterpretHealth(o) return coroutine.wrap(function() end) ~= nil end",
    "collectgarbage": 'function InterpretHealth(o) collectgarbage("stop") return true end',
    "python bridge": "function InterpretHealth(o) return python.eval('1') == 1 end",
    "string.gfind (unguarded matcher)": 'function InterpretHealth(o) return string.gfind("a", "a") end',
}


@pytest.mark.parametrize("script", ESCAPES.values(), ids=ESCAPES.keys())
def test_escape_attempts_are_script_errors(script: str) -> None:
    interpreter, error = health_of(script)
    assert isinstance(error, errors.ScriptError), error
    still_answers(interpreter)


def test_bytecode_is_refused_at_compile_time() -> None:
    interpreter = Interpreter()
    problems = interpreter.set_customization(customization("\x1bLuaQ\x00 bytecode"))
    assert [type(p) for p in problems] == [errors.ScriptCompileError]
    assert "precompiled bytecode" in str(problems[0])
    with pytest.raises(errors.ScriptCompileError):  # the broken script is kept, never a silent fallback
        interpreter.health(WIDGET)


def test_a_syntax_error_is_a_compile_error_naming_the_line() -> None:
    _, error = health_of("function InterpretHealth(o) return o.spec. end")
    assert isinstance(error, errors.ScriptCompileError)
    assert "widgets.InterpretHealth:1:" in error.message


def test_infinite_loop_is_stopped_by_the_instruction_budget() -> None:
    limits = Limits(max_instructions=2_000_000, timeout_seconds=30.0)
    started = time.monotonic()
    interpreter, error = health_of("function InterpretHealth(o) while true do end end", limits=limits)
    assert isinstance(error, errors.ScriptTimeout)
    assert time.monotonic() - started < 5.0
    still_answers(interpreter)


def test_infinite_loop_is_stopped_by_the_time_budget() -> None:
    limits = Limits(max_instructions=10**15, timeout_seconds=0.2)
    started = time.monotonic()
    _, error = health_of(
        "function InterpretHealth(o) local i = 0 while true do i = i + 1 end end", limits=limits
    )
    assert isinstance(error, errors.ScriptTimeout)
    assert 0.15 < time.monotonic() - started < 5.0


def test_catching_the_timeout_with_pcall_does_not_keep_a_script_running() -> None:
    script = """
    function InterpretHealth(o)
      while true do
        pcall(function() while true do end end)
        xpcall(function() while true do end end, function(e) return e end)
      end
    end"""
    interpreter, error = health_of(script, limits=Limits(max_instructions=1_000_000))
    assert isinstance(error, errors.ScriptTimeout)
    still_answers(interpreter)


def test_string_rep_memory_bomb_is_bounded() -> None:
    limits = Limits(max_memory_bytes=4 * 2**20)
    script = 'function InterpretHealth(o) local s = string.rep("x", 64 * 1024 * 1024) return #s > 0 end'
    interpreter, error = health_of(script, limits=limits)
    assert isinstance(error, errors.ScriptMemoryExceeded)
    still_answers(interpreter)


def test_table_growth_memory_bomb_is_bounded() -> None:
    script = "function InterpretHealth(o) local t = {} for i = 1, 1e9 do t[i] = {i} end return true end"
    interpreter, error = health_of(script, limits=Limits(max_memory_bytes=4 * 2**20))
    assert isinstance(error, errors.ScriptMemoryExceeded)
    still_answers(interpreter)


def test_memory_errors_caught_by_pcall_are_raised_again() -> None:
    script = """
    function InterpretHealth(o)
      local ok = pcall(function() return string.rep("x", 64 * 1024 * 1024) end)
      return ok
    end"""
    _, error = health_of(script, limits=Limits(max_memory_bytes=4 * 2**20))
    assert isinstance(error, errors.ScriptMemoryExceeded)


def test_runtime_error_names_the_script_line() -> None:
    _, error = health_of("function InterpretHealth(o)\n  return o.status.ready\nend")
    assert isinstance(error, errors.ScriptError)
    assert "widgets.InterpretHealth:2: attempt to index field 'status' (a nil value)" in error.message


def test_error_called_by_the_script() -> None:
    _, error = health_of('function InterpretHealth(o) error("no health for " .. o.metadata.name) end')
    assert isinstance(error, errors.ScriptError)
    assert "no health for w" in error.message


def test_missing_function() -> None:
    _, error = health_of("function GetReplicas(o) return 1 end")
    assert isinstance(error, errors.ScriptMissingFunction)
    assert "InterpretHealth" in error.message


def test_globals_do_not_leak_between_calls() -> None:
    script = """
    function InterpretHealth(o)
      if seen then return false end
      seen = true
      return true
    end"""
    interpreter = Interpreter([customization(script)])
    assert [interpreter.health(WIDGET) for _ in range(3)] == [True, True, True]


def test_library_tables_are_fresh_per_call() -> None:
    script = """
    function InterpretHealth(o)
      local clean = string.upper("a") == "A"
      string.upper = function() return "patched" end
      return clean
    end"""
    interpreter = Interpreter([customization(script)])
    assert [interpreter.health(WIDGET) for _ in range(2)] == [True, True]


def test_print_is_accepted_and_discarded(capsys: pytest.CaptureFixture[str]) -> None:
    interpreter = Interpreter(
        [customization('function InterpretHealth(o) print("debug", o) return true end')]
    )
    assert interpreter.health(WIDGET) is True
    assert capsys.readouterr().out == ""


def test_safe_libraries_work() -> None:
    script = """
    function InterpretHealth(o)
      local parts = {}
      for word in string.gmatch("a,b,c", "[^,]+") do table.insert(parts, word) end
      return #parts == 3 and math.max(1, 5) == 5 and select("#", unpack({1, 2})) == 2
        and tostring(12) == "12" and tonumber("7") == 7 and string.format("%03d", 7) == "007"
    end"""
    interpreter = Interpreter([customization(script)])
    assert interpreter.health(WIDGET) is True


# --- C functions the count hook cannot interrupt ------------------------------------------------
def test_string_rep_of_an_empty_string_returns_at_once() -> None:
    # Unguarded, Lua 5.1's string.rep loops two billion times here without allocating (5 s+).
    interpreter = Interpreter(
        [customization('function InterpretHealth(o) return #string.rep("", 2e9) == 0 end')]
    )
    started = time.monotonic()
    assert interpreter.health(WIDGET) is True
    assert time.monotonic() - started < 1.0


def test_string_rep_beyond_the_memory_budget_is_refused_up_front() -> None:
    started = time.monotonic()
    _, error = health_of('function InterpretHealth(o) return #(("x"):rep(2^30)) > 0 end')
    assert isinstance(error, errors.ScriptMemoryExceeded)
    assert time.monotonic() - started < 1.0


CATASTROPHIC = {
    # Unguarded these take 30 s and hours: backtracking is len^(k+1) for k repetition items.
    "find .-.-b on 3 kB": 'string.find(string.rep("a", 3000), ".-.-b")',
    "method call a-b on 200 kB": '(string.rep("a", 200000)):find("a-b")',
    "gsub on 200 kB": 'string.gsub(string.rep("a", 200000), "a-b", "")',
    "gmatch on 200 kB": 'string.gmatch(string.rep("a", 200000), "a-b")',
}


@pytest.mark.parametrize("call", CATASTROPHIC.values(), ids=CATASTROPHIC.keys())
def test_catastrophic_patterns_are_refused(call: str) -> None:
    started = time.monotonic()
    interpreter, error = health_of(f"function InterpretHealth(o) local r = {call} return true end")
    assert isinstance(error, errors.ScriptError)
    assert "exceeds the sandbox's matching budget" in error.message
    assert time.monotonic() - started < 1.0
    still_answers(interpreter)


def test_ordinary_patterns_still_work() -> None:
    script = """
    function InterpretHealth(o)
      local repo, tag = string.match("registry.io/nginx:1.25", "^(.*):(.*)$")
      local plain = string.find(string.rep("a", 100000) .. "b", "b", 1, true)
      return repo == "registry.io/nginx" and tag == "1.25" and plain == 100001
    end"""
    assert Interpreter([customization(script)]).health(WIDGET) is True


def test_a_library_result_beyond_the_memory_budget_is_a_memory_error() -> None:
    volumes = [{"name": f"v{i}", "configMap": {"name": f"config-{i:06d}"}} for i in range(20000)]
    widget = {**WIDGET, "spec": {"template": {"spec": {"volumes": volumes}}}}
    script = """
    local kube = require("kube")
    function InterpretHealth(o)
      return #kube.getPodDependencies(o.spec.template, "default") > 0
    end"""
    interpreter = Interpreter([customization(script)], limits=Limits(max_memory_bytes=2**20))
    with pytest.raises(errors.ScriptMemoryExceeded):
        interpreter.health(widget)
    still_answers(interpreter)
