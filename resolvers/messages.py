"""Messages in threads and conversations: who may read them, writing, editing, deleting."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.functions import Count
from tortoise.transactions import in_transaction

from models.accounts import User
from models.conversations import Participant
from models.messages import Message, MessageEdit, Thread
from models.rows import MessageRow, Shape
from models.sql import columns, fetch, placeholders
from resolvers import mentions
from resolvers.access import has_staff_powers, require_member, require_writer
from resolvers.audit import audit
from resolvers.codes import MessageCode
from resolvers.common import Call, Refused, in_key_order
from resolvers.pagination import Page, decode_cursor, make_page, page_size
from services import cachekeys

BODY_MAX = 10_000
EDIT_WINDOW = timedelta(minutes=30)


def refuse_if_locked(writer: User, thread: Thread) -> None:
    """A Refused THREAD_LOCKED when a member (not staff) would write in a locked thread."""
    if thread.locked and not has_staff_powers(writer):
        raise Refused(MessageCode.THREAD_LOCKED, "This thread is locked: it takes no new messages.")


def clean_body(body: str) -> str:
    """A message body fit to store, or a Refused saying why not."""
    body = body.strip()
    if not body:
        raise Refused(MessageCode.BODY_EMPTY, "Write something first.", "body")
    if len(body) > BODY_MAX:
        raise Refused(
            MessageCode.BODY_TOO_LONG, f"Messages have at most {BODY_MAX} characters.", "body"
        )
    if "\x00" in body:
        raise Refused(MessageCode.INVALID_TEXT, "Text cannot contain NUL characters.", "body")
    return body


async def messages_by_id(ids: Sequence[int]) -> list[Message | None]:
    """Batch for the message loader."""
    with cachekeys.attributed():
        rows = await Message.filter(id__in=ids)
    if len(rows) < len(set(ids)) or any(r.thread_id is None for r in rows):  # type: ignore[attr-defined]
        # No key says when a missing message appears, nor keys a conversation.
        cachekeys.depends_on_everything()
    cachekeys.depends(
        cachekeys.thread(row.thread_id)  # type: ignore[attr-defined]
        for row in rows
        if row.thread_id is not None  # type: ignore[attr-defined]
    )
    return in_key_order(rows, ids)


async def participant_conversations(viewer: User | None, ids: Sequence[int]) -> set[int]:
    """Which of these conversations the viewer takes part in (joined and not left): the
    one active-participant check every conversation path uses."""
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


def readable_loader(
    viewer: User | None,
) -> Callable[[Sequence[int]], Awaitable[list[Message | None]]]:
    """Batch for one request: each message if the viewer may read it (`readable`), else None;
    two statements for any number of messages."""

    async def readable_batch(ids: Sequence[int]) -> list[Message | None]:
        rows = await messages_by_id(ids)
        private = {r.conversation_id for r in rows if r is not None and r.thread_id is None}  # type: ignore[attr-defined]
        mine = await participant_conversations(viewer, list(private))
        return [
            row
            if row is not None and (row.thread_id is not None or row.conversation_id in mine)  # type: ignore[attr-defined]
            else None
            for row in rows
        ]

    return readable_batch


MessageCountKey = tuple[str, int]  # ("thread_id" or "conversation_id", its id)


async def message_counts(keys: Sequence[MessageCountKey]) -> list[int]:
    """Batch for the message_count loader: how many messages each thread or conversation
    holds (every one its list shows, deleted and hidden ones included): one statement
    per kind of owner."""
    counts: dict[MessageCountKey, int] = {}
    for column in ("thread_id", "conversation_id"):
        owners = [owner for kind, owner in keys if kind == column]
        if owners:
            _depends_on_owners(column, owners)
            with cachekeys.attributed():
                rows = (
                    await Message.filter(**{f"{column}__in": owners})
                    .group_by(column)
                    .annotate(count=Count("id"))
                    .values_list(column, "count")
                )
            counts.update(((column, owner), count) for owner, count in rows)
    return [counts.get(key, 0) for key in keys]


# Pages of a thread or a conversation read plain rows (models/rows.py): 50 models a
# page cost more than the rest of the statement.
_MESSAGE = Shape(MessageRow, Message)


async def message_page(
    column: str,
    owner: int,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Page[MessageRow]:
    """A page of a thread's or conversation's messages (`column`: "thread_id" or
    "conversation_id"), oldest first; forwards with first/after, backwards with
    last/before."""
    assert column in ("thread_id", "conversation_id")  # never a caller's string
    size = page_size(first, last)
    _depends_on_owners(column, [owner])
    backwards = last is not None or before is not None
    position = decode_cursor("Message", before if backwards else after)
    order, compare = ("DESC", "<") if backwards else ("ASC", ">")
    bound = f"AND id {compare} {{2}} " if position is not None else ""
    sql = (
        f"SELECT {_MESSAGE.select_list()} FROM messages "  # noqa: S608 - our columns
        f"WHERE {column} = {{0}} {bound}ORDER BY id {order} LIMIT {{1}}"
    )
    values = [owner, size + 1] if position is None else [owner, size + 1, position]
    with cachekeys.attributed():
        rows = _MESSAGE.build_all(await fetch(sql, values))
    if backwards:
        rows.reverse()
        more = len(rows) > size
        rows = rows[1:] if more else rows
        return Page(rows, [r.id for r in rows], has_next=position is not None, has_previous=more)
    return make_page(rows, [r.id for r in rows], size, after=position is not None)


def _depends_on_owners(column: str, owners: Sequence[int]) -> None:
    """A list of a thread's messages changes with its thread's key; a conversation is
    never a signed-out reader's, and nothing keys it."""
    if column == "thread_id":
        cachekeys.depends(map(cachekeys.thread, owners))
    else:
        cachekeys.depends_on_everything()


