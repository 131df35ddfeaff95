"""Fixtures of the security suite: a real uvicorn for the rows about transport, started
the way `server.py serve` starts it, and section D's site (that server with its broker),
its sockets and its cast."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn

from models.accounts import User
from services.settings import Settings
from tests.support.forum import new_forum, open_thread
from tests.support.harness import LOOPBACK_IPS, TEST_IP, Client, Live
from tests.support.members import member, set_audiences, set_profile
from tests.support.websockets import Site, Socket
from web.app import UVICORN_OPTIONS, create_app
from web.graphql import ForumGraphQL

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


# ------------------------------------------------------------------ section D's site and cast


@pytest.fixture
def views(monkeypatch: pytest.MonkeyPatch) -> list[ForumGraphQL]:
    """Every /graphql view create_app makes from now on (the live app builds exactly one)."""
    made: list[ForumGraphQL] = []
    original = ForumGraphQL.__init__

    def recorded(self: ForumGraphQL, *args: Any, **kwargs: Any) -> None:
        """The view as create_app builds it, remembered."""
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(ForumGraphQL, "__init__", recorded)
    return made


@pytest.fixture
def site(request: pytest.FixtureRequest, views: list[ForumGraphQL]) -> Site:
    """`live`, started only once its view is being recorded."""
    live: Live = request.getfixturevalue("live")
    (view,) = views
    return Site(live, view.broker)


@pytest.fixture
async def sockets() -> AsyncIterator[list[Socket]]:
    """Sockets a test opened, closed after it (before the server stops)."""
    opened: list[Socket] = []
    yield opened
    for socket in opened:
        await socket.ws.close()


@pytest.fixture
async def cast(site: Site) -> dict[str, User]:
    """ada, bob and carol, confirmed members who sign in with their password.
    bob shares his bio with members and hides his email (ONLY_ME) and location from all."""
    users = {name: await member(None, name) for name in ("ada", "bob", "carol")}
    await set_profile(users["bob"], bio="Loves soup", location="Leeds")
    await set_audiences(users["bob"], email="ONLY_ME", bio="MEMBERS", location="ONLY_ME")
    return users


@pytest.fixture
async def thread(site: Site, cast: dict[str, User]) -> str:
    """A public thread bob opened."""
    await site.live.http.sign_in("bob")
    thread_id, _ = await open_thread(site.live.http, "bob", await new_forum(), "Live", "First")
    await site.settled()  # its first message's event is not one a test's subscriber hears
    return thread_id
