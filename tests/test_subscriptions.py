"""Live updates over graphql-transport-ws on a real uvicorn: who receives what, resolved
for whom, and which handshakes are refused before any data."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosedError, InvalidStatus

from models.accounts import User
from models.base import Role
from models.blocks import Block
from services.broker import Broker
from services.settings import Settings
from tests.support.forum import gid, new_forum, open_thread, pk, reply, send, start_conversation
from tests.support.harness import LOOPBACK_IPS, TEST_IP, Client, assert_no_ip
from tests.support.members import member, set_audiences, set_profile
from tests.support.websockets import settled, subscribed
from web.app import create_app

pytestmark = pytest.mark.e2e

WAIT = 5.0  # seconds: the bound on every wait in this module
PROTOCOL = "graphql-transport-ws"
IPS = {TEST_IP, *LOOPBACK_IPS}


@dataclass
class Live:
    """A running server: its port, an HTTP client (IP-scanned) and the app's broker."""

    port: int
    http: Client
    broker: Broker

    @property
    def url(self) -> str:
        """The WebSocket endpoint."""
        return f"ws://127.0.0.1:{self.port}/graphql"

    async def subscribers(self, topic: str, count: int) -> None:
        """Wait until `count` subscriptions listen on a topic (a subscribe is not acked)."""
        await subscribed(self.broker, topic, count)

    async def settled(self) -> None:
        """Wait until every event published so far has reached the app's broker."""
        await settled(self.broker)


def broker_of(app: Starlette) -> Broker:
    """The broker behind the app's /graphql endpoint."""
    return app.state.broker


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[Live]:
    """uvicorn serving the app on a free loopback port, in this test's event loop."""
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        proxy_headers=False,
        access_log=False,
        ws="websockets",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(WAIT * 2):
        while not server.started:
            assert not task.done(), task.exception()
            await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        yield Live(port, Client(http=http, ips=set(IPS)), broker_of(app))
    server.should_exit = True
    await asyncio.wait_for(task, WAIT * 2)


@dataclass
class Socket:
    """A graphql-transport-ws connection whose every message is scanned for IPs."""

    ws: ClientConnection

    async def send(self, message: dict[str, Any]) -> None:
        """Send one protocol message."""
        await self.ws.send(json.dumps(message))

    async def receive(self) -> dict[str, Any]:
        """The next protocol message (waiting at most WAIT seconds)."""
        raw = await asyncio.wait_for(self.ws.recv(), WAIT)
        text = raw if isinstance(raw, str) else raw.decode()
        assert_no_ip(text, IPS)
        return json.loads(text)

    async def subscribe(self, id_: str, query: str, variables: dict[str, Any]) -> None:
        """Start a subscription."""
        payload = {"query": query, "variables": variables}
        await self.send({"id": id_, "type": "subscribe", "payload": payload})


async def open_socket(live: Live, token: str | None = None) -> Socket:
    """Connect (with a session cookie when given) and complete connection_init."""
    headers = {"Cookie": f"session={token}"} if token else {}
    ws = await asyncio.wait_for(
        connect(live.url, subprotocols=[PROTOCOL], additional_headers=headers), WAIT
    )
    socket = Socket(ws)
    await socket.send({"type": "connection_init"})
    assert await socket.receive() == {"type": "connection_ack"}
    return socket


@pytest.fixture
async def sockets(live: Live) -> AsyncIterator[list[Socket]]:
    """Sockets a test opened, closed after it (before the server stops)."""
    opened: list[Socket] = []
    yield opened
    for socket in opened:
        await socket.ws.close()


async def connected(live: Live, sockets: list[Socket], username: str | None = None) -> Socket:
    """A socket signed in as the member (over HTTP, with their password), or anonymous.
    Events published before (a thread's first message, on its way through PostgreSQL's
    NOTIFY) have arrived first, so its subscriptions hear only what comes after."""
    await live.settled()
    token = await live.http.sign_in(username) if username else None
    socket = await open_socket(live, token)
    sockets.append(socket)
    return socket


