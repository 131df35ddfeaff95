"""Forums: the boards of public threads, and the forum lists."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from models import forums as forum_models
from resolvers import forums
from schema import ids
from schema.context import Context
from schema.messages import Thread, ThreadConnection
from schema.node import Node, register
from schema.pagination import After, First


@strawberry.type(description="A board of public threads on one topic.")
class Forum(Node):
    row: strawberry.Private[forum_models.Forum]

    @strawberry.field(description="Opaque global ID of the forum.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(ids.encode("Forum", self.row.id))

    @strawberry.field(description="Short name used in addresses, e.g. `weight-loss-support`.")
    def slug(self) -> str:
        return self.row.slug

    @strawberry.field(description="The forum's title.")
    def title(self) -> str:
        return self.row.title

    @strawberry.field(description="What the forum is about.")
    def description(self) -> str | None:
        return self.row.description

    @strawberry.field(description="Its threads, most recently active first.")
    async def threads(
        self, info: Info[Context, None], first: First = None, after: After = None
    ) -> ThreadConnection:
        page = await forums.thread_page(self.row.id, first, after)
        return ThreadConnection.of(
            page,
            "Activity",
            lambda row: Thread(row=row),
            count=lambda: info.context.loaders.thread_count.load(self.row.id),
        )


@strawberry.type
class ForumQuery:
    @strawberry.field(description="Every forum, in display order.")
    async def forums(self) -> list[Forum]:
        return [Forum(row=row) for row in await forums.forums()]

    @strawberry.field(description="A forum by its slug; null if there is none.")
    async def forum(
        self, slug: Annotated[str, strawberry.argument(description="The forum's slug.")]
    ) -> Forum | None:
        row = await forums.forum_by_slug(slug)
        return Forum(row=row) if row is not None else None


async def _forum_node(info: Info[Context, None], key: int) -> Node | None:
    row = await info.context.loaders.forum_by_id.load(key)
    return Forum(row=row) if row is not None else None


register("Forum", _forum_node)