@dataclass(frozen=True)
class MessagePageKey:
    """One requested page of a thread's or a conversation's messages."""

    column: str  # "thread_id" or "conversation_id"
    owner_id: int
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    def __post_init__(self) -> None:
        # Refuse bad arguments for this field alone, not inside the shared batch.
        page_size(self.first, self.last)
        decode_cursor("Message", self.after)
        decode_cursor("Message", self.before)

    @property
    def backwards(self) -> bool:
        """Paging from the end (last/before)?"""
        return self.last is not None or self.before is not None

    @property
    def shape(self) -> tuple[str, bool, int, int | None]:
        """What pages with the same shape share: one statement serves them all."""
        cursor = self.before if self.backwards else self.after
        return (
            self.column,
            self.backwards,
            page_size(self.first, self.last),
            decode_cursor("Message", cursor),
        )


async def message_pages(keys: Sequence[MessagePageKey]) -> list[Page[MessageRow]]:
    """Batch: message pages of many threads or conversations (an inbox, a thread list).

    One key is one plain query; several of the same shape share a window query that
    numbers each owner's messages, plus one query for the rows.
    """
    if len(keys) == 1:
        key = keys[0]
        return [
            await message_page(key.column, key.owner_id, key.first, key.after, key.last, key.before)
        ]
    groups: dict[tuple[str, bool, int, int | None], set[int]] = {}
    for key in keys:
        groups.setdefault(key.shape, set()).add(key.owner_id)
    pages: dict[tuple[tuple[str, bool, int, int | None], int], Page[MessageRow]] = {}
    for shape, owners in groups.items():
        found = await _window(shape, sorted(owners))
        for owner in owners:
            pages[(shape, owner)] = _page_of(found.get(owner, []), shape)
    return [pages[(key.shape, key.owner_id)] for key in keys]


async def _window(
    shape: tuple[str, bool, int, int | None], owners: list[int]
) -> dict[int, list[MessageRow]]:
    column, backwards, size, position = shape
    assert column in ("thread_id", "conversation_id")  # never a caller's string
    order, compare = ("DESC", "<") if backwards else ("ASC", ">")
    bound = position if position is not None else (2**62 if backwards else 0)
    marks = ", ".join(placeholders(2, len(owners)))  # placeholders only, never values
    selected = _MESSAGE.select_list()
    sql = (
        f"SELECT {selected} FROM (SELECT {selected}, ROW_NUMBER() OVER "  # noqa: S608
        f"(PARTITION BY {column} ORDER BY id {order}) AS rn FROM messages "
        f"WHERE {column} IN ({marks}) AND id {compare} {{1}}) AS numbered "
        "WHERE rn <= {0} ORDER BY id"
    )
    found: dict[int, list[MessageRow]] = {}
    _depends_on_owners(column, owners)
    with cachekeys.attributed():
        rows = _MESSAGE.build_all(await fetch(sql, [size + 1, bound, *owners]))
    for message in rows:
        found.setdefault(getattr(message, column), []).append(message)
    return found


