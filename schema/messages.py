"""Public threads and the messages in threads and conversations: reading, writing,
editing, deleting, and new messages of a thread as they are posted."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from models import messages as models
from models.rows import MessageRow, ThreadRow
from resolvers import forums, messages, privacy, reports, sessions
from resolvers.common import Forbidden
from resolvers.pagination import Page
from schema import ids
from schema.accounts import User
from schema.context import Context, Loaders
from schema.errors import UserError
from schema.node import Node, register
from schema.pagination import After, Before, Count, CountedConnection, Edge, First, Last
from schema.payloads import Payload, attempt
from schema.permissions import IsStaff

if TYPE_CHECKING:
    from schema.conversations import Conversation
    from schema.forums import Forum

LazyConversation = Annotated["Conversation", strawberry.lazy("schema.conversations")]
LazyForum = Annotated["Forum", strawberry.lazy("schema.forums")]


async def load_user(info: Info[Context, None], user_id: int | None) -> User | None:
    """A member by database id, with profile and privacy, through the request's loader."""
    if user_id is None:
        return None
    member = await info.context.loaders.member_by_id.load(user_id)
    return User.of_member(member) if member is not None else None


async def _body(root: Any, info: Info[Context, None]) -> str:
    return await root.shown(info, root.text)


async def _body_html(root: Any, info: Info[Context, None]) -> str:
    return await root.shown(info, root.html)


@strawberry.type(description="An earlier text of an edited message.")
class MessageRevision:
    body: str = strawberry.field(description="The text as it was (Markdown source).")
    created_at: datetime = strawberry.field(
        description="When this text was written: the message's creation or the edit before."
    )


@strawberry.type(description="A post in a public thread or a private conversation.")
class Message(Node):
    id: strawberry.ID = strawberry.field(description="Opaque global ID of the message.")

    body: str = strawberry.field(
        resolver=_body,
        description="Markdown source; empty when deleted or hidden, and when you blocked "
        "its author.",
    )
    body_html: str = strawberry.field(
        resolver=_body_html,
        description="Sanitised HTML; links to other sites go through the /out page. Empty "
        "as `body` is.",
    )
    text: strawberry.Private[str]
    html: strawberry.Private[str]
    created_at: datetime = strawberry.field(description="When it was written.")
    edited_at: datetime | None = strawberry.field(
        description="When its author last edited it; null if never."
    )
    deleted: bool = strawberry.field(
        description="Deleted by its author or a moderator (keeps its place)."
    )
    hidden: bool = strawberry.field(description="Hidden by a moderator.")
    row: strawberry.Private[models.Message | MessageRow]  # a plain row on pages
    # Set where the statement that found the row already left out the viewer's blocked
    # members (search): then no lookup of the viewer's blocks is needed.
    author_unblocked: strawberry.Private[bool] = False

    @classmethod
    def of(cls, row: models.Message | MessageRow) -> Message:
        """The type for a database row: its words only while it is neither deleted nor hidden."""
        deleted, hidden = row.deleted_at is not None, row.hidden_at is not None
        removed = deleted or hidden
        return cls(
            id=strawberry.ID(ids.encode("Message", row.id)),
            text="" if removed else row.body,
            html="" if removed else row.body_html,
            created_at=row.created_at,
            edited_at=row.edited_at,
            deleted=deleted,
            hidden=hidden,
            row=row,
        )

    @strawberry.field(
        description="Did you block its author? Then `body` and `bodyHtml` read empty. "
        "False for everyone else."
    )
    async def author_blocked_by_viewer(self, info: Info[Context, None]) -> bool:
        return await self._author_blocked(info)

    async def shown(self, info: Info[Context, None], text: str) -> str:
        """The message's text (`text` or `html`) as this viewer reads it."""
        return "" if await self._author_blocked(info) else text

    async def _author_blocked(self, info: Info[Context, None]) -> bool:
        if self.author_unblocked:
            return False
        # The viewer's blocks come once per request, whatever the length of the page.
        blocked = await info.context.viewer_blocked()
        return privacy.has_blocked(blocked, self.row.author_id)  # type: ignore[attr-defined]

    @strawberry.field(description="The writer; null when their account was deleted.")
    async def author(self, info: Info[Context, None]) -> User | None:
        return await load_user(info, self.row.author_id)  # type: ignore[attr-defined]

    @strawberry.field(
        description="Every earlier text of an edited message, oldest first (empty if never "
        "edited). Its author and staff only, null for anyone else; staff see a private "
        "message's only once it was reported, and that read is told to its author."
    )
    async def revisions(self, info: Info[Context, None]) -> list[MessageRevision] | None:
        if not await reports.may_read_revisions(info.context.call, self.row):
            return None
        found = await info.context.loaders.revisions.load(self.row)
        return [MessageRevision(body=r.body, created_at=r.created_at) for r in found]

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
class MessageEdge(Edge[Message]):
    pass


