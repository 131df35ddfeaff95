"""Registration, email confirmation and member lookups."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.accounts import EmailToken, TokenPurpose, User
from models.base import Role
from models.policy import ConsentKind
from resolvers import mails
from resolvers.common import Call, Problem, Refused
from resolvers.policy import current_policy, record_consent
from services import usernames
from services.passwords import hash_password, is_common, verify_password
from services.ratelimits import RateLimitExceeded
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
    """Batch for the user_by_id loader: one query, results in key order."""
    rows = {user.id: user for user in await User.filter(id__in=ids)}
    return [rows.get(id_) for id_ in ids]


async def user_by_username(username: str) -> User | None:
    """The member with exactly this username, ignoring case."""
    if len(username) > usernames.MAX_LENGTH:
        return None
    user = await User.get_or_none(username_key=usernames.lookalike_key(username))
    if user is None or user.username.lower() != username.lower():
        return None
    return user


def normalise_email(email: str) -> str:
    """The address as we store it: syntax checked, domain lower-cased and IDNA-encoded."""
    if len(email) > EMAIL_MAX:
        raise Refused("EMAIL_INVALID", "That email address is too long.", "email")
    try:
        checked = validate_email(email, check_deliverability=False)
    except EmailNotValidError as error:
        raise Refused("EMAIL_INVALID", "That is not a valid email address.", "email") from error
    return checked.ascii_email or checked.normalized


def password_problems(password: str, *others: str) -> list[Problem]:
    """What is wrong with a new password (empty when it will do)."""
    if len(password) < PASSWORD_MIN:
        message = f"Passwords need at least {PASSWORD_MIN} characters."
        return [Problem("PASSWORD_TOO_SHORT", message, ("password",))]
    if len(password) > PASSWORD_MAX:
        message = f"Passwords have at most {PASSWORD_MAX} characters."
        return [Problem("PASSWORD_TOO_LONG", message, ("password",))]
    if "\x00" in password:
        return [Problem("PASSWORD_INVALID", "Passwords cannot contain NUL.", ("password",))]
    lowered = password.lower()
    # A name shorter than a username (a one-letter mailbox) is in nearly every password.
    names = [other.lower() for other in others if len(other) >= usernames.MIN_LENGTH]
    if is_common(password) or any(name in lowered for name in names):
        message = "That password is too easy to guess; choose another."
        return [Problem("PASSWORD_TOO_COMMON", message, ("password",))]
    return []


def username_problems(username: str) -> list[Problem]:
    if (reason := usernames.shape_error(username)) is not None:
        return [Problem("USERNAME_INVALID", reason, ("username",))]
    if usernames.is_reserved(username):
        return [Problem("USERNAME_RESERVED", "That username is reserved.", ("username",))]
    return []


def birth_problems(born: date, min_age: int) -> list[Problem]:
    today = datetime.now(UTC).date()
    if born >= today or born.year < 1900:
        return [
            Problem("DATE_OF_BIRTH_INVALID", "Enter your real date of birth.", ("dateOfBirth",))
        ]
    if age_on(born, today) < min_age:
        message = f"Members must be at least {min_age} years old."
        return [Problem("TOO_YOUNG", message, ("dateOfBirth",))]
    return []


def age_on(born: date, day: date) -> int:
    """Whole years between a birth date and a day."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


