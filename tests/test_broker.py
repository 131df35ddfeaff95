"""The PostgreSQL broker publishes after commit on a connection of its own, in batches:
every event still reaches every worker's subscribers, in order, and none is lost when
writers publish faster than one NOTIFY transaction per event."""

from __future__ import annotations

import asyncio

import pytest

from services.broker import PostgresBroker
from tests.support.harness import POSTGRES_ADMIN_URL

pytestmark = pytest.mark.skipif(not POSTGRES_ADMIN_URL, reason="LISTEN/NOTIFY: PostgreSQL only")
EVENTS = 80  # within a subscriber's queue (QUEUE_SIZE), published faster than sent


async def test_a_burst_of_events_reaches_another_worker_in_order(database_url: str) -> None:
    writer, reader = PostgresBroker(database_url), PostgresBroker(database_url)
    await writer.start()
    await reader.start()
    heard: list[int] = []
    done = asyncio.Event()

    async def listen() -> None:
        async for item in reader.subscribe("thread:7"):
            heard.append(item)
            if len(heard) == EVENTS:
                done.set()

    task = asyncio.create_task(listen())
    try:
        for _ in range(1000):  # until the subscription has registered its queue
            if reader.subscribers("thread:7"):
                break
            await asyncio.sleep(0.01)
        for item in range(EVENTS):
            await writer.publish("thread:7", item)
        await asyncio.wait_for(done.wait(), 60)  # a fail-safe against a hang
    finally:
        task.cancel()
        await writer.stop()
        await reader.stop()

    assert heard == list(range(EVENTS))