@strawberry.type(description="A page of messages, in the order its field names.")
class MessageConnection(CountedConnection[MessageEdge]):
    @classmethod
    async def load(
        cls,
        info: Info[Context, None],
        key: messages.MessagePageKey,
    ) -> MessageConnection:
        """The page a key asks for, through the request's batched loader."""
        page = await info.context.loaders.message_page.load(key)
        count_key = (key.column, key.owner_id)
        return cls.of_messages(page, lambda: info.context.loaders.message_count.load(count_key))

    @classmethod
    def of_messages(
        cls, page: Page[models.Message] | Page[MessageRow], count: Count
    ) -> MessageConnection:
        """The connection for a page of message rows."""
        return cls.of(page, "Message", Message.of, count)


async def message_page(
    root: Thread | LazyConversation,
    info: Info[Context, None],
    first: First = None,
    after: After = None,
    last: Last = None,
    before: Before = None,
) -> MessageConnection:
    """The messages field of threads and conversations: a page through the batched loader."""
    key = messages.MessagePageKey(root.messages_of, root.row.id, first, after, last, before)
    return await MessageConnection.load(info, key)


@strawberry.type(description="A public discussion in a forum.")
class Thread(Node):
    row: strawberry.Private[models.Thread | ThreadRow]  # a plain row from the loader

    @strawberry.field(description="Opaque global ID of the thread.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(ids.encode("Thread", self.row.id))

    @strawberry.field(description="The thread's title.")
    def title(self) -> str:
        return self.row.title

    @strawberry.field(description="The forum it belongs to.")
    async def forum(self, info: Info[Context, None]) -> LazyForum:
        row = await info.context.loaders.forum_by_id.load(self.row.forum_id)  # type: ignore[attr-defined]
        assert row is not None  # a thread's forum cannot go while the thread stays
        from schema.forums import Forum

        return Forum(row=row)

    @strawberry.field(description="Who opened it; null when their account was deleted.")
    async def author(self, info: Info[Context, None]) -> User | None:
        return await load_user(info, self.row.author_id)  # type: ignore[attr-defined]

    @strawberry.field(description="When it was opened.")
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(
        description="Do you watch it (its replies notify you)? False when signed out."
    )
    async def viewer_is_watching(self, info: Info[Context, None]) -> bool:
        if info.context.viewer is None:
            return False  # no query for a question with a known answer
        return await info.context.loaders.viewer_watches.load(self.row.id)

    @strawberry.field(description="Locked: members can no longer write in it (staff can).")
    def locked(self) -> bool:
        return self.row.locked

    @strawberry.field(description="Pinned: listed before the other threads of its forum.")
    def pinned(self) -> bool:
        return self.row.pinned

    messages_of = "thread_id"  # the column holding a message's thread (read by message_page)
    messages = strawberry.field(
        resolver=message_page,
        description="Its messages, oldest first: `first`/`after` pages forwards, "
        "`last`/`before` backwards.",
    )


@strawberry.type(description="One thread in a list, with its cursor.")
class ThreadEdge(Edge[Thread]):
    pass


@strawberry.type(
    description="A page of threads: pinned ones first, each part most recently active first."
)
class ThreadConnection(CountedConnection[ThreadEdge]):
    pass


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


@strawberry.input(description="What to change about a thread; fields left out stay as they are.")
class ModerateThreadInput:
    thread_id: strawberry.ID = strawberry.field(description="The thread's global ID.")
    reason: str = strawberry.field(description="Why, 3 to 500 characters (audited).")
    locked: bool | None = strawberry.field(
        default=None, description="Lock (members can no longer write) or unlock it."
    )
    pinned: bool | None = strawberry.field(
        default=None, description="Pin it to the top of its forum, or unpin it."
    )
    title: str | None = strawberry.field(default=None, description="A new title, 3-150 characters.")
    forum_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Move it to this forum (its ID, pages and subscribers stay the same).",
    )


