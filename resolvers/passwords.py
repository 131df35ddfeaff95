"""Changing a password, and resetting a forgotten one by email."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from tortoise.transactions import in_transaction

from models.accounts import EmailToken, TokenPurpose, User
from resolvers import mails
from resolvers.access import require_member
from resolvers.accounts import issue_email_token, normalise_email, password_problems
from resolvers.codes import AccountCode
from resolvers.common import Call, Refused
from resolvers.sessions import member_changed, revoke_all
from services.passwords import hash_password, verify_password
from services.ratelimits import RateLimitExceeded
from services.tokens import token_hash

log = logging.getLogger("forum.accounts")
_background: set[asyncio.Task[None]] = set()


async def set_password(user: User, password: str) -> None:
    """Store a new password; every link mailed before now stops working (password
    resets, changes of address, confirmations): whoever knew the old password may
    have asked for them."""
    now = datetime.now(UTC)
    user.password_hash = await asyncio.to_thread(hash_password, password)
    user.password_changed_at = now
    await user.save(update_fields=["password_hash", "password_changed_at"])
    await EmailToken.filter(user_id=user.id, used_at__isnull=True).update(used_at=now)


async def change_password(call: Call, current: str, new: str) -> list[int]:
    """Change the viewer's password; every other session is signed out (their ids are
    returned)."""
    viewer = require_member(call)
    if not await asyncio.to_thread(verify_password, viewer.password_hash, current[:1024]):
        await call.limits.hit("login-account", call.vault.fingerprint(f"user:{viewer.id}"))
        raise Refused(
            AccountCode.WRONG_PASSWORD, "Your current password is not right.", "currentPassword"
        )
    problems = password_problems(new, viewer.username, viewer.email.split("@")[0])
    if problems:
        raise Refused.of([p.__class__(p.code, p.message, ("newPassword",)) for p in problems])
    async with in_transaction():
        await set_password(viewer, new)
        ended = await revoke_all(viewer.id, keep=call.session)
    await member_changed(call.broker, viewer.id)
    await mails.send_password_changed(call.settings, viewer.email)
    return ended


async def request_reset(call: Call, email: str) -> None:
    """Mail a reset link if the address has an account. The answer, and the time it
    takes, are the same either way: the work happens after the response."""
    await call.limits.hit("mail-client", call.client_key)
    task = asyncio.create_task(_mail_reset(call, email))
    _background.add(task)
    task.add_done_callback(_background.discard)


async def _mail_reset(call: Call, email: str) -> None:
    try:
        address = normalise_email(email).lower()
        await call.limits.hit("mail-address", call.vault.fingerprint(address))
        user = await User.get_or_none(email_key=address, deleted_at__isnull=True)
        if user is None:
            return
        lifetime = timedelta(minutes=call.settings.reset_token_minutes)
        async with in_transaction():
            token = await issue_email_token(
                call, user, TokenPurpose.RESET_PASSWORD, user.email, lifetime
            )
            await mails.send_reset(call.settings, user.email, user.username, token)
    except (Refused, RateLimitExceeded):
        return  # a malformed or over-asked address gets no mail, and no different answer
    except Exception:  # a background task has nobody to report to but the log
        log.exception("password reset mail failed")


async def reset_password(call: Call, token: str, new: str) -> None:
    """Set a new password with a mailed reset token; every session is signed out."""
    await call.limits.hit("token-address", call.client_key)
    invalid = Refused(AccountCode.INVALID_TOKEN, "This link is invalid or has expired.", "token")
    if not token or len(token) > 200:
        raise invalid
    row = await EmailToken.get_or_none(
        token_hash=token_hash(token), purpose=TokenPurpose.RESET_PASSWORD
    ).select_related("user")
    now = datetime.now(UTC)
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise invalid
    user = row.user
    if row.email.lower() != user.email.lower():
        raise invalid  # mailed to an address the member has since moved away from
    # A password that fails the rules does not burn the token: the member may try again.
    problems = password_problems(new, user.username, user.email.split("@")[0])
    if problems:
        raise Refused.of([p.__class__(p.code, p.message, ("newPassword",)) for p in problems])
    async with in_transaction():
        won = await EmailToken.filter(id=row.id, used_at__isnull=True).update(used_at=now)
        if not won:
            raise invalid
        await set_password(user, new)
        await revoke_all(user.id)
    call.viewer, call.session, call.end_session = None, None, True
    await member_changed(call.broker, user.id)
