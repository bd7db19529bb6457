"""Interpreter benchmark: the cost of one call per operation, Lua customization vs built-in rule.

Runs Karmada's CloneSet customization (the test data under tests/interpreter/data/karmada/) on its
own test objects, and the built-in rules on an equivalent Deployment, each operation ``--calls``
times (best of five runs), and prints microseconds per call and calls per second; then the cost of compiling a
customization and the Lua runtime's memory after the run.

    python benchmarks/interpreter_bench.py [--calls 2000]
"""

from __future__ import annotations

import argparse
import copy
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from shared.api import names
from shared.interpreter import Interpreter

DATA = Path(__file__).resolve().parent.parent / "tests" / "interpreter" / "data" / "karmada" / "cloneset"


def load() -> tuple[dict[str, Any], dict[str, Any]]:
    customization = yaml.safe_load((DATA / "customizations.yaml").read_text())
    customization["apiVersion"] = names.CONFIG_API_VERSION
    cases = yaml.safe_load((DATA / "cases.yaml").read_text())
    return customization, cases


def as_deployment(obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["apiVersion"], out["kind"] = "apps/v1", "Deployment"
    return out


def per_call(fn: Callable[[], object], calls: int, repeats: int = 5) -> float:
    """Microseconds per call, the best of ``repeats`` runs (the machine is shared: noise only adds)."""
    fn()  # warm up
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - started) / calls * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    customization, cases = load()
    interpreter = Interpreter([customization])
    desired = cases["cloneset"]
    observed = {**copy.deepcopy(desired), "status": cases["observed_status"]}
    items = [
        {"clusterName": f"member{i}", "applied": True, "status": dict(cases["observed_status"])}
        for i in range(3)
    ]
    deployment, deployment_observed = as_deployment(desired), as_deployment(observed)
    deployment_observed["status"]["updatedReplicas"] = 4
    operations: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
        ("InterpretReplica", lambda: interpreter.replicas(desired), lambda: interpreter.replicas(deployment)),
        (
            "ReviseReplica",
            lambda: interpreter.revise_replicas(desired, 2),
            lambda: interpreter.revise_replicas(deployment, 2),
        ),
        (
            "InterpretStatus",
            lambda: interpreter.reflect_status(observed),
            lambda: interpreter.reflect_status(deployment_observed),
        ),
        (
            "AggregateStatus (3 members)",
            lambda: interpreter.aggregate_status(desired, items),
            lambda: interpreter.aggregate_status(deployment, items),
        ),
        (
            "InterpretHealth",
            lambda: interpreter.health(observed),
            lambda: interpreter.health(deployment_observed),
        ),
        (
            "InterpretDependency",
            lambda: interpreter.dependencies(desired),
            lambda: interpreter.dependencies(deployment),
        ),
    ]
    print(f"per call, {args.calls} calls each (Lua: Karmada's CloneSet customization; built-in: Deployment)")
    print(f"{'operation':30} {'Lua µs':>9} {'Lua calls/s':>12} {'built-in µs':>12}")
    for name, lua_call, builtin_call in operations:
        lua_us = per_call(lua_call, args.calls)
        builtin_us = per_call(builtin_call, args.calls)
        print(f"{name:30} {lua_us:9.1f} {1e6 / lua_us:12.0f} {builtin_us:12.1f}")
    compile_us = per_call(lambda: Interpreter([customization]), max(1, args.calls // 20))
    print(f"new Interpreter + compile 6 scripts: {compile_us / 1000:.2f} ms")
    print(f"Lua runtime memory after the run: {interpreter.sandbox.memory_used() / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
