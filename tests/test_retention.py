"""Retention: `purge` (and `serve`, one worker at a time) deletes expired sessions, used
and expired tokens, expired registrations, old sent mail, old rate-limit counters and
old activity, in batches, and keeps everything still within its purpose."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from models.accounts import EmailToken, PendingRegistration, TokenPurpose, User
from models.activity import PageView, Visit
from models.limits import RateCounter
from models.mail import OutboxMail
from models.notifications import Notification
from models.sessions import Session
from resolvers.retention import BATCH, Windows, purge, take_turn
from services.settings import Settings
from tests.support.harness import Client, Server
from tests.support.harness import test_settings as make_settings
from tests.support.members import member

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime.now(UTC)
DAY = timedelta(days=1)
WINDOWS = Windows(mail_days=30, activity_days=395)
KINDS = ["sessions", "revoked sessions", "used tokens", "expired tokens", "pending registrations",
         "sent mail", "rate-limit counters", "page views", "visits",
         "read notifications"]  # fmt: skip


def key() -> str:
    return uuid.uuid4().hex


async def session(user: User, expires: datetime, revoked: datetime | None = None) -> Session:
    return await Session.create(user=user, token_hash=key(), last_used_at=NOW - DAY,
                                expires_at=expires, revoked_at=revoked)  # fmt: skip


async def token(user: User, expires: datetime, used: datetime | None = None) -> EmailToken:
    return await EmailToken.create(user=user, purpose=TokenPurpose.RESET_PASSWORD,
                                   token_hash=key(), email=user.email, expires_at=expires,
                                   used_at=used)  # fmt: skip


async def registration(expires: datetime) -> PendingRegistration:
    name = f"p{key()[:8]}"
    return await PendingRegistration.create(
        username=name, username_key=name, email=f"{name}@example.org",
        email_key=f"{name}@example.org", password_hash="x", date_of_birth=date(1990, 1, 1),
        policy_version="1", token_hash=key(), expires_at=expires,
    )  # fmt: skip


async def mail(sent: datetime | None) -> OutboxMail:
    return await OutboxMail.create(to_address="ada@example.org", subject="s", body="",
                                   next_attempt_at=NOW + DAY, sent_at=sent)  # fmt: skip


async def visit(ended: datetime, views: int = 1) -> Visit:
    row = await Visit.create(visitor_key=key(), started_at=ended, ended_at=ended,
                             landing_path="/", page_views=views)  # fmt: skip
    await PageView.bulk_create(
        [PageView(visit=row, path="/", created_at=ended) for _ in range(views)]
    )
    return row


async def one_of_each_kind(ada: User) -> None:
    """For every kind, a row due for deletion and a row still within its purpose."""
    await session(ada, NOW - DAY), await session(ada, NOW + DAY)
    await session(ada, NOW + DAY, revoked=NOW - DAY)
    await token(ada, NOW + DAY, used=NOW - DAY), await token(ada, NOW + DAY)
    await token(ada, NOW - DAY)
    await registration(NOW - DAY), await registration(NOW + DAY)
    await mail(NOW - 31 * DAY), await mail(NOW - 29 * DAY), await mail(None)
    await RateCounter.create(key="old", count=3, expires_at=(NOW - DAY).timestamp())
    await RateCounter.create(key="new", count=3, expires_at=(NOW + DAY).timestamp())
    await visit(NOW - 396 * DAY), await visit(NOW - 394 * DAY)
    for read in (NOW - 91 * DAY, NOW - 89 * DAY, None):  # unread ones stay until read
        await Notification.create(recipient_id=ada.id, kind="new_follower", read_at=read)


async def counts() -> dict[str, int]:
    return {
        "sessions": await Session.all().count(),
        "tokens": await EmailToken.all().count(),
        "registrations": await PendingRegistration.all().count(),
        "mail": await OutboxMail.all().count(),
        "counters": await RateCounter.all().count(),
        "visits": await Visit.all().count(),
        "page views": await PageView.all().count(),
        "notifications": await Notification.all().count(),
    }


async def test_purge_deletes_what_is_due_and_keeps_the_rest(gql: Client) -> None:
    ada = await member(None, "ada", signed_in=False)
    await one_of_each_kind(ada)

    deleted = await purge(WINDOWS, NOW)

    assert deleted == dict.fromkeys(KINDS, 1)
    assert await counts() == {"sessions": 1, "tokens": 1, "registrations": 1, "mail": 2,
                              "counters": 1, "visits": 1, "page views": 1,
                              "notifications": 2}  # fmt: skip


async def test_purge_follows_the_configured_windows(gql: Client) -> None:
    await mail(NOW - 3 * DAY), await visit(NOW - 8 * DAY), await visit(NOW - 6 * DAY)

    deleted = await purge(Windows(mail_days=2, activity_days=7), NOW)

    assert {kind: n for kind, n in deleted.items() if n} == {
        "sent mail": 1,
        "page views": 1,
        "visits": 1,
    }


async def test_purge_deletes_in_batches(gql: Client) -> None:
    await visit(NOW - 400 * DAY, views=BATCH + 2)
    batches: list[tuple[str, int]] = []

    deleted = await purge(WINDOWS, NOW, lambda kind, n: batches.append((kind, n)))

    assert batches == [("page views", BATCH), ("page views", 2), ("visits", 1)]
    assert deleted["page views"] == BATCH + 2
    assert await PageView.all().count() == 0


async def test_one_worker_at_a_time_takes_the_turn(gql: Client) -> None:
    every = timedelta(minutes=5)

    first = await asyncio.gather(*(take_turn("job", every, NOW) for _ in range(4)))
    meanwhile = await take_turn("job", every, NOW + every / 2)
    next_round = await take_turn("job", every, NOW + every)

    assert sorted(first) == [False, False, False, True]
    assert (meanwhile, next_round) == (False, True)


async def test_serve_purges_on_its_own(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, database_url, purge_every_minutes=0.005)
    async with Server(settings):
        ada = await member(None, "ada", signed_in=False)
        expired = await session(ada, NOW - DAY)
        async with asyncio.timeout(60):  # a fail-safe against a hang, not a timing claim
            while True:
                gone = not await Session.exists(id=expired.id)
                if gone:
                    break
                await asyncio.sleep(0.1)

    assert gone


async def test_the_purge_command_prints_counts_per_kind_and_nothing_personal(
    settings: Settings, gql: Client
) -> None:
    ada = await member(None, "ada", signed_in=False)
    await one_of_each_kind(ada)
    env = {**os.environ, "DATABASE_URL": settings.db_url, "DATA_DIR": str(settings.data_dir),
           "SECRET_KEY": settings.secret_key, "IP_KEY": settings.ip_key}  # fmt: skip

    process = await asyncio.create_subprocess_exec(
        sys.executable, "server.py", "purge", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)

    assert process.returncode == 0, stderr.decode()
    assert stdout.decode() == "".join(f"{kind}: 1\n" for kind in KINDS)
    assert "purging" in stderr.decode()  # the progress bar
    assert "ada" not in stdout.decode() + stderr.decode()
