"""Several workers share everything through the database: two `serve` processes on one
database (SQLite file or PostgreSQL) never serve a stale or private answer from their
response caches, and a message posted through one reaches subscribers of the other."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

import models
from models.accounts import User
from services.settings import Settings
from tests.support.forum import gid, new_forum, open_thread, reply
from tests.support.harness import (
    LOOPBACK_IPS,
    POSTGRES_ADMIN_URL,
    TEST_IP,
    Client,
    free_port,
    serve_process,
    stop_processes,
    until_healthy,
)
from tests.support.members import member, set_audiences, set_profile

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
CANARY = "canary-bio-4417"
BIO = '{ user(username: "ada_l") { profile { bio } } }'
SHOWN = {"data": {"user": {"profile": {"bio": CANARY}}}}
HIDDEN = {"data": {"user": {"profile": {"bio": None}}}}
SET_BIO_AUDIENCE = """
mutation($a: Audience!) { updatePrivacySettings(input: {bio: $a}) { userErrors { code } } }
"""
SUBSCRIBERS = 8
ROUNDS = 25  # anonymous reads per worker after the change; each must miss the old answer


@dataclass
class Worker:
    """One `serve` process and an IP-scanned client to it."""

    process: subprocess.Popen[str]
    gql: Client
    port: int


@pytest.fixture
async def workers(
    request: pytest.FixtureRequest, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[list[Worker]]:
    """Two single-worker servers on this test's database (or, when the test is marked
    `uvicorn_workers`, one `serve --workers 2`), and the test's own connection to it.
    They say in X-Cache whether their cache answered (RESPONSE_CACHE_DEBUG)."""
    monkeypatch.setenv("RESPONSE_CACHE_DEBUG", "true")
    await models.init_db(settings.db_url)
    shared = request.node.get_closest_marker("uvicorn_workers") is not None
    started: list[Worker] = []
    clients: list[httpx.AsyncClient] = []
    try:
        for _ in range(1 if shared else 2):
            port = free_port()
            process = serve_process(settings, port, workers=2 if shared else 1)
            http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30)
            clients.append(http)
            started.append(Worker(process, Client(http=http, ips={TEST_IP, *LOOPBACK_IPS}), port))
            await until_healthy(http, process)
        yield started
    finally:
        for http in clients:
            await http.aclose()
        await stop_processes([worker.process for worker in started])
        await models.close_db()


@pytest.fixture
async def ada(workers: list[Worker]) -> User:
    """A member whose bio everyone may read, signed in on the first worker."""
    user = await member(workers[0].gql, "ada_l")
    await set_profile(user, bio=CANARY)
    await set_audiences(user, bio="EVERYONE")
    return user


async def read(worker: Worker) -> tuple[dict, str | None]:
    """A signed-out reader's bio query: the answer, and whether the cache served it."""
    response = await worker.gql.post(BIO)
    return response.json(), response.headers.get("x-cache")


async def warm(workers: list[Worker]) -> None:
    """Read until every worker answers the shown bio ahead of its middleware: the first
    answer learns the version keys it reads, the second reads them first and is kept,
    the first hit goes through the whole stack (web/hits.py keeps how it was sent) and
    the next is answered early, as every hit after it."""
    for worker in workers:
        assert await read(worker) == (SHOWN, "miss")
        assert await read(worker) == (SHOWN, "miss")
        assert await read(worker) == (SHOWN, "hit")
        assert await read(worker) == (SHOWN, "hit")


async def test_a_field_made_private_through_one_worker_is_never_served_by_another(
    workers: list[Worker], ada: User
) -> None:
    await warm(workers)
    changed = await workers[0].gql(SET_BIO_AUDIENCE, {"a": "ONLY_ME"}, as_member="ada_l")
    assert changed == {"data": {"updatePrivacySettings": {"userErrors": []}}}
    answers = [await read(worker) for _ in range(ROUNDS) for worker in reversed(workers)]
    assert [answer for answer, _ in answers] == [HIDDEN] * (2 * ROUNDS)
    assert CANARY not in json.dumps(answers)


async def test_a_change_made_outside_any_worker_reaches_every_cache(
    workers: list[Worker], ada: User
) -> None:
    await warm(workers)
    await set_audiences(ada, bio="MEMBERS")  # as the CLI or an operator's SQL would
    assert [await read(worker) for worker in workers] == [(HIDDEN, "miss")] * 2


@pytest.mark.skipif(
    not POSTGRES_ADMIN_URL, reason="several workers run on PostgreSQL only (LISTEN/NOTIFY)"
)
async def test_a_message_posted_through_one_worker_reaches_a_subscriber_of_another(
    workers: list[Worker], ada: User
) -> None:
    forum = await new_forum()
    created = await workers[0].gql(
        "mutation($i: CreateThreadInput!) { createThread(input: $i) { thread { id } } }",
        {"i": {"forumId": gid("Forum", forum.id), "title": "Across", "body": "First."}},
        as_member="ada_l",
    )
    thread = created["data"]["createThread"]["thread"]["id"]
    url = f"ws://127.0.0.1:{workers[1].port}/graphql"
    async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"type": "connection_ack"}
        query = "subscription($t: ID!) { threadMessageAdded(threadId: $t) { body } }"
        subscribe = {"query": query, "variables": {"t": thread}}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))
        await asyncio.sleep(0.5)  # the subscription starts listening without an answer
        posted = await workers[0].gql(
            "mutation($i: PostMessageInput!) { postMessage(input: $i) { userErrors { code } } }",
            {"i": {"threadId": thread, "body": "Hello from the other worker."}},
            as_member="ada_l",
        )
        assert posted == {"data": {"postMessage": {"userErrors": []}}}
        event = await _past(ws, "First.")
    body = {"threadMessageAdded": {"body": "Hello from the other worker."}}
    assert event == {"id": "1", "type": "next", "payload": {"data": body}}


