"""Messages in threads and conversations: who may read them, writing, editing, deleting."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from tortoise.transactions import in_transaction

from models.accounts import User
from models.base import Role
from models.messages import Message, MessageEdit, Participant
from resolvers.common import Call, Refused
from resolvers.pages import Page, decode_cursor, make_page, page_size

BODY_MAX = 10_000
EDIT_WINDOW = timedelta(minutes=30)


def clean_body(body: str) -> str:
    """A message body fit to store, or a Refused saying why not."""
    body = body.strip()
    if not body:
        raise Refused("BODY_EMPTY", "Write something first.", "body")
    if len(body) > BODY_MAX:
        raise Refused("BODY_TOO_LONG", f"Messages have at most {BODY_MAX} characters.", "body")
    if "\x00" in body:
        raise Refused("INVALID_TEXT", "Text cannot contain NUL characters.", "body")
    return body


async def messages_by_id(ids: Sequence[int]) -> list[Message | None]:
    """Batch for the message loader."""
    rows = {row.id: row for row in await Message.filter(id__in=ids)}
    return [rows.get(id_) for id_ in ids]


async def participant_conversations(viewer: User | None, ids: Sequence[int]) -> set[int]:
    """Which of these conversations the viewer is in (and has not left)."""
    if viewer is None or not ids:
        return set()
    rows = await Participant.filter(
        user_id=viewer.id, conversation_id__in=ids, left_at__isnull=True
    ).values_list("conversation_id", flat=True)
    return set(rows)


async def readable(viewer: User | None, message: Message | None) -> Message | None:
    """The message if the viewer may read it: public threads for all, conversations for
    their participants. Anything else reads as missing."""
    if message is None:
        return None
    if message.thread_id is not None:  # type: ignore[attr-defined]
        return message
    conversation = message.conversation_id  # type: ignore[attr-defined]
    return (
        message if conversation in await participant_conversations(viewer, [conversation]) else None
    )


async def message_page(
    where: dict[str, int],
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Page[Message]:
    """A page of messages, oldest first; forwards with first/after, backwards with last/before."""
    size = page_size(first, last)
    query = Message.filter(**where)
    if last is not None or before is not None:
        position = decode_cursor("Message", before)
        if position is not None:
            query = query.filter(id__lt=position)
        rows = list(reversed(await query.order_by("-id").limit(size + 1)))
        more = len(rows) > size
        rows = rows[1:] if more else rows
        return Page(rows, [r.id for r in rows], has_next=position is not None, has_previous=more)
    position = decode_cursor("Message", after)
    if position is not None:
        query = query.filter(id__gt=position)
    rows = await query.order_by("id").limit(size + 1)
    return make_page(rows, [r.id for r in rows], size, after=position is not None)


async def editable(call: Call, message_id: int) -> tuple[User, Message]:
    """The viewer's own message, still open to editing."""
    viewer = call.require_writer()
    message = await readable(viewer, await Message.get_or_none(id=message_id))
    if message is None or message.author_id != viewer.id:  # type: ignore[attr-defined]
        raise Refused("MESSAGE_NOT_FOUND", "You have no such message.", "messageId")
    if message.deleted_at is not None or message.hidden_at is not None:
        raise Refused("MESSAGE_GONE", "This message was removed.", "messageId")
    if datetime.now(UTC) - message.created_at > EDIT_WINDOW:
        minutes = int(EDIT_WINDOW.total_seconds() // 60)
        raise Refused("EDIT_WINDOW_CLOSED", f"Messages can be edited for {minutes} minutes.")
    return viewer, message


async def edit_message(call: Call, message_id: int, body: str) -> Message:
    """Change the text of your own recent message; the old text is kept with the edit's IP."""
    _, message = await editable(call, message_id)
    body = clean_body(body)
    async with in_transaction():
        await MessageEdit.create(message=message, previous_body=message.body, **call.ip_columns)
        message.body = body
        message.body_html = call.renderer.render(body)
        message.edited_at = datetime.now(UTC)
        await message.save(update_fields=["body", "body_html", "edited_at"])
    return message


async def delete_message(call: Call, message_id: int) -> Message:
    """Delete your own message (or, as staff, any public one); it keeps its place."""
    viewer = call.require_member()
    message = await readable(viewer, await Message.get_or_none(id=message_id))
    staff = viewer.role in (Role.MODERATOR, Role.ADMIN) and message is not None
    own = message is not None and message.author_id == viewer.id  # type: ignore[attr-defined]
    if message is None or not (own or staff):
        raise Refused("MESSAGE_NOT_FOUND", "You have no such message.", "messageId")
    if message.deleted_at is None:
        message.deleted_at = datetime.now(UTC)
        await message.save(update_fields=["deleted_at"])
        if not own:
            from resolvers.moderation import audit

            await audit(viewer, "DELETE_MESSAGE", message.author_id, [str(message.id)], None)  # type: ignore[attr-defined]
    return message


async def post(call: Call, author: User, body: str, **where: int) -> Message:
    """Write a message row (inside the caller's transaction) with its client record."""
    return await Message.create(
        author=author, body=body, body_html=call.renderer.render(body), **where, **call.ip_columns
    )


async def load_fresh(message_id: int) -> Message | None:
    """A message read straight from the database (for live updates)."""
    return await Message.get_or_none(id=message_id)
