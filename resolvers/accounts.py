"""Registration, email confirmation, changes of address and member lookups."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from tortoise.transactions import in_transaction

from models.accounts import EmailToken, TokenPurpose, User
from models.base import Role
from resolvers import mails, registrations
from resolvers.access import require_member
from resolvers.codes import AccountCode
from resolvers.common import Call, Problem, Refused, in_key_order
from resolvers.policy import current_policy
from services import cachekeys, usernames
from services.passwords import hash_password, is_common, verify_password
from services.tokens import new_token, token_hash

PASSWORD_MIN = 10
PASSWORD_MAX = 256  # Argon2 costs the same for any length, but bodies stay small
EMAIL_MAX = 254


@dataclass(frozen=True)
class Registration:
    """What a newcomer sends to register."""

    username: str
    email: str
    password: str
    date_of_birth: date
    accept_policy_version: str
    newsletter: bool = False


async def users_by_id(ids: Sequence[int]) -> list[User | None]:
    """Batch for the user_by_id loader: one query, results in key order. An account
    whose address was never confirmed (registered before links made accounts) is none."""
    with cachekeys.attributed():
        found = await User.filter(id__in=ids, email_confirmed_at__isnull=False)
    cachekeys.depends(map(cachekeys.member, ids))
    return in_key_order(found, ids)


async def user_by_username(username: str) -> User | None:
    """The member with exactly this username, ignoring case (confirmed accounts only)."""
    if len(username) > usernames.MAX_LENGTH:
        return None
    # Who holds a name (new, renamed, confirmed, deleted) moves the site-wide key.
    with cachekeys.attributed():
        user = await User.get_or_none(
            username_key=usernames.lookalike_key(username), email_confirmed_at__isnull=False
        )
    if user is not None:
        cachekeys.depends([cachekeys.member(user.id)])
    if user is None or user.username.lower() != username.lower():
        return None
    return user


async def username_taken(username: str, but: User | None = None) -> bool:
    """Is the name, or a look-alike of it, held by an account (other than `but`) or by
    a registration that has not expired? The one rule for every way to a username."""
    key = usernames.lookalike_key(username)
    accounts = User.filter(username_key=key)
    if but is not None:
        accounts = accounts.exclude(id=but.id)
    return await accounts.exists() or await registrations.live_hold(key)


def normalise_email(email: str) -> str:
    """The address as we store it: syntax checked, domain lower-cased and IDNA-encoded."""
    if len(email) > EMAIL_MAX:
        raise Refused(AccountCode.EMAIL_INVALID, "That email address is too long.", "email")
    try:
        checked = validate_email(email, check_deliverability=False)
    except EmailNotValidError as error:
        raise Refused(
            AccountCode.EMAIL_INVALID, "That is not a valid email address.", "email"
        ) from error
    return checked.ascii_email or checked.normalized


def password_problems(password: str, *others: str) -> list[Problem]:
    """What is wrong with a new password (empty when it will do)."""
    if len(password) < PASSWORD_MIN:
        message = f"Passwords need at least {PASSWORD_MIN} characters."
        return [Problem(AccountCode.PASSWORD_TOO_SHORT, message, ("password",))]
    if len(password) > PASSWORD_MAX:
        message = f"Passwords have at most {PASSWORD_MAX} characters."
        return [Problem(AccountCode.PASSWORD_TOO_LONG, message, ("password",))]
    if "\x00" in password:
        return [
            Problem(AccountCode.PASSWORD_INVALID, "Passwords cannot contain NUL.", ("password",))
        ]
    lowered = password.lower()
    # A name shorter than a username (a one-letter mailbox) is in nearly every password.
    names = [other.lower() for other in others if len(other) >= usernames.MIN_LENGTH]
    if is_common(password) or any(name in lowered for name in names):
        message = "That password is too easy to guess; choose another."
        return [Problem(AccountCode.PASSWORD_TOO_COMMON, message, ("password",))]
    return []


def username_problems(username: str) -> list[Problem]:
    if (reason := usernames.shape_error(username)) is not None:
        return [Problem(AccountCode.USERNAME_INVALID, reason, ("username",))]
    if usernames.is_reserved(username):
        return [Problem(AccountCode.USERNAME_RESERVED, "That username is reserved.", ("username",))]
    return []


def birth_problems(born: date, min_age: int) -> list[Problem]:
    today = datetime.now(UTC).date()
    if born >= today or born.year < 1900:
        return [
            Problem(
                AccountCode.DATE_OF_BIRTH_INVALID,
                "Enter your real date of birth.",
                ("dateOfBirth",),
            )
        ]
    if age_on(born, today) < min_age:
        message = f"Members must be at least {min_age} years old."
        return [Problem(AccountCode.TOO_YOUNG, message, ("dateOfBirth",))]
    return []


def age_on(born: date, day: date) -> int:
    """Whole years between a birth date and a day."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