THREAD_ADDED = """subscription($id: ID!) {
  threadMessageAdded(threadId: $id) {
    body author { username email profile { bio location } }
  }
}"""
CONVERSATION_ADDED = """subscription($id: ID!) {
  conversationMessageAdded(conversationId: $id) { body author { username } }
}"""


def topic(kind: str, global_id: str) -> str:
    """The broker topic of a thread or conversation."""
    return f"{kind}:{pk(global_id)}"


# ------------------------------------------------------------------ public threads


@pytest.fixture
async def cast(live: Live) -> dict[str, User]:
    """ada and bob, confirmed members who sign in with their password; bob shares his bio
    with everyone and his location with members (the default), his email with nobody."""
    users = {name: await member(None, name) for name in ("ada", "bob", "carol")}
    await set_profile(users["bob"], bio="Loves soup", location="Leeds")
    return users


async def test_a_subscriber_receives_a_message_posted_over_http(
    live: Live, cast: dict[str, User], sockets: list[Socket]
) -> None:
    await live.http.sign_in("bob")
    thread_id, _ = await open_thread(live.http, "bob", await new_forum(), "Live", "First")
    socket = await connected(live, sockets, "ada")
    await socket.subscribe("1", THREAD_ADDED, {"id": thread_id})
    await live.subscribers(topic("thread", thread_id), 1)

    await reply(live.http, "bob", thread_id, "Hello live")

    author = {
        "username": "bob",
        "email": None,
        "profile": {"bio": "Loves soup", "location": "Leeds"},
    }
    assert await socket.receive() == {
        "id": "1",
        "type": "next",
        "payload": {"data": {"threadMessageAdded": {"body": "Hello live", "author": author}}},
    }


async def test_each_subscriber_sees_the_author_as_their_own_privacy_allows(
    live: Live, cast: dict[str, User], sockets: list[Socket]
) -> None:
    await live.http.sign_in("bob")
    thread_id, _ = await open_thread(live.http, "bob", await new_forum(), "Live", "First")
    signed_in, anonymous = await connected(live, sockets, "ada"), await connected(live, sockets)
    for socket in (signed_in, anonymous):
        await socket.subscribe("1", THREAD_ADDED, {"id": thread_id})
    await live.subscribers(topic("thread", thread_id), 2)

    await reply(live.http, "bob", thread_id, "Hello both")

    def seen(location: str | None) -> dict[str, Any]:
        author = {
            "username": "bob",
            "email": None,
            "profile": {"bio": "Loves soup", "location": location},
        }
        message = {"body": "Hello both", "author": author}
        return {"id": "1", "type": "next", "payload": {"data": {"threadMessageAdded": message}}}

    assert (await signed_in.receive(), await anonymous.receive()) == (seen("Leeds"), seen(None))


async def test_a_running_subscription_follows_a_privacy_change(
    live: Live, cast: dict[str, User], sockets: list[Socket]
) -> None:
    await set_audiences(cast["bob"], location="EVERYONE")
    await live.http.sign_in("bob")
    thread_id, _ = await open_thread(live.http, "bob", await new_forum(), "Live", "First")
    anonymous = await connected(live, sockets)
    await anonymous.subscribe("1", THREAD_ADDED, {"id": thread_id})
    await live.subscribers(topic("thread", thread_id), 1)
    await reply(live.http, "bob", thread_id, "Before")
    before = await anonymous.receive()

    await set_audiences(cast["bob"], location="ONLY_ME")
    await reply(live.http, "bob", thread_id, "After")

    after = await anonymous.receive()
    locations = [
        message["payload"]["data"]["threadMessageAdded"]["author"]["profile"]["location"]
        for message in (before, after)
    ]
    assert locations == ["Leeds", None]


def refusal(message: str, field: str) -> dict[str, Any]:
    """The `error` message refusing subscription "1" (the operation never starts)."""
    located = {"message": message, "locations": [{"line": 2, "column": 3}], "path": [field]}
    return {"id": "1", "type": "error", "payload": [located]}


