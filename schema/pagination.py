"""Relay connections: PageInfo, the generic Edge and Connection every list subclasses,
and the page-argument aliases."""

from __future__ import annotations

import typing
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Generic, Self, TypeVar

import strawberry

from resolvers.pagination import Page, encode_cursor

N = TypeVar("N")  # the node type of an edge
E = TypeVar("E")  # the edge type of a connection
R = TypeVar("R")  # the row type of a page

# How many items a whole list holds, for its viewer: awaited only when totalCount is asked
# for, and through a DataLoader, so the counts of many lists on a page share a statement.
Count = Callable[[], Awaitable[int]]

First = Annotated[int | None, strawberry.argument(description="Page size, 1-100, from the start.")]
After = Annotated[str | None, strawberry.argument(description="Cursor to continue after.")]
Last = Annotated[int | None, strawberry.argument(description="Page size, 1-100, from the end.")]
Before = Annotated[str | None, strawberry.argument(description="Cursor to continue before.")]
PageSize = Annotated[int | None, strawberry.argument(description="Page size, 1-100.")]
StartAfter = Annotated[str | None, strawberry.argument(description="Cursor to start after.")]


@strawberry.type(description="Where a page sits in its list (keyset cursors, never offsets).")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow this page.")
    has_previous_page: bool = strawberry.field(description="Items come before this page.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first item.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last item.")


def page_info(page: Page[Any], kind: str) -> PageInfo:
    """PageInfo for a page whose keys are `kind` row ids."""
    return PageInfo(
        has_next_page=page.has_next,
        has_previous_page=page.has_previous,
        start_cursor=encode_cursor(kind, page.keys[0]) if page.keys else None,
        end_cursor=encode_cursor(kind, page.keys[-1]) if page.keys else None,
    )


@strawberry.type
class Edge(Generic[N]):
    """One item of a list with its cursor. Each list subclasses it with its node type,
    its own name (`UserEdge`) and description: `class UserEdge(Edge[User])`."""

    cursor: str = strawberry.field(
        description="Keyset cursor of this item; pass it as `after` (or `before`) to page on."
    )
    node: N = strawberry.field(description="The item.")


@strawberry.type
class Connection(Generic[E]):
    """A page of a list. Each list subclasses it with its edge type, its own name and
    description: `class UserConnection(Connection[UserEdge])`; a list a frontend counts
    subclasses CountedConnection instead."""

    edges: list[E] = strawberry.field(description="The items on this page, in order.")
    page_info: PageInfo = strawberry.field(description="Cursors and whether more pages exist.")
    count: strawberry.Private[Count | None] = None

    @classmethod
    def of(
        cls, page: Page[R], kind: str, node: Callable[[R], Any], count: Count | None = None
    ) -> Self:
        """The connection for a page whose keys are `kind` row ids; `node` makes each row
        its GraphQL object, `count` counts the whole list (a CountedConnection needs it)."""
        (edge,) = typing.get_args(cls.__dict__["__orig_bases__"][0])  # E in Connection[E]
        return cls(
            edges=[
                edge(cursor=encode_cursor(kind, key), node=node(row))
                for key, row in zip(page.keys, page.rows, strict=True)
            ],
            page_info=page_info(page, kind),
            count=count,
        )


@strawberry.type
class CountedConnection(Connection[E]):
    """A page of a list that also says how long the whole list is: `totalCount`, counted
    only when selected. `class MessageConnection(CountedConnection[MessageEdge])`."""

    @strawberry.field(
        description="How many items the whole list holds, across every page: only those "
        "you may see, counted by the same rule as the list. Counted only when asked for."
    )
    async def total_count(self) -> int:
        if self.count is None:
            raise TypeError(f"{type(self).__name__} was built without its count")
        return await self.count()
