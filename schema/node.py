"""The Relay `Node` interface, the `node(id:)` root field, and its fetcher registry: each
domain module registers the Node types it defines, and only those answer `node`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.common import BadInput
from schema.context import Context
from schema.ids import decode, is_key


@strawberry.interface(description="An object with a global ID, fetchable with `node(id:)`.")
class Node:
    id: strawberry.ID = strawberry.field(description="Opaque global ID of the object.")


MAX_IDS = 100  # one page's worth, like every list

Fetcher = Callable[[Info[Context, None], int], Awaitable[Node | None]]
_FETCHERS: dict[str, Fetcher] = {}


def register(type_name: str, fetch: Fetcher) -> None:
    """Let `node(id:)` and `nodes(ids:)` answer for one type: `fetch` gets the database key
    and returns the object, or None where the viewer may not see it (the two look the
    same). It loads through one DataLoader, so `nodes` costs a statement per type, not
    per id."""
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
        return await _fetch(info, decode(id))

    @strawberry.field(
        description=f"Objects by their global IDs, in the same order: null for each that does "
        f"not exist or you may not see. At most {MAX_IDS} IDs; objects of one type are "
        "read together."
    )
    async def nodes(
        self,
        info: Info[Context, None],
        ids: Annotated[
            list[strawberry.ID],
            strawberry.argument(description=f"Global IDs from `id` fields, at most {MAX_IDS}."),
        ],
    ) -> list[Node | None]:
        if len(ids) > MAX_IDS:
            raise BadInput(f"Ask for at most {MAX_IDS} IDs at a time.")
        decoded = [decode(global_id) for global_id in ids]  # every ID checked before any read
        # Each fetch waits on its type's DataLoader, which answers all of them at once.
        return list(await asyncio.gather(*(_fetch(info, found) for found in decoded)))


async def _fetch(info: Info[Context, None], decoded: tuple[str, str]) -> Node | None:
    type_name, key = decoded
    fetch = _FETCHERS.get(type_name)
    if fetch is None or not is_key(key):
        return None
    return await fetch(info, int(key))