@pytest.mark.uvicorn_workers
@pytest.mark.skipif(
    not POSTGRES_ADMIN_URL, reason="several workers run on PostgreSQL only (LISTEN/NOTIFY)"
)
async def test_serve_with_two_workers_delivers_to_every_subscriber(
    workers: list[Worker], ada: User
) -> None:
    (worker,) = workers
    forum = await new_forum()
    created = await worker.gql(
        "mutation($i: CreateThreadInput!) { createThread(input: $i) { thread { id } } }",
        {"i": {"forumId": gid("Forum", forum.id), "title": "Shared", "body": "First."}},
        as_member="ada_l",
    )
    thread = created["data"]["createThread"]["thread"]["id"]
    query = "subscription($t: ID!) { threadMessageAdded(threadId: $t) { body } }"
    url = f"ws://127.0.0.1:{worker.port}/graphql"
    async with contextlib.AsyncExitStack() as stack:
        sockets = []
        for number in range(SUBSCRIBERS):  # the kernel spreads connections over the workers
            ws = await stack.enter_async_context(
                connect(url, subprotocols=["graphql-transport-ws"])
            )
            await ws.send(json.dumps({"type": "connection_init"}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"type": "connection_ack"}
            payload = {"query": query, "variables": {"t": thread}}
            await ws.send(json.dumps({"id": str(number), "type": "subscribe", "payload": payload}))
            sockets.append(ws)
        await asyncio.sleep(0.5)
        await worker.gql(
            "mutation($i: PostMessageInput!) { postMessage(input: $i) { userErrors { code } } }",
            {"i": {"threadId": thread, "body": "To all."}},
            as_member="ada_l",
        )
        events = [await _past(ws, "First.") for ws in sockets]
    data = {"data": {"threadMessageAdded": {"body": "To all."}}}
    assert events == [{"id": str(n), "type": "next", "payload": data} for n in range(SUBSCRIBERS)]


async def _past(ws: ClientConnection, earlier: str) -> dict[str, Any]:
    """The socket's next event but the one of a message posted just before it subscribed
    (`earlier`: its NOTIFY may still have been on its way to the worker's listener)."""
    while True:
        event = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if event.get("payload", {}).get("data", {}).get("threadMessageAdded") != {"body": earlier}:
            return event


@pytest.mark.skipif(
    not POSTGRES_ADMIN_URL, reason="several workers run on PostgreSQL only (LISTEN/NOTIFY)"
)
async def test_a_session_ended_through_one_worker_closes_its_socket_on_another(
    workers: list[Worker], ada: User
) -> None:
    token = workers[0].gql.cookies["ada_l"]
    url = f"ws://127.0.0.1:{workers[1].port}/graphql"
    async with connect(
        url,
        subprotocols=["graphql-transport-ws"],
        additional_headers={"Cookie": f"session={token}"},
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"type": "connection_ack"}
        logout = "mutation { logout { userErrors { code } } }"
        assert await workers[0].gql(logout, cookie=token) == {
            "data": {"logout": {"userErrors": []}}
        }
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4401, "Session ended")


@pytest.mark.skipif(
    not POSTGRES_ADMIN_URL, reason="several workers run on PostgreSQL only (LISTEN/NOTIFY)"
)
async def test_a_notification_made_through_one_worker_reaches_its_member_on_another(
    workers: list[Worker], ada: User
) -> None:
    bob = await member(workers[0].gql, "bob")
    url = f"ws://127.0.0.1:{workers[1].port}/graphql"
    cookie = {"Cookie": f"session={workers[0].gql.cookies['ada_l']}"}
    async with connect(url, subprotocols=["graphql-transport-ws"], additional_headers=cookie) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"type": "connection_ack"}
        query = "subscription { notificationAdded { kind actor { username } } }"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        await asyncio.sleep(0.5)  # the subscription starts listening without an answer
        followed = await workers[0].gql(
            "mutation($i: FollowInput!) { follow(input: $i) { userErrors { code } } }",
            {"i": {"userId": gid("User", ada.id)}},
            as_member=bob.username,
        )
        assert followed == {"data": {"follow": {"userErrors": []}}}
        event = json.loads(await asyncio.wait_for(ws.recv(), 5))
    added = {"notificationAdded": {"kind": "NEW_FOLLOWER", "actor": {"username": "bob"}}}
    assert event == {"id": "1", "type": "next", "payload": {"data": added}}


async def test_a_post_in_another_thread_leaves_every_workers_cached_answer_a_hit(
    workers: list[Worker], ada: User
) -> None:
    await member(workers[0].gql, "bob_b")
    thread, _ = await open_thread(workers[0].gql, "bob_b", await new_forum())
    await warm(workers)
    await reply(workers[0].gql, "bob_b", thread, "Elsewhere.")
    assert [await read(worker) for worker in workers] == [(SHOWN, "hit")] * 2
