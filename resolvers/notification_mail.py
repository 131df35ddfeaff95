"""Notification mail: batched per member and kind, sent through the outbox, each with a
one-click unsubscribe (RFC 8058) for its kind.

A member's notifications of one kind that want a mail wait until the oldest of them is
NOTIFICATION_MAIL_DELAY_SECONDS old; then one mail lists them all. The rows are claimed
under a row lock (PostgreSQL; SQLite has one writer) in the transaction that writes the
outbox mail, so of several workers exactly one sends each batch.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from tortoise.functions import Min
from tortoise.transactions import in_transaction

from models.accounts import User
from models.messages import Thread
from models.notifications import Notification, NotificationKind, NotificationSetting
from resolvers.mails import link
from services.mail import enqueue
from services.settings import Settings
from services.tokens import sign, signed_by_any

log = logging.getLogger("forum.notifications")
UNSUBSCRIBE_PATH = "/notifications/unsubscribe"
SUBJECTS = {
    NotificationKind.REPLY: "New replies in threads you watch",
    NotificationKind.MENTION: "You were mentioned",
    NotificationKind.CONVERSATION_MESSAGE: "New messages in your conversations",
    NotificationKind.NEW_FOLLOWER: "New followers",
    NotificationKind.MODERATION: "A note from the moderators",
}


def unsubscribe_signature(settings: Settings, user_id: int, kind: NotificationKind) -> str:
    """The signature that lets one kind's unsubscribe link work without signing in."""
    return sign(settings.key, f"notification-unsubscribe:{user_id}:{kind.value}")[:32]


def unsubscribe_link_ok(
    settings: Settings, user_id: int, kind: NotificationKind, signature: str
) -> bool:
    """Does one kind's unsubscribe link carry a signature of ours (an old key's counts
    until `rotate-keys --finish` and the key leaves SECRET_KEY)?"""
    value = f"notification-unsubscribe:{user_id}:{kind.value}"
    return signed_by_any(settings.secret_keys, value, signature, 32)


def unsubscribe_url(settings: Settings, user_id: int, kind: NotificationKind) -> str:
    """The one-click link that stops one kind's mail for a member."""
    sig = unsubscribe_signature(settings, user_id, kind)
    return link(settings, UNSUBSCRIBE_PATH, u=str(user_id), k=kind.value, sig=sig)


async def unsubscribe(user_id: int, kind: NotificationKind) -> None:
    """Stop one kind's mail (the caller checked the signature); twice is harmless."""
    row, _ = await NotificationSetting.get_or_create(user_id=user_id, kind=kind)
    row.email = False
    await row.save(update_fields=["email"])
    await Notification.filter(recipient_id=user_id, kind=kind, mail_pending=True).update(
        mail_pending=False
    )


async def send_due(settings: Settings, now: datetime | None = None) -> int:
    """Mail every batch whose oldest notification waited the delay; how many mails."""
    now = now or datetime.now(UTC)
    cut = now - timedelta(seconds=settings.notification_mail_delay_seconds)
    due = (
        await Notification.filter(mail_pending=True)
        .annotate(oldest=Min("created_at"))
        .group_by("recipient_id", "kind")
        .values("recipient_id", "kind", "oldest")
    )
    sent = 0
    for batch in due:
        if batch["oldest"] <= cut:
            sent += await _send_batch(
                settings, batch["recipient_id"], NotificationKind(batch["kind"])
            )
    return sent


async def _send_batch(settings: Settings, user_id: int, kind: NotificationKind) -> int:
    async with in_transaction():
        rows = (
            await Notification.filter(recipient_id=user_id, kind=kind, mail_pending=True)
            .select_for_update()
            .order_by("id")
        )
        if not rows:
            return 0  # another worker sent this batch
        await Notification.filter(id__in=[row.id for row in rows]).update(mail_pending=False)
        user = await User.get_or_none(id=user_id, deleted_at__isnull=True)
        if user is None or not user.confirmed:
            return 0
        actor_ids = {row.actor_id for row in rows if row.actor_id}  # type: ignore[attr-defined]
        thread_ids = {row.thread_id for row in rows if row.thread_id}  # type: ignore[attr-defined]
        actors = {u.id: u for u in await User.filter(id__in=actor_ids, deleted_at__isnull=True)}
        threads = {t.id: t for t in await Thread.filter(id__in=thread_ids)}
        lines = [_line(row, actors, threads) for row in rows]
        url = unsubscribe_url(settings, user_id, kind)
        body = (
            f"Hello {user.username},\n\n"
            + "".join(f"- {line}\n" for line in lines)
            + f"\nRead them on {settings.public_url.rstrip('/')}\n\n--\n"
            f"Stop these mails (this kind only): {url}\n"
        )
        headers = {
            "List-Unsubscribe": f"<{url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
        await enqueue(user.email, SUBJECTS[kind], body, headers)
    return 1


def _line(row: Notification, actors: dict[int, User], threads: dict[int, Thread]) -> str:
    """One notification in a mail: who and which public thread, never a message's text
    or a conversation's title (the member reads those, as they may, on the site)."""
    actor = actors.get(row.actor_id)  # type: ignore[attr-defined]
    who = actor.username if actor is not None else "Someone"
    thread = threads.get(row.thread_id)  # type: ignore[attr-defined]
    where = f' in "{thread.title}"' if thread is not None else ""
    if row.kind is NotificationKind.REPLY:
        return f"{who} replied{where}"
    if row.kind is NotificationKind.MENTION:
        return f"{who} mentioned you{where}"
    if row.kind is NotificationKind.CONVERSATION_MESSAGE:
        return f"{who} wrote in one of your conversations"
    if row.kind is NotificationKind.NEW_FOLLOWER:
        return f"{who} started following you"
    return row.text or "The moderators acted on your account"


def tick_seconds(settings: Settings) -> float:
    """How often the mail task looks for due batches: often enough that a batch waits
    little past its delay, at most every 30 seconds, at least every second."""
    return min(30.0, max(1.0, settings.notification_mail_delay_seconds / 10))


async def mail_loop(settings: Settings) -> None:
    """The server's notification task: send due batches each tick (old read notifications
    go with the retention job, resolvers/retention.py)."""
    while True:
        try:
            await send_due(settings, datetime.now(UTC))
        except Exception:  # the loop must outlive a database hiccup
            log.exception("notification mail round failed")
        await asyncio.sleep(tick_seconds(settings))
