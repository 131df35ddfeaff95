"""Faults lose nothing: a server killed mid-write, and many writers at once."""

from __future__ import annotations

import asyncio
import random
import signal
from datetime import date
from pathlib import Path

import httpx
import pytest

from models.accounts import User
from models.base import Role
from models.forums import Forum
from models.messages import Message, Thread
from models.sql import fetch
from resolvers.accounts import create_member
from schema import ids
from tests.support.harness import PASSWORD, free_port, serve_process, until_healthy

ROOT = Path(__file__).resolve().parent.parent
WRITERS = 8
ROUNDS = 20
POST = (
    "mutation($t: ID!, $b: String!) { postMessage(input: {threadId: $t, body: $b}) "
    "{ message { id } userErrors { code } } }"
)
OPEN = (
    "mutation($f: ID!, $b: String!) { createThread(input: {forumId: $f, title: $b, body: $b}) "
    "{ thread { id } userErrors { code } } }"
)


async def writer(
    base: str, cookie: str, forum_id: str, thread_id: str, name: str, answered: set[str]
) -> None:
    """Post until the server dies; remember every message and thread whose write was answered."""
    async with httpx.AsyncClient(base_url=base, timeout=5, cookies={"session": cookie}) as client:
        for n in range(10_000):
            body = f"{name}-{n}"
            query, variables = (
                (OPEN, {"f": forum_id, "b": body})
                if n % 5 == 0
                else (POST, {"t": thread_id, "b": body})
            )
            try:
                response = await client.post(
                    "/graphql", json={"query": query, "variables": variables}
                )
            except httpx.TransportError:
                return  # killed: this write may or may not have landed, and that is fine
            data = response.json()["data"]
            payload = data.get("createThread") or data.get("postMessage")
            assert payload["userErrors"] == [], payload
            answered.add(body)


async def first_answer(answered: set[str], before: int) -> None:
    """Wait (bounded) until a write of this round has been answered."""
    for _ in range(200):
        if len(answered) > before:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no write was answered within 10 s")


@pytest.mark.slow
async def test_a_server_killed_mid_write_loses_no_answered_message(gql, settings) -> None:

    await create_member("writer", "writer@example.org", PASSWORD, Role.MEMBER, date(1990, 1, 1))
    cookie = await gql.sign_in("writer")
    forum = await Forum.create(slug="faults", title="Faults")
    forum_id = ids.encode("Forum", forum.id)
    opened = await gql(OPEN, {"f": forum_id, "b": "the thread"}, as_member="writer")
    thread_id = opened["data"]["createThread"]["thread"]["id"]
    answered: set[str] = set()
    for round_ in range(ROUNDS):
        port = free_port()
        server = serve_process(settings, port)
        base = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient(base_url=base, timeout=2) as http:
                await until_healthy(http, server)
            tasks = [
                asyncio.create_task(
                    writer(base, cookie, forum_id, thread_id, f"r{round_}w{w}", answered)
                )
                for w in range(WRITERS)
            ]
            await first_answer(answered, len(answered))
            await asyncio.sleep(random.uniform(0.2, 0.8))
        finally:
            server.send_signal(signal.SIGKILL)
            server.wait(10)
        await asyncio.gather(*tasks)

    bodies = set(await Message.all().values_list("body", flat=True))
    assert answered <= bodies, f"{len(answered - bodies)} answered writes are missing"
    assert len(answered) >= ROUNDS  # every round wrote before its kill
    orphans = await fetch(
        "SELECT t.id FROM threads t WHERE NOT EXISTS "
        "(SELECT 1 FROM messages m WHERE m.thread_id = t.id)",
        [],
    )
    assert orphans == []  # no thread without its first message
    assert await Message.filter(ip_cipher__isnull=True).count() == 0  # none without its IP record
    assert await Thread.filter(ip_cipher__isnull=True).count() == 0
    assert await User.filter(username="writer").count() == 1


async def test_eight_concurrent_writers_never_see_a_locked_database(gql) -> None:
    forum = await Forum.create(slug="busy", title="Busy")
    names = [f"busy{n}" for n in range(WRITERS)]
    for name in names:
        await create_member(name, f"{name}@example.org", PASSWORD, Role.MEMBER, date(1990, 1, 1))
        await gql.sign_in(name)
    forum_id = ids.encode("Forum", forum.id)
    opened = await gql(OPEN, {"f": forum_id, "b": "busy thread"}, as_member=names[0])
    thread_id = opened["data"]["createThread"]["thread"]["id"]

    async def write(name: str) -> list[dict]:
        return [
            await gql(POST, {"t": thread_id, "b": f"{name}-{n}"}, as_member=name) for n in range(25)
        ]

    results = await asyncio.gather(*(write(name) for name in names))

    errors = [
        r
        for batch in results
        for r in batch
        if "errors" in r or r["data"]["postMessage"]["userErrors"]
    ]
    assert errors == []
    assert (
        await Message.filter(thread_id=ids.decode_pk(thread_id, "Thread")).count()
        == 1 + WRITERS * 25
    )
