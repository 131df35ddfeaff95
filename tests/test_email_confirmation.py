"""Email confirmation: the mailed link, its one-time token, resending, and the newcomer's way in."""

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from tortoise import Tortoise

from models.accounts import PendingRegistration, User
from models.mail import OutboxMail
from tests.support.accounts import all_delivered
from tests.support.documents import LOGOUT_CODE, VIEWER
from tests.support.harness import PASSWORD, session_cookie
from tests.support.mail import token_in
from tests.support.members import register

CONFIRM = """
mutation($t: String!) {
  confirmEmail(input: {token: $t}) { user { username } userErrors { field message code } }
}
"""
RESEND = "mutation($e: String!) { resendConfirmation(input: {email: $e}) { userErrors { code } } }"
LOGIN = """
mutation($i: LoginInput!) { login(input: $i) { user { username } userErrors { code } } }
"""

CONFIRMED = {"data": {"confirmEmail": {"user": {"username": "ada_l"}, "userErrors": []}}}
INVALID = {
    "data": {
        "confirmEmail": {
            "user": None,
            "userErrors": [
                {
                    "field": ["token"],
                    "message": "This link is invalid or has expired.",
                    "code": "INVALID_TOKEN",
                }
            ],
        }
    }
}
RESENT = {"data": {"resendConfirmation": {"userErrors": []}}}


async def registered(gql, mailbox, username: str = "ada_l") -> str:
    """Register a member and return the token from their confirmation mail."""
    assert await register(gql, username) == {"data": {"register": {"userErrors": []}}}
    (mail,) = await mailbox.wait_for(f"{username}@example.org")
    return token_in(mail)


async def is_confirmed(username: str) -> bool:
    """Is there a confirmed account of that name (a registration's link opened)?"""
    return await User.filter(username=username, email_confirmed_at__isnull=False).exists()


# ---------------------------------------------------------------- the mail


async def test_registering_mails_a_confirmation_link_on_the_public_url(gql, mailbox):
    await register(gql, "ada_l")

    (mail,) = await mailbox.wait_for("ada_l@example.org")

    assert mail["Subject"] == "Confirm your email address"
    links = re.findall(r"https?://\S+", mail.get_content())
    assert links == [f"http://localhost:8000/confirm-email?token={token_in(mail)}"]


async def test_the_link_ignores_the_host_the_request_came_to(gql, mailbox):
    response = await gql.post(
        """mutation($i: RegisterInput!) { register(input: $i) { userErrors { code } } }""",
        {
            "i": {
                "username": "ada_l",
                "email": "ada_l@example.org",
                "password": PASSWORD,
                "dateOfBirth": "1990-05-17",
                "acceptPolicyVersion": "2026-01",
            }
        },
        headers={"host": "127.0.0.1:9999"},
    )

    assert response.json() == {"data": {"register": {"userErrors": []}}}
    (mail,) = await mailbox.wait_for("ada_l@example.org")
    assert re.findall(r"https?://[^/\s]+", mail.get_content()) == ["http://localhost:8000"]


async def test_a_request_to_an_unknown_host_is_refused_and_mails_nothing(gql, mailbox):
    response = await gql.post(
        """mutation($i: RegisterInput!) { register(input: $i) { userErrors { code } } }""",
        {
            "i": {
                "username": "ada_l",
                "email": "ada_l@example.org",
                "password": PASSWORD,
                "dateOfBirth": "1990-05-17",
                "acceptPolicyVersion": "2026-01",
            }
        },
        headers={"host": "evil.example"},
    )

    assert (response.status_code, response.text) == (400, "Invalid host header")
    assert await User.all().count() == 0
    assert await OutboxMail.all().count() == 0


async def test_the_token_is_long_and_url_safe(gql, mailbox):
    token = await registered(gql, mailbox)

    assert re.fullmatch(r"[A-Za-z0-9_\-]{43,}", token)


async def test_only_the_tokens_sha256_is_stored(gql, mailbox):
    token = await registered(gql, mailbox)

    stored = await PendingRegistration.all().values_list("token_hash", flat=True)

    assert stored == [hashlib.sha256(token.encode()).hexdigest()]


async def test_the_raw_token_is_nowhere_in_the_database_once_mailed(gql, mailbox):
    token = await registered(gql, mailbox)
    await all_delivered()

    for model in Tortoise.apps["models"].values():
        rows = await model.all().values()
        assert token not in repr(rows), model.__name__


# ---------------------------------------------------------------- confirming


async def test_the_mailed_token_confirms_the_address(gql, mailbox):
    token = await registered(gql, mailbox)

    response = await gql(CONFIRM, {"t": token})

    assert response == CONFIRMED
    assert await is_confirmed("ada_l")


async def test_a_token_works_only_once(gql, mailbox):
    token = await registered(gql, mailbox)
    await gql(CONFIRM, {"t": token})

    response = await gql(CONFIRM, {"t": token})

    assert response == INVALID


