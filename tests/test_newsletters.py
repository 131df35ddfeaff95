"""Newsletters: opt-in only, sent by admins through the outbox to members who chose them,
each copy with a one-click unsubscribe link (RFC 8058) that needs no sign-in."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from models.accounts import User
from models.base import Role
from models.mail import OutboxMail
from models.policy import Consent, ConsentKind
from services.addresses import AddressVault
from services.settings import Settings
from tests.support.harness import (
    TEST_IP,
    Client,
    Server,
    assert_no_ip,
    free_port,
)
from tests.support.harness import test_settings as settings_for
from tests.support.mail import Mailbox, SmtpServer
from tests.support.members import confirmed_member, member

SUBSCRIBE = """
mutation($i: SetNewsletterSubscriptionInput!) {
  setNewsletterSubscription(input: $i) { user { username newsletter } userErrors { code } }
}
"""
SEND = """
mutation($i: SendNewsletterInput!) {
  sendNewsletter(input: $i) { recipients userErrors { field message code } }
}
"""
MINE = "{ viewer { newsletter consents { kind granted policyVersion } } }"
NEWS = {"i": {"subject": "Spring news", "body": "Hello from the forum."}}
UNSUBSCRIBE_HEADER = re.compile(
    r"<http://localhost:8000(/unsubscribe\?u=(\d+)&sig=([0-9a-f]{32}))>"
)
ONE_CLICK = {
    "headers": {"content-type": "application/x-www-form-urlencoded"},
    "content": b"List-Unsubscribe=One-Click",
}
POLICY_CONSENT = {"kind": "PRIVACY_POLICY", "granted": True, "policyVersion": "2026-01"}


@pytest.fixture
async def admin(gql: Client) -> User:
    return await member(gql, "admin_a", Role.ADMIN, by_login=True)


@pytest.fixture
async def ada(gql: Client) -> User:
    """A signed-in member who chose newsletters."""
    user = await member(gql, "ada_l", by_login=True)
    response = await gql(SUBSCRIBE, {"i": {"subscribed": True}}, as_member="ada_l")
    assert response["data"]["setNewsletterSubscription"]["userErrors"] == []
    return user


async def newsletter_to(gql: Client, mailbox: Mailbox, address: str) -> EmailMessage:
    """Send NEWS as admin_a and return the copy delivered to an address."""
    assert await gql(SEND, NEWS, as_member="admin_a") == {
        "data": {"sendNewsletter": {"recipients": 1, "userErrors": []}}
    }
    (mail,) = await mailbox.wait_for(address)
    return mail


def unsubscribe_path(mail: EmailMessage) -> str:
    """The path and query of a newsletter's List-Unsubscribe link."""
    # The long value is folded onto its own line; unfolding leaves the fold's space.
    match = UNSUBSCRIBE_HEADER.fullmatch(mail["List-Unsubscribe"].strip())
    assert match, mail["List-Unsubscribe"]
    return match.group(1)


async def subscribed(user: User) -> bool:
    await user.refresh_from_db(fields=["newsletter"])
    return user.newsletter


# ------------------------------------------------------------------ opting in and out


@pytest.mark.parametrize(
    ("fields", "newsletter", "consents"),
    [
        ({}, False, [POLICY_CONSENT]),
        ({"newsletter": None}, False, [POLICY_CONSENT]),
        ({"newsletter": False}, False, [POLICY_CONSENT]),
        (
            {"newsletter": True},
            True,
            [{"kind": "NEWSLETTER", "granted": True, "policyVersion": "2026-01"}, POLICY_CONSENT],
        ),
    ],
)
async def test_a_newcomer_gets_newsletters_only_when_asking_for_them(
    gql: Client, mailbox: Mailbox, fields: dict, newsletter: bool, consents: list
) -> None:
    await confirmed_member(gql, mailbox, "ada_l", **fields)

    response = await gql(MINE, as_member="ada_l")

    assert response == {"data": {"viewer": {"newsletter": newsletter, "consents": consents}}}


