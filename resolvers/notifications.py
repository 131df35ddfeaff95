"""Notifications: who is told what, their list, read marks, per-kind settings, watched
threads, and the purge of old read ones.

A notification only points at a thread, message or conversation; whoever shows it
resolves those through the usual read rules, so it never shows more than the
recipient may read at that moment.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.expressions import Q

from models.accounts import User
from models.messages import Message, Thread
from models.notifications import Notification, NotificationKind, NotificationSetting, ThreadWatch
from models.sql import fetch, on_postgres, placeholders
from resolvers.access import require_member
from resolvers.codes import ChangeCode, ForumCode, NotificationCode
from resolvers.common import Call, Refused
from resolvers.pagination import Page, id_page

MARK_MAX = 100  # ids one markNotificationsRead may name


def topic(user_id: int) -> str:
    """The broker topic of one member's new notifications."""
    return f"notifications:{user_id}"


@dataclass(frozen=True)
class Choice:
    """A member's setting for one kind: shown in the app, mailed."""

    in_app: bool = True
    email: bool = False


DEFAULT = Choice()


@dataclass(frozen=True)
class Recipients:
    """Whom a notification may go to, as SQL: a SELECT of member ids (column `member`,
    each id once) whose placeholders are numbered from {0}, and their values."""

    sql: str
    values: tuple[int, ...]


NOBODY = Recipients("SELECT id AS member FROM users WHERE 1 = 0", ())


def members(ids: Iterable[int]) -> Recipients:
    """These members (ids that are no member's are left out)."""
    found = tuple(sorted(set(ids)))
    if not found:
        return NOBODY
    marks = ", ".join(placeholders(0, len(found)))  # placeholders only, never values
    return Recipients(f"SELECT id AS member FROM users WHERE id IN ({marks})", found)  # noqa: S608


def watchers(thread_id: int, leaving_out: Iterable[int] = ()) -> Recipients:
    """The members watching a thread, but those `leaving_out` names."""
    left_out = tuple(sorted(set(leaving_out)))
    sql = "SELECT user_id AS member FROM thread_watches WHERE thread_id = {0}"
    if left_out:
        marks = ", ".join(placeholders(1, len(left_out)))  # placeholders only, never values
        sql += f" AND user_id NOT IN ({marks})"
    return Recipients(sql, (thread_id, *left_out))


def participants(conversation_id: int) -> Recipients:
    """The members taking part in a conversation (joined and not left)."""
    sql = (
        "SELECT user_id AS member FROM participants WHERE conversation_id = {0} AND left_at IS NULL"
    )
    return Recipients(sql, (conversation_id,))


# What a notification can be about: its columns, in the order `notify` binds them.
_ABOUT = ("thread_id", "message_id", "conversation_id", "text")


def _notify_sql(source: Recipients, has_actor: bool, postgres: bool) -> str:
    """The one statement of `notify`. {0} kind, {1} actor, {2}-{5} _ABOUT, {6} and {7}
    the default in_app and email, {8} now; the recipients' placeholders follow. PostgreSQL
    types each value (a bare parameter in a SELECT list reads as text there)."""

    def bound(slot: int, sql_type: str) -> str:
        return f"CAST({{{slot}}} AS {sql_type})" if postgres else f"{{{slot}}}"

    shifted = source.sql.format(*(f"{{{9 + i}}}" for i in range(len(source.values))))
    kind, actor, text = bound(0, "VARCHAR(24)"), bound(1, "BIGINT"), bound(5, "VARCHAR(500)")
    ids = ", ".join(bound(slot, "BIGINT") for slot in (2, 3, 4))
    in_app = f"COALESCE(s.in_app, {bound(6, 'BOOLEAN')})"
    email = f"COALESCE(s.email, {bound(7, 'BOOLEAN')})"
    # Never the actor themself, never a member who blocked the actor.
    not_actor = (
        f"AND r.member <> {actor} AND NOT EXISTS (SELECT 1 FROM blocks b "  # noqa: S608
        f"WHERE b.blocker_id = r.member AND b.blocked_id = {actor}) "
        if has_actor
        else ""
    )
    return (
        "INSERT INTO notifications (recipient_id, kind, actor_id, thread_id, message_id, "  # noqa: S608 - placeholders only
        'conversation_id, "text", in_app, mail_pending, created_at) '
        f"SELECT r.member, {kind}, {actor}, {ids}, {text}, {in_app}, {email}, "
        f"{bound(8, 'TIMESTAMPTZ')} FROM ({shifted}) AS r "
        f"LEFT JOIN notification_settings s ON s.user_id = r.member AND s.kind = {kind} "
        f"WHERE ({in_app} OR {email}) {not_actor}"
        "ORDER BY r.member RETURNING id, recipient_id, in_app"
    )