@pytest.mark.parametrize(
    "forge",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),
        lambda token: token[:-1],
        lambda token: token + "A",
        lambda token: f" {token}",
        lambda token: token.swapcase(),
        lambda token: hashlib.sha256(token.encode()).hexdigest(),  # the stored hash itself
        lambda token: secrets.token_urlsafe(32),
        lambda token: "",
        lambda token: "A" * 10_240,
        lambda token: "' OR 1=1 --",
    ],
    ids=[
        "last-char",
        "truncated",
        "extended",
        "padded",
        "swapcase",
        "hash",
        "unknown",
        "empty",
        "10kb",
        "sql",
    ],
)
async def test_a_tampered_or_unknown_token_is_invalid(gql, mailbox, forge):
    token = await registered(gql, mailbox)

    response = await gql(CONFIRM, {"t": forge(token)})

    assert response == INVALID
    assert not await is_confirmed("ada_l")


async def test_an_expired_token_is_invalid(gql, mailbox):
    token = await registered(gql, mailbox)
    await PendingRegistration.all().update(expires_at=datetime.now(UTC) - timedelta(seconds=1))

    response = await gql(CONFIRM, {"t": token})

    assert response == INVALID
    assert not await is_confirmed("ada_l")


async def test_one_members_token_confirms_only_that_member(gql, mailbox):
    token = await registered(gql, mailbox, "ada_l")
    await registered(gql, mailbox, "grace_h")

    await gql(CONFIRM, {"t": token})

    assert (await is_confirmed("ada_l"), await is_confirmed("grace_h")) == (True, False)


# ---------------------------------------------------------------- resending


@pytest.mark.parametrize(
    "email",
    ["ada_l@example.org", "ADA_L@Example.org", "nobody@example.org", "not-an-email", "", "x" * 300],
)
async def test_resend_gives_every_address_the_same_answer(gql, mailbox, email):
    await registered(gql, mailbox)

    response = await gql(RESEND, {"e": email})

    assert response == RESENT


async def test_resend_mails_only_a_known_unconfirmed_address(gql, mailbox):
    await registered(gql, mailbox, "ada_l")
    grace = await registered(gql, mailbox, "grace_h")
    await gql(CONFIRM, {"t": grace})

    for email in ("nobody@example.org", "not-an-email", "grace_h@example.org"):
        assert await gql(RESEND, {"e": email}) == RESENT
    assert await gql(RESEND, {"e": "ada_l@example.org"}) == RESENT

    await mailbox.wait_for("ada_l@example.org", count=2)
    await all_delivered()  # mail is sent in outbox order, so nothing else is on its way
    assert sorted(mail["To"] for mail in mailbox.messages()) == [
        "ada_l@example.org",
        "ada_l@example.org",
        "grace_h@example.org",
    ]


async def test_resending_invalidates_the_previous_link(gql, mailbox):
    first = await registered(gql, mailbox)

    await gql(RESEND, {"e": "ada_l@example.org"})

    mails = await mailbox.wait_for("ada_l@example.org", count=2)
    # Files of the same second sort in random order: tell the mails apart by token.
    (second,) = {token_in(mail) for mail in mails} - {first}
    assert await gql(CONFIRM, {"t": first}) == INVALID
    assert await gql(CONFIRM, {"t": second}) == CONFIRMED


# ---------------------------------------------------------------- the newcomer's journey


async def test_a_newcomer_registers_confirms_signs_in_and_out(gql, mailbox):
    assert await register(gql, "ada_l") == {"data": {"register": {"userErrors": []}}}
    (mail,) = await mailbox.wait_for("ada_l@example.org")
    assert await gql(CONFIRM, {"t": token_in(mail)}) == CONFIRMED

    login = await gql.post(LOGIN, {"i": {"login": "ada_l@example.org", "password": PASSWORD}})
    assert login.json() == {"data": {"login": {"user": {"username": "ada_l"}, "userErrors": []}}}
    cookie = session_cookie(login)
    assert cookie is not None
    (set_cookie,) = login.headers.get_list("set-cookie")
    assert {"httponly", "samesite=lax", "path=/"} <= {
        part.strip().lower() for part in set_cookie.split(";")
    }

    assert await gql(VIEWER, cookie=cookie) == {"data": {"viewer": {"username": "ada_l"}}}

    logout = await gql.post(LOGOUT_CODE, cookie=cookie)
    assert logout.json() == {"data": {"logout": {"userErrors": []}}}
    (cleared,) = logout.headers.get_list("set-cookie")
    assert cleared.startswith('session=""; ')
    assert "max-age=0" in cleared.lower()

    assert await gql(VIEWER) == {"data": {"viewer": None}}
    assert await gql(VIEWER, cookie=cookie) == {"data": {"viewer": None}}
