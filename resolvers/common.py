"""What every resolver shares: who is calling, from where, and how it refuses."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from models.accounts import User
from models.audit import AuditEntry
from models.sessions import Session
from resolvers.codes import Code
from services.addresses import AddressVault
from services.broker import Broker
from services.markdown import Renderer

# RateLimitExceeded is also the schema's: it reaches schema/ from here, never from services/.
from services.ratelimits import RateLimitExceeded, RateLimits
from services.settings import Settings


class _Keyed(Protocol):
    id: int


K = TypeVar("K", bound=_Keyed)


def in_key_order(rows: Iterable[K], ids: Sequence[int]) -> list[K | None]:
    """A batch's answer: the row of each id in the order asked, None where none was found
    (a DataLoader wants one value per key, in key order)."""
    found = {row.id: row for row in rows}
    return [found.get(id_) for id_ in ids]


@dataclass(frozen=True)
class Problem:
    """One reason a request was refused, for the member to fix."""

    code: Code
    message: str
    field: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.code, Code):  # codes are defined once, in resolvers/codes.py
            raise TypeError(f"{self.code!r} is not a member of a code enum")


class Refused(Exception):
    """Expected failures (bad input, taken names); mutations turn them into userErrors."""

    def __init__(
        self, code: Code, message: str, field: str | tuple[str, ...] | None = None
    ) -> None:
        super().__init__(message)
        path = (field,) if isinstance(field, str) else field
        self.problems = [Problem(code, message, path)]

    @classmethod
    def of(cls, problems: list[Problem]) -> Refused:
        """One refusal carrying several problems."""
        refused = cls(problems[0].code, problems[0].message, problems[0].field)
        refused.problems = list(problems)
        return refused


class NotSignedIn(Exception):
    """The operation needs a signed-in member."""

    code = "UNAUTHENTICATED"

    def __init__(self, message: str = "Sign in to do this.") -> None:
        super().__init__(message)


class Forbidden(Exception):
    """The signed-in member may not do this."""

    code = "FORBIDDEN"

    def __init__(self, message: str = "You are not allowed to do this.") -> None:
        super().__init__(message)


class BadInput(Exception):
    """An argument that cannot be understood (a malformed id or cursor, say)."""

    code = "BAD_USER_INPUT"


@dataclass
class Call:
    """One request as resolvers see it: the viewer, the client and the site's services."""

    settings: Settings
    vault: AddressVault
    limits: RateLimits
    renderer: Renderer
    broker: Broker
    ip: str
    user_agent: str = ""
    viewer: User | None = None
    session: Session | None = None
    new_session_token: str | None = field(default=None, repr=False)
    end_session: bool = False
    # Private messages staff were shown in this request, by (report, author): the one
    # audit entry of each pair, extended when more of that author's messages are shown.
    private_reads: dict[tuple[int, int], AuditEntry] = field(default_factory=dict, repr=False)
    audit_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @property
    def ip_columns(self) -> dict[str, str]:
        """Column values recording this request's client on a row it writes."""
        return self.vault.columns(self.ip, self.user_agent)

    @property
    def client_key(self) -> str:
        """A rate-limit key for the client that holds no readable address."""
        return self.vault.fingerprint(self.ip)

    async def mail_allowed(self, address: str) -> bool:
        """Count one mail to an address; False once the address has had its share.

        Over the limit the mail is skipped and the caller's answer stays the same: a
        refusal would come sooner for addresses others mail often, members' addresses.
        """
        try:
            await self.limits.hit("mail-address", self.vault.fingerprint(address.lower()))
        except RateLimitExceeded:
            return False
        return True