def uncoded(message: dict[str, Any]) -> dict[str, Any]:
    """A protocol message without its errors' extensions (see the FORBIDDEN test below)."""
    payload = [
        {key: value for key, value in error.items() if key != "extensions"}
        for error in message.get("payload", [])
    ]
    return {**message, "payload": payload} if "payload" in message else message


async def test_a_subscription_to_an_unknown_thread_is_refused(
    live: Live, cast: dict[str, User], sockets: list[Socket]
) -> None:
    socket = await connected(live, sockets)

    await socket.subscribe("1", THREAD_ADDED, {"id": "VGhyZWFkOjk5OQ"})  # Thread:999

    answer = await socket.receive()
    assert uncoded(answer) == refusal("There is no such thread.", "threadMessageAdded")


# ------------------------------------------------------------------ conversations


@pytest.fixture
async def private(live: Live, cast: dict[str, User]) -> str:
    """A conversation between ada and bob (carol is not in it)."""
    await live.http.sign_in("ada")
    conversation_id, _ = await start_conversation(live.http, "ada", [cast["bob"]], "Secret")
    return conversation_id


async def test_a_participant_receives_conversation_messages(
    live: Live, private: str, sockets: list[Socket]
) -> None:
    socket = await connected(live, sockets, "bob")
    await socket.subscribe("1", CONVERSATION_ADDED, {"id": private})
    await live.subscribers(topic("conversation", private), 1)

    await send(live.http, "ada", private, "Just for you")

    message = {"body": "Just for you", "author": {"username": "ada"}}
    assert await socket.receive() == {
        "id": "1",
        "type": "next",
        "payload": {"data": {"conversationMessageAdded": message}},
    }


NOT_YOURS = refusal("You have no such conversation.", "conversationMessageAdded")


@pytest.mark.parametrize("viewer", ["carol", None])
async def test_an_outsider_is_refused_a_conversation_and_receives_nothing(
    live: Live, private: str, sockets: list[Socket], viewer: str | None
) -> None:
    socket = await connected(live, sockets, viewer)
    await live.http.sign_in("bob")
    sentinel, _ = await open_thread(live.http, "bob", await new_forum(), "Sentinel", "First")

    await socket.subscribe("1", CONVERSATION_ADDED, {"id": private})
    refused = await socket.receive()
    await socket.subscribe("2", THREAD_ADDED, {"id": sentinel})
    await live.subscribers(topic("thread", sentinel), 1)
    await send(live.http, "ada", private, "Not for carol")
    await reply(live.http, "bob", sentinel, "Sentinel")

    # Messages arrive in order: anything for the conversation would come before this.
    after = await socket.receive()
    assert uncoded(refused) == NOT_YOURS
    assert live.broker.subscribers(topic("conversation", private)) == 0
    assert (after["id"], after["type"]) == ("2", "next")


async def test_an_outsider_is_refused_the_same_as_for_no_conversation(
    live: Live, private: str, sockets: list[Socket]
) -> None:
    socket = await connected(live, sockets, "carol")

    await socket.subscribe("1", CONVERSATION_ADDED, {"id": private})
    existing = await socket.receive()
    await socket.subscribe("1", CONVERSATION_ADDED, {"id": "Q29udmVyc2F0aW9uOjk5OQ"})  # :999
    unknown = await socket.receive()

    assert existing == unknown
    assert uncoded(unknown) == NOT_YOURS


async def test_a_refused_subscription_says_forbidden(
    live: Live, private: str, sockets: list[Socket]
) -> None:
    socket = await connected(live, sockets, "carol")

    await socket.subscribe("1", CONVERSATION_ADDED, {"id": private})

    (error,) = NOT_YOURS["payload"]
    expected = {**NOT_YOURS, "payload": [{**error, "extensions": {"code": "FORBIDDEN"}}]}
    assert await socket.receive() == expected


