"""Resetting a forgotten password by email: one answer for every address, and a random,
hashed, single-use, short-lived token that any password change retires."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from models.accounts import EmailToken, TokenPurpose, User
from models.base import Role
from models.mail import OutboxMail
from models.sessions import Session
from resolvers.accounts import create_member
from services.addresses import AddressVault
from services.settings import Settings
from tests.support.accounts import settled
from tests.support.documents import VIEWER
from tests.support.harness import (
    PASSWORD,
    TEST_IP,
    Client,
    Server,
    assert_no_ip,
    free_port,
)
from tests.support.harness import test_settings as settings_for
from tests.support.mail import Mailbox, SmtpServer, token_in
from tests.support.members import member

NEW_PASSWORD = "a brand new passphrase"
ADDRESS = "ada_l@example.org"
LINK = re.compile(r"http://localhost:8000/reset-password\?token=([A-Za-z0-9_\-]+)")

REQUEST = """
mutation($i: RequestPasswordResetInput!) {
  requestPasswordReset(input: $i) { userErrors { field message code } }
}
"""
RESET = """
mutation($i: ResetPasswordInput!) {
  resetPassword(input: $i) { userErrors { field message code } }
}
"""
CHANGE_PASSWORD = """
mutation($i: ChangePasswordInput!) {
  changePassword(input: $i) { userErrors { code } }
}
"""
LOGIN = """
mutation($i: LoginInput!) {
  login(input: $i) { user { username } userErrors { code } }
}
"""

ASKED = {"data": {"requestPasswordReset": {"userErrors": []}}}
RESET_DONE = {"data": {"resetPassword": {"userErrors": []}}}
INVALID_TOKEN = {
    "data": {
        "resetPassword": {
            "userErrors": [
                {
                    "field": ["token"],
                    "message": "This link is invalid or has expired.",
                    "code": "INVALID_TOKEN",
                }
            ]
        }
    }
}
SIGNED_IN = {"data": {"login": {"user": {"username": "ada_l"}, "userErrors": []}}}
NOT_SIGNED_IN = {"data": {"login": {"user": None, "userErrors": [{"code": "INVALID_CREDENTIALS"}]}}}


@pytest.fixture
async def ada(gql: Client) -> User:
    """A confirmed member, signed in on gql."""
    return await member(gql, "ada_l", by_login=True)


async def request_reset(gql: Client, address: str = ADDRESS, **options: object) -> dict:
    return await gql(REQUEST, {"i": {"email": address}}, **options)  # type: ignore[arg-type]


async def mailed_token(gql: Client, mailbox: Mailbox, count: int = 1) -> str:
    """Ask for a reset link for ada_l and return the token of the newest one."""
    await request_reset(gql)
    mails = await mailbox.wait_for(ADDRESS, count)
    return token_in(mails[-1])


async def reset(gql: Client, token: str, password: str = NEW_PASSWORD, **options: object) -> dict:
    return await gql(RESET, {"i": {"token": token, "newPassword": password}}, **options)  # type: ignore[arg-type]


async def login(gql: Client, password: str) -> dict:
    return await gql(LOGIN, {"i": {"login": "ada_l", "password": password}})


# ------------------------------------------------------------------ asking for a link


@pytest.mark.parametrize(
    "address",
    [ADDRESS, "ADA_L@Example.ORG", "nobody@example.org", "not an address", "@", "x" * 300],
)
async def test_every_address_gets_the_same_answer(gql: Client, ada: User, address: str) -> None:
    assert await request_reset(gql, address) == ASKED


@pytest.mark.parametrize("address", ["nobody@example.org", "not an address", "x" * 300])
async def test_an_address_without_an_account_gets_no_mail(
    gql: Client, ada: User, address: str
) -> None:
    await request_reset(gql, address)
    await settled()

    assert await OutboxMail.all().count() == 0
    assert await EmailToken.all().count() == 0


async def test_a_known_address_gets_a_link_to_the_public_site(
    gql: Client, ada: User, mailbox: Mailbox
) -> None:
    # A forged host must not steer the link elsewhere.
    await request_reset(gql, headers={"x-forwarded-host": "evil.example"})

    (mail,) = await mailbox.wait_for(ADDRESS)
    token = token_in(mail)
    assert mail["Subject"] == "Reset your password"
    assert mail.get_content() == (
        "Hello ada_l,\n\nSomeone asked to reset the password of your account. "
        "To choose a new password, open this link within 60 minutes:\n\n"
        f"http://localhost:8000/reset-password?token={token}\n\n"
        "If it was not you, ignore this email: your password stays as it is.\n"
    )


async def test_reset_tokens_are_long_random_and_url_safe(
    gql: Client, ada: User, mailbox: Mailbox
) -> None:
    first = await mailed_token(gql, mailbox)
    second = await mailed_token(gql, mailbox, 2)

    assert re.fullmatch(r"[A-Za-z0-9_\-]{43,}", first)
    assert re.fullmatch(r"[A-Za-z0-9_\-]{43,}", second)
    assert first != second


async def test_the_token_is_stored_only_as_its_hash(
    gql: Client, ada: User, mailbox: Mailbox
) -> None:
    token = await mailed_token(gql, mailbox)

    (row,) = await EmailToken.filter(purpose=TokenPurpose.RESET_PASSWORD).values()
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(row)


async def test_a_token_lives_one_hour(gql: Client, ada: User, mailbox: Mailbox) -> None:
    await mailed_token(gql, mailbox)

    row = await EmailToken.get(purpose=TokenPurpose.RESET_PASSWORD)
    lifetime = row.expires_at - row.created_at
    assert timedelta(minutes=59) < lifetime <= timedelta(minutes=60)


async def test_the_reset_token_records_the_client_address_encrypted(
    gql: Client, ada: User, mailbox: Mailbox, settings: Settings
) -> None:
    await mailed_token(gql, mailbox)

    row = await EmailToken.get(purpose=TokenPurpose.RESET_PASSWORD)
    assert TEST_IP not in row.ip_cipher
    assert AddressVault(settings.address_key).open(row.ip_cipher) == TEST_IP


# ------------------------------------------------------------------ using it


async def test_a_token_sets_a_new_password(gql: Client, ada: User, mailbox: Mailbox) -> None:
    token = await mailed_token(gql, mailbox)

    assert await reset(gql, token) == RESET_DONE
    assert await login(gql, NEW_PASSWORD) == SIGNED_IN
    assert await login(gql, PASSWORD) == NOT_SIGNED_IN


async def test_resetting_signs_out_every_session(gql: Client, ada: User, mailbox: Mailbox) -> None:
    elsewhere = await gql.sign_in("ada_l")
    token = await mailed_token(gql, mailbox)

    await reset(gql, token, as_member="ada_l")

    assert await gql(VIEWER, as_member="ada_l") == {"data": {"viewer": None}}
    assert await gql(VIEWER, cookie=elsewhere) == {"data": {"viewer": None}}
    assert not await Session.exists(user_id=ada.id, revoked_at__isnull=True)


async def test_a_token_works_only_once(gql: Client, ada: User, mailbox: Mailbox) -> None:
    token = await mailed_token(gql, mailbox)
    await reset(gql, token)

    assert await reset(gql, token, "yet another passphrase") == INVALID_TOKEN
    assert await login(gql, NEW_PASSWORD) == SIGNED_IN


async def test_an_expired_token_is_invalid(gql: Client, ada: User, mailbox: Mailbox) -> None:
    token = await mailed_token(gql, mailbox)
    await EmailToken.filter(purpose=TokenPurpose.RESET_PASSWORD).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )

    assert await reset(gql, token) == INVALID_TOKEN
    assert await login(gql, PASSWORD) == SIGNED_IN


async def test_changing_the_password_retires_an_outstanding_token(
    gql: Client, ada: User, mailbox: Mailbox
) -> None:
    token = await mailed_token(gql, mailbox)
    changed = await gql(
        CHANGE_PASSWORD,
        {"i": {"currentPassword": PASSWORD, "newPassword": "changed it myself"}},
        as_member="ada_l",
    )
    assert changed == {"data": {"changePassword": {"userErrors": []}}}

    assert await reset(gql, token) == INVALID_TOKEN
    assert await login(gql, "changed it myself") == SIGNED_IN


async def test_a_newer_link_retires_the_older_one(gql: Client, ada: User, mailbox: Mailbox) -> None:
    older = await mailed_token(gql, mailbox)
    newer = await mailed_token(gql, mailbox, 2)

    assert await reset(gql, older) == INVALID_TOKEN
    assert await reset(gql, newer) == RESET_DONE


@pytest.mark.parametrize(
    ("password", "message", "code"),
    [
        ("short one", "Passwords need at least 10 characters.", "PASSWORD_TOO_SHORT"),
        (
            "password123",
            "That password is too easy to guess; choose another.",
            "PASSWORD_TOO_COMMON",
        ),
    ],
)
async def test_a_weak_new_password_is_refused_without_spending_the_token(
    gql: Client, ada: User, mailbox: Mailbox, password: str, message: str, code: str
) -> None:
    token = await mailed_token(gql, mailbox)

    response = await reset(gql, token, password)

    assert response == {
        "data": {
            "resetPassword": {
                "userErrors": [{"field": ["newPassword"], "message": message, "code": code}]
            }
        }
    }
    assert await reset(gql, token) == RESET_DONE


@pytest.mark.parametrize(
    "token",
    ["", "not-a-token", "A" * 43, "x" * 201, "' OR 1=1 --"],
)
async def test_a_made_up_token_is_invalid(gql: Client, ada: User, token: str) -> None:
    assert await reset(gql, token) == INVALID_TOKEN
    assert await login(gql, PASSWORD) == SIGNED_IN


async def test_one_members_token_resets_only_that_member(
    gql: Client, ada: User, mailbox: Mailbox
) -> None:
    await create_member("bob_k", "bob_k@example.org", PASSWORD, Role.MEMBER)
    token = await mailed_token(gql, mailbox)

    await reset(gql, token)

    bob = await gql(LOGIN, {"i": {"login": "bob_k", "password": PASSWORD}})
    assert bob == {"data": {"login": {"user": {"username": "bob_k"}, "userErrors": []}}}


async def test_the_reset_page_is_served_without_a_referrer(gql: Client) -> None:
    response = await gql.request("GET", "/reset-password?token=abc")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "<h1>Choose a new password</h1>" in response.text
    assert "abc" not in response.text  # the page reads the token from its own address


# ------------------------------------------------------------------ over real SMTP


@pytest.fixture
async def smtp_forum(tmp_path: Path, database_url: str) -> AsyncIterator[tuple[Client, SmtpServer]]:
    """The app mailing through a real SMTP server on 127.0.0.1, where ada_l is a member."""
    port = free_port()
    settings = settings_for(tmp_path, database_url, mail_url=f"smtp://127.0.0.1:{port}")
    async with SmtpServer(port) as smtp, Server(settings) as client:
        await create_member("ada_l", ADDRESS, PASSWORD, Role.MEMBER, date(1990, 5, 17))
        yield client, smtp


async def test_the_reset_link_arrives_over_smtp_and_works(
    smtp_forum: tuple[Client, SmtpServer],
) -> None:
    client, smtp = smtp_forum
    await request_reset(client)

    (envelope,) = await smtp.wait_for(1)
    (message,) = smtp.messages()
    assert (envelope.mail_from, envelope.rcpt_tos) == ("no-reply@localhost", [ADDRESS])
    assert message["Subject"] == "Reset your password"
    assert_no_ip(envelope.original_content.decode(), client.ips)  # type: ignore[union-attr]
    assert LINK.findall(message.get_content()) == [token_in(message)]
    assert await reset(client, token_in(message)) == RESET_DONE
    assert await login(client, NEW_PASSWORD) == SIGNED_IN
