"""graphql-transport-ws in tests: scanned sockets against a real uvicorn (`live`), the
broker behind it, and the messages of the protocol (section D and the socket limits)."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from services.broker import Broker
from tests.support.forum import pk
from tests.support.harness import Live, assert_no_ip

WAIT = 5.0  # seconds: the bound on every wait for something that must happen
# How long a socket is watched for something that must NOT arrive, once a control socket
# has already received a later event: delivery takes milliseconds, so a second is generous.
QUIET = 1.0
PROTOCOL = "graphql-transport-ws"
MIB = 1_048_576  # web.app.UVICORN_OPTIONS["ws_max_size"]

THREAD_ADDED = """subscription($id: ID!) {
  threadMessageAdded(threadId: $id) {
    body author { username email profile { bio location } }
  }
}"""
CONVERSATION_ADDED = """subscription($id: ID!) {
  conversationMessageAdded(conversationId: $id) { body author { username } }
}"""
REVOKE_OTHERS = "mutation { revokeOtherSessions { userErrors { code } } }"


@dataclass
class Site:
    """The live server and the broker behind its /graphql (to know a subscription listens)."""

    live: Live
    broker: Broker

    async def subscribers(self, topic: str, count: int) -> None:
        """Wait until `count` subscriptions listen on a topic (a subscribe is never acked)."""
        await subscribed(self.broker, topic, count)

    async def settled(self) -> None:
        """Wait until every event published so far has reached this process's broker."""
        await settled(self.broker)


async def subscribed(broker: Broker, topic: str, count: int) -> None:
    """Wait until `count` subscriptions listen on a topic of a broker."""
    for _ in range(int(WAIT / 0.01)):
        if broker.subscribers(topic) == count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{broker.subscribers(topic)} subscribers on {topic}")


async def settled(broker: Broker) -> None:
    """Wait until every event published so far has reached a broker. A marker published
    now arrives after them (PostgreSQL delivers notifications in commit order), so a
    subscription started afterwards hears only later events."""
    marker = f"settled:{uuid.uuid4().hex}"
    heard = broker.subscribe(marker)
    arrival = asyncio.ensure_future(anext(heard))
    await subscribed(broker, marker, 1)
    await broker.publish(marker, 1)
    try:
        assert await asyncio.wait_for(arrival, WAIT) == 1
    finally:
        await heard.aclose()


def topic(kind: str, global_id: str) -> str:
    """The broker topic of a thread or conversation."""
    return f"{kind}:{pk(global_id)}"


@dataclass
class Socket:
    """A graphql-transport-ws connection whose every message is scanned for IPs."""

    ws: ClientConnection
    ips: set[str]

    async def send(self, message: dict[str, Any]) -> None:
        """Send one protocol message."""
        await self.ws.send(json.dumps(message))

    async def receive(self) -> dict[str, Any]:
        """The next protocol message (waiting at most WAIT seconds)."""
        raw = await asyncio.wait_for(self.ws.recv(), WAIT)
        text = raw if isinstance(raw, str) else raw.decode()
        assert_no_ip(text, self.ips)
        return json.loads(text)

    async def subscribe(self, id_: str, query: str, variables: dict[str, Any]) -> None:
        """Start an operation."""
        payload = {"query": query, "variables": variables}
        await self.send({"id": id_, "type": "subscribe", "payload": payload})

    async def ending(self) -> tuple[list[dict[str, Any]], int | None, str | None]:
        """Every message until the server closes, then its close code and reason
        (None, None when the connection dropped without a close frame)."""
        messages: list[dict[str, Any]] = []
        try:
            while True:
                messages.append(await self.receive())
        except ConnectionClosed as closed:
            frame = closed.rcvd
            return messages, frame.code if frame else None, frame.reason if frame else None

    async def quiet(self, seconds: float = QUIET) -> list[dict[str, Any]] | str:
        """What arrives within `seconds`: the messages, or how the server closed."""
        messages: list[dict[str, Any]] = []
        try:
            async with asyncio.timeout(seconds):
                while True:
                    messages.append(await self.receive())
        except TimeoutError:
            return messages
        except ConnectionClosed as closed:
            frame = closed.rcvd
            return f"closed {frame.code if frame else None}"


async def raw_socket(
    live: Live,
    token: str | None = None,
    *,
    subprotocols: tuple[str, ...] | None = (PROTOCOL,),
    origin: str | None = None,
) -> ClientConnection:
    """A connected WebSocket (no protocol message sent yet; subprotocols=None offers none)."""
    headers = {"Cookie": f"session={token}"} if token else {}
    return await asyncio.wait_for(
        connect(
            live.ws_url,
            subprotocols=list(subprotocols) if subprotocols is not None else None,  # type: ignore[misc]
            additional_headers=headers,
            origin=origin,  # type: ignore[arg-type]
        ),
        WAIT,
    )


async def opened(
    live: Live, sockets: list[Socket], token: str | None = None, *, init: bool = True
) -> Socket:
    """A socket (with the session cookie when given), acknowledged unless `init` is False."""
    socket = Socket(await raw_socket(live, token), live.http.ips)
    sockets.append(socket)
    if init:
        await socket.send({"type": "connection_init"})
        assert await socket.receive() == {"type": "connection_ack"}
    return socket


async def signed_in(site: Site, sockets: list[Socket], username: str | None) -> Socket:
    """An acknowledged socket signed in as the member (password login over HTTP), or anonymous."""
    token = await site.live.http.sign_in(username) if username else None
    return await opened(site.live, sockets, token)


def next_message(id_: str, field: str, value: Any) -> dict[str, Any]:
    """A `next` message carrying one event."""
    return {"id": id_, "type": "next", "payload": {"data": {field: value}}}


def refusal(message: str, field: str, code: str) -> dict[str, Any]:
    """The `error` message refusing subscription "1" (the operation never starts)."""
    error = {
        "message": message,
        "locations": [{"line": 2, "column": 3}],
        "path": [field],
        "extensions": {"code": code},
    }
    return {"id": "1", "type": "error", "payload": [error]}
