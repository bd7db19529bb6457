"""Fault injection: make one server misbehave on purpose, for reliability tests.

``server.faults`` offers ``latency``, ``error`` (any status: 429 carries ``Retry-After``),
``reset`` (close the connection without an answer), ``drop_watch`` (end watch streams, or cut
them with ``abort=True``),
``stall_watch`` (watch streams stop sending), ``expire_watch`` (watches start with a 410
``Expired`` ERROR event). Each can be limited to paths containing a substring, to one HTTP method
and to the first ``times`` matching requests; ``clear()`` removes them all.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Rule:
    kind: str  # latency | error | reset | drop_watch | abort_watch | stall_watch | expire_watch
    path: str | None = None
    method: str | None = None
    times: int | None = None
    seconds: float = 0.0
    code: int = 500
    retry_after: int = 1

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.path is not None and self.path not in path:
            return False
        return self.method is None or self.method.upper() == method.upper()


class Faults:
    """The fault rules of one server (see module docstring)."""

    def __init__(self) -> None:
        self.rules: list[Rule] = []
        self.injected = 0  # how many times any fault fired

    def _add(self, rule: Rule) -> Rule:
        self.rules.append(rule)
        return rule

    def latency(
        self, seconds: float, *, path: str | None = None, method: str | None = None, times: int | None = None
    ) -> Rule:
        return self._add(Rule("latency", path, method, times, seconds=seconds))

    def error(
        self,
        code: int,
        *,
        path: str | None = None,
        method: str | None = None,
        times: int | None = None,
        retry_after: int = 1,
    ) -> Rule:
        return self._add(Rule("error", path, method, times, code=code, retry_after=retry_after))

    def throttle(
        self,
        *,
        retry_after: int = 1,
        path: str | None = None,
        method: str | None = None,
        times: int | None = None,
    ) -> Rule:
        return self.error(429, path=path, method=method, times=times, retry_after=retry_after)

    def reset(self, *, path: str | None = None, method: str | None = None, times: int | None = None) -> Rule:
        return self._add(Rule("reset", path, method, times))

    def drop_watch(self, *, path: str | None = None, times: int | None = None, abort: bool = False) -> Rule:
        """End watch streams cleanly, or with ``abort=True`` cut the connection mid-stream."""
        return self._add(Rule("abort_watch" if abort else "drop_watch", path, None, times))

    def stall_watch(self, *, path: str | None = None, times: int | None = None) -> Rule:
        return self._add(Rule("stall_watch", path, None, times))

    def expire_watch(self, *, path: str | None = None, times: int | None = None) -> Rule:
        return self._add(Rule("expire_watch", path, None, times))

    def clear(self) -> None:
        self.rules.clear()

    def take(self, kinds: tuple[str, ...], method: str, path: str) -> Rule | None:
        """The first matching rule of one of ``kinds`` (its ``times`` budget is consumed)."""
        for rule in self.rules:
            if rule.kind in kinds and rule.matches(method, path):
                if rule.times is not None:
                    rule.times -= 1
                self.injected += 1
                return rule
        return None
