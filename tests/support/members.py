"""Members for tests: one `member()` that writes the rows, and the way through the API.

Registering through the API costs Argon2 work per member and many tests need many
members, so `member()` writes the row the way `register` + `confirmEmail` leave it (one
shared password hash) and gives it a session the way `login` does, its cookie kept on
the client. Tests about what the account mutations themselves leave behind ask for
`by_login=True`: the row as `create_member` writes it, signed in through `login`.
`register()` and `confirmed_member()` go the whole way through the API.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

from models.accounts import User
from models.base import Role
from models.privacy import Audience, PrivacySettings
from models.profiles import Follow, Profile
from models.sessions import Session
from resolvers.accounts import create_member
from resolvers.policy import current_policy
from services import usernames
from services.passwords import hash_password
from services.tokens import new_token, token_hash
from tests.support.documents import CONFIRM_TOKEN, SIGN_UP
from tests.support.harness import PASSWORD, Client
from tests.support.mail import Mailbox, token_in

BORN = date(1990, 5, 17)  # well past the minimum age


@cache
def password_hash() -> str:
    """One real hash of PASSWORD for every quick member, so `login` works for them too."""
    return hash_password(PASSWORD)


async def member(
    gql: Client | None,
    username: str,
    role: Role = Role.MEMBER,
    *,
    confirmed: bool = True,
    born: date = BORN,
    email: str | None = None,
    last_seen_at: datetime | None = None,
    newsletter: bool = False,
    signed_in: bool = True,
    by_login: bool = False,
) -> User:
    """A member row (confirmed unless asked), signed in on `gql` under their username
    unless `gql` is None or `signed_in` is false.

    `by_login`: create the row with `create_member` and sign in through the `login`
    mutation, so the session and `last_seen_at` are exactly what a real sign-in leaves.
    """
    address = email or f"{username.lower()}@example.org"
    if by_login:
        user = await create_member(username, address, PASSWORD, role, born)
    else:
        user = await User.create(
            username=username,
            username_key=usernames.lookalike_key(username),
            email=address,
            email_key=address.lower(),
            password_hash=password_hash(),
            date_of_birth=born,
            role=role,
            email_confirmed_at=datetime.now(UTC) if confirmed else None,
            last_seen_at=last_seen_at,
        )
    if newsletter:
        user.newsletter = True
        await user.save(update_fields=["newsletter"])
    if gql is not None and signed_in:
        if by_login:
            await gql.sign_in(username)
        else:
            await sign_in(gql, user)
    return user


async def sign_in(gql: Client, user: User) -> None:
    """A live session for the member, its cookie kept on `gql` under the username."""
    token = new_token()
    now = datetime.now(UTC)
    await Session.create(
        user=user, token_hash=token_hash(token), last_used_at=now, expires_at=now + timedelta(1)
    )
    gql.cookies[user.username] = token


async def suspend(user: User, reason: str, until: datetime | None = None) -> datetime:
    """Suspend a member as suspendMember would; return the end of the suspension."""
    user.suspended_until = until or datetime(2099, 1, 2, 3, 4, tzinfo=UTC)
    user.suspension_reason = reason
    await user.save(update_fields=["suspended_until", "suspension_reason"])
    return user.suspended_until


async def set_audiences(user: User, **values: str | bool) -> None:
    """Store privacy settings as updatePrivacySettings would (GraphQL enum names, or a
    bool for the yes/no settings)."""
    changes: dict[str, Any] = {
        name: value if isinstance(value, bool) else Audience[value]
        for name, value in values.items()
    }
    row, _ = await PrivacySettings.get_or_create(user_id=user.id)
    for name, value in changes.items():
        setattr(row, name, value)
    await row.save()


async def set_profile(user: User, **values: Any) -> None:
    """Store profile fields as updateProfile would."""
    row, _ = await Profile.get_or_create(user_id=user.id)
    for name, value in values.items():
        setattr(row, name, value)
    await row.save()


async def follow(follower: User, followee: User) -> None:
    """`follower` follows `followee`."""
    await Follow.create(follower_id=follower.id, followee_id=followee.id)


# ---------------------------------------------------------------- through the API


async def register(gql: Client, username: str, **fields: object) -> dict:
    """Register a member with sensible defaults; return the response."""
    policy = await current_policy()
    variables = {
        "username": username,
        "email": f"{username.lower()}@example.org",
        "password": PASSWORD,
        "dateOfBirth": BORN.isoformat(),
        "acceptPolicyVersion": policy.version,
        **fields,
    }
    return await gql(SIGN_UP, {"input": variables})


async def confirmed_member(gql: Client, mailbox: Mailbox, username: str, **fields: object) -> str:
    """Register (with any other `fields`), open the mailed link and sign in a member;
    return their session token."""
    assert await register(gql, username, **fields) == {"data": {"register": {"userErrors": []}}}
    (mail,) = await mailbox.wait_for(f"{username.lower()}@example.org")
    result = await gql(CONFIRM_TOKEN, {"t": token_in(mail)})
    assert result["data"]["confirmEmail"]["userErrors"] == []
    return await gql.sign_in(username)
