"""graphql-transport-ws with the guards Strawberry leaves out.

- A frame must be a message object of the protocol's shape (anything else closes the
  socket with 4400), and a subscribe whose document does not parse is answered with an
  `error` message.
- A subscribe obeys the same persisted-query rules as an HTTP request.
- Every operation runs as the session's current state: the session and its member are
  read afresh before each `subscribe`, and a change pushed on the member's broker topic
  (`member:<id>`, see resolvers/sessions.member_changed) is read at once. A session that
  ended closes the socket with 4401 "Session ended".
- A client, and a signed-in member, may hold only so many sockets per worker process;
  one more is closed right after the upgrade with 1013 "Too many connections".
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError, parse
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)

from resolvers import sessions
from schema import MAX_TOKENS
from schema.context import Context, Loaders
from schema.errors import public_message
from web.persisted import PersistedQueryError
from web.requestlog import note_operation

INVALID = "Failed to parse message"
SESSION_ENDED = (4401, "Session ended")
TOO_MANY = (1013, "Too many connections")  # 1013: Try Again Later


@dataclass
class SocketSlots:
    """Open sockets per client (the rate limits' address fingerprint) and per member, in
    this worker process: the caps hold per worker, not across workers."""

    per_client: int
    per_member: int
    clients: Counter[str] = field(default_factory=Counter)
    members: Counter[int] = field(default_factory=Counter)

    def take(self, client: str, member: int | None) -> bool:
        """Hold a slot for one more socket; False (and nothing held) when over a cap."""
        if self.clients[client] >= self.per_client:
            return False
        if member is not None and self.members[member] >= self.per_member:
            return False
        self.clients[client] += 1
        if member is not None:
            self.members[member] += 1
        return True

    def give_back(self, client: str, member: int | None) -> None:
        """Free the slot of a socket that closed."""
        for counter, key in ((self.clients, client), (self.members, member)):
            if key is not None:
                counter[key] -= 1
                if counter[key] <= 0:
                    del counter[key]


class TransportWS(BaseGraphQLTransportWSHandler[Context, None]):
    """The protocol handler for /graphql's WebSocket."""

    _watching: int | None = None
    _watcher: asyncio.Task[None] | None = None
    _ended = False
    _signed_in = False  # opened with a session: it never goes on as a signed-out socket

    async def handle(self) -> None:
        """Admit the socket within the caps, watch its member, then speak the protocol."""
        call = self.context.call
        client, member = call.client_key, call.viewer.id if call.viewer else None
        if not self.view.sockets.take(client, member):
            await self.websocket.close(*TOO_MANY)
            return
        self._signed_in = call.session is not None
        try:
            self._watch()
            await super().handle()
        finally:
            self.view.sockets.give_back(client, member)
            if isinstance(self.websocket, ASGIWebSocketAdapter):  # the socket's log line
                note_operation(self.websocket.ws.scope, self.context.operation_name)

    async def shutdown(self) -> None:
        """Stop the member watch with the operations."""
        self._stop_watching()
        await super().shutdown()

    async def handle_message(self, message: Any) -> None:
        """Refuse malformed frames before Strawberry looks inside them; run each new
        operation as the session's current state, on a document the rules allow."""
        if not isinstance(message, dict):
            await self.handle_invalid_message(INVALID)
            return
        if message.get("type") == "subscribe":
            if not _well_formed_subscribe(message):
                await self.handle_invalid_message(INVALID)
                return
            if self.connection_acknowledged and message["id"] not in self.operations:
                if not await self._refresh():
                    await self._end_session()
                    return
                refusal = self._refusal(message["payload"])
                if refusal is not None:
                    await self.send_message(
                        {"id": message["id"], "type": "error", "payload": [refusal]}
                    )
                    return
        await super().handle_message(message)

    async def send_message(self, message: Any) -> None:
        """Nothing more goes out once the socket was closed for an ended session."""
        if not self._ended:
            await super().send_message(message)

    def _refusal(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        """The error refusing a subscribe's document, or None (the persisted document, if
        the payload named one by its hash, is put in place of the query)."""
        try:
            document = self.view.queries.document(payload.get("query"), payload.get("extensions"))
        except PersistedQueryError as refused:
            return {"message": refused.message, "extensions": {"code": refused.code}}
        if not isinstance(document, str):
            return {"message": INVALID, "extensions": {"code": "BAD_USER_INPUT"}}
        payload["query"] = document
        error = _syntax_error(document)
        return public_message(error) if error is not None else None

    async def _refresh(self) -> bool:
        """Read the socket's session and member afresh, with new loaders; False when the
        session has ended (signed out, revoked, expired or the account deleted)."""
        call = self.context.call
        if call.session is None and self._signed_in:
            return False  # ended by an operation on this very socket (logout, deleteAccount)
        if call.session is not None:
            found = await sessions.live_session(call.session.id)
            if found is None:
                return False
            call.session, call.viewer = found
        self.context.loaders = Loaders.for_viewer(call.viewer)
        self._watch()
        return True

    async def _end_session(self) -> None:
        """Stop every operation and close the socket with 4401 (once)."""
        if self._ended:
            return
        self._ended = True
        for operation_id in list(self.operations):
            await self.cleanup_operation(operation_id)
        with contextlib.suppress(WebSocketDisconnected, RuntimeError):
            await self.websocket.close(*SESSION_ENDED)

    def _watch(self) -> None:
        """Listen on the topic of the socket's member now (none for a signed-out socket)."""
        call = self.context.call
        member = call.viewer.id if call.session is not None and call.viewer else None
        if member == self._watching:
            return
        self._stop_watching()
        if member is not None:
            self._watching = member
            self._watcher = asyncio.create_task(self._listen(member))

    def _stop_watching(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
        self._watcher, self._watching = None, None

    async def _listen(self, member: int) -> None:
        """On each change of the member's sessions or powers, read the session again."""
        try:
            async for _ in self.view.broker.subscribe(f"member:{member}"):
                if not await self._refresh():
                    await self._end_session()
                    return
        except Exception as error:  # a background task has nobody to report to but the log
            await self.handle_task_exception(error)


def _well_formed_subscribe(message: dict[str, Any]) -> bool:
    payload = message.get("payload")
    if not isinstance(message.get("id"), str) or not isinstance(payload, dict):
        return False
    # The query may be left out when extensions.persistedQuery names it by its hash.
    query, extensions = payload.get("query"), payload.get("extensions")
    return (
        (isinstance(query, str) or (query is None and isinstance(extensions, dict)))
        and isinstance(payload.get("variables") or {}, dict)
        and isinstance(payload.get("operationName") or "", str)
    )


def _syntax_error(query: str) -> GraphQLError | None:
    try:
        parse(query, no_location=True, max_tokens=MAX_TOKENS)
    except GraphQLError as error:
        return error
    return None