async def test_subscribing_writes_a_newsletter_consent(gql: Client) -> None:
    await member(gql, "ada_l", by_login=True)

    response = await gql(SUBSCRIBE, {"i": {"subscribed": True}}, as_member="ada_l")

    assert response == {
        "data": {
            "setNewsletterSubscription": {
                "user": {"username": "ada_l", "newsletter": True},
                "userErrors": [],
            }
        }
    }
    assert await gql(MINE, as_member="ada_l") == {
        "data": {
            "viewer": {
                "newsletter": True,
                "consents": [{"kind": "NEWSLETTER", "granted": True, "policyVersion": "2026-01"}],
            }
        }
    }


async def test_unsubscribing_writes_a_withdrawal(gql: Client, ada: User) -> None:
    response = await gql(SUBSCRIBE, {"i": {"subscribed": False}}, as_member="ada_l")

    assert response["data"]["setNewsletterSubscription"]["user"]["newsletter"] is False
    assert await gql(MINE, as_member="ada_l") == {
        "data": {
            "viewer": {
                "newsletter": False,
                "consents": [
                    {"kind": "NEWSLETTER", "granted": False, "policyVersion": "2026-01"},
                    {"kind": "NEWSLETTER", "granted": True, "policyVersion": "2026-01"},
                ],
            }
        }
    }


async def test_subscribing_needs_a_signed_in_member(gql: Client) -> None:
    response = await gql(SUBSCRIBE, {"i": {"subscribed": True}})

    assert response == {
        "data": {"setNewsletterSubscription": None},
        "errors": [
            {
                "message": "Sign in to do this.",
                "locations": [{"line": 3, "column": 3}],
                "path": ["setNewsletterSubscription"],
                "extensions": {"code": "UNAUTHENTICATED"},
            }
        ],
    }


# ------------------------------------------------------------------ sending


@pytest.mark.parametrize(
    ("viewer", "role", "message", "code"),
    [
        (None, None, "Sign in to do this.", "UNAUTHENTICATED"),
        ("ada_l", Role.MEMBER, "You are not allowed to do this.", "FORBIDDEN"),
        ("mod_m", Role.MODERATOR, "You are not allowed to do this.", "FORBIDDEN"),
    ],
)
async def test_only_admins_send_newsletters(
    gql: Client, viewer: str | None, role: Role | None, message: str, code: str
) -> None:
    if viewer is not None and role is not None:
        await member(gql, viewer, role, newsletter=True, by_login=True)

    response = await gql(SEND, NEWS, as_member=viewer)

    assert response == {
        "data": {"sendNewsletter": None},
        "errors": [
            {
                "message": message,
                "locations": [{"line": 3, "column": 3}],
                "path": ["sendNewsletter"],
                "extensions": {"code": code},
            }
        ],
    }
    assert await OutboxMail.all().count() == 0


@pytest.mark.parametrize(
    ("subject", "body", "field", "message", "code"),
    [
        ("  ", "Hello.", "subject", "Subjects are 1 to 200 characters.", "SUBJECT_LENGTH"),
        ("x" * 201, "Hello.", "subject", "Subjects are 1 to 200 characters.", "SUBJECT_LENGTH"),
        ("News", " \n ", "body", "Newsletters are 1 to 50000 characters.", "BODY_LENGTH"),
        ("News", "x" * 50_001, "body", "Newsletters are 1 to 50000 characters.", "BODY_LENGTH"),
    ],
)
async def test_a_newsletter_needs_a_subject_and_a_body(
    gql: Client,
    admin: User,
    ada: User,
    subject: str,
    body: str,
    field: str,
    message: str,
    code: str,
) -> None:
    response = await gql(SEND, {"i": {"subject": subject, "body": body}}, as_member="admin_a")

    assert response == {
        "data": {
            "sendNewsletter": {
                "recipients": None,
                "userErrors": [{"field": [field], "message": message, "code": code}],
            }
        }
    }
    assert await OutboxMail.all().count() == 0


