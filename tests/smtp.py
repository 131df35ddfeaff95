"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, keeping every envelope it receives."""

from __future__ import annotations

import asyncio
import email
import email.policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from tests.harness import free_port as free_port  # the mail tests take it from here

HOST = "127.0.0.1"


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
