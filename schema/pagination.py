"""Relay connection pieces shared by every list: PageInfo and the edge/connection builder."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import strawberry

from resolvers.pagination import Page, encode_cursor

T = TypeVar("T")

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


def edges(page: Page[Any], kind: str, node: Callable[[Any], T]) -> list[tuple[str, T]]:
    """(cursor, node) pairs for a page."""
    return [
        (encode_cursor(kind, key), node(row)) for key, row in zip(page.keys, page.rows, strict=True)
    ]
