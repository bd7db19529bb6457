"""Operations helpers: metrics registry, the health/metrics server, logging, process lifecycle."""

from __future__ import annotations

import asyncio
import json
import signal

import aiohttp
import pytest
import structlog

from shared.ops import lifecycle
from shared.ops.logging import configure, get_logger
from shared.ops.metrics import REGISTRY, counter, gauge, render
from shared.ops.server import OpsServer


def test_metrics_are_prefixed_and_idempotent() -> None:
    first = counter("test_things_total", "things", labels=("kind",))
    again = counter("waybill_test_things_total", "things", labels=("kind",))
    assert first is again
    first.labels("a").inc(3)
    assert REGISTRY.get_sample_value("waybill_test_things_total", {"kind": "a"}) == 3.0
    with pytest.raises(ValueError, match="already registered"):
        gauge("test_things_total", "things")
    body, content_type = render()
    assert b'waybill_test_things_total{kind="a"} 3.0' in body
    assert content_type.startswith("text/plain")


async def test_health_server_endpoints() -> None:
    ready = {"informers": False}

    async def informers_synced() -> bool:
        return ready["informers"]

    def broken() -> bool:
        raise RuntimeError("boom")

    server = OpsServer(host="127.0.0.1", port=0)
    server.add_readiness_check("informers", informers_synced)
    server.add_liveness_check("loop", lambda: True)
    port = await server.start()
    assert port > 0
    counter("test_served_total", "served").inc()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
            async with session.get(f"{server.url}/healthz") as resp:
                assert (resp.status, await resp.text()) == (200, "ok\n")
            async with session.get(f"{server.url}/readyz") as resp:
                assert resp.status == 503
                assert "[-]informers failed" in await resp.text()
            ready["informers"] = True
            async with session.get(f"{server.url}/readyz?verbose") as resp:
                assert resp.status == 200
                assert "[+]informers ok" in await resp.text()
            server.add_liveness_check("broken", broken)
            async with session.get(f"{server.url}/healthz") as resp:
                assert resp.status == 503
                assert "[-]broken failed" in await resp.text()
            async with session.get(f"{server.url}/metrics") as resp:
                assert resp.status == 200
                assert "waybill_test_served_total 1.0" in await resp.text()
    finally:
        await server.stop()


def test_logging_is_json_with_bound_context(capsys: pytest.CaptureFixture[str]) -> None:
    configure(level="info", json=True)
    try:
        log = get_logger("test.ops", cluster="eu1")
        with structlog.contextvars.bound_contextvars(reconcile_id="r1"):
            log.info("thing.done", work="ns/w")
        log.debug("thing.hidden")
        lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
        assert len(lines) == 1
        entry = json.loads(lines[0])
        assert entry["event"] == "thing.done"
        fields = (entry["cluster"], entry["work"], entry["reconcile_id"], entry["level"])
        assert fields == ("eu1", "ns/w", "r1", "info")
        with pytest.raises(ValueError, match="unknown log level"):
            configure(level="loud")
    finally:
        structlog.reset_defaults()


def test_a_logger_made_before_configure_follows_it(capsys: pytest.CaptureFixture[str]) -> None:
    early = get_logger("test.early", part="x")  # like a module-level logger, made at import time
    configure(level="warning", json=True)
    try:
        early.info("quiet.event")
        early.warning("loud.event")
        lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
        assert [json.loads(line)["event"] for line in lines] == ["loud.event"]
        assert json.loads(lines[0])["part"] == "x"
    finally:
        structlog.reset_defaults()


async def test_lifecycle_stops_gracefully_on_sigterm() -> None:
    async def main(stop: asyncio.Event) -> str:
        asyncio.get_running_loop().call_soon(signal.raise_signal, signal.SIGTERM)
        await stop.wait()
        return "drained"

    assert await asyncio.wait_for(lifecycle.run_until_signalled(main, grace_period=5), 10) == "drained"


async def test_lifecycle_cancels_after_the_grace_period() -> None:
    cancelled = asyncio.Event()

    async def main(stop: asyncio.Event) -> str:
        asyncio.get_running_loop().call_soon(signal.raise_signal, signal.SIGINT)
        try:
            await asyncio.sleep(30)  # ignores the stop request
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    result = await asyncio.wait_for(lifecycle.run_until_signalled(main, grace_period=0.05), 10)
    assert result is None
    assert cancelled.is_set()


async def test_lifecycle_returns_when_main_finishes() -> None:
    async def main(stop: asyncio.Event) -> int:
        return 7

    assert await lifecycle.run_until_signalled(main) == 7
    # the handlers are removed again: the default SIGINT handler is back in place
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
