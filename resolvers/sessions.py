"""Signing in and out: server-side sessions behind an opaque cookie token."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from models.accounts import User
from models.sessions import Session
from models.sql import fetch, from_row, on_postgres, select_list
from resolvers.access import require_member
from resolvers.accounts import normalise_email, user_by_username
from resolvers.codes import SessionCode
from resolvers.common import Call, Refused
from services import usernames
from services.broker import Broker
from services.clients import agent, country
from services.passwords import hash_password, needs_rehash, verify_password
from services.tokens import new_token, token_hash

# Sliding expiry is written at most this often, so reads stay reads.
TOUCH_EVERY = timedelta(minutes=5)
LOGIN_MAX = 254
INVALID_CREDENTIALS = (
    "Wrong username, email or password, or the email address is not confirmed yet."
)


def _login_key(login: str) -> str:
    """One spelling for every way of writing the same account: the stored email key
    (IDNA domain, any case) or the username's look-alike key."""
    login = login.strip()
    if "@" not in login:
        return "user:" + usernames.lookalike_key(login)
    try:
        return "email:" + normalise_email(login).lower()
    except Refused:
        return "email:" + login.lower()


async def _member_for_login(login: str, key: str) -> User | None:
    # Confirmed accounts only: a registration (or an account from before registrations
    # waited for their link) is not a member yet, and reads as a wrong password.
    if key.startswith("email:"):
        address = key.removeprefix("email:")
        return await User.get_or_none(email_key=address, email_confirmed_at__isnull=False)
    return await user_by_username(login.strip())  # the name itself, not a look-alike


async def login(call: Call, login: str, password: str) -> User:
    """Start a session for a username or email and its password.

    A wrong name, a wrong password and an address not confirmed yet get the same
    answer after the same work; failures are counted per account and per client, and
    too many lock both out.
    """
    key = _login_key(login[:LOGIN_MAX])
    account_key = call.vault.fingerprint("login:" + key)
    await call.limits.check("login-account", account_key)
    await call.limits.check("login-address", call.client_key)
    user = await _member_for_login(login[:LOGIN_MAX], key) if login.strip() else None
    stored = user.password_hash if user is not None else None
    valid = await asyncio.to_thread(verify_password, stored, password[:1024])
    if user is None or not valid:
        await call.limits.hit("login-account", account_key)
        await call.limits.hit("login-address", call.client_key)
        raise Refused(SessionCode.INVALID_CREDENTIALS, INVALID_CREDENTIALS, "login")
    await call.limits.clear("login-account", account_key)
    if needs_rehash(user.password_hash):
        user.password_hash = await asyncio.to_thread(hash_password, password)
        await user.save(update_fields=["password_hash"])
    user.last_seen_at = datetime.now(UTC)
    await user.save(update_fields=["last_seen_at"])
    await start_session(call, user)
    return user


async def start_session(call: Call, user: User) -> Session:
    """A brand-new session (never one the client proposed) that replaces the current one."""
    if call.session is not None:
        await revoke(call.session)
    token = new_token()
    now = datetime.now(UTC)
    client = agent(call.user_agent)
    session = await Session.create(
        user=user,
        token_hash=token_hash(token),
        last_used_at=now,
        expires_at=now + timedelta(days=call.settings.session_days),
        browser=client.browser,
        operating_system=client.operating_system,
        country=country(call.ip),
        **call.ip_columns,
    )
    call.viewer, call.session, call.new_session_token = user, session, token
    return session


async def logout(call: Call) -> int | None:
    """End the current session on the server (the cookie is cleared too); return its id,
    None when nobody was signed in."""
    session = call.session
    if session is not None:
        await revoke(session)
    call.viewer, call.session, call.end_session = None, None, True
    if session is None:
        return None
    await member_changed(call.broker, session.user_id)
    return session.id


async def member_changed(broker: Broker, user_id: int) -> None:
    """Tell every worker that a member's sessions or powers changed (call it after the
    change commits): their open WebSockets read the session again, and close if it ended.
    Every path that ends sessions, suspends, demotes or deletes a member calls this."""
    await broker.publish(f"member:{user_id}", user_id)


