"""Forums: the boards of public threads, the forum lists, and admins' forum tools."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from models import forums as forum_models
from resolvers import forums
from schema import ids
from schema.context import Context
from schema.errors import UserError
from schema.messages import Thread, ThreadConnection
from schema.node import Node, register
from schema.pagination import After, First
from schema.payloads import Payload, attempt
from schema.permissions import IsAdmin


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

    @strawberry.field(description="Where it comes in the forum list: lower first, then by age.")
    def position(self) -> int:
        return self.row.position

    @strawberry.field(
        description="Its threads: pinned ones first, each part most recently active first."
    )
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
    @strawberry.field(description="Every forum, by position (then oldest first).")
    async def forums(self) -> list[Forum]:
        return [Forum(row=row) for row in await forums.forums()]

    @strawberry.field(description="A forum by its slug; null if there is none.")
    async def forum(
        self, slug: Annotated[str, strawberry.argument(description="The forum's slug.")]
    ) -> Forum | None:
        row = await forums.forum_by_slug(slug)
        return Forum(row=row) if row is not None else None


REASON = "Why, 3 to 500 characters, for the audit log; optional."


@strawberry.input(description="A new forum.")
class CreateForumInput:
    slug: str = strawberry.field(
        description="Short name for addresses: 2-60 characters, lower-case a-z and 0-9 with "
        "single hyphens between them; unique."
    )
    title: str = strawberry.field(description="1 to 120 characters.")
    description: str | None = strawberry.field(
        default=None, description="What it is about, at most 2,000 characters."
    )
    position: int | None = strawberry.field(
        default=None, description="Where it comes in the forum list (lower first); 0 if left out."
    )
    reason: str | None = strawberry.field(default=None, description=REASON)


@strawberry.type(description="Result of createForum.")
class CreateForumPayload(Payload):
    forum: Forum | None = strawberry.field(description="The new forum; null if refused.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing was created.")


@strawberry.input(description="Changes to a forum; fields left out stay as they are.")
class UpdateForumInput:
    forum_id: strawberry.ID = strawberry.field(description="The forum's global ID.")
    slug: str | None = strawberry.field(
        default=None, description="A new slug (rules as in createForum); old addresses stop."
    )
    title: str | None = strawberry.field(default=None, description="1 to 120 characters.")
    description: str | None = strawberry.field(
        default=None, description="At most 2,000 characters; an empty text removes it."
    )
    position: int | None = strawberry.field(
        default=None, description="Where it comes in the forum list (lower first)."
    )
    reason: str | None = strawberry.field(default=None, description=REASON)


@strawberry.type(description="Result of updateForum.")
class UpdateForumPayload(Payload):
    forum: Forum | None = strawberry.field(description="The forum; null if refused.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type
class ForumMutation:
    @strawberry.mutation(
        description="Admins: create a forum (audited). Null with an error when not allowed.",
        permission_classes=[IsAdmin],
    )
    async def create_forum(
        self, info: Info[Context, None], input: CreateForumInput
    ) -> CreateForumPayload | None:
        change = forums.ForumChange(
            input.slug, input.title, input.description, input.position, input.reason
        )
        return await attempt(
            CreateForumPayload,
            forums.create_forum(info.context.call, change),
            lambda row: CreateForumPayload(forum=Forum(row=row), user_errors=[]),
        )

    @strawberry.mutation(
        description="Admins: change a forum's slug, title, description or position "
        "(audited). Null with an error when not allowed.",
        permission_classes=[IsAdmin],
    )
    async def update_forum(
        self, info: Info[Context, None], input: UpdateForumInput
    ) -> UpdateForumPayload | None:
        forum_id = ids.decode_pk(input.forum_id, "Forum")
        change = forums.ForumChange(
            input.slug, input.title, input.description, input.position, input.reason
        )
        return await attempt(
            UpdateForumPayload,
            forums.update_forum(info.context.call, forum_id, change),
            lambda row: UpdateForumPayload(forum=Forum(row=row), user_errors=[]),
        )


async def _forum_node(info: Info[Context, None], key: int) -> Node | None:
    row = await info.context.loaders.forum_by_id.load(key)
    return Forum(row=row) if row is not None else None


register("Forum", _forum_node)
