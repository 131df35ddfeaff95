"""Live-update fan-out inside one process: topics carry ids, subscribers load the rest.

Subscribers receive only message ids, so every subscriber resolves the message
with its own viewer and privacy rules, never with the publisher's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator

QUEUE_SIZE = 100


class Broker:
    """Topic-based publish/subscribe over asyncio queues."""

    def __init__(self) -> None:
        self._queues: dict[str, set[asyncio.Queue[int]]] = defaultdict(set)

    def publish(self, topic: str, item: int) -> None:
        """Hand an id to every current subscriber of the topic (slow ones drop the oldest)."""
        for queue in list(self._queues.get(topic, ())):
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(item)

    async def subscribe(self, topic: str) -> AsyncIterator[int]:
        """Ids published on the topic from now on, until the consumer stops."""
        queue: asyncio.Queue[int] = asyncio.Queue(QUEUE_SIZE)
        self._queues[topic].add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._queues[topic].discard(queue)
            if not self._queues[topic]:
                del self._queues[topic]

    def subscribers(self, topic: str) -> int:
        """How many consumers listen on a topic now."""
        return len(self._queues.get(topic, ()))