async def register(call: Call, data: Registration) -> None:
    """Create an unconfirmed account and mail a confirmation link.

    An address that already has an account gets a notice instead, and the caller
    the very same answer, so registration never tells who is a member.
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
        problems.append(Problem("POLICY_NOT_ACCEPTED", message, ("acceptPolicyVersion",)))
    if problems:
        raise Refused.of(problems)
    key = usernames.lookalike_key(data.username)
    if await User.exists(username_key=key):
        raise Refused("USERNAME_TAKEN", "That username is taken.", "username")
    password_hash = await asyncio.to_thread(hash_password, data.password)
    owner = await User.get_or_none(email_key=email.lower())
    if owner is not None:
        await _notify_owner(call, owner)
        return
    await _create_member(call, data, email, password_hash, policy.version)


async def _notify_owner(call: Call, owner: User) -> None:
    # Over the limit the notice is skipped silently: a RATE_LIMITED answer here, and
    # not for a free address, would tell the caller the address has an account.
    try:
        await call.limits.hit("mail-address", call.vault.fingerprint(owner.email_key))
    except RateLimitExceeded:
        return
    await mails.send_already_registered(call.settings, owner.email)


async def _create_member(
    call: Call, data: Registration, email: str, password_hash: str, version: str
) -> None:
    try:
        async with in_transaction():
            user = await User.create(
                username=data.username,
                username_key=usernames.lookalike_key(data.username),
                email=email,
                email_key=email.lower(),
                password_hash=password_hash,
                date_of_birth=data.date_of_birth,
                newsletter=data.newsletter,
                **call.ip_columns,
            )
            await record_consent(call, user, ConsentKind.PRIVACY_POLICY, True, version)
            if data.newsletter:
                await record_consent(call, user, ConsentKind.NEWSLETTER, True, version)
            await _mail_confirmation(call, user)
    except IntegrityError as error:
        # Lost a race with a registration of the same name or address a moment ago.
        if await User.exists(username_key=usernames.lookalike_key(data.username)):
            raise Refused("USERNAME_TAKEN", "That username is taken.", "username") from error
        owner = await User.get_or_none(email_key=email.lower())
        if owner is not None:
            await _notify_owner(call, owner)


async def _mail_confirmation(call: Call, user: User) -> None:
    token = new_token()
    await EmailToken.filter(
        user=user, purpose=TokenPurpose.CONFIRM_EMAIL, used_at__isnull=True
    ).update(used_at=datetime.now(UTC))  # only the newest link works
    await EmailToken.create(
        user=user,
        purpose=TokenPurpose.CONFIRM_EMAIL,
        token_hash=token_hash(token),
        email=user.email,
        expires_at=datetime.now(UTC) + timedelta(hours=call.settings.confirm_token_hours),
        **call.ip_columns,
    )
    await mails.send_confirmation(call.settings, user.email, user.username, token)


async def resend_confirmation(call: Call, email: str) -> None:
    """Mail a fresh confirmation link if the address has an unconfirmed account.

    The answer is the same for every address.
    """
    await call.limits.hit("mail-client", call.client_key)
    try:
        address = normalise_email(email)
    except Refused:
        return
    await call.limits.hit("mail-address", call.vault.fingerprint(address.lower()))
    user = await User.get_or_none(email_key=address.lower())
    if user is not None and not user.confirmed:
        async with in_transaction():
            await _mail_confirmation(call, user)


async def confirm_email(call: Call, token: str) -> User:
    """Confirm the address a token was mailed to (a new account's, or a changed one);
    each token works once, until it expires."""
    await call.limits.hit("token-address", call.client_key)
    invalid = Refused("INVALID_TOKEN", "This link is invalid or has expired.", "token")
    if not token or len(token) > 200:
        raise invalid
    now = datetime.now(UTC)
    async with in_transaction():
        row = await EmailToken.get_or_none(
            token_hash=token_hash(token),
            purpose__in=[TokenPurpose.CONFIRM_EMAIL, TokenPurpose.CHANGE_EMAIL],
        ).select_related("user")
        if row is None or row.used_at is not None or row.expires_at <= now:
            raise invalid
        # Single use even under concurrency: only one update can flip used_at.
        won = await EmailToken.filter(id=row.id, used_at__isnull=True).update(used_at=now)
        user = row.user
        if not won or user.deleted_at is not None:
            raise invalid
        if row.purpose is TokenPurpose.CHANGE_EMAIL:
            await _move_address(user, row.email, invalid)
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
    same answer (and its owner a notice), so the change never reveals members.
    """
    viewer = call.require_member()
    if not await asyncio.to_thread(verify_password, viewer.password_hash, password[:1024]):
        raise Refused("WRONG_PASSWORD", "Your password is not right.", "password")
    try:
        address = normalise_email(new_email)
    except Refused as refused:
        problem = refused.problems[0]
        raise Refused(problem.code, problem.message, "newEmail") from refused
    if address.lower() == viewer.email_key:
        raise Refused("SAME_EMAIL", "That is already your address.", "newEmail")
    await call.limits.hit("mail-address", call.vault.fingerprint(viewer.email_key))
    owner = await User.get_or_none(email_key=address.lower())
    if owner is not None:
        # The old address hears of it either way, or its inbox would tell who is a member.
        await mails.send_email_change_notice(call.settings, viewer.email)
        await _notify_owner(call, owner)
        return
    token = new_token()
    async with in_transaction():
        await EmailToken.filter(
            user=viewer, purpose=TokenPurpose.CHANGE_EMAIL, used_at__isnull=True
        ).update(used_at=datetime.now(UTC))
        await EmailToken.create(
            user=viewer,
            purpose=TokenPurpose.CHANGE_EMAIL,
            token_hash=token_hash(token),
            email=address,
            expires_at=datetime.now(UTC) + timedelta(hours=call.settings.confirm_token_hours),
            **call.ip_columns,
        )
        await mails.send_change_email(call.settings, address, viewer.username, token)
        await mails.send_email_change_notice(call.settings, viewer.email)


async def create_member(
    username: str, email: str, password: str, role: Role, born: date | None = None
) -> User:
    """Create a confirmed account directly (operators' CLI and the demo seed)."""
    problems = username_problems(username) if role is Role.MEMBER else []
    if (reason := usernames.shape_error(username)) is not None:
        problems = [Problem("USERNAME_INVALID", reason, ("username",))]
    address = normalise_email(email)
    problems += password_problems(password, username)
    if problems:
        raise Refused.of(problems)
    if await User.exists(username_key=usernames.lookalike_key(username)):
        raise Refused("USERNAME_TAKEN", "That username is taken.", "username")
    if await User.exists(email_key=address.lower()):
        raise Refused("EMAIL_TAKEN", "That email address has an account.", "email")
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
