"""Forums and their public threads: reading, writing, and the staff's forum and
thread tools."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from models.forums import Forum
from models.messages import Message, Thread
from models.rows import Shape, ThreadRow
from models.sql import columns, fetch, placeholders
from resolvers import mentions, notifications
from resolvers.access import require_admin, require_staff, require_writer
from resolvers.audit import action_reason, audit
from resolvers.codes import ChangeCode, ForumCode
from resolvers.common import Call, Refused, in_key_order
from resolvers.messages import clean_body, post, refuse_if_locked
from resolvers.pagination import Page, decode_cursor, make_page, page_size
from services import cachekeys

TITLE_MIN, TITLE_MAX = 3, 150
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
SLUG_MIN, SLUG_MAX = 2, 60
FORUM_TITLE_MAX, DESCRIPTION_MAX = 120, 2000
POSITION_MIN, POSITION_MAX = -(2**31), 2**31 - 1
# A pinned thread's cursor key: its activity plus this, so one integer orders pinned
# threads before the rest (message ids stay far below it).
PINNED = 10**17


def clean_title(title: str) -> str:
    """A thread or conversation title fit to store, or a Refused."""
    title = " ".join(title.split())
    if not TITLE_MIN <= len(title) <= TITLE_MAX:
        message = f"Titles are {TITLE_MIN} to {TITLE_MAX} characters long."
        raise Refused(ForumCode.TITLE_LENGTH, message, "title")
    return title


async def forums() -> list[Forum]:
    """Every forum, in display order (any forum's change moves the site-wide key)."""
    with cachekeys.attributed():
        return await Forum.all().order_by("position", "id")


async def forum_by_slug(slug: str) -> Forum | None:
    """A forum by its slug (a new or renamed forum moves the site-wide key)."""
    with cachekeys.attributed():
        return await Forum.get_or_none(slug=slug[:60])


async def forums_by_id(ids: Sequence[int]) -> list[Forum | None]:
    """Batch for the forum loader."""
    with cachekeys.attributed():
        rows = await Forum.filter(id__in=ids)
    cachekeys.depends(map(cachekeys.forum, ids))
    return in_key_order(rows, ids)


_THREAD = Shape(ThreadRow, Thread)  # plain rows for pages (models/rows.py)


@cache
def _threads_sql(count: int) -> str:
    marks = ", ".join(placeholders(0, count))  # placeholders only, never values
    return f"SELECT {_THREAD.select_list()} FROM threads WHERE id IN ({marks})"  # noqa: S608


async def threads_by_id(ids: Sequence[int]) -> list[ThreadRow | None]:
    """Batch for the thread loader: plain rows, in key order."""
    with cachekeys.attributed():
        rows = _THREAD.build_all(await fetch(_threads_sql(len(ids)), list(ids)))
    cachekeys.depends(map(cachekeys.thread, ids))
    return in_key_order(rows, ids)


def activity_key(thread: Thread) -> int:
    """A thread's place in its forum's list, as one integer: pinned first, then by
    latest activity."""
    return thread.last_message_id + (PINNED if thread.pinned else 0)


async def thread_page(forum_id: int, first: int | None, after: str | None) -> Page[Thread]:
    """A forum's threads: pinned ones first, each part most recently active first."""
    size = page_size(first)
    position = decode_cursor("Activity", after)
    query = Thread.filter(forum_id=forum_id)
    if position is not None and position >= PINNED:
        query = query.filter(
            Q(pinned=True, last_message_id__lt=position - PINNED) | Q(pinned=False)
        )
    elif position is not None:
        query = query.filter(pinned=False, last_message_id__lt=position)
    with cachekeys.attributed():
        rows = await query.order_by("-pinned", "-last_message_id").limit(size + 1)
    cachekeys.depends(cachekeys.forum_threads(forum_id))
    return make_page(rows, [activity_key(r) for r in rows], size, after=position is not None)


async def thread_counts(forum_ids: Sequence[int]) -> list[int]:
    """Batch for the thread_count loader: how many threads each forum holds (one
    statement)."""
    with cachekeys.attributed():
        rows = (
            await Thread.filter(forum_id__in=forum_ids)
            .group_by("forum_id")
            .annotate(count=Count("id"))
            .values_list("forum_id", "count")
        )
    for forum_id in forum_ids:
        cachekeys.depends(cachekeys.forum_threads(forum_id))
    counts = dict(rows)
    return [counts.get(forum_id, 0) for forum_id in forum_ids]


async def create_thread(call: Call, forum_id: int, title: str, body: str) -> Thread:
    """Open a thread with its first message, both recording the writer's address."""
    author = require_writer(call)
    title, body = clean_title(title), clean_body(body)
    forum = await Forum.get_or_none(id=forum_id)
    if forum is None:
        raise Refused(ForumCode.FORUM_NOT_FOUND, "There is no such forum.", "forumId")
    await call.limits.hit("thread-member", str(author.id))
    members = await mentions.mentioned_members(body)
    async with in_transaction():
        thread = await Thread.create(forum=forum, author=author, title=title, **call.ip_columns)
        message = await post(call, author, body, members, thread_id=thread.id)
        thread.last_message_id = message.id
        await thread.save(update_fields=["last_message_id"])
    await call.broker.publish(f"thread:{thread.id}", message.id)
    await notifications.watch(author.id, thread.id)  # starting a thread watches it
    await mentions.notify_mentions(call, author, message, members)
    return thread


async def _reply_target(thread_id: int, author_id: int) -> tuple[Thread | None, bool]:
    """The thread a member replies in (None if there is none) and whether they watch it
    already, in one statement: a member's replies in a thread they watch write no watch."""
    selected = ", ".join(f't."{column}"' for column in columns(Thread))
    sql = (
        f"SELECT {selected}, EXISTS (SELECT 1 FROM thread_watches w "  # noqa: S608 - our columns
        "WHERE w.thread_id = t.id AND w.user_id = {1}) AS watching "
        "FROM threads t WHERE t.id = {0}"
    )
    rows = await fetch(sql, [thread_id, author_id])
    if not rows:
        return None, False
    row = rows[0]
    thread = Thread._init_from_db(**{column: row[column] for column in columns(Thread)})
    return thread, bool(row["watching"])


async def post_message(call: Call, thread_id: int, body: str) -> Message:
    """Add a message to a thread."""
    author = require_writer(call)
    body = clean_body(body)
    thread, watching = await _reply_target(thread_id, author.id)
    if thread is None:
        raise Refused(ForumCode.THREAD_NOT_FOUND, "There is no such thread.", "threadId")
    refuse_if_locked(author, thread)
    await call.limits.hit("post-member", str(author.id))
    await call.limits.hit("post-client", call.client_key)  # many accounts, one client
    members = await mentions.mentioned_members(body)
    async with in_transaction():
        message = await post(call, author, body, members, thread_id=thread.id)
        await Thread.filter(id=thread.id).update(last_message_id=message.id)
    await call.broker.publish(f"thread:{thread.id}", message.id)
    mentioned = await mentions.notify_mentions(call, author, message, members)
    await notifications.replied(call, author, thread.id, message, mentioned, watching=watching)
    return message


# ---------------------------------------------------------------- forums, by admins


@dataclass(frozen=True)
class ForumChange:
    """What createForum or updateForum asks for; None leaves a value as it is."""

    slug: str | None = None
    title: str | None = None
    description: str | None = None
    position: int | None = None
    reason: str | None = None


def _clean_forum(change: ForumChange) -> dict[str, object]:
    """The columns a forum change sets, checked (a Refused names the first bad one)."""
    values: dict[str, object] = {}
    if change.slug is not None:
        if not (SLUG_MIN <= len(change.slug) <= SLUG_MAX and SLUG.fullmatch(change.slug)):
            message = (
                f"Slugs are {SLUG_MIN} to {SLUG_MAX} characters: lower-case letters, digits "
                "and single hyphens between them."
            )
            raise Refused(ForumCode.SLUG_INVALID, message, "slug")
        values["slug"] = change.slug
    if change.title is not None:
        title = " ".join(change.title.split())
        if not 1 <= len(title) <= FORUM_TITLE_MAX or "\x00" in title:
            message = f"Forum titles are 1 to {FORUM_TITLE_MAX} characters long."
            raise Refused(ForumCode.TITLE_LENGTH, message, "title")
        values["title"] = title
    if change.description is not None:
        description = change.description.strip()
        if len(description) > DESCRIPTION_MAX or "\x00" in description:
            message = f"Descriptions have at most {DESCRIPTION_MAX} characters."
            raise Refused(ForumCode.DESCRIPTION_TOO_LONG, message, "description")
        values["description"] = description or None  # empty clears it
    if change.position is not None:
        if not POSITION_MIN <= change.position <= POSITION_MAX:
            raise Refused(ForumCode.POSITION_INVALID, "That position is out of range.", "position")
        values["position"] = change.position
    return values


async def _save_forum(forum: Forum, values: dict[str, object]) -> None:
    """Write a forum's changed columns; a slug taken meanwhile is SLUG_TAKEN."""
    slug = values.get("slug")
    taken = Refused(ForumCode.SLUG_TAKEN, "Another forum has that slug.", "slug")
    if slug is not None and await Forum.filter(slug=slug).exclude(id=forum.id or 0).exists():
        raise taken
    for name, value in values.items():
        setattr(forum, name, value)
    try:
        await forum.save(update_fields=list(values) if forum.id else None)
    except IntegrityError as error:  # another admin chose the same slug at the same moment
        raise taken from error


def _reason(change: ForumChange) -> str | None:
    return action_reason(change.reason) if change.reason is not None else None


async def new_forum(change: ForumChange) -> tuple[Forum, list[str]]:
    """Write a new forum after checking every value (a Refused names the first bad one);
    return it with the names of the values given. No access check: callers decide (the
    API for admins, the command line for operators)."""
    if change.slug is None or change.title is None:
        raise Refused(ForumCode.SLUG_INVALID, "A forum needs a slug and a title.", "slug")
    values = _clean_forum(change)
    forum = Forum(position=0)
    await _save_forum(forum, values)
    return forum, sorted(values)


async def create_forum(call: Call, change: ForumChange) -> Forum:
    """A new forum (admins only); audited."""
    admin = require_admin(call)
    reason = _reason(change)
    forum, given = await new_forum(change)
    await audit(admin, "CREATE_FORUM", None, [f"forum:{forum.id}", *given], reason)
    return forum


async def update_forum(call: Call, forum_id: int, change: ForumChange) -> Forum:
    """Change any subset of a forum's slug, title, description and position (admins
    only); audited with the fields touched."""
    admin = require_admin(call)
    reason = _reason(change)
    values = _clean_forum(change)
    forum = await Forum.get_or_none(id=forum_id)
    if forum is None:
        raise Refused(ForumCode.FORUM_NOT_FOUND, "There is no such forum.", "forumId")
    if not values:
        raise Refused(ChangeCode.NOTHING_TO_CHANGE, "Say what to change.")
    await _save_forum(forum, values)
    await audit(admin, "UPDATE_FORUM", None, [f"forum:{forum.id}", *sorted(values)], reason)
    return forum


# ---------------------------------------------------------------- thread tools, by staff


@dataclass(frozen=True)
class ThreadChange:
    """What moderateThread asks for; None leaves a value as it is."""

    locked: bool | None = None
    pinned: bool | None = None
    title: str | None = None
    forum_id: int | None = None


async def _thread_values(change: ThreadChange) -> dict[str, object]:
    values: dict[str, object] = {}
    if change.locked is not None:
        values["locked"] = change.locked
    if change.pinned is not None:
        values["pinned"] = change.pinned
    if change.title is not None:
        values["title"] = clean_title(change.title)
    if change.forum_id is not None:
        if not await Forum.exists(id=change.forum_id):
            raise Refused(ForumCode.FORUM_NOT_FOUND, "There is no such forum.", "forumId")
        values["forum_id"] = change.forum_id
    return values


async def moderate_thread(call: Call, thread_id: int, reason: str, change: ThreadChange) -> Thread:
    """Lock, pin, rename or move a thread (staff); audited with the fields touched. A
    moved thread keeps its id, so its pages and subscribers follow it."""
    staff = require_staff(call)
    why = action_reason(reason)
    values = await _thread_values(change)
    if not values:
        raise Refused(ChangeCode.NOTHING_TO_CHANGE, "Say what to change.")
    thread = await Thread.get_or_none(id=thread_id)
    if thread is None:
        raise Refused(ForumCode.THREAD_NOT_FOUND, "There is no such thread.", "threadId")
    for name, value in values.items():
        setattr(thread, name, value)
    await thread.save(update_fields=list(values))
    touched = sorted(name.removesuffix("_id") for name in values)
    author = thread.author_id  # type: ignore[attr-defined]
    await audit(staff, "MODERATE_THREAD", author, [f"thread:{thread.id}", *touched], why)
    return thread
