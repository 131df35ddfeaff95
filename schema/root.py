"""Root fields that span domains: `node(id:)`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers import messages
from resolvers.common import BadInput
from schema import ids
from schema.accounts import User
from schema.context import Context
from schema.conversations import Conversation
from schema.messages import Forum, Message, Thread
from schema.node import Node


async def _user(info: Info[Context, None], key: str) -> Node | None:
    member = await info.context.loaders.member_by_id.load(int(key))
    return User.of_member(member) if member is not None else None


async def _forum(info: Info[Context, None], key: str) -> Node | None:
    row = await info.context.loaders.forum_by_id.load(int(key))
    return Forum(row=row) if row is not None else None


async def _thread(info: Info[Context, None], key: str) -> Node | None:
    row = await info.context.loaders.thread_by_id.load(int(key))
    return Thread(row=row) if row is not None else None


async def _message(info: Info[Context, None], key: str) -> Node | None:
    row = await messages.readable(info.context.viewer, await messages.load_fresh(int(key)))
    return Message.of(row) if row is not None else None


async def _conversation(info: Info[Context, None], key: str) -> Node | None:
    row = await info.context.loaders.my_conversation.load(int(key))
    return Conversation(row=row) if row is not None else None


# Only these types answer `node`; any other name in an ID reads as "no such object".
_FETCHERS: dict[str, Callable[[Info[Context, None], str], Awaitable[Node | None]]] = {
    "User": _user,
    "Forum": _forum,
    "Thread": _thread,
    "Message": _message,
    "Conversation": _conversation,
}


@strawberry.type
class NodeQuery:
    @strawberry.field(
        description="Any object by its global ID; null when it does not exist or you may "
        "not see it (the two look the same)."
    )
    async def node(
        self,
        info: Info[Context, None],
        id: Annotated[
            strawberry.ID, strawberry.argument(description="A global ID from an `id` field.")
        ],
    ) -> Node | None:
        type_name, key = ids.decode(id)
        fetch = _FETCHERS.get(type_name)
        if fetch is None or not ids.is_key(key):
            return None
        return await fetch(info, key)


__all__ = ["BadInput", "NodeQuery"]