async def test_a_newsletter_goes_only_to_confirmed_active_members_who_opted_in(
    gql: Client, admin: User, ada: User
) -> None:
    await member(None, "bob_k", by_login=True)  # never opted in
    unconfirmed = await member(None, "cy_unconfirmed", newsletter=True, by_login=True)
    suspended = await member(None, "dee_suspended", newsletter=True, by_login=True)
    erased = await member(None, "eve_erased", newsletter=True, by_login=True)
    lifted = await member(None, "fay_was_suspended", newsletter=True, by_login=True)
    now = datetime.now(UTC)
    await User.filter(id=unconfirmed.id).update(email_confirmed_at=None)
    await User.filter(id=suspended.id).update(suspended_until=now + timedelta(days=1))
    await User.filter(id=erased.id).update(deleted_at=now)
    await User.filter(id=lifted.id).update(suspended_until=now - timedelta(days=1))

    response = await gql(SEND, NEWS, as_member="admin_a")

    assert response == {"data": {"sendNewsletter": {"recipients": 2, "userErrors": []}}}
    outbox = await OutboxMail.all().order_by("id").values_list("to_address", "subject")
    assert outbox == [
        ("ada_l@example.org", "Spring news"),
        ("fay_was_suspended@example.org", "Spring news"),
    ]


async def test_each_copy_carries_a_one_click_unsubscribe_link(
    gql: Client, admin: User, ada: User, mailbox: Mailbox
) -> None:
    mail = await newsletter_to(gql, mailbox, "ada_l@example.org")

    path = unsubscribe_path(mail)
    assert path.startswith(f"/unsubscribe?u={ada.id}&sig=")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["Subject"] == "Spring news"
    assert mail.get_content() == (
        "Hello from the forum.\n\n--\nYou get this because you chose to. "
        f"Unsubscribe: http://localhost:8000{path}\n"
    )


# ------------------------------------------------------------------ unsubscribing by link


async def test_the_one_click_post_unsubscribes_without_signing_in(
    gql: Client, admin: User, ada: User, mailbox: Mailbox
) -> None:
    mail = await newsletter_to(gql, mailbox, "ada_l@example.org")

    response = await gql.request("POST", unsubscribe_path(mail), **ONE_CLICK)  # type: ignore[arg-type]

    assert response.status_code == 200
    assert "<h1>Unsubscribed</h1>" in response.text
    assert await gql(MINE, as_member="ada_l") == {
        "data": {
            "viewer": {
                "newsletter": False,
                "consents": [
                    {"kind": "NEWSLETTER", "granted": False, "policyVersion": "2026-01"},
                    {"kind": "NEWSLETTER", "granted": True, "policyVersion": "2026-01"},
                ],
            }
        }
    }


async def test_the_withdrawal_records_the_client_address_encrypted(
    gql: Client, admin: User, ada: User, mailbox: Mailbox, settings: Settings
) -> None:
    mail = await newsletter_to(gql, mailbox, "ada_l@example.org")

    await gql.request("POST", unsubscribe_path(mail), **ONE_CLICK)  # type: ignore[arg-type]

    withdrawal = await Consent.get(user_id=ada.id, kind=ConsentKind.NEWSLETTER, granted=False)
    assert TEST_IP not in withdrawal.ip_cipher
    assert AddressVault(settings.address_key).open(withdrawal.ip_cipher) == TEST_IP


