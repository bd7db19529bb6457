"""A small embedded fleet (hub controller, members eu1 pull and us1 push, agents) for CLI tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from waybill.fleet import Fleet, MemberSpec, start_fleet


@pytest_asyncio.fixture
async def fleet(tmp_path: Path) -> AsyncIterator[Fleet]:
    running = await start_fleet(
        [
            MemberSpec("eu1", labels={"env": "prod"}, region="eu", mode="pull"),
            MemberSpec("us1", labels={"env": "dev"}, region="us", mode="push"),
        ],
        directory=tmp_path / "fleet",
        heartbeat_interval=0.5,
        lease_duration_seconds=4,  # short, so "agent gone" tests wait little; slack for a loaded machine
    )
    try:
        yield running
    finally:
        await running.stop()
