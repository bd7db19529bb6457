"""The operations HTTP server: ``/metrics`` (Prometheus), ``/healthz``, ``/readyz`` and ``/leaderz``.

Health endpoints run named checks (sync or async callables returning bool; an exception or a
check slower than ``check_timeout`` counts as failing) and answer like kube-apiserver: ``ok``
with 200, or one ``[+]name ok`` / ``[-]name failed`` line per check and 503. ``?verbose`` lists
the checks on success too. ``/leaderz`` reports leadership on its own (200 only on the leader),
so readiness can stay about being able to serve. ``port=0`` binds a free port (tests); ``port`` tells which.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

from aiohttp import web

from shared.ops.metrics import render

__all__ = ["Check", "OpsServer"]

Check = Callable[[], bool | Awaitable[bool]]


async def _run_check(check: Check, *, limit: float) -> bool:
    try:
        async with asyncio.timeout(limit):
            result = check()
            if inspect.isawaitable(result):
                result = await result
            return bool(result)
    except Exception:
        return False


class OpsServer:
    """aiohttp server for metrics and health; ``await start()``, ``await stop()``."""

    def __init__(self, *, host: str = "0.0.0.0", port: int = 8080, check_timeout: float = 2.0) -> None:
        self.host = host
        self._requested_port = port
        self._check_timeout = check_timeout
        self._liveness: dict[str, Check] = {}
        self._readiness: dict[str, Check] = {}
        self._leader: dict[str, Check] = {}
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    def add_liveness_check(self, name: str, check: Check) -> None:
        """A check for ``/healthz`` (failing means: restart me)."""
        self._liveness[name] = check

    def add_readiness_check(self, name: str, check: Check) -> None:
        """A check for ``/readyz`` (failing means: do not count on me yet)."""
        self._readiness[name] = check

    def add_leader_check(self, name: str, check: Check) -> None:
        """A check for ``/leaderz`` (failing means: I am a standby, not the leader)."""
        self._leader[name] = check

    @property
    def port(self) -> int:
        """The bound port (after ``start``)."""
        if self._port is None:
            raise RuntimeError("server not started")
        return self._port

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server (loopback when bound to all addresses)."""
        host = "127.0.0.1" if self.host in {"0.0.0.0", ""} else self.host
        return f"http://{host}:{self.port}"

    def app(self) -> web.Application:
        """The aiohttp application (routes only)."""
        application = web.Application()
        application.router.add_get("/metrics", self._metrics)
        application.router.add_get("/healthz", self._healthz)
        application.router.add_get("/livez", self._healthz)
        application.router.add_get("/readyz", self._readyz)
        application.router.add_get("/leaderz", self._leaderz)
        return application

    async def start(self) -> int:
        """Listen; the bound port."""
        runner = web.AppRunner(self.app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._requested_port)
        await site.start()
        self._runner = runner
        addresses = runner.addresses
        self._port = int(addresses[0][1]) if addresses else self._requested_port
        return self._port

    async def stop(self) -> None:
        """Stop listening."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _metrics(self, request: web.Request) -> web.Response:
        body, content_type = render()
        response = web.Response(body=body)
        response.headers["Content-Type"] = content_type
        return response

    async def _healthz(self, request: web.Request) -> web.Response:
        return await self._answer(request, self._liveness, what="healthz")

    async def _readyz(self, request: web.Request) -> web.Response:
        return await self._answer(request, self._readiness, what="readyz")

    async def _leaderz(self, request: web.Request) -> web.Response:
        if not self._leader:
            return web.Response(text="no leader election\n", status=404)
        return await self._answer(request, self._leader, what="leaderz")

    async def _answer(self, request: web.Request, checks: dict[str, Check], *, what: str) -> web.Response:
        names = list(checks)
        results = await asyncio.gather(*(_run_check(checks[n], limit=self._check_timeout) for n in names))
        lines = [
            f"[{'+' if ok else '-'}]{name} {'ok' if ok else 'failed'}"
            for name, ok in zip(names, results, strict=True)
        ]
        if all(results):
            text = "\n".join([*lines, f"{what} check passed"]) if "verbose" in request.query else "ok"
            return web.Response(text=text + "\n")
        return web.Response(text="\n".join([*lines, f"{what} check failed"]) + "\n", status=503)
