"""Live-update fan-out: topics carry ids, subscribers load the rest.

Subscribers receive only message ids, so every subscriber resolves the message
with its own viewer and privacy rules, never with the publisher's.

`Broker` fans out inside one process (the embedded SQLite server runs one).
`PostgresBroker` sends each id through PostgreSQL's NOTIFY and delivers what its
LISTEN connection hears, so a message posted through one worker reaches the
subscribers of every worker. NOTIFY goes out on a connection of the broker's own,
never inside a writer's transaction: PostgreSQL serialises the commits of every
transaction with a pending NOTIFY behind one cluster-wide lock, so writers only queue
their events, and the publisher sends whatever has queued meanwhile in one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from services import metrics

QUEUE_SIZE = 100
CHANNEL = "forum_events"
RECONNECT_SECONDS = 1.0

log = logging.getLogger("forum.broker")


class Broker:
    """Topic-based publish/subscribe over asyncio queues."""

    def __init__(self) -> None:
        self._queues: dict[str, set[asyncio.Queue[int]]] = defaultdict(set)

    async def start(self) -> None:
        """Nothing to connect for in-process fan-out."""

    async def stop(self) -> None:
        """Nothing to close for in-process fan-out."""

    async def publish(self, topic: str, item: int) -> None:
        """Hand an id to every subscriber of the topic (call after the write commits)."""
        self.deliver(topic, item)

    def deliver(self, topic: str, item: int) -> None:
        """Hand an id to this process's subscribers (slow ones drop the oldest)."""
        for queue in list(self._queues.get(topic, ())):
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(item)

    async def subscribe(self, topic: str) -> AsyncIterator[int]:
        """Ids published on the topic from now on, until the consumer stops."""
        queue: asyncio.Queue[int] = asyncio.Queue(QUEUE_SIZE)
        self._queues[topic].add(queue)
        # Member topics carry session changes to the server itself, not to a client.
        counted = not topic.startswith("member:")
        if counted:
            metrics.SUBSCRIPTIONS.inc()
        try:
            while True:
                yield await queue.get()
        finally:
            if counted:
                metrics.SUBSCRIPTIONS.dec()
            self._queues[topic].discard(queue)
            if not self._queues[topic]:
                del self._queues[topic]

    @property
    def listening(self) -> bool:
        """Whether events published by other processes reach this one (always, in process)."""
        return True

    def subscribers(self, topic: str) -> int:
        """How many consumers listen on a topic now (in this process)."""
        return len(self._queues.get(topic, ()))


class PostgresBroker(Broker):
    """Fan-out across processes through one LISTEN connection per process."""

    def __init__(self, database_url: str) -> None:
        super().__init__()
        parts = urlsplit(database_url)  # Tortoise's own options are not asyncpg's
        self._dsn = urlunsplit(("postgresql", parts.netloc, parts.path, "", ""))
        self._task: asyncio.Task[None] | None = None
        self._publisher: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self._unsent: asyncio.Queue[str] = asyncio.Queue()

    async def start(self) -> None:
        """Connect the listener (and keep reconnecting it) before serving requests."""
        self._task = asyncio.create_task(self._listen())
        self._publisher = asyncio.create_task(self._publish_queued())
        await asyncio.wait_for(self._listening.wait(), 30)

    async def stop(self) -> None:
        """Send what is still queued (briefly), then close the publisher and listener."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._unsent.join(), 5)
        for task in (self._publisher, self._task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    @property
    def listening(self) -> bool:
        """Whether the LISTEN connection is up (other workers' events reach this one)."""
        return self._listening.is_set()

    async def publish(self, topic: str, item: int) -> None:
        """Queue a NOTIFY to every process, this one included (sent after the caller's
        transaction, on the publisher's own connection)."""
        self._unsent.put_nowait(f"{topic} {item}")

    async def _publish_queued(self) -> None:
        connection: asyncpg.Connection | None = None
        try:
            while True:
                batch = [await self._unsent.get()]
                while not self._unsent.empty():
                    batch.append(self._unsent.get_nowait())
                connection = await self._send(connection, batch)
        finally:
            if connection is not None:
                with contextlib.suppress(Exception):
                    await connection.close()

    async def _send(
        self, connection: asyncpg.Connection | None, batch: list[str]
    ) -> asyncpg.Connection | None:
        """NOTIFY a batch in one transaction (one pass through the commit lock); the
        connection to use next time. Live updates are best effort: a batch the database
        refuses is logged and dropped, never retried without bound."""
        try:
            if connection is None or connection.is_closed():
                connection = await asyncpg.connect(self._dsn)
            await connection.execute(
                "SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload",
                CHANNEL,
                batch,
            )
        except (OSError, asyncpg.PostgresError):
            log.warning("broker: could not publish %d events; dropped", len(batch))
            connection = None
            await asyncio.sleep(RECONNECT_SECONDS)
        finally:
            for _ in batch:
                self._unsent.task_done()
        return connection

    async def _listen(self) -> None:
        while True:
            closed = asyncio.Event()
            try:
                connection = await asyncpg.connect(self._dsn)
            except (OSError, asyncpg.PostgresError):
                log.warning("broker: cannot reach the database; retrying")
                await asyncio.sleep(RECONNECT_SECONDS)
                continue
            try:
                connection.add_termination_listener(lambda _, done=closed: done.set())
                await connection.add_listener(CHANNEL, self._heard)
                self._listening.set()
                await closed.wait()
                self._listening.clear()
                log.warning("broker: the listening connection closed; reconnecting")
            finally:
                with contextlib.suppress(Exception):
                    await connection.close()

    def _heard(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        topic, _, item = payload.rpartition(" ")
        if topic and item.isdigit():
            self.deliver(topic, int(item))


def broker_for(database_url: str) -> Broker:
    """The broker that reaches every worker sharing this database."""
    if database_url.startswith(("postgres://", "postgresql://", "asyncpg://")):
        return PostgresBroker(database_url)
    return Broker()
