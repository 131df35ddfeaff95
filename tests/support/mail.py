"""Mail in tests: the mailbox the server writes `.eml` files to (MAIL_URL=file://...),
the links inside mails, and a real SMTP server (aiosmtpd on 127.0.0.1) that keeps every
envelope it receives."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from tests.support.harness import LOOPBACK_IPS, TEST_IP, assert_no_ip

HOST = "127.0.0.1"


@dataclass
class Mailbox:
    """The `.eml` files the server wrote (MAIL_URL=file://...)."""

    folder: Path

    def messages(self) -> list[EmailMessage]:
        """Every delivered message, oldest first."""
        if not self.folder.exists():
            return []
        return [
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
            for path in sorted(self.folder.glob("*.eml"))
        ]

    async def wait_for(self, to: str, count: int = 1, within: float = 10.0) -> list[EmailMessage]:
        """Wait until `count` messages to an address have arrived; return them."""
        for _ in range(int(within / 0.05)):
            found = [m for m in self.messages() if m["To"] == to]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.05)
        raise AssertionError(f"expected {count} mail(s) to {to}, found {len(found)}")

    def assert_no_ip(self) -> None:
        """Fail if any mail written so far names an address a test client used (the
        `mailbox` fixture calls this as each test ends)."""
        for path in sorted(self.folder.glob("*.eml")):
            assert_no_ip(path.read_text(), {TEST_IP, *LOOPBACK_IPS})


def token_in(message: EmailMessage) -> str:
    """The `token=` value of the link in a mail."""
    body = message.get_content()
    match = re.search(r"token=([A-Za-z0-9_\-]+)", body)
    assert match, body
    return match.group(1)


class Collector:
    """An aiosmtpd handler that accepts every message and keeps its envelope."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


class SmtpServer:
    """`async with SmtpServer(port) as smtp:` runs a collecting SMTP server on that port."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.handler = Collector()
        self.controller = Controller(self.handler, hostname=HOST, port=port)

    async def __aenter__(self) -> SmtpServer:
        await asyncio.to_thread(self.controller.start)  # its own thread and event loop
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.controller.stop)

    @property
    def envelopes(self) -> list[Envelope]:
        """Everything received so far, in order of arrival."""
        return list(self.handler.envelopes)

    def messages(self) -> list[EmailMessage]:
        """The received messages, parsed."""
        return [
            email.message_from_bytes(envelope.original_content, policy=email.policy.default)  # type: ignore[arg-type, misc]
            for envelope in self.envelopes
        ]

    async def wait_for(self, count: int = 1, within: float = 10.0) -> list[Envelope]:
        """Wait until `count` envelopes have arrived; return them all."""
        for _ in range(int(within / 0.05)):
            if len(self.envelopes) >= count:
                return self.envelopes
            await asyncio.sleep(0.05)
        raise AssertionError(f"expected {count} mail(s) over SMTP, got {len(self.envelopes)}")