@strawberry.type(description="Result of moderateThread.")
class ModerateThreadPayload(Payload):
    thread: Thread | None = strawberry.field(description="The thread; null if refused.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type
class MessageQuery:
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
    ) -> CreateThreadPayload | None:
        forum_id = ids.decode_pk(input.forum_id, "Forum")
        return await attempt(
            CreateThreadPayload,
            forums.create_thread(info.context.call, forum_id, input.title, input.body),
            lambda row: CreateThreadPayload(thread=Thread(row=row), user_errors=[]),
        )

    @strawberry.mutation(description="Reply in a thread. Confirmed, non-suspended members only.")
    async def post_message(
        self, info: Info[Context, None], input: PostMessageInput
    ) -> PostMessagePayload | None:
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
    ) -> EditMessagePayload | None:
        message_id = ids.decode_pk(input.message_id, "Message")
        work = messages.edit_message(info.context.call, message_id, input.body)
        return await attempt(
            EditMessagePayload,
            work,
            lambda row: EditMessagePayload(message=Message.of(row), user_errors=[]),
        )

    @strawberry.mutation(
        description="Staff: lock, pin, rename or move a thread, any subset at once "
        "(audited). Null with an error when not allowed.",
        permission_classes=[IsStaff],
    )
    async def moderate_thread(
        self, info: Info[Context, None], input: ModerateThreadInput
    ) -> ModerateThreadPayload | None:
        thread_id = ids.decode_pk(input.thread_id, "Thread")
        forum_id = ids.decode_pk(input.forum_id, "Forum") if input.forum_id is not None else None
        change = forums.ThreadChange(input.locked, input.pinned, input.title, forum_id)
        return await attempt(
            ModerateThreadPayload,
            forums.moderate_thread(info.context.call, thread_id, input.reason, change),
            lambda row: ModerateThreadPayload(thread=Thread(row=row), user_errors=[]),
        )

    @strawberry.mutation(
        description="Delete your own message (moderators: any public one). It keeps its place "
        "in the thread and reads as deleted."
    )
    async def delete_message(
        self, info: Info[Context, None], input: DeleteMessageInput
    ) -> DeleteMessagePayload | None:
        message_id = ids.decode_pk(input.message_id, "Message")
        work = messages.delete_message(info.context.call, message_id)
        return await attempt(
            DeleteMessagePayload,
            work,
            lambda row: DeleteMessagePayload(message=Message.of(row), user_errors=[]),
        )


@strawberry.type
class MessageSubscription:
    # Each resolver refuses before returning its stream, so a refusal is graphql-transport-ws'
    # `error` message (the operation never starts), not a `next` carrying errors.
    @strawberry.subscription(description="New messages in a public thread, as they are posted.")
    async def thread_message_added(
        self,
        info: Info[Context, None],
        thread_id: Annotated[strawberry.ID, strawberry.argument(description="The thread's ID.")],
    ) -> AsyncGenerator[Message, None]:
        pk = ids.decode_pk(thread_id, "Thread")
        if await info.context.loaders.thread_by_id.load(pk) is None:
            raise Forbidden("There is no such thread.")
        return _thread_messages(info, pk)


async def _thread_messages(info: Info[Context, None], pk: int) -> AsyncGenerator[Message, None]:
    async for message_id in info.context.call.broker.subscribe(f"thread:{pk}"):
        if not await still_signed_in(info):
            return
        row = await messages.load_fresh(message_id)
        if row is not None:
            yield Message.of(row)


async def still_signed_in(info: Info[Context, None]) -> bool:
    """For subscriptions, before each event: is the socket's session still live? The
    member is read afresh (role, confirmation) and the loaders are new, since a
    connection's context lives as long as the socket and nothing may be cached past the
    event that read it."""
    call = info.context.call
    if call.session is not None:
        found = await sessions.live_session(call.session.id)
        if found is None:
            return False  # signed out, revoked or expired: the stream ends
        call.session, call.viewer = found
    info.context.loaders = Loaders.for_viewer(call.viewer)
    return True


async def _thread_node(info: Info[Context, None], key: int) -> Node | None:
    row = await info.context.loaders.thread_by_id.load(key)
    return Thread(row=row) if row is not None else None


async def _message_node(info: Info[Context, None], key: int) -> Node | None:
    row = await info.context.loaders.readable_message.load(key)
    return Message.of(row) if row is not None else None


register("Thread", _thread_node)
register("Message", _message_node)
