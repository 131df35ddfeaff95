"""Outgoing mail: the database outbox, its transports (.eml files or SMTP) and the sender.

Every email is written to the outbox first, in the same transaction as the change
that causes it; a background sender delivers it and retries with backoff, so a
mail server that is down delays mail but loses none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiosmtplib
from tortoise.expressions import Q

from models.mail import OutboxMail

log = logging.getLogger("forum.mail")
MAX_BACKOFF = timedelta(minutes=10)
CLAIM = timedelta(minutes=2)


async def enqueue(
    to: str, subject: str, body: str, headers: dict[str, str] | None = None
) -> OutboxMail:
    """Store an email in the outbox; the sender delivers it soon after."""
    mail = await OutboxMail.create(
        to_address=to,
        subject=subject,
        body=body,
        headers=headers or {},
        next_attempt_at=datetime.now(UTC),
    )
    MailSender.poke()
    return mail


def build_message(mail: OutboxMail, sender: str) -> EmailMessage:
    """The RFC 5322 message for an outbox row."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(mail.created_at)
    message["Message-ID"] = make_msgid(idstring=f"outbox-{mail.id}", domain="forum.invalid")
    for name, value in mail.headers.items():
        message[name] = value
    message.set_content(mail.body)
    return message


@dataclass(frozen=True)
class Transport:
    """Where messages go: a folder of .eml files, or an SMTP server."""

    url: str

    async def send(self, message: EmailMessage) -> None:
        """Deliver one message or raise."""
        parts = urlsplit(self.url)
        if parts.scheme == "file":
            await asyncio.to_thread(_write_eml, Path(unquote(parts.path)), message)
        elif parts.scheme in ("smtp", "smtps"):
            await aiosmtplib.send(
                message,
                hostname=parts.hostname or "localhost",
                port=parts.port or (465 if parts.scheme == "smtps" else 25),
                username=unquote(parts.username) if parts.username else None,
                password=unquote(parts.password) if parts.password else None,
                use_tls=parts.scheme == "smtps",
                start_tls=None,  # upgrade when the server offers STARTTLS
                timeout=30,
            )
        else:
            raise ValueError("MAIL_URL must start with file://, smtp:// or smtps://")


def _write_eml(folder: Path, message: EmailMessage) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    # Microseconds, so names sort oldest first even for mails of the same second.
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    target = folder / f"{stamp}-{uuid.uuid4().hex[:12]}.eml"
    partial = target.with_suffix(".part")
    partial.write_bytes(bytes(message))
    partial.rename(target)  # readers never see half a file


class MailSender:
    """Delivers due outbox rows in the background, one worker or many."""

    _wake: asyncio.Event | None = None

    def __init__(
        self, transport: Transport, sender: str, max_backoff: timedelta = MAX_BACKOFF
    ) -> None:
        self.transport = transport
        self.sender = sender
        self.max_backoff = max_backoff
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @classmethod
    def poke(cls) -> None:
        """Wake the sender now rather than at its next poll."""
        if cls._wake is not None:
            cls._wake.set()

    def start(self) -> None:
        """Run the delivery loop until `stop`."""
        MailSender._wake = asyncio.Event()
        self._task = asyncio.create_task(self._loop(), name="mail-sender")

    async def stop(self) -> None:
        """Stop the loop; undelivered mail stays in the outbox."""
        if self._task is not None:
            self._stopping = True
            self._task.cancel()
            # Bounded: a cancellation lost in a race must never hang the server's shutdown.
            await asyncio.wait({self._task}, timeout=5)
        MailSender._wake = None

    async def _loop(self) -> None:
        wake = MailSender._wake
        assert wake is not None
        while not self._stopping:
            try:
                await self.deliver_due()
            except Exception:  # the loop must outlive a database hiccup
                log.exception("mail delivery round failed")
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow the
            # cancellation that stop() sends when the wake-up arrives at the same moment.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2.0):
                    await wake.wait()
            wake.clear()

    async def deliver_due(self) -> int:
        """Send every due mail once; return how many were delivered."""
        now = datetime.now(UTC)
        due = (
            await OutboxMail.filter(
                Q(sent_at__isnull=True),
                Q(next_attempt_at__lte=now),
                Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
            )
            .order_by("id")
            .limit(50)
        )
        delivered = 0
        for mail in due:
            if await self._claim(mail, now):
                delivered += await self._deliver(mail)
        return delivered

    async def _claim(self, mail: OutboxMail, now: datetime) -> bool:
        # A conditional update: of several workers, exactly one wins each row.
        won = await OutboxMail.filter(
            Q(id=mail.id),
            Q(sent_at__isnull=True),
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        ).update(claimed_until=now + CLAIM)
        return bool(won)

    async def _deliver(self, mail: OutboxMail) -> int:
        try:
            await self.transport.send(build_message(mail, self.sender))
        except Exception as error:  # any transport fault means "try again later"
            attempts = mail.attempts + 1
            delay = min(timedelta(seconds=2 ** min(attempts, 20)), self.max_backoff)
            await OutboxMail.filter(id=mail.id).update(
                attempts=attempts,
                next_attempt_at=datetime.now(UTC) + delay,
                claimed_until=None,
                last_error=type(error).__name__[:200],
            )
            log.warning("mail %s not delivered (%s); retrying", mail.id, type(error).__name__)
            return 0
        await OutboxMail.filter(id=mail.id).update(
            sent_at=datetime.now(UTC), attempts=mail.attempts + 1, claimed_until=None, body=""
        )
        return 1
