"""Private conversations: only their participants can reach them, by any path."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from functools import cache

from tortoise.expressions import Case, F, Q, Value, When
from tortoise.transactions import in_transaction

from models.accounts import User
from models.conversations import Conversation, Participant
from models.messages import Message
from models.notifications import NotificationKind
from models.rows import ConversationRow, Shape
from models.sql import fetch, placeholders
from resolvers import mentions, notifications, privacy
from resolvers.access import require_member, require_writer
from resolvers.codes import ConversationCode
from resolvers.common import Call, Forbidden, Problem, Refused, in_key_order
from resolvers.forums import clean_title
from resolvers.messages import clean_body, participant_conversations, post
from resolvers.pagination import Page, decode_cursor, make_page, page_size

MAX_RECIPIENTS = 20


async def visible_conversation(viewer: User | None, conversation_id: int) -> Conversation | None:
    """The conversation if the viewer takes part in it; otherwise it does not exist."""
    if not await participant_conversations(viewer, [conversation_id]):
        return None
    return await Conversation.get_or_none(id=conversation_id)


MineBatch = Callable[[Sequence[int]], Awaitable[list[Conversation | None]]]


def mine_loader(viewer: User | None) -> MineBatch:
    """Batch for one request: each conversation if the viewer takes part, else None."""

    async def mine(ids: Sequence[int]) -> list[Conversation | None]:
        taking_part = await participant_conversations(viewer, ids)
        if not taking_part:
            return [None] * len(ids)
        return in_key_order(await Conversation.filter(id__in=list(taking_part)), ids)

    return mine


_CONVERSATION = Shape(ConversationRow, Conversation, "c")  # plain rows (models/rows.py)


async def conversation_page(
    viewer: User, first: int | None, after: str | None
) -> tuple[Page[ConversationRow], dict[int, int]]:
    """The viewer's conversations, most recently active first, and how many messages in
    each the viewer has not read (one statement for both)."""
    size = page_size(first)
    position = decode_cursor("Activity", after)
    selected = _CONVERSATION.select_list()
    sql = (
        f"SELECT {selected}, p.last_message_id AS activity, ("  # noqa: S608 - our columns
        + _UNREAD
        + ") AS unread FROM participants p JOIN conversations c ON c.id = p.conversation_id "
        "WHERE p.user_id = {0} AND p.left_at IS NULL "
        + ("AND p.last_message_id < {2} " if position is not None else "")
        + "ORDER BY p.last_message_id DESC LIMIT {1}"
    )
    values: list[int] = [viewer.id, size + 1]
    if position is not None:
        values.append(position)
    rows = await fetch(sql, values)
    found = _CONVERSATION.build_all(rows)
    unread = {row.id: int(raw["unread"]) for row, raw in zip(found, rows, strict=True)}
    page = make_page(found, [row["activity"] for row in rows], size, after=position is not None)
    return page, unread


async def conversation_count(viewer: User) -> int:
    """How many conversations the viewer takes part in (the list `conversation_page`
    pages through)."""
    return await Participant.filter(user_id=viewer.id, left_at__isnull=True).count()


# A message m that participant p (the viewer, placeholder {0}) has not read: in their
# conversation, after the last one they read, not deleted, not their own, and not by a
# member they blocked (those are never delivered to them).
_UNREAD_MESSAGE = (
    "m.conversation_id = p.conversation_id AND m.id > p.last_read_message_id "
    "AND m.deleted_at IS NULL AND (m.author_id IS NULL OR (m.author_id <> {0} AND NOT "
    + privacy.blocked_by_viewer_sql("m.author_id", "{0}")
    + "))"
)
_UNREAD = "SELECT COUNT(m.id) FROM messages m WHERE " + _UNREAD_MESSAGE  # noqa: S608


@cache
def _participants_sql(count: int) -> str:
    marks = ", ".join(placeholders(0, count))  # placeholders only, never values
    return (
        "SELECT conversation_id, user_id FROM participants "  # noqa: S608
        f"WHERE conversation_id IN ({marks}) AND left_at IS NULL ORDER BY id"
    )


async def participants_of(ids: Sequence[int]) -> list[list[int]]:
    """Batch: the member ids taking part in each conversation, in joining order (two
    columns in hand-written SQL: the inbox asks for every conversation's)."""
    found: dict[int, list[int]] = {id_: [] for id_ in ids}
    for row in await fetch(_participants_sql(len(ids)), list(ids)):
        found[row["conversation_id"]].append(row["user_id"])
    return [found[id_] for id_ in ids]


def unread_loader(viewer: User | None) -> Callable[[Sequence[int]], Awaitable[list[int]]]:
    """Batch for one request: how many messages in each conversation the viewer has not read."""

    async def unread(ids: Sequence[int]) -> list[int]:
        if viewer is None or not ids:
            return [0] * len(ids)
        marks = ", ".join(placeholders(1, len(ids)))  # placeholders only, never values
        sql = (
            "SELECT p.conversation_id AS id, COUNT(m.id) AS n FROM participants p "  # noqa: S608
            f"JOIN messages m ON {_UNREAD_MESSAGE} "
            "WHERE p.user_id = {0} AND p.conversation_id IN (" + marks + ") "
            "GROUP BY p.conversation_id"
        )
        rows = await fetch(sql, [viewer.id, *ids])
        counts = {row["id"]: int(row["n"]) for row in rows}
        return [counts.get(id_, 0) for id_ in ids]

    return unread


async def _recipients(call: Call, viewer: User, ids: Sequence[int]) -> list[User]:
    unique = list(dict.fromkeys(i for i in ids if i != viewer.id))
    if not unique or len(unique) > MAX_RECIPIENTS:
        message = f"Choose 1 to {MAX_RECIPIENTS} other members."
        raise Refused(ConversationCode.RECIPIENTS_COUNT, message, "recipientIds")
    users = {u.id: u for u in await User.filter(id__in=unique)}
    owners = await privacy.owners(viewer, unique)
    # A refusal points at the id as sent (the viewer and repeats included in the count).
    sent_at = {user_id: index for index, user_id in reversed(list(enumerate(ids)))}
    refused = []
    for owner in owners:
        user_id = owner.id
        if user_id not in users or not privacy.can_message(viewer, owner):
            # The same words for "no such member" and "does not accept you".
            field = ("recipientIds", str(sent_at[user_id]))
            refused.append(
                Problem(ConversationCode.CANNOT_MESSAGE, "You cannot message this member.", field)
            )
    if refused:
        raise Refused.of(refused)
    return [users[i] for i in unique]


async def start_conversation(
    call: Call, recipient_ids: Sequence[int], title: str, body: str
) -> Conversation:
    """Start a conversation with members whose settings let the viewer message them."""
    viewer = require_writer(call)
    title, body = clean_title(title), clean_body(body)
    recipients = await _recipients(call, viewer, recipient_ids)
    await call.limits.hit("conversation-member", str(viewer.id))
    members = await mentions.mentioned_members(body)
    async with in_transaction():
        conversation = await Conversation.create(title=title, created_by=viewer, **call.ip_columns)
        message = await post(call, viewer, body, members, conversation_id=conversation.id)
        conversation.last_message_id = message.id
        await conversation.save(update_fields=["last_message_id"])
        await Participant.bulk_create(
            [
                Participant(
                    conversation=conversation,
                    user=member,
                    last_message_id=message.id,
                    last_read_message_id=message.id if member.id == viewer.id else 0,
                )
                for member in [viewer, *recipients]
            ]
        )
    await call.broker.publish(f"conversation:{conversation.id}", message.id)
    await _tell_participants(call, viewer, conversation.id, message.id)
    return conversation


async def send_message(call: Call, conversation_id: int, body: str) -> Message:
    """Write in a conversation the viewer takes part in (FORBIDDEN for anyone else)."""
    viewer = require_member(call)
    if not await participant_conversations(viewer, [conversation_id]):
        raise Forbidden()
    viewer = require_writer(call)
    body = clean_body(body)
    await call.limits.hit("post-member", str(viewer.id))
    await call.limits.hit("post-client", call.client_key)  # many accounts, one client
    members = await mentions.mentioned_members(body)
    async with in_transaction():
        message = await post(call, viewer, body, members, conversation_id=conversation_id)
        await Conversation.filter(id=conversation_id).update(last_message_id=message.id)
        # Every place moves up in the inbox; the author's own message is read already.
        await Participant.filter(conversation_id=conversation_id).update(
            last_message_id=message.id,
            last_read_message_id=Case(
                When(user_id=viewer.id, then=Value(message.id)),
                default=F("last_read_message_id"),
            ),
        )
    await call.broker.publish(f"conversation:{conversation_id}", message.id)
    await _tell_participants(call, viewer, conversation_id, message.id)
    return message


async def _tell_participants(
    call: Call, author: User, conversation_id: int, message_id: int
) -> None:
    """CONVERSATION_MESSAGE for every other participant (none for one who blocked the
    author: notify leaves them out, as the unread count does)."""
    await notifications.notify(
        call,
        notifications.participants(conversation_id),
        NotificationKind.CONVERSATION_MESSAGE,
        author,
        conversation=conversation_id,
        message=message_id,
    )


async def _own_place(call: Call, conversation_id: int) -> tuple[User, Conversation]:
    viewer = require_member(call)
    conversation = await visible_conversation(viewer, conversation_id)
    if conversation is None:
        raise Refused(
            ConversationCode.CONVERSATION_NOT_FOUND,
            "You have no such conversation.",
            "conversationId",
        )
    return viewer, conversation


async def mark_read(call: Call, conversation_id: int) -> Conversation:
    """Mark every message in the conversation read for the viewer."""
    viewer, conversation = await _own_place(call, conversation_id)
    await Participant.filter(conversation_id=conversation.id, user_id=viewer.id).update(
        last_read_message_id=F("last_message_id")
    )
    return conversation


async def leave(call: Call, conversation_id: int) -> int:
    """Leave a conversation: it disappears for the viewer, the others carry on. Returns
    its id."""
    viewer, conversation = await _own_place(call, conversation_id)
    await Participant.filter(Q(conversation_id=conversation.id), Q(user_id=viewer.id)).update(
        left_at=datetime.now(UTC)
    )
    return conversation.id
