"""Forums and their public threads."""

from __future__ import annotations

from collections.abc import Sequence

from tortoise.functions import Count
from tortoise.transactions import in_transaction

from models.forums import Forum
from models.messages import Message, Thread
from resolvers import mentions, notifications
from resolvers.access import require_writer
from resolvers.codes import ForumCode
from resolvers.common import Call, Refused
from resolvers.messages import clean_body, post
from resolvers.pagination import Page, decode_cursor, make_page, page_size

TITLE_MIN, TITLE_MAX = 3, 150


def clean_title(title: str) -> str:
    """A thread or conversation title fit to store, or a Refused."""
    title = " ".join(title.split())
    if not TITLE_MIN <= len(title) <= TITLE_MAX:
        message = f"Titles are {TITLE_MIN} to {TITLE_MAX} characters long."
        raise Refused(ForumCode.TITLE_LENGTH, message, "title")
    return title


async def forums() -> list[Forum]:
    """Every forum, in display order."""
    return await Forum.all().order_by("position", "id")


async def forum_by_slug(slug: str) -> Forum | None:
    """A forum by its slug."""
    return await Forum.get_or_none(slug=slug[:60])


async def forums_by_id(ids: Sequence[int]) -> list[Forum | None]:
    """Batch for the forum loader."""
    rows = {row.id: row for row in await Forum.filter(id__in=ids)}
    return [rows.get(id_) for id_ in ids]


async def threads_by_id(ids: Sequence[int]) -> list[Thread | None]:
    """Batch for the thread loader."""
    rows = {row.id: row for row in await Thread.filter(id__in=ids)}
    return [rows.get(id_) for id_ in ids]


async def thread_page(forum_id: int, first: int | None, after: str | None) -> Page[Thread]:
    """A forum's threads, most recently active first."""
    size = page_size(first)
    position = decode_cursor("Activity", after)
    query = Thread.filter(forum_id=forum_id)
    if position is not None:
        query = query.filter(last_message_id__lt=position)
    rows = await query.order_by("-last_message_id").limit(size + 1)
    return make_page(rows, [r.last_message_id for r in rows], size, after=position is not None)


async def thread_counts(forum_ids: Sequence[int]) -> list[int]:
    """Batch for the thread_count loader: how many threads each forum holds (one
    statement)."""
    rows = (
        await Thread.filter(forum_id__in=forum_ids)
        .group_by("forum_id")
        .annotate(count=Count("id"))
        .values_list("forum_id", "count")
    )
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


async def post_message(call: Call, thread_id: int, body: str) -> Message:
    """Add a message to a thread."""
    author = require_writer(call)
    body = clean_body(body)
    thread = await Thread.get_or_none(id=thread_id)
    if thread is None:
        raise Refused(ForumCode.THREAD_NOT_FOUND, "There is no such thread.", "threadId")
    await call.limits.hit("post-member", str(author.id))
    await call.limits.hit("post-client", call.client_key)  # many accounts, one client
    members = await mentions.mentioned_members(body)
    async with in_transaction():
        message = await post(call, author, body, members, thread_id=thread.id)
        await Thread.filter(id=thread.id).update(last_message_id=message.id)
    await call.broker.publish(f"thread:{thread.id}", message.id)
    mentioned = await mentions.notify_mentions(call, author, message, members)
    await notifications.replied(call, author, thread.id, message, mentioned)
    return message
