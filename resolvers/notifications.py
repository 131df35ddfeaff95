"""Notifications: who is told what, their list, read marks, per-kind settings, watched
threads, and the purge of old read ones.

A notification only points at a thread, message or conversation; whoever shows it
resolves those through the usual read rules, so it never shows more than the
recipient may read at that moment.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from models.accounts import User
from models.blocks import Block
from models.messages import Message, Thread
from models.notifications import Notification, NotificationKind, NotificationSetting, ThreadWatch
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


async def choices(user_ids: Iterable[int], kind: NotificationKind) -> dict[int, Choice]:
    """Each member's setting for one kind (the defaults where they never chose)."""
    ids = list(user_ids)
    rows = await NotificationSetting.filter(user_id__in=ids, kind=kind)
    found = {row.user_id: Choice(row.in_app, row.email) for row in rows}  # type: ignore[attr-defined]
    return {id_: found.get(id_, DEFAULT) for id_ in ids}


async def notify(
    call: Call,
    recipients: Iterable[int],
    kind: NotificationKind,
    actor: User | None,
    **about: int | str | None,
) -> list[Notification]:
    """Tell members something (after the write it is about committed). Never the actor
    themself, never a member who blocked the actor; each member's setting for the kind
    decides whether it shows in the app and whether it is mailed."""
    wanted = set(recipients) - ({actor.id} if actor is not None else set())
    if actor is not None and wanted:
        blockers = await Block.filter(blocker_id__in=list(wanted), blocked_id=actor.id).values_list(
            "blocker_id", flat=True
        )
        wanted -= set(blockers)
    settings = await choices(sorted(wanted), kind)
    made = []
    for user_id, choice in settings.items():
        if not (choice.in_app or choice.email):
            continue
        row = await Notification.create(
            recipient_id=user_id,
            kind=kind,
            actor_id=actor.id if actor is not None else None,
            in_app=choice.in_app,
            mail_pending=choice.email,
            **{f"{name}_id" if name != "text" else name: value for name, value in about.items()},
        )
        made.append(row)
    for row in made:
        if row.in_app:
            await call.broker.publish(topic(row.recipient_id), row.id)  # type: ignore[attr-defined]
    return made


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
    await notify(call, [member_id], NotificationKind.MODERATION, None, **about)


# ---------------------------------------------------------------- watched threads


async def watch(user_id: int, thread_id: int) -> None:
    """A member watches a thread; watching twice changes nothing."""
    # A concurrent watch of the same thread may win the race: the result is the same.
    with contextlib.suppress(IntegrityError):
        await ThreadWatch.get_or_create(user_id=user_id, thread_id=thread_id)


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


async def watchers(thread_id: int) -> list[int]:
    """The members watching a thread."""
    return list(await ThreadWatch.filter(thread_id=thread_id).values_list("user_id", flat=True))


async def replied(
    call: Call, author: User, thread_id: int, message: Message, mentioned: set[int]
) -> None:
    """After a reply committed: the author now watches the thread, and its other
    watchers hear of it (REPLY), except the members the message mentioned, who were
    told of it as MENTION (nobody is told twice of one message)."""
    await watch(author.id, thread_id)
    readers = set(await watchers(thread_id)) - mentioned
    await notify(
        call, readers, NotificationKind.REPLY, author, thread=thread_id, message=message.id
    )
