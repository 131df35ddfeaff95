"""Forums, threads and messages."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from models import forums as forum_models
from models import messages as models
from resolvers import forums, messages
from resolvers.pagination import Page
from schema import ids
from schema.accounts import User
from schema.context import Context
from schema.errors import UserError
from schema.node import Node
from schema.pagination import After, Before, First, Last, PageInfo, edges, page_info
from schema.payloads import Payload, attempt

if TYPE_CHECKING:
    from schema.conversations import Conversation

LazyConversation = Annotated["Conversation", strawberry.lazy("schema.conversations")]


async def load_user(info: Info[Context, None], user_id: int | None) -> User | None:
    """A member by database id, with profile and privacy, through the request's loader."""
    if user_id is None:
        return None
    member = await info.context.loaders.member_by_id.load(user_id)
    return User.of_member(member) if member is not None else None


@strawberry.type(description="A post in a public thread or a private conversation.")
class Message(Node):
    id: strawberry.ID = strawberry.field(description="Opaque global ID of the message.")
    body: str = strawberry.field(description="Markdown source; empty when deleted or hidden.")
    body_html: str = strawberry.field(
        description="Sanitised HTML; links to other sites go through the /out page."
    )
    created_at: datetime = strawberry.field(description="When it was written.")
    edited_at: datetime | None = strawberry.field(
        description="When its author last edited it; null if never."
    )
    deleted: bool = strawberry.field(
        description="Deleted by its author or a moderator (keeps its place)."
    )
    hidden: bool = strawberry.field(description="Hidden by a moderator.")
    row: strawberry.Private[models.Message]

    @classmethod
    def of(cls, row: models.Message) -> Message:
        """The type for a database row: its words only while it is neither deleted nor hidden."""
        deleted, hidden = row.deleted_at is not None, row.hidden_at is not None
        removed = deleted or hidden
        return cls(
            id=strawberry.ID(ids.encode("Message", row.id)),
            body="" if removed else row.body,
            body_html="" if removed else row.body_html,
            created_at=row.created_at,
            edited_at=row.edited_at,
            deleted=deleted,
            hidden=hidden,
            row=row,
        )

    @strawberry.field(description="The writer; null when their account was deleted.")
    async def author(self, info: Info[Context, None]) -> User | None:
        return await load_user(info, self.row.author_id)  # type: ignore[attr-defined]

    @strawberry.field(description="The thread it is in; null for a private message.")
    async def thread(self, info: Info[Context, None]) -> Thread | None:
        thread_id = self.row.thread_id  # type: ignore[attr-defined]
        if thread_id is None:
            return None
        row = await info.context.loaders.thread_by_id.load(thread_id)
        return Thread(row=row) if row is not None else None

    @strawberry.field(
        description="The conversation it is in; null for public messages and for anyone "
        "who does not take part in it."
    )
    async def conversation(self, info: Info[Context, None]) -> LazyConversation | None:
        from schema.conversations import Conversation

        conversation_id = self.row.conversation_id  # type: ignore[attr-defined]
        if conversation_id is None:
            return None
        row = await info.context.loaders.my_conversation.load(conversation_id)
        return Conversation(row=row) if row is not None else None


@strawberry.type(description="One message in a list, with its cursor.")
class MessageEdge:
    cursor: str = strawberry.field(description="Keyset cursor of this message.")
    node: Message = strawberry.field(description="The message.")


@strawberry.type(description="A page of messages, oldest first.")
class MessageConnection:
    edges: list[MessageEdge] = strawberry.field(description="The messages, oldest first.")
    page_info: PageInfo = strawberry.field(description="Cursors and whether more pages exist.")

    @classmethod
    async def load(
        cls,
        info: Info[Context, None],
        key: messages.MessagePageKey,
    ) -> MessageConnection:
        """The page a key asks for, through the request's batched loader."""
        return cls.of(await info.context.loaders.message_page.load(key))

    @classmethod
    def of(cls, page: Page[models.Message]) -> MessageConnection:
        """The connection for a page of message rows."""
        found = edges(page, "Message", Message.of)
        return cls(
            edges=[MessageEdge(cursor=c, node=n) for c, n in found],
            page_info=page_info(page, "Message"),
        )