async def register(call: Call, data: Registration) -> None:
    """Hold the username for a pending registration and mail its address.

    A free address gets a confirmation link; an address that already has an account
    gets a notice instead, and its registration no token. The caller sees the same
    either way, and no account exists until a link is opened.
    """
    await call.limits.hit("register-address", call.client_key)
    problems = username_problems(data.username)
    try:
        email = normalise_email(data.email)
    except Refused as refused:
        problems += refused.problems
        email = ""
    problems += password_problems(data.password, data.username, email.split("@")[0])
    problems += birth_problems(data.date_of_birth, call.settings.min_age)
    policy = await current_policy()
    if data.accept_policy_version != policy.version:
        message = f"Accept the current privacy policy (version {policy.version})."
        problems.append(Problem(AccountCode.POLICY_NOT_ACCEPTED, message, ("acceptPolicyVersion",)))
    if problems:
        raise Refused.of(problems)
    if await username_taken(data.username):
        raise Refused(AccountCode.USERNAME_TAKEN, "That username is taken.", "username")
    # The same Argon2 work for a taken address as for a free one: time tells nothing.
    password_hash = await asyncio.to_thread(hash_password, data.password)
    newcomer = registrations.Newcomer(
        data.username, email, password_hash, data.date_of_birth, data.newsletter, policy.version
    )
    await registrations.hold(call, newcomer)


async def issue_email_token(
    call: Call, user: User, purpose: TokenPurpose, email: str, lifetime: timedelta
) -> str:
    """A new one-time token for `email` (only its hash is kept); the member's earlier
    unused tokens of that purpose stop working, so only the newest link works (G9).
    Call it inside the transaction that mails the link."""
    token = new_token()
    now = datetime.now(UTC)
    await EmailToken.filter(user_id=user.id, purpose=purpose, used_at__isnull=True).update(
        used_at=now
    )
    await EmailToken.create(
        user=user,
        purpose=purpose,
        token_hash=token_hash(token),
        email=email,
        expires_at=now + lifetime,
        **call.ip_columns,
    )
    return token


async def _mail_confirmation(call: Call, user: User) -> None:
    """A fresh link for an account registered before registrations waited for theirs."""
    lifetime = timedelta(hours=call.settings.confirm_token_hours)
    token = await issue_email_token(call, user, TokenPurpose.CONFIRM_EMAIL, user.email, lifetime)
    await mails.send_confirmation(call.settings, user.email, user.username, token)


async def resend_confirmation(call: Call, email: str) -> None:
    """Mail a fresh confirmation link if the address has a registration waiting for one
    (or an unconfirmed account from before). The answer is the same for every address."""
    await call.limits.hit("mail-client", call.client_key)
    try:
        address = normalise_email(email).lower()
    except Refused:
        return
    if not await call.mail_allowed(address):
        return
    user = await User.get_or_none(email_key=address)
    if user is None:
        await registrations.resend(call, address)
    elif not user.confirmed:
        async with in_transaction():
            await _mail_confirmation(call, user)


async def confirm_email(call: Call, token: str) -> User:
    """Confirm the address a token was mailed to: a registration's (which creates the
    account), or a changed one's; each token works once, until it expires."""
    await call.limits.hit("token-address", call.client_key)
    invalid = Refused(AccountCode.INVALID_TOKEN, "This link is invalid or has expired.", "token")
    if not token or len(token) > 200:
        raise invalid
    async with in_transaction():
        row = await EmailToken.get_or_none(
            token_hash=token_hash(token),
            purpose__in=[TokenPurpose.CONFIRM_EMAIL, TokenPurpose.CHANGE_EMAIL],
        ).select_related("user")
        if row is not None:
            return await _use_token(call, row, invalid)
    user = await registrations.confirm(call, token)
    if user is None:
        raise invalid
    return user


