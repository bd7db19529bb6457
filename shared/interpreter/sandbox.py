"""A sandboxed Lua 5.1 runtime (``lupa``) for customization scripts, bounded per call.

Lua 5.1 because Karmada runs its scripts on gopher-lua, a Lua 5.1 VM: scripts written for Karmada
(``unpack``, ``#t``, numbers as doubles) run unchanged.

The sandbox: every call runs the compiled chunk in a fresh environment holding only the pure
parts of the base library (``pairs``, ``ipairs``, ``next``, ``select``, ``type``, ``tostring``,
``tonumber``, ``assert``, ``error``, ``pcall``, ``xpcall``, ``unpack``), copies of ``string``
(without ``dump``), ``table`` and ``math``, a ``print`` that discards its arguments, and
``require`` that knows only ``"kube"`` (see ``kube_library``). There is no ``io``, ``os``,
``debug``, ``package``, ``coroutine``, ``load``/``loadstring``/``dofile``, ``getfenv``/``setfenv``,
``getmetatable``/``setmetatable``, ``rawget``/``rawset``, ``collectgarbage``, nor the ``python``
bridge; the real globals are unreachable because nothing in the environment leads to them, and
precompiled bytecode is refused before compiling. Each call gets its own environment, so one
call's globals never leak into the next.

Bounds per call: a count hook fires every ``HOOK_EVERY`` VM instructions and stops the script once
it used ``max_instructions`` or ``timeout_seconds`` of wall time (after that the hook fires on
every instruction, so a script cannot keep running by catching the error with ``pcall``; the
sandbox's ``pcall`` also re-raises it). Memory is capped with lupa's allocator limit at what the
runtime used before the call plus ``max_memory_bytes``. The hook cannot interrupt a C library
function, so those whose running time does not follow the memory they allocate are bounded up
front: ``string.rep`` of an empty string returns at once and a result beyond the memory budget is
an error; a pattern (``find``, ``match``, ``gmatch``, ``gsub``) whose worst-case backtracking on
its subject exceeds ``MATCH_BUDGET`` steps (len^(k+1) for k repetition items) is refused.

Values cross the boundary by ``convert``: Python dicts and lists become Lua tables, the empty
ones tagged with their shape, so an empty object and an empty list come back as they went in;
other tables are read by their keys.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lupa import lua51

from shared.interpreter import convert, errors

# How often (in VM instructions) the budget is checked: often enough to stop within ~1 ms, rarely
# enough that the check costs nothing measurable.
HOOK_EVERY = 10_000
MEMORY_ERROR = "not enough memory"
# Steps Lua's pattern matcher may take in the worst case for one call (under a second here).
MATCH_BUDGET = 300_000_000


@dataclass(frozen=True)
class Limits:
    """The budget of one call. Karmada gives a script one second; so does Waybill by default."""

    max_instructions: int = 50_000_000
    timeout_seconds: float = 1.0
    max_memory_bytes: int = 32 * 2**20


_BOOTSTRAP = r"""
local py_clock, libraries = ...
local sethook, setfenv, pcall, xpcall = debug.sethook, setfenv, pcall, xpcall
local error, select, type, pairs = error, select, type, pairs
local loadstring, setmetatable, getmetatable = loadstring, setmetatable, getmetatable
local next, rawget = next, rawget
local tostring, unpack = tostring, unpack
local create, resume = coroutine.create, coroutine.resume

-- string.dump turns a function into bytecode, the first half of every bytecode exploit; the
-- string metatable makes the real string table reachable from any string, so drop it there.
string.dump = nil

