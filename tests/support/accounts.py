"""Account flows in tests: waiting for the outbox and for password-reset work that runs
after the answer, and a spy on the server's Argon2 hasher (sections G and I)."""

from __future__ import annotations

import asyncio
from typing import Literal

from argon2 import Parameters, PasswordHasher, extract_parameters

from models.mail import OutboxMail
from resolvers import passwords as password_resolvers


async def settled() -> None:
    """Wait for every reset request's background work (it runs after the answer)."""
    await asyncio.gather(*password_resolvers._background)


async def all_delivered() -> None:
    """Wait until the outbox has delivered everything in it."""
    for _ in range(200):  # about 10 s
        if not await OutboxMail.filter(sent_at__isnull=True).exists():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the outbox still holds undelivered mail")


class SpyHasher(PasswordHasher):
    """Argon2 exactly as configured, noting what every verification was asked to do."""

    def __init__(self, like: PasswordHasher) -> None:
        super().__init__(
            time_cost=like.time_cost,
            memory_cost=like.memory_cost,
            parallelism=like.parallelism,
            hash_len=like.hash_len,
            salt_len=like.salt_len,
            type=like.type,
        )
        self.verified: list[Parameters] = []
        self.lengths: list[int] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        """Note the stored hash's cost and the password's length, then verify."""
        self.verified.append(extract_parameters(hash if isinstance(hash, str) else hash.decode()))
        self.lengths.append(len(password))
        return super().verify(hash, password)