async def test_unsubscribing_twice_is_harmless(
    gql: Client, admin: User, ada: User, mailbox: Mailbox
) -> None:
    mail = await newsletter_to(gql, mailbox, "ada_l@example.org")
    await gql.request("POST", unsubscribe_path(mail), **ONE_CLICK)  # type: ignore[arg-type]

    response = await gql.request("POST", unsubscribe_path(mail), **ONE_CLICK)  # type: ignore[arg-type]

    assert response.status_code == 200
    assert await Consent.filter(user_id=ada.id, kind=ConsentKind.NEWSLETTER).count() == 2


async def test_opening_the_link_shows_a_button_and_changes_nothing(
    gql: Client, admin: User, ada: User, mailbox: Mailbox
) -> None:
    mail = await newsletter_to(gql, mailbox, "ada_l@example.org")

    response = await gql.request("GET", unsubscribe_path(mail))

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert '<form method="post"><button type="submit">Unsubscribe</button></form>' in response.text
    assert await subscribed(ada)


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize(
    "forge",
    [
        lambda ada, bob, sig: f"/unsubscribe?u={ada.id}&sig={'0' * 32}",  # wrong signature
        lambda ada, bob, sig: f"/unsubscribe?u={bob.id}&sig={sig}",  # another member
        lambda ada, bob, sig: f"/unsubscribe?u={ada.id}",  # no signature
        lambda ada, bob, sig: f"/unsubscribe?u={ada.id}&sig={sig[:-1]}",  # cut short
        lambda ada, bob, sig: f"/unsubscribe?u=-{ada.id}&sig={sig}",  # not an id
    ],
    ids=["wrong-sig", "other-member", "missing-sig", "short-sig", "negative"],
)
async def test_a_forged_link_is_refused_and_changes_nothing(
    gql: Client, admin: User, ada: User, mailbox: Mailbox, method: str, forge
) -> None:
    mail = await newsletter_to(gql, mailbox, "ada_l@example.org")
    signature = unsubscribe_path(mail).rsplit("sig=", 1)[1]
    bob = await member(None, "bob_k", newsletter=True, by_login=True)

    response = await gql.request(method, forge(ada, bob, signature), **ONE_CLICK)

    assert response.status_code == 400
    assert "<h1>This link is not valid</h1>" in response.text
    assert "<form" not in response.text
    assert (await subscribed(ada), await subscribed(bob)) == (True, True)
    assert await Consent.filter(kind=ConsentKind.NEWSLETTER).count() == 1


# ------------------------------------------------------------------ over real SMTP


@pytest.fixture
async def smtp_forum(tmp_path: Path, database_url: str) -> AsyncIterator[tuple[Client, SmtpServer]]:
    """The app mailing through a real SMTP server, with admin_a and ada_l (opted in)."""
    port = free_port()
    settings = settings_for(tmp_path, database_url, mail_url=f"smtp://127.0.0.1:{port}")
    async with SmtpServer(port) as smtp, Server(settings) as client:
        await member(client, "admin_a", Role.ADMIN, by_login=True)
        await member(client, "ada_l", newsletter=True, by_login=True)
        yield client, smtp


async def test_the_newsletter_arrives_over_smtp_with_a_working_unsubscribe_link(
    smtp_forum: tuple[Client, SmtpServer],
) -> None:
    client, smtp = smtp_forum
    response = await client(SEND, NEWS, as_member="admin_a")
    assert response == {"data": {"sendNewsletter": {"recipients": 1, "userErrors": []}}}

    (envelope,) = await smtp.wait_for(1)
    (message,) = smtp.messages()
    assert envelope.rcpt_tos == ["ada_l@example.org"]
    assert_no_ip(envelope.original_content.decode(), client.ips)  # type: ignore[union-attr]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribed = await client.request("POST", unsubscribe_path(message), **ONE_CLICK)  # type: ignore[arg-type]
    assert unsubscribed.status_code == 200
    assert await client(MINE, as_member="ada_l") == {
        "data": {
            "viewer": {
                "newsletter": False,
                "consents": [{"kind": "NEWSLETTER", "granted": False, "policyVersion": "2026-01"}],
            }
        }
    }
