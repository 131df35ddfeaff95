"""graphql-transport-ws with two guards Strawberry leaves out: a frame must be a message
object of the protocol's shape (anything else closes the socket with 4400), and a
subscribe whose document does not parse is answered with an `error` message."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, parse
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)

from schema import MAX_TOKENS
from schema.errors import public_message

INVALID = "Failed to parse message"


class TransportWS(BaseGraphQLTransportWSHandler[Any, None]):
    """The protocol handler for /graphql's WebSocket."""

    async def handle_message(self, message: Any) -> None:
        """Refuse malformed frames before Strawberry looks inside them."""
        if not isinstance(message, dict):
            await self.handle_invalid_message(INVALID)
            return
        if message.get("type") == "subscribe":
            if not _well_formed_subscribe(message):
                await self.handle_invalid_message(INVALID)
                return
            if self.connection_acknowledged and message["id"] not in self.operations:
                error = _syntax_error(message["payload"]["query"])
                if error is not None:
                    payload = [public_message(error)]
                    await self.send_message(
                        {"id": message["id"], "type": "error", "payload": payload}
                    )
                    return
        await super().handle_message(message)


def _well_formed_subscribe(message: dict[str, Any]) -> bool:
    payload = message.get("payload")
    return (
        isinstance(message.get("id"), str)
        and isinstance(payload, dict)
        and isinstance(payload.get("query"), str)
        and isinstance(payload.get("variables") or {}, dict)
        and isinstance(payload.get("operationName") or "", str)
    )


def _syntax_error(query: str) -> GraphQLError | None:
    try:
        parse(query, no_location=True, max_tokens=MAX_TOKENS)
    except GraphQLError as error:
        return error
    return None