def _page_of(rows: list[MessageRow], shape: tuple[str, bool, int, int | None]) -> Page[MessageRow]:
    _, backwards, size, position = shape
    if backwards:
        more = len(rows) > size
        rows = rows[1:] if more else rows
        return Page(rows, [r.id for r in rows], has_next=position is not None, has_previous=more)
    return make_page(rows, [r.id for r in rows], size, after=position is not None)


async def editable(call: Call, message_id: int) -> tuple[User, Message]:
    """The viewer's own message, still open to editing."""
    viewer = require_writer(call)
    message = await readable(viewer, await Message.get_or_none(id=message_id))
    if message is None or message.author_id != viewer.id:  # type: ignore[attr-defined]
        raise Refused(MessageCode.MESSAGE_NOT_FOUND, "You have no such message.", "messageId")
    if message.deleted_at is not None or message.hidden_at is not None:
        raise Refused(MessageCode.MESSAGE_GONE, "This message was removed.", "messageId")
    if datetime.now(UTC) - message.created_at > EDIT_WINDOW:
        minutes = int(EDIT_WINDOW.total_seconds() // 60)
        raise Refused(
            MessageCode.EDIT_WINDOW_CLOSED, f"Messages can be edited for {minutes} minutes."
        )
    if message.thread_id is not None:  # type: ignore[attr-defined]
        refuse_if_locked(viewer, await Thread.get(id=message.thread_id))  # type: ignore[attr-defined]
    return viewer, message


async def edit_message(call: Call, message_id: int, body: str) -> Message:
    """Change the text of your own recent message; the old text is kept with the edit's IP."""
    viewer, message = await editable(call, message_id)
    body = clean_body(body)
    members = await mentions.mentioned_members(body)
    async with in_transaction():
        await MessageEdit.create(message=message, previous_body=message.body, **call.ip_columns)
        message.body = body
        message.body_html = call.renderer.render(body, mentions.linkable(members))
        message.edited_at = datetime.now(UTC)
        await message.save(update_fields=["body", "body_html", "edited_at"])
    await mentions.notify_mentions(call, viewer, message, members)
    return message


async def delete_message(call: Call, message_id: int) -> Message:
    """Delete your own message (or, as staff, any public one); it keeps its place."""
    viewer = require_member(call)
    message = await readable(viewer, await Message.get_or_none(id=message_id))
    # Staff powers cover public threads only; in a conversation a moderator is a member.
    public = message is not None and message.thread_id is not None  # type: ignore[attr-defined]
    staff = public and has_staff_powers(viewer)
    own = message is not None and message.author_id == viewer.id  # type: ignore[attr-defined]
    if message is None or not (own or staff):
        raise Refused(MessageCode.MESSAGE_NOT_FOUND, "You have no such message.", "messageId")
    if message.deleted_at is None:
        message.deleted_at = datetime.now(UTC)
        await message.save(update_fields=["deleted_at"])
        if not own:
            await audit(viewer, "DELETE_MESSAGE", message.author_id, [str(message.id)], None)  # type: ignore[attr-defined]
    return message


async def post(
    call: Call, author: User, body: str, members: dict[str, User], **where: int
) -> Message:
    """Write a message row (inside the caller's transaction) with its client record;
    `members` (from mentions.mentioned_members) are the @names it links."""
    html = call.renderer.render(body, mentions.linkable(members))
    return await Message.create(
        author=author, body=body, body_html=html, **where, **call.ip_columns
    )


async def load_fresh(message_id: int) -> Message | None:
    """A message read straight from the database (for live updates)."""
    return await Message.get_or_none(id=message_id)


@dataclass(frozen=True)
class Revision:
    """An earlier text of a message and when it was written."""

    body: str
    created_at: datetime


def _owner(message: Message | MessageRow) -> tuple[str, int]:
    thread_id = message.thread_id  # type: ignore[attr-defined]
    if thread_id is not None:
        return "thread_id", thread_id
    return "conversation_id", message.conversation_id  # type: ignore[attr-defined]


async def revisions_by_message(
    messages: Sequence[Message | MessageRow],
) -> list[list[Revision]]:
    """Batch: each message's earlier texts, oldest first (one query). The first text was
    written with the message; each later one at the edit that replaced the one before."""
    edits: dict[int, list[MessageEdit]] = {m.id: [] for m in messages}
    ids = list(edits)
    for message in messages:
        column, owner_id = _owner(message)
        _depends_on_owners(column, [owner_id])
    with cachekeys.attributed():
        found_edits = await MessageEdit.filter(message_id__in=ids).order_by("id")
    for edit in found_edits:
        edits[edit.message_id].append(edit)  # type: ignore[attr-defined]
    found = []
    for message in messages:
        written = [message.created_at, *(edit.edited_at for edit in edits[message.id])]
        found.append(
            [
                Revision(e.previous_body, at)
                for e, at in zip(edits[message.id], written, strict=False)
            ]
        )
    return found


@dataclass(frozen=True)
class AuthorPageKey:
    """One requested page of a member's public messages, newest first."""

    author_id: int
    first: int | None = None
    after: str | None = None
    with_hidden: bool = False  # staff see hidden messages too

    def __post_init__(self) -> None:
        # Refuse bad arguments for this field alone, not inside the shared batch.
        page_size(self.first)
        decode_cursor("Message", self.after)

    @property
    def shape(self) -> tuple[int, int | None, bool]:
        """What pages with the same shape share: one statement serves them all."""
        return page_size(self.first), decode_cursor("Message", self.after), self.with_hidden


async def author_pages(keys: Sequence[AuthorPageKey]) -> list[Page[Message]]:
    """Batch: members' public messages (in threads, never deleted; hidden ones only for
    staff), newest first: one window query per page shape, whatever the number of members."""
    groups: dict[tuple[int, int | None, bool], set[int]] = {}
    for key in keys:
        groups.setdefault(key.shape, set()).add(key.author_id)
    pages: dict[tuple[tuple[int, int | None, bool], int], Page[Message]] = {}
    for shape, authors in groups.items():
        size, position, with_hidden = shape
        found = await _by_authors(sorted(authors), size, position, with_hidden)
        for author in authors:
            rows = found.get(author, [])
            pages[(shape, author)] = make_page(
                rows, [r.id for r in rows], size, after=position is not None
            )
    return [pages[(key.shape, key.author_id)] for key in keys]


AuthorCountKey = tuple[int, bool]  # (author id, with hidden ones: staff)


async def author_message_counts(keys: Sequence[AuthorCountKey]) -> list[int]:
    """Batch for the author_count loader: how many public messages each member's list
    holds (in threads, never deleted; hidden ones only when the key says so): one
    statement per kind of reader."""
    counts: dict[AuthorCountKey, int] = {}
    for with_hidden in (False, True):
        authors = [author for author, hidden in keys if hidden is with_hidden]
        if authors:
            query = Message.filter(
                author_id__in=authors, thread_id__isnull=False, deleted_at__isnull=True
            )
            if not with_hidden:
                query = query.filter(hidden_at__isnull=True)
            cachekeys.depends(map(cachekeys.member, authors))
            with cachekeys.attributed():
                rows = (
                    await query.group_by("author_id")
                    .annotate(count=Count("id"))
                    .values_list("author_id", "count")
                )
            counts.update(((author, with_hidden), count) for author, count in rows)
    return [counts.get(key, 0) for key in keys]


async def _by_authors(
    authors: list[int], size: int, position: int | None, with_hidden: bool
) -> dict[int, list[Message]]:
    marks = ", ".join(placeholders(2, len(authors)))  # placeholders only, never values
    selected = ", ".join(f'"{name}"' for name in columns(Message))
    hidden = "" if with_hidden else "AND hidden_at IS NULL "
    sql = (
        f"SELECT {selected} FROM (SELECT {selected}, ROW_NUMBER() OVER "  # noqa: S608
        "(PARTITION BY author_id ORDER BY id DESC) AS rn FROM messages "
        f"WHERE author_id IN ({marks}) AND thread_id IS NOT NULL AND deleted_at IS NULL "
        f"{hidden}AND id < {{1}}) AS numbered WHERE rn <= {{0}} ORDER BY id DESC"
    )
    bound = position if position is not None else 2**62
    found: dict[int, list[Message]] = {}
    cachekeys.depends(map(cachekeys.member, authors))
    with cachekeys.attributed():
        rows = await fetch(sql, [size + 1, bound, *authors])
    for row in rows:
        message = Message._init_from_db(**row)
        found.setdefault(message.author_id, []).append(message)  # type: ignore[attr-defined]
    return found
