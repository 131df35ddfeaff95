"""SECURITY.md section D: WebSockets (graphql-transport-ws), cross-site hijacking and
protocol abuse, tried over real sockets against a real uvicorn (`live`)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from models.accounts import User
from tests.support.documents import LOGOUT_CODE
from tests.support.forum import reply, send, start_conversation
from tests.support.harness import Live, assert_no_ip
from tests.support.websockets import (
    CONVERSATION_ADDED,
    MIB,
    PROTOCOL,
    REVOKE_OTHERS,
    THREAD_ADDED,
    Site,
    Socket,
    next_message,
    opened,
    raw_socket,
    refusal,
    signed_in,
    topic,
)
from web.graphql import ForumGraphQL

pytestmark = pytest.mark.e2e


# ------------------------------------------------------------------ the cast
# (the site, its sockets, ada, bob, carol and bob's thread are in security/conftest.py)


@pytest.fixture
async def private(site: Site, cast: dict[str, User]) -> str:
    """A conversation between ada and bob; carol is not in it."""
    await site.live.http.sign_in("ada")
    conversation_id, _ = await start_conversation(site.live.http, "ada", [cast["bob"]], "Secret")
    return conversation_id


NOT_YOURS = refusal("You have no such conversation.", "conversationMessageAdded", "FORBIDDEN")


# ------------------------------------------------------------------ D1 cross-site hijacking


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "null",  # sandboxed iframes and file: pages
        "http://localhost:8000.evil.example",  # PUBLIC_URL's origin as a prefix
        "http://evil.example:8000",
        "https://localhost:8000",  # PUBLIC_URL's host and port, another scheme
    ],
)
async def test_D1_a_foreign_origin_is_refused_before_any_ack(
    site: Site, cast: dict[str, User], origin: str
) -> None:
    token = await site.live.http.sign_in("ada")

    with pytest.raises(InvalidStatus) as refused:
        await raw_socket(site.live, token, origin=origin)

    response = refused.value.response
    assert response.status_code == 403
    assert_no_ip(response.body.decode(errors="replace"), site.live.http.ips)


@pytest.mark.parametrize(
    "origin",
    [
        None,  # not a browser: carries no ambient cookie to abuse
        "http://localhost:8000",  # PUBLIC_URL's origin
        "same",  # the server's own origin: the host and port the socket connects to
    ],
)
async def test_D1_our_own_origins_and_non_browsers_are_acknowledged(
    site: Site, cast: dict[str, User], sockets: list[Socket], origin: str | None
) -> None:
    token = await site.live.http.sign_in("ada")
    own = f"http://127.0.0.1:{site.live.port}" if origin == "same" else origin
    socket = Socket(await raw_socket(site.live, token, origin=own), site.live.http.ips)
    sockets.append(socket)

    await socket.send({"type": "connection_init"})
    await socket.subscribe("1", "query { viewer { username } }", {})

    assert [await socket.receive() for _ in range(3)] == [
        {"type": "connection_ack"},
        next_message("1", "viewer", {"username": "ada"}),
        {"id": "1", "type": "complete"},
    ]


# ------------------------------------------------------------------ D2 legacy subprotocol


async def test_D2_the_legacy_graphql_ws_subprotocol_is_refused(site: Site, private: str) -> None:
    token = await site.live.http.sign_in("bob")
    ws = await raw_socket(site.live, token, subprotocols=("graphql-ws",))
    socket = Socket(ws, site.live.http.ips)
    # The legacy protocol's `start` needs no connection_init: the CVE-2026-35523 bypass.
    start = {"query": CONVERSATION_ADDED, "variables": {"id": private}}
    with contextlib.suppress(ConnectionClosed):  # the server may have closed already
        await socket.send({"type": "start", "id": "1", "payload": start})

    assert (ws.subprotocol, await socket.ending()) == (
        None,
        ([], 4406, "Subprotocol not acceptable"),
    )


async def test_D2_a_socket_naming_no_subprotocol_is_closed_4406(site: Site, private: str) -> None:
    token = await site.live.http.sign_in("bob")
    ws = await raw_socket(site.live, token, subprotocols=None)
    socket = Socket(ws, site.live.http.ips)
    with contextlib.suppress(ConnectionClosed):
        await socket.subscribe("1", CONVERSATION_ADDED, {"id": private})

    assert (ws.subprotocol, await socket.ending()) == (
        None,
        ([], 4406, "Subprotocol not acceptable"),
    )


async def test_D2_offered_both_protocols_the_server_picks_graphql_transport_ws(
    site: Site, sockets: list[Socket]
) -> None:
    ws = await raw_socket(site.live, subprotocols=("graphql-ws", PROTOCOL))
    sockets.append(Socket(ws, site.live.http.ips))

    assert ws.subprotocol == PROTOCOL


# ------------------------------------------------------------------ D3 subscribe before init


async def test_D3_subscribe_before_connection_init_is_closed_4401(
    site: Site, private: str, sockets: list[Socket]
) -> None:
    token = await site.live.http.sign_in("bob")
    socket = await opened(site.live, sockets, token, init=False)

    await socket.subscribe("1", CONVERSATION_ADDED, {"id": private})

    assert await socket.ending() == ([], 4401, "Unauthorized")
    assert site.broker.subscribers(topic("conversation", private)) == 0


async def test_D3_a_query_before_connection_init_is_closed_4401(
    site: Site, cast: dict[str, User], sockets: list[Socket]
) -> None:
    token = await site.live.http.sign_in("bob")
    socket = await opened(site.live, sockets, token, init=False)

    await socket.subscribe("1", "query { viewer { email } }", {})

    assert await socket.ending() == ([], 4401, "Unauthorized")


# ------------------------------------------------------------------ D4 unknown / malformed


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ('{"type": "bogus"}', "Unknown message type: bogus"),
        ('{"type": null}', "Unknown message type: None"),
        ("not json", "WebSocket message must be valid JSON"),
        ('{"id": 1}', "Failed to parse message"),
        ('{"type": "subscribe", "id": "1"}', "Failed to parse message"),
        (
            '{"type": "subscribe", "payload": {"query": "{ __typename }"}}',
            "Failed to parse message",
        ),
        ('{"type": "complete"}', "Failed to parse message"),
        (b"\x00\x01", "WebSocket message type must be text"),
    ],
)
async def test_D4_an_unknown_or_malformed_message_is_closed_4400(
    site: Site, sockets: list[Socket], frame: str | bytes, reason: str
) -> None:
    socket = await opened(site.live, sockets)

    await socket.ws.send(frame)

    assert await socket.ending() == ([], 4400, reason)


@pytest.mark.parametrize(
    "frame",
    [
        "[1]",
        '"connection_init"',
        "null",
        "5",
        '{"type": "subscribe", "id": "1", "payload": "{ __typename }"}',
    ],
)
async def test_D4_json_that_is_not_a_message_object_is_closed_4400(
    site: Site, sockets: list[Socket], frame: str
) -> None:
    socket = await opened(site.live, sockets)

    await socket.ws.send(frame)

    messages, code, _ = await socket.ending()
    assert (messages, code) == ([], 4400)


async def test_D4_an_unknown_message_before_init_is_closed_4400(
    site: Site, sockets: list[Socket]
) -> None:
    socket = await opened(site.live, sockets, init=False)

    await socket.send({"type": "bogus"})

    assert await socket.ending() == ([], 4400, "Unknown message type: bogus")


async def test_D4_a_query_that_does_not_parse_is_answered_not_silently_completed(
    site: Site, sockets: list[Socket]
) -> None:
    socket = await opened(site.live, sockets)

    await socket.subscribe("1", "{", {})

    # The protocol allows either: close 4400 naming the problem, or an `error` message.
    problem = "Syntax Error: Expected Name, found <EOF>."
    error = {
        "message": problem,
        "locations": [{"line": 1, "column": 2}],
        "extensions": {"code": "BAD_USER_INPUT"},
    }
    answer = await socket.quiet()
    assert answer in (
        "closed 4400",
        [{"id": "1", "type": "error", "payload": [error]}],
    )


# ------------------------------------------------------------------ D5 init twice / never


async def test_D5_a_second_connection_init_is_closed_4429(
    site: Site, sockets: list[Socket]
) -> None:
    socket = await opened(site.live, sockets)

    await socket.send({"type": "connection_init"})

    assert await socket.ending() == ([], 4429, "Too many initialisation requests")


async def test_D5_a_connection_init_whose_payload_is_not_an_object_is_closed_4400(
    site: Site, sockets: list[Socket]
) -> None:
    socket = await opened(site.live, sockets, init=False)

    await socket.send({"type": "connection_init", "payload": "let me in"})

    assert await socket.ending() == ([], 4400, "Invalid connection init payload")


INIT_WAIT = 0.5  # seconds: the init timeout as shortened for the test below


@pytest.fixture
def impatient(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    """`live` whose /graphql gives connection_init INIT_WAIT seconds instead of the 60 s
    the server uses (Strawberry's default, web/graphql.py sets none): the module must stay
    under a minute, and the timer and the 4408 close are the same code either way."""
    original = ForumGraphQL.__init__

    def shortened(self: ForumGraphQL, *args: Any, **kwargs: Any) -> None:
        """The view as create_app builds it, with the short init timeout."""
        original(self, *args, **kwargs)
        self.connection_init_wait_timeout = timedelta(seconds=INIT_WAIT)

    monkeypatch.setattr(ForumGraphQL, "__init__", shortened)
    yield request.getfixturevalue("live")


async def test_D5_a_socket_that_never_sends_connection_init_is_closed_4408(
    impatient: Live, sockets: list[Socket]
) -> None:
    socket = await opened(impatient, sockets, init=False)

    assert await socket.ending() == ([], 4408, "Connection initialisation timeout")


# ------------------------------------------------------------------ D6 duplicate id


async def test_D6_a_second_subscribe_with_a_running_id_is_closed_4409(
    site: Site, thread: str, sockets: list[Socket]
) -> None:
    socket = await signed_in(site, sockets, "ada")
    await socket.subscribe("1", THREAD_ADDED, {"id": thread})
    await site.subscribers(topic("thread", thread), 1)

    await socket.subscribe("1", THREAD_ADDED, {"id": thread})

    assert await socket.ending() == ([], 4409, "Subscriber for 1 already exists")
    await site.subscribers(topic("thread", thread), 0)


async def test_D6_an_id_is_free_again_once_its_operation_completed(
    site: Site, sockets: list[Socket]
) -> None:
    socket = await opened(site.live, sockets)

    answers = []
    for _ in range(2):
        await socket.subscribe("1", "query { __typename }", {})
        answers += [await socket.receive(), await socket.receive()]

    done = [next_message("1", "__typename", "Query"), {"id": "1", "type": "complete"}]
    assert answers == done * 2


# ------------------------------------------------------------------ D7 someone else's conversation


@pytest.mark.parametrize("outsider", ["carol", None])
async def test_D7_an_outsider_is_refused_and_receives_no_event(
    site: Site, private: str, thread: str, sockets: list[Socket], outsider: str | None
) -> None:
    socket = await signed_in(site, sockets, outsider)

    await socket.subscribe("1", CONVERSATION_ADDED, {"id": private})
    refused = await socket.receive()
    await socket.subscribe("2", THREAD_ADDED, {"id": thread})
    await site.subscribers(topic("thread", thread), 1)
    await send(site.live.http, "ada", private, "Not for outsiders")
    await reply(site.live.http, "bob", thread, "Sentinel")

    assert refused == NOT_YOURS
    assert site.broker.subscribers(topic("conversation", private)) == 0
    # Events arrive in order: anything from the conversation would come before this.
    sentinel = await socket.receive()
    assert (sentinel["id"], sentinel["type"]) == ("2", "next")


async def test_D7_a_conversation_refusal_is_the_same_as_for_none_at_all(
    site: Site, private: str, sockets: list[Socket]
) -> None:
    socket = await signed_in(site, sockets, "carol")

    await socket.subscribe("1", CONVERSATION_ADDED, {"id": private})
    existing = await socket.receive()
    await socket.subscribe("1", CONVERSATION_ADDED, {"id": "Q29udmVyc2F0aW9uOjk5OQ"})  # :999
    unknown = await socket.receive()

    assert (existing, unknown) == (NOT_YOURS, NOT_YOURS)


async def test_D7_an_outsider_reads_the_conversation_as_null_over_the_socket(
    site: Site, private: str, sockets: list[Socket]
) -> None:
    socket = await signed_in(site, sockets, "carol")
    query = "query($id: ID!) { conversation(id: $id) { title } node(id: $id) { id } }"

    await socket.subscribe("1", query, {"id": private})

    assert [await socket.receive(), await socket.receive()] == [
        {"id": "1", "type": "next", "payload": {"data": {"conversation": None, "node": None}}},
        {"id": "1", "type": "complete"},
    ]


# ------------------------------------------------------------------ D8 resolved per subscriber


def bob_as_seen(email: str | None, bio: str | None, location: str | None = None) -> dict[str, Any]:
    """bob's message in the thread as one subscriber sees it."""
    author = {
        "username": "bob",
        "email": email,
        "profile": {"bio": bio, "location": location},
    }
    return next_message("1", "threadMessageAdded", {"body": "Hello all", "author": author})


async def test_D8_each_subscriber_sees_the_author_as_its_own_viewer_may(
    site: Site, thread: str, sockets: list[Socket]
) -> None:
    anonymous = await signed_in(site, sockets, None)
    ada = await signed_in(site, sockets, "ada")
    bob = await signed_in(site, sockets, "bob")  # the author, subscribed like anyone else
    for socket in (anonymous, ada, bob):
        await socket.subscribe("1", THREAD_ADDED, {"id": thread})
    await site.subscribers(topic("thread", thread), 3)

    await reply(site.live.http, "bob", thread, "Hello all")

    # bob's email and location are ONLY_ME yet he sees them: each event resolves per subscriber.
    assert [await anonymous.receive(), await ada.receive(), await bob.receive()] == [
        bob_as_seen(None, None),
        bob_as_seen(None, "Loves soup"),
        bob_as_seen("bob@example.org", "Loves soup", "Leeds"),
    ]


async def test_D8_the_publisher_viewer_never_leaks_into_a_subscriber_event(
    site: Site, thread: str, sockets: list[Socket]
) -> None:
    anonymous = await signed_in(site, sockets, None)
    await anonymous.subscribe("1", THREAD_ADDED, {"id": thread})
    await site.subscribers(topic("thread", thread), 1)

    # Posted by bob, who may see all of his own fields: the subscriber still sees none.
    await reply(site.live.http, "bob", thread, "Hello all")
    await reply(site.live.http, "bob", thread, "Hello all")

    assert [await anonymous.receive(), await anonymous.receive()] == [bob_as_seen(None, None)] * 2


# ------------------------------------------------------------------ D9 session revoked mid-stream

# Closed, silent, or told the subscription is over (`complete`) with nothing after it.
STOPPED = ("closed 4401", "closed 4403", [], [{"id": "1", "type": "complete"}])


async def revoke(site: Site, how: str, username: str, token: str) -> None:
    """End the member's session `token`: sign it out, or sign out every other session."""
    if how == "logout":
        result = await site.live.http(LOGOUT_CODE, cookie=token)
        assert result == {"data": {"logout": {"userErrors": []}}}
    else:
        other = await site.live.http.sign_in(username)
        result = await site.live.http(REVOKE_OTHERS, cookie=other)
        assert result == {"data": {"revokeOtherSessions": {"userErrors": []}}}
    assert await site.live.http("{ viewer { username } }", cookie=token) == {
        "data": {"viewer": None}
    }


@pytest.mark.parametrize("how", ["logout", "revokeOtherSessions"])
async def test_D9_a_revoked_session_receives_no_more_conversation_messages(
    site: Site, private: str, thread: str, sockets: list[Socket], how: str
) -> None:
    token = await site.live.http.sign_in("bob")
    socket = await opened(site.live, sockets, token)
    control = await signed_in(site, sockets, None)
    await socket.subscribe("1", CONVERSATION_ADDED, {"id": private})
    await control.subscribe("1", THREAD_ADDED, {"id": thread})
    await site.subscribers(topic("conversation", private), 1)
    await site.subscribers(topic("thread", thread), 1)
    await send(site.live.http, "ada", private, "Before")
    before = await socket.receive()

    await revoke(site, how, "bob", token)
    await send(site.live.http, "ada", private, "After")
    await reply(site.live.http, "ada", thread, "Sentinel")
    await control.receive()  # the later event has been delivered elsewhere

    message = {"body": "Before", "author": {"username": "ada"}}
    assert before == next_message("1", "conversationMessageAdded", message)
    outcome = await socket.quiet()
    assert outcome in STOPPED, json.dumps(outcome)


async def test_D9_a_signed_out_socket_stops_receiving_member_only_fields(
    site: Site, thread: str, sockets: list[Socket]
) -> None:
    token = await site.live.http.sign_in("ada")
    socket = await opened(site.live, sockets, token)
    control = await signed_in(site, sockets, None)
    for subscriber in (socket, control):
        await subscriber.subscribe("1", THREAD_ADDED, {"id": thread})
    await site.subscribers(topic("thread", thread), 2)

    await revoke(site, "logout", "ada", token)
    await reply(site.live.http, "bob", thread, "Hello all")
    await control.receive()

    # Still delivering as the signed-out member would show bob's MEMBERS-only bio.
    outcome = await socket.quiet()
    assert outcome in STOPPED, json.dumps(outcome)


# ------------------------------------------------------------------ D10 oversized frames


async def test_D10_a_frame_over_one_mib_is_closed_1009(site: Site, sockets: list[Socket]) -> None:
    socket = await opened(site.live, sockets)

    await socket.ws.send("x" * (MIB + 1))

    assert await socket.ending() == ([], 1009, f"frame exceeds limit of {MIB} bytes")


async def test_D10_a_message_over_one_mib_in_small_fragments_is_closed_1009(
    site: Site, sockets: list[Socket]
) -> None:
    socket = await opened(site.live, sockets)

    # 17 fragments of 64 KiB: each is small, the message they make is not.
    await socket.ws.send(iter(["x" * 65_536] * 17))

    messages, code, reason = await socket.ending()
    assert (messages, code) == ([], 1009)
    assert reason is not None and reason.endswith(f"exceeds limit of {MIB} bytes")


async def test_D10_a_message_just_under_the_limit_is_still_served(
    site: Site, sockets: list[Socket]
) -> None:
    socket = await opened(site.live, sockets)

    await socket.send({"type": "ping", "payload": {"pad": "x" * (MIB - 100)}})

    assert await socket.receive() == {"type": "pong"}