async def notify(
    call: Call,
    recipients: Recipients,
    kind: NotificationKind,
    actor: User | None,
    **about: int | str | None,
) -> None:
    """Tell members something (after the write it is about committed). Never the actor
    themself, never a member who blocked the actor; each member's setting for the kind
    decides whether it shows in the app and whether it is mailed. One statement, however
    many members: the recipients, blocks and settings are read by the insert itself; then
    a notificationAdded event for each one shown in the app."""
    unknown = set(about) - {name.removesuffix("_id") for name in _ABOUT}
    assert not unknown, unknown  # a caller's mistake, never a member's input
    if recipients == NOBODY:
        return
    values: list[object] = [
        kind.value,
        actor.id if actor is not None else None,
        *(about.get(name.removesuffix("_id")) for name in _ABOUT),
        DEFAULT.in_app,
        DEFAULT.email,
        datetime.now(UTC),
        *recipients.values,
    ]
    rows = await fetch(_notify_sql(recipients, actor is not None, on_postgres()), values)
    for row in sorted(rows, key=lambda row: row["id"]):
        if row["in_app"]:
            await call.broker.publish(topic(row["recipient_id"]), row["id"])


def _shown(viewer: User, blocked: frozenset[int]) -> Q:
    """The viewer's notifications the list shows: in-app ones, none from a member they
    blocked (blocking later hides the earlier ones too)."""
    query = Q(recipient_id=viewer.id, in_app=True)
    if blocked:
        query &= Q(Q(actor_id__isnull=True) | Q(actor_id__not_in=list(blocked)))
    return query


async def notification_page(
    call: Call, blocked: frozenset[int], first: int | None, after: str | None, unread_only: bool
) -> Page[Notification]:
    """The viewer's notifications, newest first."""
    viewer = require_member(call)
    query = Notification.filter(_shown(viewer, blocked))
    if unread_only:
        query = query.filter(read_at__isnull=True)
    return await id_page(query, "Notification", first, after, newest_first=True)


async def unread_count(viewer: User, blocked: frozenset[int]) -> int:
    """How many notifications the list shows the viewer unread."""
    return await Notification.filter(_shown(viewer, blocked), read_at__isnull=True).count()


async def notification_of(
    viewer: User | None, blocked: frozenset[int], notification_id: int
) -> Notification | None:
    """One notification if it is the viewer's and the list would show it."""
    if viewer is None:
        return None
    return await Notification.filter(_shown(viewer, blocked), id=notification_id).first()


async def mark_read(
    call: Call, blocked: frozenset[int], ids: Sequence[int] | None, everything: bool
) -> int:
    """Mark some (or all) of the viewer's notifications read; ids of anything else mark
    nothing and say nothing. Returns the viewer's unread count afterwards."""
    viewer = require_member(call)
    if (ids is None) == (not everything) or (ids is not None and len(ids) > MARK_MAX):
        message = f"Pass either `ids` (at most {MARK_MAX}) or `all: true`."
        raise Refused(NotificationCode.IDS_OR_ALL, message, "ids")
    query = Notification.filter(recipient_id=viewer.id, read_at__isnull=True)
    if ids is not None:
        query = query.filter(id__in=list(ids))
    await query.update(read_at=datetime.now(UTC))
    return await unread_count(viewer, blocked)


async def settings_of(user_id: int) -> list[tuple[NotificationKind, Choice]]:
    """A member's setting for every kind, in the kinds' order."""
    rows = await NotificationSetting.filter(user_id=user_id)
    found = {row.kind: Choice(row.in_app, row.email) for row in rows}
    return [(kind, found.get(kind, DEFAULT)) for kind in NotificationKind]


