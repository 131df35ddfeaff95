"""Retention: records kept only as long as their purpose needs them (README, Privacy).

Deletes run in batches of BATCH rows, each batch its own short transaction, so purging a
million rows never holds a lock that writers wait behind for long."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.queryset import QuerySet

from models.accounts import EmailToken, PendingRegistration
from models.activity import PageView, Visit
from models.limits import RateCounter
from models.mail import OutboxMail
from models.notifications import Notification
from models.operations import Lease
from models.sessions import Session
from services.settings import Settings

BATCH = 5000
LEASE = "retention"
log = logging.getLogger("forum.retention")


@dataclass(frozen=True)
class Windows:
    """How long each kind of record is kept, in days."""

    mail_days: int
    activity_days: int
    notification_days: int = 90  # read notifications; unread ones stay until read

    @classmethod
    def of(cls, settings: Settings) -> Windows:
        """The windows the settings give."""
        return cls(
            settings.mail_keep_days, settings.activity_keep_days, settings.notification_keep_days
        )


@dataclass(frozen=True)
class Kind:
    """One kind of record and the query for its rows that are due for deletion."""

    name: str
    due: Callable[[datetime], QuerySet]


def kinds(windows: Windows) -> list[Kind]:
    """Every kind of record the purge deletes, in the order it deletes them."""
    mail = timedelta(days=windows.mail_days)
    activity = timedelta(days=windows.activity_days)
    notes = timedelta(days=windows.notification_days)
    return [
        Kind("sessions", lambda now: Session.filter(expires_at__lt=now)),
        Kind("revoked sessions", lambda now: Session.filter(revoked_at__lt=now)),
        Kind("used tokens", lambda now: EmailToken.filter(used_at__lt=now)),
        Kind("expired tokens", lambda now: EmailToken.filter(expires_at__lt=now)),
        Kind("pending registrations", lambda now: PendingRegistration.filter(expires_at__lt=now)),
        Kind("sent mail", lambda now: OutboxMail.filter(sent_at__lt=now - mail)),
        Kind("rate-limit counters", lambda now: RateCounter.filter(expires_at__lt=now.timestamp())),
        # Page views before their visits: a visit's views are never younger than the visit.
        Kind("page views", lambda now: PageView.filter(created_at__lt=now - activity)),
        Kind("visits", lambda now: Visit.filter(ended_at__lt=now - activity)),
        Kind("read notifications", lambda now: Notification.filter(read_at__lt=now - notes)),
    ]


async def due_counts(windows: Windows, now: datetime) -> dict[str, int]:
    """How many rows of each kind are due for deletion at `now`."""
    return {kind.name: await kind.due(now).count() for kind in kinds(windows)}


async def purge(
    windows: Windows, now: datetime, progress: Callable[[str, int], None] | None = None
) -> dict[str, int]:
    """Delete every due row, batch by batch; rows deleted per kind. `progress` hears each
    batch (kind, rows)."""
    deleted: dict[str, int] = {}
    for kind in kinds(windows):
        deleted[kind.name] = 0
        while True:
            count = await _delete_batch(kind.due(now))
            deleted[kind.name] += count
            if progress is not None and count:
                progress(kind.name, count)
            if count < BATCH:
                break
    return deleted


async def _delete_batch(due: QuerySet) -> int:
    model: type[Model] = due.model
    pk = model._meta.pk_attr
    keys = await due.limit(BATCH).values_list(pk, flat=True)
    if not keys:
        return 0
    return await model.filter(**{f"{pk}__in": list(keys)}).delete()


async def take_turn(name: str, every: timedelta, now: datetime) -> bool:
    """Claim the job `name` for the next `every` if no worker (of any host) holds it."""
    with contextlib.suppress(IntegrityError):  # another worker created it first: fine
        await Lease.get_or_create(name=name, defaults={"until": now})
    holder = f"{socket.gethostname()}:{os.getpid()}"[:80]
    claimed = await Lease.filter(name=name, until__lte=now).update(until=now + every, holder=holder)
    return claimed == 1


async def purge_periodically(windows: Windows, every: timedelta) -> None:
    """Inside `serve`: every `every`, purge if this worker's turn (one worker at a time,
    across hosts, through the lease row). Runs until cancelled."""
    while True:
        await asyncio.sleep(every.total_seconds())
        try:
            now = datetime.now(UTC)
            if await take_turn(LEASE, every, now):
                started = time.perf_counter()
                deleted = await purge(windows, now)
                # Counts per kind only: nothing in a record says whose it was.
                log.info("retention purge", extra={"deleted": deleted,
                         "duration_ms": round((time.perf_counter() - started) * 1000)})  # fmt: skip
        except Exception:  # the next turn tries again; the fault is logged, never shown
            log.exception("retention purge failed")