async def test_a_participant_who_leaves_stops_receiving(
    live: Live, private: str, sockets: list[Socket]
) -> None:
    socket = await connected(live, sockets, "bob")
    await socket.subscribe("1", CONVERSATION_ADDED, {"id": private})
    await live.subscribers(topic("conversation", private), 1)
    await send(live.http, "ada", private, "Still there?")
    first = await socket.receive()

    left = await live.http(
        "mutation($i: ConversationInput!) { leaveConversation(input: $i) { userErrors { code } } }",
        {"i": {"conversationId": private}},
        as_member="bob",
    )
    await send(live.http, "ada", private, "Gone?")

    assert left == {"data": {"leaveConversation": {"userErrors": []}}}
    assert first["payload"]["data"]["conversationMessageAdded"]["body"] == "Still there?"
    assert await socket.receive() == {"id": "1", "type": "complete"}


# ------------------------------------------------------------------ handshakes


async def test_a_foreign_origin_is_refused_at_the_handshake(
    live: Live, cast: dict[str, User]
) -> None:
    token = await live.http.sign_in("ada")

    with pytest.raises(InvalidStatus) as refused:
        await asyncio.wait_for(
            connect(
                live.url,
                subprotocols=[PROTOCOL],
                additional_headers={"Cookie": f"session={token}"},
                origin="https://evil.example",  # type: ignore[arg-type]
            ),
            WAIT,
        )

    assert refused.value.response.status_code == 403
    assert_no_ip(refused.value.response.body.decode(errors="replace"), IPS)


async def test_the_legacy_graphql_ws_subprotocol_is_refused(live: Live, private: str) -> None:
    token = await live.http.sign_in("bob")

    ws = await asyncio.wait_for(
        connect(
            live.url,
            subprotocols=["graphql-ws"],  # type: ignore[list-item]
            additional_headers={"Cookie": f"session={token}"},
        ),
        WAIT,
    )
    start = {
        "type": "start",
        "id": "1",
        "payload": {"query": CONVERSATION_ADDED, "variables": {"id": private}},
    }
    with pytest.raises(ConnectionClosedError) as closed:
        await ws.send(json.dumps(start))
        await asyncio.wait_for(ws.recv(), WAIT)

    assert (ws.subprotocol, closed.value.rcvd.code) == (None, 4406)  # type: ignore[union-attr]


# ------------------------------------------------------------------ notifications and blocks

NOTIFICATION_ADDED = """subscription {
  notificationAdded { kind actor { username } message { body } }
}"""


def notified(id_: str, kind: str, actor: str, body: str) -> dict[str, Any]:
    """A `next` message carrying one notification."""
    event = {"kind": kind, "actor": {"username": actor}, "message": {"body": body}}
    return {"id": id_, "type": "next", "payload": {"data": {"notificationAdded": event}}}


async def test_each_member_receives_only_their_own_notifications_live(
    live: Live, cast: dict[str, User], sockets: list[Socket]
) -> None:
    await live.http.sign_in("bob")
    await live.http.sign_in("ada")
    await live.http.sign_in("carol")
    adas, _ = await open_thread(live.http, "ada", await new_forum(), "Ada's", "First")
    carols, _ = await open_thread(live.http, "carol", await new_forum("other"), "Carol's", "First")
    ada = await connected(live, sockets, "ada")
    carol = await connected(live, sockets, "carol")
    for socket in (ada, carol):
        await socket.subscribe("1", NOTIFICATION_ADDED, {})
    await live.subscribers(f"notifications:{cast['ada'].id}", 1)
    await live.subscribers(f"notifications:{cast['carol'].id}", 1)

    await reply(live.http, "bob", adas, "For ada")
    await reply(live.http, "bob", carols, "For carol")

    # In order: anything of ada's reaching carol would come before carol's own.
    assert await ada.receive() == notified("1", "REPLY", "bob", "For ada")
    assert await carol.receive() == notified("1", "REPLY", "bob", "For carol")


