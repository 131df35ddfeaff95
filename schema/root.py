"""Root fields that span domains: `node(id:)`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.common import BadInput
from schema import ids
from schema.accounts import User
from schema.context import Context
from schema.node import Node


async def _user(info: Info[Context, None], key: str) -> Node | None:
    row = await info.context.loaders.user_by_id.load(int(key))
    return User.from_row(row) if row is not None else None


# Only these types answer `node`; any other name in an ID reads as "no such object".
_FETCHERS: dict[str, Callable[[Info[Context, None], str], Awaitable[Node | None]]] = {
    "User": _user,
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
        if fetch is None or not key.isdigit() or len(key) > 18:
            return None
        return await fetch(info, key)


__all__ = ["BadInput", "NodeQuery"]
