"""Private conversations, and their new messages as they are written."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from models import conversations as models
from models.rows import ConversationRow
from resolvers import conversations, messages, privacy
from resolvers.access import require_member
from resolvers.common import Forbidden
from schema import ids
from schema.accounts import User
from schema.context import Context
from schema.errors import UserError
from schema.messages import Message, Thread, message_page, still_signed_in
from schema.node import Node, register
from schema.pagination import After, CountedConnection, Edge, First
from schema.payloads import Payload, attempt


@strawberry.type(description="A private exchange between a few members; only they can see it.")
class Conversation(Node):
    row: strawberry.Private[models.Conversation | ConversationRow]  # a plain row in the inbox

    @strawberry.field(description="Opaque global ID of the conversation.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(ids.encode("Conversation", self.row.id))

    @strawberry.field(description="The conversation's title.")
    def title(self) -> str:
        return self.row.title

    @strawberry.field(description="Members taking part (those who left are not listed).")
    async def participants(self, info: Info[Context, None]) -> list[User]:
        member_ids = await info.context.loaders.participants_of.load(self.row.id)
        found = await info.context.loaders.member_by_id.load_many(member_ids)
        return [User.of_member(member) for member in found if member is not None]

    @strawberry.field(description="When it was started.")
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="Messages you have not read yet.")
    async def unread_count(self, info: Info[Context, None]) -> int:
        return await info.context.loaders.unread_in.load(self.row.id)

    messages_of = "conversation_id"  # the column holding a message's conversation
    messages = strawberry.field(
        resolver=message_page,
        description="Its messages, oldest first: `first`/`after` forwards, `last`/`before` "
        "backwards.",
    )


@strawberry.type(description="One conversation in a list, with its cursor.")
class ConversationEdge(Edge[Conversation]):
    pass


@strawberry.type(description="A page of your conversations, most recently active first.")
class ConversationConnection(CountedConnection[ConversationEdge]):
    pass


@strawberry.input(description="A new conversation: who, about what, and the first message.")
class StartConversationInput:
    recipient_ids: list[strawberry.ID] = strawberry.field(
        description="Global IDs of 1 to 20 members who accept messages from you."
    )
    title: str = strawberry.field(description="3 to 150 characters.")
    body: str = strawberry.field(description="Markdown, at most 10,000 characters.")


@strawberry.type(description="Result of startConversation.")
class StartConversationPayload(Payload):
    conversation: Conversation | None = strawberry.field(description="It; null if refused.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing was started.")


@strawberry.input(description="A message in one of your conversations.")
class SendMessageInput:
    conversation_id: strawberry.ID = strawberry.field(description="The conversation's ID.")
    body: str = strawberry.field(description="Markdown, at most 10,000 characters.")


@strawberry.type(description="Result of sendMessage.")
class SendMessagePayload(Payload):
    message: Message | None = strawberry.field(description="The new message; null if refused.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing was sent.")


@strawberry.input(description="One of your conversations.")
class ConversationInput:
    conversation_id: strawberry.ID = strawberry.field(description="The conversation's ID.")


@strawberry.type(description="Result of leaveConversation.")
class LeaveConversationPayload(Payload):
    conversation_id: strawberry.ID | None = strawberry.field(
        description="The conversation you left, to drop from `conversations`; null if refused."
    )
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type(description="Result of markConversationRead.")
class MarkConversationReadPayload(Payload):
    conversation: Conversation | None = strawberry.field(description="It; null if refused.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


def _conversation_pk(global_id: str) -> int:
    return ids.decode_pk(global_id, "Conversation")


@strawberry.type
class ConversationQuery:
    @strawberry.field(description="Your conversations, most recently active first.")
    async def conversations(
        self, info: Info[Context, None], first: First = None, after: After = None
    ) -> ConversationConnection | None:
        viewer = require_member(info.context.call)
        page, unread = await conversations.conversation_page(viewer, first, after)
        for conversation_id, count in unread.items():
            info.context.loaders.unread_in.prime(conversation_id, count)
        return ConversationConnection.of(
            page,
            "Activity",
            lambda row: Conversation(row=row),
            count=lambda: conversations.conversation_count(viewer),
        )

    @strawberry.field(description="One of your conversations; null for anyone not taking part.")
    async def conversation(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="The conversation's ID.")],
    ) -> Conversation | None:
        row = await info.context.loaders.my_conversation.load(_conversation_pk(id))
        return Conversation(row=row) if row is not None else None


@strawberry.type
class ConversationMutation:
    @strawberry.mutation(
        description="Start a conversation. Each recipient's whoCanMessage must include you; "
        "a refusal says only that you cannot message that member."
    )
    async def start_conversation(
        self, info: Info[Context, None], input: StartConversationInput
    ) -> StartConversationPayload | None:
        recipients = [ids.decode_pk(rid, "User") for rid in input.recipient_ids[:21]]
        return await attempt(
            StartConversationPayload,
            conversations.start_conversation(
                info.context.call, recipients, input.title, input.body
            ),
            lambda row: StartConversationPayload(
                conversation=Conversation(row=row), user_errors=[]
            ),
        )

    @strawberry.mutation(description="Write in one of your conversations.")
    async def send_message(
        self, info: Info[Context, None], input: SendMessageInput
    ) -> SendMessagePayload | None:
        return await attempt(
            SendMessagePayload,
            conversations.send_message(
                info.context.call, _conversation_pk(input.conversation_id), input.body
            ),
            lambda row: SendMessagePayload(message=Message.of(row), user_errors=[]),
        )

    @strawberry.mutation(description="Leave a conversation; the others carry on without you.")
    async def leave_conversation(
        self, info: Info[Context, None], input: ConversationInput
    ) -> LeaveConversationPayload | None:
        work = conversations.leave(info.context.call, _conversation_pk(input.conversation_id))
        return await attempt(
            LeaveConversationPayload,
            work,
            lambda left: LeaveConversationPayload(
                conversation_id=strawberry.ID(ids.encode("Conversation", left)), user_errors=[]
            ),
        )

    @strawberry.mutation(description="Mark every message in a conversation as read.")
    async def mark_conversation_read(
        self, info: Info[Context, None], input: ConversationInput
    ) -> MarkConversationReadPayload | None:
        return await attempt(
            MarkConversationReadPayload,
            conversations.mark_read(info.context.call, _conversation_pk(input.conversation_id)),
            lambda row: MarkConversationReadPayload(
                conversation=Conversation(row=row), user_errors=[]
            ),
        )


@strawberry.type
class ConversationSubscription:
    @strawberry.subscription(
        description="New messages in one of your conversations (participants only)."
    )
    async def conversation_message_added(
        self,
        info: Info[Context, None],
        conversation_id: Annotated[
            strawberry.ID, strawberry.argument(description="The conversation's ID.")
        ],
    ) -> AsyncGenerator[Message, None]:
        pk = _conversation_pk(conversation_id)
        if await conversations.visible_conversation(info.context.viewer, pk) is None:
            raise Forbidden("You have no such conversation.")
        return _conversation_messages(info, pk)


async def _conversation_messages(
    info: Info[Context, None], pk: int
) -> AsyncGenerator[Message, None]:
    async for message_id in info.context.call.broker.subscribe(f"conversation:{pk}"):
        # Re-checked per message: a member who signed out or left stops receiving at once.
        if not await still_signed_in(info):
            return
        if await conversations.visible_conversation(info.context.viewer, pk) is None:
            return
        row = await messages.load_fresh(message_id)
        # A message from a member the viewer blocked is never delivered to them live.
        blocked = await info.context.viewer_blocked()
        if row is not None and not privacy.has_blocked(blocked, row.author_id):  # type: ignore[attr-defined]
            yield Message.of(row)


__all__ = ["Conversation", "Thread"]


async def _conversation_node(info: Info[Context, None], key: int) -> Node | None:
    row = await info.context.loaders.my_conversation.load(key)
    return Conversation(row=row) if row is not None else None


register("Conversation", _conversation_node)