@strawberry.type(description="A public discussion in a forum.")
class Thread(Node):
    row: strawberry.Private[models.Thread]

    @strawberry.field(description="Opaque global ID of the thread.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(ids.encode("Thread", self.row.id))

    @strawberry.field(description="The thread's title.")
    def title(self) -> str:
        return self.row.title

    @strawberry.field(description="The forum it belongs to.")
    async def forum(self, info: Info[Context, None]) -> Forum:
        row = await info.context.loaders.forum_by_id.load(self.row.forum_id)  # type: ignore[attr-defined]
        assert row is not None  # a thread's forum cannot go while the thread stays
        return Forum(row=row)

    @strawberry.field(description="Who opened it; null when their account was deleted.")
    async def author(self, info: Info[Context, None]) -> User | None:
        return await load_user(info, self.row.author_id)  # type: ignore[attr-defined]

    @strawberry.field(description="When it was opened.")
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(
        description="Its messages, oldest first: `first`/`after` pages forwards, "
        "`last`/`before` backwards."
    )
    async def messages(
        self,
        info: Info[Context, None],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> MessageConnection:
        key = messages.MessagePageKey("thread_id", self.row.id, first, after, last, before)
        return await MessageConnection.load(info, key)


@strawberry.type(description="One thread in a list, with its cursor.")
class ThreadEdge:
    cursor: str = strawberry.field(description="Keyset cursor of this thread.")
    node: Thread = strawberry.field(description="The thread.")


@strawberry.type(description="A page of threads, most recently active first.")
class ThreadConnection:
    edges: list[ThreadEdge] = strawberry.field(description="The threads on this page.")
    page_info: PageInfo = strawberry.field(description="Cursors and whether more pages exist.")


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
    async def threads(self, first: First = None, after: After = None) -> ThreadConnection:
        page = await forums.thread_page(self.row.id, first, after)
        found = edges(page, "Activity", lambda row: Thread(row=row))
        return ThreadConnection(
            edges=[ThreadEdge(cursor=c, node=n) for c, n in found],
            page_info=page_info(page, "Activity"),
        )


@strawberry.input(description="A new thread and its first message.")
class CreateThreadInput:
    forum_id: strawberry.ID = strawberry.field(description="The forum's global ID.")
    title: str = strawberry.field(description="3 to 150 characters.")
    body: str = strawberry.field(description="Markdown, at most 10,000 characters.")


@strawberry.type(description="Result of createThread.")
class CreateThreadPayload(Payload):
    thread: Thread | None = strawberry.field(description="The new thread; null if refused.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing was created.")


@strawberry.input(description="A reply in a thread.")
class PostMessageInput:
    thread_id: strawberry.ID = strawberry.field(description="The thread's global ID.")
    body: str = strawberry.field(description="Markdown, at most 10,000 characters.")


@strawberry.type(description="Result of postMessage.")
class PostMessagePayload(Payload):
    message: Message | None = strawberry.field(description="The new message; null if refused.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing was posted.")


@strawberry.type(description="Result of editMessage.")
class EditMessagePayload(Payload):
    message: Message | None = strawberry.field(description="The edited message; null if refused.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type(description="Result of deleteMessage.")
class DeleteMessagePayload(Payload):
    message: Message | None = strawberry.field(description="The deleted message; null if refused.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.input(description="New text for one of your recent messages.")
class EditMessageInput:
    message_id: strawberry.ID = strawberry.field(description="The message's global ID.")
    body: str = strawberry.field(description="Markdown, at most 10,000 characters.")


@strawberry.input(description="The message to delete.")
class DeleteMessageInput:
    message_id: strawberry.ID = strawberry.field(description="The message's global ID.")


@strawberry.type
class MessageQuery:
    @strawberry.field(description="Every forum, in display order.")
    async def forums(self) -> list[Forum]:
        return [Forum(row=row) for row in await forums.forums()]

    @strawberry.field(description="A forum by its slug; null if there is none.")
    async def forum(
        self, slug: Annotated[str, strawberry.argument(description="The forum's slug.")]
    ) -> Forum | None:
        row = await forums.forum_by_slug(slug)
        return Forum(row=row) if row is not None else None

    @strawberry.field(description="A thread by its global ID; null if there is none.")
    async def thread(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="The thread's global ID.")],
    ) -> Thread | None:
        row = await info.context.loaders.thread_by_id.load(ids.decode_pk(id, "Thread"))
        return Thread(row=row) if row is not None else None


@strawberry.type
class MessageMutation:
    @strawberry.mutation(description="Open a thread. Confirmed, non-suspended members only.")
    async def create_thread(
        self, info: Info[Context, None], input: CreateThreadInput
    ) -> CreateThreadPayload:
        forum_id = ids.decode_pk(input.forum_id, "Forum")
        return await attempt(
            CreateThreadPayload,
            forums.create_thread(info.context.call, forum_id, input.title, input.body),
            lambda row: CreateThreadPayload(thread=Thread(row=row), user_errors=[]),
        )

    @strawberry.mutation(description="Reply in a thread. Confirmed, non-suspended members only.")
    async def post_message(
        self, info: Info[Context, None], input: PostMessageInput
    ) -> PostMessagePayload:
        thread_id = ids.decode_pk(input.thread_id, "Thread")
        work = forums.post_message(info.context.call, thread_id, input.body)
        return await attempt(
            PostMessagePayload,
            work,
            lambda row: PostMessagePayload(message=Message.of(row), user_errors=[]),
        )

    @strawberry.mutation(description="Edit your own message within 30 minutes of writing it.")
    async def edit_message(
        self, info: Info[Context, None], input: EditMessageInput
    ) -> EditMessagePayload:
        message_id = ids.decode_pk(input.message_id, "Message")
        work = messages.edit_message(info.context.call, message_id, input.body)
        return await attempt(
            EditMessagePayload,
            work,
            lambda row: EditMessagePayload(message=Message.of(row), user_errors=[]),
        )

    @strawberry.mutation(
        description="Delete your own message (moderators: any public one). It keeps its place "
        "in the thread and reads as deleted."
    )
    async def delete_message(
        self, info: Info[Context, None], input: DeleteMessageInput
    ) -> DeleteMessagePayload:
        message_id = ids.decode_pk(input.message_id, "Message")
        work = messages.delete_message(info.context.call, message_id)
        return await attempt(
            DeleteMessagePayload,
            work,
            lambda row: DeleteMessagePayload(message=Message.of(row), user_errors=[]),
        )