async def revoke(session: Session) -> None:
    """Make a session's token worthless."""
    await Session.filter(id=session.id, revoked_at__isnull=True).update(
        revoked_at=datetime.now(UTC)
    )


async def live_session(session_id: int) -> tuple[Session, User] | None:
    """A session (and its member, read afresh) if it is still signed in."""
    session = (
        await Session.filter(id=session_id, revoked_at__isnull=True).select_related("user").first()
    )
    if session is None or session.expires_at <= datetime.now(UTC):
        return None
    return session, session.user


@dataclass(frozen=True)
class SignedIn:
    """A live session, its member, and the members they blocked (read with the session:
    nearly every signed-in page needs them, for the bodies of messages)."""

    session: Session
    user: User
    blocked: frozenset[int]


@cache
def _session_sql(postgres: bool) -> str:
    """{0}: the token's hash. The blocked ids come as one comma-separated text."""
    blocked = "string_agg(b.blocked_id::text, ',')" if postgres else "group_concat(b.blocked_id)"
    return (
        f"SELECT {select_list('s', Session)}, {select_list('u', User)}, "  # noqa: S608 - our columns
        f"(SELECT {blocked} FROM blocks b WHERE b.blocker_id = s.user_id) AS blocked "
        "FROM sessions s JOIN users u ON u.id = s.user_id "
        "WHERE s.token_hash = {0} AND s.revoked_at IS NULL"
    )


async def session_for_token(token: str | None, days: int) -> SignedIn | None:
    """The live session a cookie token belongs to (with its member and their blocks, in
    one statement), sliding its expiry forward."""
    if not token or len(token) > 100:
        return None
    rows = await fetch(_session_sql(on_postgres()), [token_hash(token)])
    if not rows:
        return None
    session, user = from_row(Session, "s", rows[0]), from_row(User, "u", rows[0])
    now = datetime.now(UTC)
    if session.expires_at <= now:
        return None
    if now - session.last_used_at > TOUCH_EVERY:
        session.last_used_at = now
        session.expires_at = now + timedelta(days=days)
        await session.save(update_fields=["last_used_at", "expires_at"])
        user.last_seen_at = now
        await user.save(update_fields=["last_seen_at"])
    blocked = rows[0]["blocked"]
    ids = frozenset(int(id_) for id_ in blocked.split(",")) if blocked else frozenset()
    return SignedIn(session, user, ids)


async def my_sessions(call: Call) -> list[Session]:
    """The viewer's live sessions, newest first."""
    viewer = require_member(call)
    return await Session.filter(
        user_id=viewer.id, revoked_at__isnull=True, expires_at__gt=datetime.now(UTC)
    ).order_by("-last_used_at", "-id")


async def revoke_session(call: Call, session_id: int) -> int:
    """Sign out one of the viewer's sessions (another browser, say); return its id."""
    viewer = require_member(call)
    found = await Session.filter(id=session_id, user_id=viewer.id, revoked_at__isnull=True).update(
        revoked_at=datetime.now(UTC)
    )
    if not found:
        raise Refused(SessionCode.SESSION_NOT_FOUND, "You have no such session.", "sessionId")
    if call.session is not None and call.session.id == session_id:
        call.viewer, call.session, call.end_session = None, None, True
    await member_changed(call.broker, viewer.id)
    return session_id


async def revoke_others(call: Call) -> list[int]:
    """Sign out every session of the viewer's but this one; return the ids that ended."""
    viewer = require_member(call)
    ended = await revoke_all(viewer.id, keep=call.session)
    await member_changed(call.broker, viewer.id)
    return ended


async def revoke_all(user_id: int, keep: Session | None = None) -> list[int]:
    """Sign a member out everywhere (but `keep`); return the ids of the sessions that
    ended (a client's cache drops them from the member's sessions)."""
    query = Session.filter(user_id=user_id, revoked_at__isnull=True)
    if keep is not None:
        query = query.exclude(id=keep.id)
    ended = sorted(await query.values_list("id", flat=True))
    await Session.filter(id__in=ended, revoked_at__isnull=True).update(revoked_at=datetime.now(UTC))
    return ended
