"""Registrations waiting for their email link.

A newcomer is only a pending registration until the mailed link is opened: it holds
the username and nothing else about it shows. A registration with an address that
already has an account is stored the same way, without a token, so that from outside
the two cannot be told apart; that address's owner is told instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models.accounts import PendingRegistration, User
from models.policy import ConsentKind
from resolvers import mails
from resolvers.codes import AccountCode
from resolvers.common import Call, Refused
from resolvers.policy import append_consent
from services import usernames
from services.tokens import new_token, token_hash


@dataclass(frozen=True)
class Newcomer:
    """A registration that passed every check: what is kept until its link is opened."""

    username: str
    email: str  # normalised
    password_hash: str
    date_of_birth: date
    newsletter: bool
    policy_version: str


def _taken() -> Refused:
    return Refused(AccountCode.USERNAME_TAKEN, "That username is taken.", "username")


async def live_hold(username_key: str) -> bool:
    """Does a registration that has not expired hold this look-alike key?"""
    now = datetime.now(UTC)
    return await PendingRegistration.exists(username_key=username_key, expires_at__gt=now)


async def hold(call: Call, newcomer: Newcomer) -> None:
    """Store the registration and mail its address: a confirmation link if the address
    is free, the "someone tried to register" notice if it has an account."""
    key, address = usernames.lookalike_key(newcomer.username), newcomer.email.lower()
    owner = await User.get_or_none(email_key=address)
    token = new_token() if owner is None else None
    mailing = await call.mail_allowed(address)  # counted for every address alike
    now = datetime.now(UTC)
    try:
        async with in_transaction():
            # An expired registration holds nothing, but its row still has the unique key.
            await PendingRegistration.filter(username_key=key, expires_at__lte=now).delete()
            await PendingRegistration.create(
                username=newcomer.username,
                username_key=key,
                email=newcomer.email,
                email_key=address,
                password_hash=newcomer.password_hash,
                date_of_birth=newcomer.date_of_birth,
                newsletter=newcomer.newsletter,
                policy_version=newcomer.policy_version,
                token_hash=token_hash(token) if token is not None else None,
                expires_at=now + timedelta(hours=call.settings.confirm_token_hours),
                **call.ip_columns,
            )
            if mailing:
                await _mail(call, newcomer, owner, token)
    except IntegrityError as error:
        raise _taken() from error  # lost a race for the same name a moment ago


async def _mail(call: Call, newcomer: Newcomer, owner: User | None, token: str | None) -> None:
    if owner is not None:
        await mails.send_already_registered(call.settings, owner.email)
    elif token is not None:
        await mails.send_confirmation(call.settings, newcomer.email, newcomer.username, token)


async def resend(call: Call, address: str) -> bool:
    """Mail a fresh link for the newest live registration of an address that has one;
    the link mailed before stops working and the registration lives on. False if none."""
    now = datetime.now(UTC)
    async with in_transaction():
        row = (
            await PendingRegistration.filter(
                email_key=address.lower(), token_hash__isnull=False, expires_at__gt=now
            )
            .order_by("-id")
            .first()
        )
        if row is None:
            return False
        token = new_token()
        row.token_hash = token_hash(token)
        row.expires_at = now + timedelta(hours=call.settings.confirm_token_hours)
        await row.save(update_fields=["token_hash", "expires_at"])
        await mails.send_confirmation(call.settings, row.email, row.username, token)
    return True


async def confirm(call: Call, token: str) -> User | None:
    """The member a registration's token creates, confirmed, with its consents; None if
    the token belongs to no live registration, or its name or address is a member's now."""
    now = datetime.now(UTC)
    try:
        async with in_transaction():
            row = await PendingRegistration.get_or_none(
                token_hash=token_hash(token), expires_at__gt=now
            )
            # Single use even under concurrency: only one delete can remove the row.
            if row is None or not await PendingRegistration.filter(id=row.id).delete():
                return None
            taken = Q(username_key=row.username_key) | Q(email_key=row.email_key)
            if await User.filter(taken).exists():
                return None  # the row stays deleted: it can never become an account
            return await _create_member(row, now)
    except IntegrityError:
        return None  # a member took the name or address a moment ago


async def _create_member(row: PendingRegistration, now: datetime) -> User:
    client = {"ip_cipher": row.ip_cipher, "ip_hash": row.ip_hash, "user_agent": row.user_agent}
    user = await User.create(
        username=row.username,
        username_key=row.username_key,
        email=row.email,
        email_key=row.email_key,
        password_hash=row.password_hash,
        date_of_birth=row.date_of_birth,
        newsletter=row.newsletter,
        email_confirmed_at=now,
        **client,  # where the newcomer registered from, as for every account
    )
    version = row.policy_version
    await append_consent(client, user, ConsentKind.PRIVACY_POLICY, True, version)
    if row.newsletter:
        await append_consent(client, user, ConsentKind.NEWSLETTER, True, version)
    return user
