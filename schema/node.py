"""The Relay `Node` interface, the `node(id:)` root field, and its fetcher registry: each
domain module registers the Node types it defines, and only those answer `node`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import strawberry
from strawberry.types import Info

from schema import ids
from schema.context import Context


@strawberry.interface(description="An object with a global ID, fetchable with `node(id:)`.")
class Node:
    id: strawberry.ID = strawberry.field(description="Opaque global ID of the object.")


Fetcher = Callable[[Info[Context, None], int], Awaitable[Node | None]]
_FETCHERS: dict[str, Fetcher] = {}


def register(type_name: str, fetch: Fetcher) -> None:
    """Let `node(id:)` answer for one type: `fetch` gets the database key and returns the
    object, or None where the viewer may not see it (the two look the same)."""
    if type_name in _FETCHERS:
        raise ValueError(f"{type_name} registered twice")
    _FETCHERS[type_name] = fetch


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
        return await fetch(info, int(key))