async def update_setting(
    call: Call, kind: NotificationKind, in_app: bool | None, email: bool | None
) -> tuple[NotificationKind, Choice]:
    """Change the viewer's setting for one kind (None keeps a value)."""
    viewer = require_member(call)
    if in_app is None and email is None:
        raise Refused(ChangeCode.NOTHING_TO_CHANGE, "Say inApp, email or both.")
    row, _ = await NotificationSetting.get_or_create(user_id=viewer.id, kind=kind)
    if in_app is not None:
        row.in_app = in_app
    if email is not None:
        row.email = email
    await row.save()
    if not row.email:
        # Nothing of this kind waits for a mail any more.
        await Notification.filter(recipient_id=viewer.id, kind=kind, mail_pending=True).update(
            mail_pending=False
        )
    return kind, Choice(row.in_app, row.email)


TEXT_MAX = 500


async def moderated(call: Call, member_id: int | None, text: str, message: Message | None) -> None:
    """Tell a member what staff did (MODERATION). No actor: the member sees the action
    and its reason, not which staff member took it."""
    if member_id is None:
        return  # an erased author: nobody to tell
    about: dict[str, int | str | None] = {"text": text[:TEXT_MAX]}
    if message is not None:
        about["message"] = message.id
        about["thread"] = message.thread_id  # type: ignore[attr-defined]
    await notify(call, members([member_id]), NotificationKind.MODERATION, None, **about)


# ---------------------------------------------------------------- watched threads


async def watch(user_id: int, thread_id: int) -> None:
    """A member watches a thread; watching twice changes nothing. One statement: a
    concurrent watch of the same thread (a second reply, say) meets the unique pair and
    changes nothing either."""
    sql = (
        "INSERT INTO thread_watches (user_id, thread_id, created_at) VALUES ({0}, {1}, {2}) "
        "ON CONFLICT (user_id, thread_id) DO NOTHING"
    )
    await fetch(sql, [user_id, thread_id, datetime.now(UTC)])


async def _thread(call: Call, thread_id: int) -> tuple[User, Thread]:
    viewer = require_member(call)
    thread = await Thread.get_or_none(id=thread_id)
    if thread is None:
        raise Refused(ForumCode.THREAD_NOT_FOUND, "There is no such thread.", "threadId")
    return viewer, thread


async def watch_thread(call: Call, thread_id: int) -> Thread:
    """Watch a thread: its replies notify the viewer (REPLY)."""
    viewer, thread = await _thread(call, thread_id)
    await watch(viewer.id, thread.id)
    return thread


async def unwatch_thread(call: Call, thread_id: int) -> Thread:
    """Stop watching a thread (also one the viewer started or replied in)."""
    viewer, thread = await _thread(call, thread_id)
    await ThreadWatch.filter(user_id=viewer.id, thread_id=thread.id).delete()
    return thread


def watches_loader(viewer: User | None) -> Callable[[Sequence[int]], Awaitable[list[bool]]]:
    """Batch for one request: does the viewer watch each of these threads?"""

    async def viewer_watches(ids: Sequence[int]) -> list[bool]:
        if viewer is None:
            return [False] * len(ids)
        watched = set(
            await ThreadWatch.filter(user_id=viewer.id, thread_id__in=ids).values_list(
                "thread_id", flat=True
            )
        )
        return [id_ in watched for id_ in ids]

    return viewer_watches


async def replied(
    call: Call,
    author: User,
    thread_id: int,
    message: Message,
    mentioned: set[int],
    *,
    watching: bool = False,
) -> None:
    """After a reply committed: the author now watches the thread (`watching`: they
    did already, nothing to write), and its other watchers hear of it (REPLY), except
    the members the message mentioned, who were told of it as MENTION (nobody is told
    twice of one message)."""
    if not watching:
        await watch(author.id, thread_id)
    readers = watchers(thread_id, leaving_out=mentioned)
    await notify(
        call, readers, NotificationKind.REPLY, author, thread=thread_id, message=message.id
    )