-- The count hook cannot interrupt a C function, so the C functions whose running time does not
-- follow the memory they allocate are bounded here, in the real string table (reachable through
-- every string's metatable): string.rep of an empty string loops without allocating, and Lua's
-- backtracking pattern matcher takes len^(k+1) steps for k repetition items (k for an anchored
-- pattern), hours on a long string.
string.gfind = nil  -- Lua 5.0's name for gmatch, a second door to the unguarded matcher
local real_rep, real_find, real_match, real_gmatch, real_gsub =
  string.rep, string.find, string.match, string.gmatch, string.gsub
local MATCH_BUDGET, log = %(match_budget)d, math.log
string.rep = function(s, n, ...)
  local len = #tostring(s)
  if type(n) == "number" and n > 0 and (len == 0 or len * n > %(max_memory)d) then
    if len == 0 then return "" end
    error("%(memory)s", 0)  -- what the allocator would say, a moment and a lot of memory later
  end
  return real_rep(s, n, ...)
end
local function repetitions(pattern)
  local count, i, n = 0, 1, #pattern
  while i <= n do
    local c = pattern:byte(i)
    if c == 37 then i = i + 1  -- %%x: an escaped character or class
    elseif c == 42 or c == 43 or c == 45 or c == 63 then count = count + 1 end  -- * + - ?
    i = i + 1
  end
  return count
end
local function check_pattern(fname, s, pattern, anchorable)
  if type(s) ~= "string" and type(s) ~= "number" then return end
  if type(pattern) ~= "string" and type(pattern) ~= "number" then return end
  pattern = tostring(pattern)
  local k = repetitions(pattern)
  if k == 0 then return end
  local exponent = k + 1
  if anchorable and pattern:byte(1) == 94 then exponent = k end  -- ^
  local len = #tostring(s)
  if len > 1 and exponent * log(len) > log(MATCH_BUDGET) then
    error(fname .. ": a pattern with " .. k .. " repetitions on a " .. len ..
      "-byte string exceeds the sandbox's matching budget", 3)
  end
end
string.find = function(s, pattern, init, plain)
  if not plain then check_pattern("string.find", s, pattern, true) end
  return real_find(s, pattern, init, plain)
end
string.match = function(s, pattern, ...)
  check_pattern("string.match", s, pattern, true)
  return real_match(s, pattern, ...)
end
string.gmatch = function(s, pattern)
  check_pattern("string.gmatch", s, pattern, false)
  return real_gmatch(s, pattern)
end
string.gsub = function(s, pattern, ...)
  check_pattern("string.gsub", s, pattern, true)
  return real_gsub(s, pattern, ...)
end

local TIMEOUT = setmetatable({}, {__tostring = function() return "instruction or time budget exceeded" end})
local OBJECT, ARRAY = {}, {}
local budget = {used = 0, max = 0, deadline = 0}

local function hook()
  budget.used = budget.used + %(every)d
  if budget.used > budget.max or py_clock() > budget.deadline then
    sethook(hook, "", 1)  -- the running (script) coroutine only
    error(TIMEOUT, 0)
  end
end

local function is_limit(e) return e == TIMEOUT or e == "%(memory)s" end
local function rethrow(ok, ...)
  if not ok and is_limit((...)) then error((...), 0) end
  return ok, ...
end

local function copy(t) local c = {} for k, v in pairs(t) do c[k] = v end return c end
local base = {
  assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs, select = select,
  tonumber = tonumber, tostring = tostring, type = type, unpack = unpack, _VERSION = _VERSION,
}
base.pcall = function(f, ...) return rethrow(pcall(f, ...)) end
base.xpcall = function(f, handler)
  return rethrow(xpcall(f, function(e) if is_limit(e) then return e end return handler(e) end))
end
base.print = function() end
local string_lib, table_lib, math_lib = copy(string), copy(table), copy(math)
math_lib.randomseed = nil  -- seeding is process-wide state

-- Library functions implemented in Python return (ok, value-or-message); raise the message in Lua
-- so the script sees an ordinary Lua error, and never hand a Python object to the script.
local function wrap(fn)
  return function(...)
    local ok, value = fn(...)
    if not ok then error(value, value == "%(memory)s" and 0 or 2) end
    return value
  end
end
local libs = {}
for name, functions in pairs(libraries) do
  local lib = {}
  for fname, fn in pairs(functions) do lib[fname] = wrap(fn) end
  libs[name] = lib
end

local function new_env()
  local env = copy(base)
  env.string, env.table, env.math = copy(string_lib), copy(table_lib), copy(math_lib)
  local loaded = {}
  env.require = function(name)
    local lib = libs[name]
    if lib == nil then
      error("module '" .. tostring(name) .. "' is not available (the sandbox offers only 'kube')", 2)
    end
    loaded[name] = loaded[name] or copy(lib)
    return loaded[name]
  end
  env._G = env
  return env
end

local function compile(source, name)
  if source:byte(1) == 27 then return false, "precompiled bytecode is not accepted" end
  local chunk, problem = loadstring(source, name)
  return chunk or false, problem or false
end

local function pack(...) return {n = select("#", ...), ...} end

-- The script runs in a coroutine of its own and only that coroutine carries the count hook, so
-- once the budget is spent the hook can fire on every instruction there while this runner goes on
-- unhooked. Scripts get no coroutine library, so they cannot start an unhooked thread.
local function run(chunk, fname, max_instructions, deadline, ...)
  local env = new_env()
  setfenv(chunk, env)
  local args = pack(...)
  budget.used, budget.max, budget.deadline = 0, max_instructions, deadline
  local co = create(function()
    chunk()
    local fn = rawget(env, fname)
    if type(fn) ~= "function" then return "missing" end
    return "ok", fn(unpack(args, 1, args.n))
  end)
  sethook(co, hook, "", %(every)d)
  local result = pack(resume(co))
  if not result[1] then
    local e = result[2]
    if e == TIMEOUT then return {n = 1, "timeout"} end
    if e == "%(memory)s" then return {n = 1, "memory"} end
    return {n = 2, "error", tostring(e)}
  end
  return result
end

-- Shapes, for the way back: empty tables the Python side made carry OBJECT or ARRAY as metatable
-- (a non-empty table says what it is by its keys).
local function object(t) return setmetatable(t, OBJECT) end
local function array(t) return setmetatable(t, ARRAY) end
local function shape(t)
  local mt = getmetatable(t)
  if mt == OBJECT then return "object" end
  if mt == ARRAY then return "array" end
  return "untagged"
end

return {compile = compile, run = run, object = object, array = array, shape = shape}
"""


@dataclass(frozen=True)
class CompiledScript:
    """A chunk compiled once, run in a fresh environment per call."""

    name: str
    chunk: Any
    source: str


LibraryFunction = Callable[..., tuple[bool, Any]]


class LuaSandbox:
    """One Lua runtime; ``compile`` a script once, ``call`` its functions many times (thread-safe)."""

    def __init__(
        self,
        *,
        limits: Limits | None = None,
        libraries: Mapping[str, Mapping[str, Callable[..., Any]]] | None = None,
    ) -> None:
        self.limits = limits or Limits()
        self._lock = threading.RLock()
        self._active_limit = 0  # the allocator cap of the call running now (0: none)
        self._runtime = lua51.LuaRuntime(
            register_eval=False,
            register_builtins=False,
            unpack_returned_tuples=True,
            attribute_filter=_no_attributes,
            max_memory=0,
        )
        self.converter = convert.Converter(self._runtime)
        wrapped = {
            lib: self.converter.to_lua({name: self._library_function(fn) for name, fn in functions.items()})
            for lib, functions in (libraries or {}).items()
        }
        bootstrap = self._runtime.execute(
            _BOOTSTRAP
            % {
                "every": HOOK_EVERY,
                "memory": MEMORY_ERROR,
                "max_memory": self.limits.max_memory_bytes,
                "match_budget": MATCH_BUDGET,
            },
            time.monotonic,
            self.converter.to_lua(wrapped),
        )
        self._compile = bootstrap.compile
        self._run = bootstrap.run
        self.converter.bind(object_tag=bootstrap.object, array_tag=bootstrap.array, shape=bootstrap.shape)

    def _library_function(self, fn: Callable[..., Any]) -> LibraryFunction:
        """A Python library function as Lua sees it: Lua values in, (ok, Lua value or message) out."""

        def call(*args: Any) -> tuple[bool, Any]:
            try:
                result = fn(*[self.converter.to_python(arg) for arg in args])
            except Exception as exc:  # a helper's bad input becomes a Lua error, never a crash
                return False, str(exc)
            return self._result_to_lua(result)

        return call

    def _result_to_lua(self, result: Any) -> tuple[bool, Any]:
        """A library result as Lua tables, built with the memory cap lifted and checked after.

        lupa's ``table_from`` hangs when the allocator refuses memory inside a callback, so the
        cap is lifted while the result is built; a result that took the call past its budget is
        reported the way the allocator would have, as running out of memory.
        """
        limit = self._active_limit
        runtime = self._runtime
        if limit:
            runtime.set_max_memory(0)
        try:
            value = self.converter.to_lua(result)
        finally:
            if limit:
                runtime.set_max_memory(limit, total=True)
        if limit and runtime.get_memory_used(total=True) > limit:
            return False, MEMORY_ERROR
        return True, value

    def compile(self, source: str, *, customization: str, operation: str) -> CompiledScript:
        name = f"={customization}.{operation}"
        with self._lock:
            chunk, problem = self._compile(source, name)
        if chunk is False:
            raise errors.ScriptCompileError(
                customization=customization, operation=operation, message=str(problem)
            )
        return CompiledScript(name=name, chunk=chunk, source=source)

    def call(
        self,
        script: CompiledScript,
        *,
        function: str,
        args: Sequence[Any],
        customization: str,
        operation: str,
    ) -> list[Any]:
        """Run ``function(*args)`` of a fresh instance of the script; its return values, in Python."""
        limits = self.limits
        where = {"customization": customization, "operation": operation}
        with self._lock:
            try:
                lua_args = [self.converter.to_lua(arg) for arg in args]
            except convert.ConversionError as exc:
                raise errors.InvalidInput(message=str(exc), **where) from None
            runtime = self._runtime
            self._active_limit = runtime.get_memory_used(total=True) + limits.max_memory_bytes
            runtime.set_max_memory(self._active_limit, total=True)
            try:
                result = self._run(
                    script.chunk,
                    function,
                    limits.max_instructions,
                    time.monotonic() + limits.timeout_seconds,
                    *lua_args,
                )
            except lua51.LuaMemoryError:
                raise errors.ScriptMemoryExceeded(
                    message=f"more than {limits.max_memory_bytes} bytes allocated", **where
                ) from None
            except lua51.LuaError as exc:  # the runner itself failed: still the script's call
                raise errors.ScriptError(message=str(exc), **where) from None
            finally:
                self._active_limit = 0
                runtime.set_max_memory(0)
            count = int(result["n"])
            values = [result[i] for i in range(1, count + 1)]
            status = values[0] if values else None
            if status is True:
                tag = values[1] if len(values) > 1 else None
                if tag == "missing":
                    raise errors.ScriptMissingFunction(
                        message=f"the script does not define function {function}", **where
                    )
                try:
                    return [self.converter.to_python(v, references=args) for v in values[2:]]
                except convert.ConversionError as exc:
                    raise errors.InvalidScriptResult(message=str(exc), **where) from None
            if status == "timeout":
                raise errors.ScriptTimeout(
                    message=(
                        f"stopped after {limits.max_instructions} instructions or {limits.timeout_seconds:g}s"
                    ),
                    **where,
                )
            if status == "memory":
                raise errors.ScriptMemoryExceeded(
                    message=f"more than {limits.max_memory_bytes} bytes allocated", **where
                )
            raise errors.ScriptError(message=str(values[1] if len(values) > 1 else "error"), **where)

    def memory_used(self) -> int:
        return int(self._runtime.get_memory_used(total=True))

    def collect_garbage(self) -> None:
        with self._lock:
            self._runtime.gccollect()


def _no_attributes(obj: Any, name: Any, is_setting: bool) -> Any:
    """No Lua code may read or write attributes of Python objects (none are handed over, anyway)."""
    raise AttributeError("Python attribute access is not allowed in the sandbox")
