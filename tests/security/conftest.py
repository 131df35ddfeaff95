"""A real uvicorn for the rows about transport, started the way `server.py serve` starts it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from server import UVICORN_OPTIONS, create_app
from services.settings import Settings
from tests.support.harness import LOOPBACK_IPS, TEST_IP, Client, Live

START_WITHIN = 20.0  # seconds


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[Live]:
    """uvicorn serving this test's app on a free loopback port, in the test's event loop,
    with the options `serve` uses (no proxy headers, no access log, 1 MiB frames)."""
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=0, log_level="warning", **UVICORN_OPTIONS
    )  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(START_WITHIN):
        while not server.started:
            assert not task.done(), task.exception()
            await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        yield Live(port, Client(http=http, ips={TEST_IP, *LOOPBACK_IPS}))
    server.should_exit = True
    await asyncio.wait_for(task, START_WITHIN)