async def test_notification_added_is_refused_signed_out(
    live: Live, cast: dict[str, User], sockets: list[Socket]
) -> None:
    socket = await connected(live, sockets)

    await socket.subscribe("1", NOTIFICATION_ADDED, {})

    refused = await socket.receive()
    assert uncoded(refused) == refusal("Sign in to do this.", "notificationAdded")
    assert refused["payload"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_a_blocked_members_conversation_message_is_not_delivered_live_to_the_blocker(
    live: Live, cast: dict[str, User], sockets: list[Socket]
) -> None:
    await live.http.sign_in("ada")
    await live.http.sign_in("bob")
    await live.http.sign_in("carol")
    group, _ = await start_conversation(live.http, "carol", [cast["ada"], cast["bob"]], "Group")
    await Block.create(blocker_id=cast["ada"].id, blocked_id=cast["bob"].id)
    socket = await connected(live, sockets, "ada")
    await socket.subscribe("1", CONVERSATION_ADDED, {"id": group})
    await live.subscribers(topic("conversation", group), 1)

    await send(live.http, "bob", group, "From bob")
    await send(live.http, "carol", group, "From carol")

    # In order: bob's message would come first.
    message = {"body": "From carol", "author": {"username": "carol"}}
    assert await socket.receive() == {
        "id": "1",
        "type": "next",
        "payload": {"data": {"conversationMessageAdded": message}},
    }


MODERATE = """mutation($i: ModerateThreadInput!) {
  moderateThread(input: $i) { thread { forum { slug } } userErrors { code } }
}"""
POST_OVER_SOCKET = """mutation($i: PostMessageInput!) {
  postMessage(input: $i) { message { body } userErrors { field code } }
}"""


async def test_a_thread_moved_to_another_forum_keeps_its_subscribers(
    live: Live, cast: dict[str, User], sockets: list[Socket]
) -> None:
    await member(None, "grace", role=Role.MODERATOR)
    await live.http.sign_in("bob")
    await live.http.sign_in("grace")
    thread_id, _ = await open_thread(live.http, "bob", await new_forum(), "Live", "First")
    elsewhere = await new_forum("elsewhere", "Elsewhere", position=1)
    socket = await connected(live, sockets, "ada")
    await socket.subscribe("1", THREAD_ADDED, {"id": thread_id})
    await live.subscribers(topic("thread", thread_id), 1)
    change = {"threadId": thread_id, "forumId": gid("Forum", elsewhere.id), "reason": "Off topic"}

    moved = await live.http(MODERATE, {"i": change}, as_member="grace")
    await reply(live.http, "bob", thread_id, "After the move")

    assert moved == {
        "data": {"moderateThread": {"thread": {"forum": {"slug": "elsewhere"}}, "userErrors": []}}
    }
    assert (await socket.receive())["payload"]["data"]["threadMessageAdded"]["body"] == (
        "After the move"
    )


async def test_a_locked_thread_refuses_a_members_message_sent_over_the_socket(
    live: Live, cast: dict[str, User], sockets: list[Socket]
) -> None:
    await member(None, "grace", role=Role.MODERATOR)
    await live.http.sign_in("bob")
    await live.http.sign_in("grace")
    thread_id, _ = await open_thread(live.http, "bob", await new_forum(), "Live", "First")
    lock = {"threadId": thread_id, "locked": True, "reason": "Cooling down"}
    await live.http(MODERATE, {"i": lock}, as_member="grace")
    socket = await connected(live, sockets, "ada")

    await socket.subscribe("1", POST_OVER_SOCKET, {"i": {"threadId": thread_id, "body": "Hi"}})

    refused = {"message": None, "userErrors": [{"field": None, "code": "THREAD_LOCKED"}]}
    assert await socket.receive() == {
        "id": "1",
        "type": "next",
        "payload": {"data": {"postMessage": refused}},
    }
    assert await socket.receive() == {"id": "1", "type": "complete"}