async def _use_token(call: Call, row: EmailToken, invalid: Refused) -> User:
    now = datetime.now(UTC)
    if row.used_at is not None or row.expires_at <= now:
        raise invalid
    # Single use even under concurrency: only one update can flip used_at.
    won = await EmailToken.filter(id=row.id, used_at__isnull=True).update(used_at=now)
    user = row.user
    if not won or user.deleted_at is not None:
        raise invalid
    if row.purpose is TokenPurpose.CHANGE_EMAIL:
        former = user.email
        await _move_address(user, row.email, invalid)
        # The old mailbox hears of it: an owner who did not ask for it knows to act.
        await mails.send_email_changed(call.settings, former)
    elif user.email_key != row.email.lower():
        raise invalid  # the account moved to another address since this was sent
    if user.email_confirmed_at is None or row.purpose is TokenPurpose.CHANGE_EMAIL:
        user.email_confirmed_at = now
        await user.save(update_fields=["email_confirmed_at"])
    return user


async def _move_address(user: User, address: str, invalid: Refused) -> None:
    if await User.filter(email_key=address.lower()).exclude(id=user.id).exists():
        raise invalid  # taken since the link was sent
    user.email, user.email_key = address, address.lower()
    await user.save(update_fields=["email", "email_key"])
    # Reset links still in the old mailbox must not open the account any more.
    await EmailToken.filter(
        user_id=user.id, purpose=TokenPurpose.RESET_PASSWORD, used_at__isnull=True
    ).update(used_at=datetime.now(UTC))


async def change_email(call: Call, password: str, new_email: str) -> None:
    """Move the viewer's account to a new address once that address confirms it.

    The old address is told. A new address that already has an account gets the
    same answer (and its owner a notice), so the change never reveals members; mail
    to either address is counted per address alike and skipped silently past its limit.
    """
    viewer = require_member(call)
    if not await asyncio.to_thread(verify_password, viewer.password_hash, password[:1024]):
        raise Refused(AccountCode.WRONG_PASSWORD, "Your password is not right.", "password")
    try:
        address = normalise_email(new_email)
    except Refused as refused:
        problem = refused.problems[0]
        raise Refused(problem.code, problem.message, "newEmail") from refused
    if address.lower() == viewer.email_key:
        raise Refused(AccountCode.SAME_EMAIL, "That is already your address.", "newEmail")
    await call.limits.hit("mail-client", call.client_key)
    telling, mailing = await call.mail_allowed(viewer.email_key), await call.mail_allowed(address)
    owner = await User.get_or_none(email_key=address.lower())
    async with in_transaction():
        # The old address hears of it either way, or its inbox would tell who is a member.
        if telling:
            await mails.send_email_change_notice(call.settings, viewer.email)
        if not mailing:
            return
        if owner is not None:
            await mails.send_already_registered(call.settings, owner.email)
            return
        lifetime = timedelta(hours=call.settings.confirm_token_hours)
        token = await issue_email_token(call, viewer, TokenPurpose.CHANGE_EMAIL, address, lifetime)
        await mails.send_change_email(call.settings, address, viewer.username, token)


async def create_member(
    username: str, email: str, password: str, role: Role, born: date | None = None
) -> User:
    """Create a confirmed account directly (operators' CLI and the demo seed)."""
    problems = username_problems(username) if role is Role.MEMBER else []
    if (reason := usernames.shape_error(username)) is not None:
        problems = [Problem(AccountCode.USERNAME_INVALID, reason, ("username",))]
    address = normalise_email(email)
    problems += password_problems(password, username)
    if problems:
        raise Refused.of(problems)
    if await username_taken(username):
        raise Refused(AccountCode.USERNAME_TAKEN, "That username is taken.", "username")
    if await User.exists(email_key=address.lower()):
        raise Refused(AccountCode.EMAIL_TAKEN, "That email address has an account.", "email")
    now = datetime.now(UTC)
    return await User.create(
        username=username,
        username_key=usernames.lookalike_key(username),
        email=address,
        email_key=address.lower(),
        password_hash=await asyncio.to_thread(hash_password, password),
        date_of_birth=born or date(1990, 1, 1),
        role=role,
        email_confirmed_at=now,
    )
