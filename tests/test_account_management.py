"""The member's own account: changing password and email, seeing and ending sessions."""

from __future__ import annotations

import pytest

from models.accounts import EmailToken, TokenPurpose, User
from models.base import Role
from models.mail import OutboxMail
from models.sessions import Session
from resolvers.accounts import create_member
from schema import ids
from services.addresses import AddressVault
from services.settings import Settings
from tests.support.documents import VIEWER
from tests.support.harness import (
    PASSWORD,
    TEST_IP,
    Client,
    session_cookie,
)
from tests.support.mail import Mailbox, token_in
from tests.support.members import member

NEW_PASSWORD = "a brand new passphrase"
CHROME_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)

CHANGE_PASSWORD = """
mutation($i: ChangePasswordInput!) {
  changePassword(input: $i) { userErrors { field message code } }
}
"""
CHANGE_EMAIL = """
mutation($i: ChangeEmailInput!) {
  changeEmail(input: $i) { userErrors { field message code } }
}
"""
CONFIRM = """
mutation($t: String!) {
  confirmEmail(input: {token: $t}) { user { username } userErrors { code } }
}
"""
LOGIN = """
mutation($i: LoginInput!) {
  login(input: $i) { user { username } userErrors { code } }
}
"""
SESSIONS = """
query {
  viewer { sessions { id createdAt lastUsedAt browser operatingSystem country current } }
}
"""
REVOKE = """
mutation($i: RevokeSessionInput!) {
  revokeSession(input: $i) { userErrors { field message code } }
}
"""
REVOKE_OTHERS = """
mutation {
  revokeOtherSessions { userErrors { field message code } }
}
"""
OWNER_ONLY = """
query {
  user(username: "ada_l") {
    sessions { id } newsletter consents { kind } policyAccepted
    correctionRequests { id } privacyReads { edges { cursor } }
  }
}
"""

ADA = {"data": {"viewer": {"username": "ada_l"}}}
ANONYMOUS = {"data": {"viewer": None}}
CHANGED = {"data": {"changePassword": {"userErrors": []}}}
EMAIL_CHANGE_ASKED = {"data": {"changeEmail": {"userErrors": []}}}


def error(path: str, message: str, code: str) -> dict:
    """The answer to a mutation refused with a GraphQL error (its field on line 3)."""
    located = {"message": message, "locations": [{"line": 3, "column": 3}], "path": [path]}
    return {"data": {path: None}, "errors": [{**located, "extensions": {"code": code}}]}


def user_error(mutation: str, field: str, message: str, code: str) -> dict:
    return {
        "data": {mutation: {"userErrors": [{"field": [field], "message": message, "code": code}]}}
    }


async def login(gql: Client, name: str, password: str = PASSWORD) -> dict:
    return await gql(LOGIN, {"i": {"login": name, "password": password}})


def signed_in(username: str) -> dict:
    return {"data": {"login": {"user": {"username": username}, "userErrors": []}}}


NOT_SIGNED_IN = {"data": {"login": {"user": None, "userErrors": [{"code": "INVALID_CREDENTIALS"}]}}}


@pytest.fixture
async def ada(gql: Client) -> User:
    return await member(gql, "ada_l", by_login=True)


# ------------------------------------------------------------------ changePassword


async def test_change_password_needs_the_current_password(gql: Client, ada: User) -> None:
    response = await gql(
        CHANGE_PASSWORD,
        {"i": {"currentPassword": "not my password", "newPassword": NEW_PASSWORD}},
        as_member="ada_l",
    )

    assert response == user_error(
        "changePassword", "currentPassword", "Your current password is not right.", "WRONG_PASSWORD"
    )
    assert await login(gql, "ada_l", NEW_PASSWORD) == NOT_SIGNED_IN


@pytest.mark.parametrize(
    ("new_password", "message", "code"),
    [
        ("short one", "Passwords need at least 10 characters.", "PASSWORD_TOO_SHORT"),
        ("x" * 257, "Passwords have at most 256 characters.", "PASSWORD_TOO_LONG"),
        (
            "password123",
            "That password is too easy to guess; choose another.",
            "PASSWORD_TOO_COMMON",
        ),
        (
            "my name is ada_l!",
            "That password is too easy to guess; choose another.",
            "PASSWORD_TOO_COMMON",
        ),
    ],
)
async def test_change_password_applies_the_password_rules_to_the_new_one(
    gql: Client, ada: User, new_password: str, message: str, code: str
) -> None:
    response = await gql(
        CHANGE_PASSWORD,
        {"i": {"currentPassword": PASSWORD, "newPassword": new_password}},
        as_member="ada_l",
    )

    assert response == user_error("changePassword", "newPassword", message, code)
    assert await login(gql, "ada_l") == signed_in("ada_l")


async def test_change_password_replaces_the_password(gql: Client, ada: User) -> None:
    response = await gql(
        CHANGE_PASSWORD,
        {"i": {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}},
        as_member="ada_l",
    )

    assert response == CHANGED
    assert await login(gql, "ada_l", NEW_PASSWORD) == signed_in("ada_l")
    assert await login(gql, "ada_l") == NOT_SIGNED_IN


async def test_change_password_signs_out_every_other_session(gql: Client, ada: User) -> None:
    elsewhere = await gql.sign_in("ada_l")
    here = await gql.sign_in("ada_l")

    await gql(
        CHANGE_PASSWORD,
        {"i": {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}},
        cookie=here,
    )

    assert await gql(VIEWER, cookie=elsewhere) == ANONYMOUS
    assert await gql(VIEWER, cookie=here) == ADA


async def test_change_password_mails_a_notice(gql: Client, ada: User, mailbox: Mailbox) -> None:
    await gql(
        CHANGE_PASSWORD,
        {"i": {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}},
        as_member="ada_l",
    )

    (mail,) = await mailbox.wait_for("ada_l@example.org")
    assert mail["Subject"] == "Your password was changed"
    assert mail.get_content() == (
        "Hello,\n\nThe password of your account was just changed, and every other "
        "browser was signed out.\n\nIf it was not you, reset your password at "
        "http://localhost:8000 at once.\n"
    )


# ------------------------------------------------------------------ changeEmail


async def test_change_email_needs_the_password(gql: Client, ada: User) -> None:
    response = await gql(
        CHANGE_EMAIL,
        {"i": {"password": "not my password", "newEmail": "ada@new.example"}},
        as_member="ada_l",
    )

    assert response == user_error(
        "changeEmail", "password", "Your password is not right.", "WRONG_PASSWORD"
    )
    assert await OutboxMail.all().count() == 0


@pytest.mark.parametrize(
    ("new_email", "message", "code"),
    [
        ("not an address", "That is not a valid email address.", "EMAIL_INVALID"),
        ("ADA_L@example.org", "That is already your address.", "SAME_EMAIL"),
    ],
)
async def test_change_email_refuses_an_unusable_address(
    gql: Client, ada: User, new_email: str, message: str, code: str
) -> None:
    response = await gql(
        CHANGE_EMAIL, {"i": {"password": PASSWORD, "newEmail": new_email}}, as_member="ada_l"
    )

    assert response == user_error("changeEmail", "newEmail", message, code)
    assert await OutboxMail.all().count() == 0


async def test_the_token_mailed_to_the_new_address_moves_the_account(
    gql: Client, ada: User, mailbox: Mailbox
) -> None:
    await gql(
        CHANGE_EMAIL,
        {"i": {"password": PASSWORD, "newEmail": "ada@new.example"}},
        as_member="ada_l",
    )
    (mail,) = await mailbox.wait_for("ada@new.example")

    response = await gql(CONFIRM, {"t": token_in(mail)})

    assert response == {"data": {"confirmEmail": {"user": {"username": "ada_l"}, "userErrors": []}}}
    assert await login(gql, "ada@new.example") == signed_in("ada_l")
    assert await login(gql, "ada_l@example.org") == NOT_SIGNED_IN


async def test_change_email_leaves_the_account_until_the_new_address_confirms(
    gql: Client, ada: User, mailbox: Mailbox
) -> None:
    response = await gql(
        CHANGE_EMAIL,
        {"i": {"password": PASSWORD, "newEmail": "ada@new.example"}},
        as_member="ada_l",
    )

    assert response == EMAIL_CHANGE_ASKED
    (mail,) = await mailbox.wait_for("ada@new.example")
    assert mail["Subject"] == "Confirm your new email address"
    assert f"http://localhost:8000/confirm-email?token={token_in(mail)}" in mail.get_content()
    assert await login(gql, "ada_l@example.org") == signed_in("ada_l")
    assert await login(gql, "ada@new.example") == NOT_SIGNED_IN


async def test_change_email_tells_the_old_address(gql: Client, ada: User, mailbox: Mailbox) -> None:
    await gql(
        CHANGE_EMAIL,
        {"i": {"password": PASSWORD, "newEmail": "ada@new.example"}},
        as_member="ada_l",
    )

    (notice,) = await mailbox.wait_for("ada_l@example.org")
    assert notice["Subject"] == "Your email address is being changed"
    assert "token=" not in notice.get_content()


async def test_change_email_to_a_taken_address_answers_alike_and_changes_nothing(
    gql: Client, ada: User, mailbox: Mailbox
) -> None:
    await create_member("bob_k", "bob_k@example.org", PASSWORD, Role.MEMBER)

    response = await gql(
        CHANGE_EMAIL,
        {"i": {"password": PASSWORD, "newEmail": "bob_k@example.org"}},
        as_member="ada_l",
    )

    assert response == EMAIL_CHANGE_ASKED
    assert not await EmailToken.exists(purpose=TokenPurpose.CHANGE_EMAIL)
    (notice,) = await mailbox.wait_for("bob_k@example.org")
    assert "token=" not in notice.get_content()
    assert await login(gql, "ada_l@example.org") == signed_in("ada_l")


async def test_change_email_to_a_taken_address_tells_the_old_address_just_the_same(
    gql: Client, ada: User, mailbox: Mailbox
) -> None:
    # Otherwise a member's own inbox would tell them whose address the new one is.
    await create_member("bob_k", "bob_k@example.org", PASSWORD, Role.MEMBER)

    await gql(
        CHANGE_EMAIL,
        {"i": {"password": PASSWORD, "newEmail": "bob_k@example.org"}},
        as_member="ada_l",
    )

    (notice,) = await mailbox.wait_for("ada_l@example.org")
    assert notice["Subject"] == "Your email address is being changed"


async def test_the_change_email_token_records_the_client_address_encrypted(
    gql: Client, ada: User, settings: Settings
) -> None:
    await gql(
        CHANGE_EMAIL,
        {"i": {"password": PASSWORD, "newEmail": "ada@new.example"}},
        as_member="ada_l",
    )

    token = await EmailToken.get(purpose=TokenPurpose.CHANGE_EMAIL)
    assert TEST_IP not in token.ip_cipher
    assert AddressVault(settings.address_key).open(token.ip_cipher) == TEST_IP


# ------------------------------------------------------------------ sessions


async def test_viewer_sessions_describe_each_browser_without_its_address(
    gql: Client, ada: User
) -> None:
    response = await gql.post(
        LOGIN,
        {"i": {"login": "ada_l", "password": PASSWORD}},
        headers={"user-agent": CHROME_ON_WINDOWS},
    )
    chrome = session_cookie(response)

    listed = await gql(SESSIONS, cookie=chrome)

    older, newer = await Session.filter(user_id=ada.id).order_by("id")
    assert listed == {
        "data": {
            "viewer": {
                "sessions": [
                    {
                        "id": ids.encode("Session", newer.id),
                        "createdAt": newer.created_at.isoformat(),
                        "lastUsedAt": newer.last_used_at.isoformat(),
                        "browser": "Chrome",
                        "operatingSystem": "Windows",
                        "country": None,  # 203.0.113.0/24 is a documentation range
                        "current": True,
                    },
                    {
                        "id": ids.encode("Session", older.id),
                        "createdAt": older.created_at.isoformat(),
                        "lastUsedAt": older.last_used_at.isoformat(),
                        "browser": None,
                        "operatingSystem": None,
                        "country": None,
                        "current": False,
                    },
                ]
            }
        }
    }


async def test_the_session_type_has_no_address_field(gql: Client) -> None:
    response = await gql('{ __type(name: "Session") { fields { name } } }')

    names = [field["name"] for field in response["data"]["__type"]["fields"]]
    assert names == [
        "id",
        "createdAt",
        "lastUsedAt",
        "browser",
        "operatingSystem",
        "country",
        "current",
    ]


async def test_a_session_records_its_client_address_encrypted(
    gql: Client, ada: User, settings: Settings
) -> None:
    (session,) = await Session.filter(user_id=ada.id)

    assert TEST_IP not in session.ip_cipher
    assert AddressVault(settings.address_key).open(session.ip_cipher) == TEST_IP


async def test_revoke_session_signs_out_that_session_only(gql: Client, ada: User) -> None:
    first = gql.cookies["ada_l"]
    elsewhere = await gql.sign_in("ada_l")
    here = await gql.sign_in("ada_l")
    _, second, _ = await Session.filter(user_id=ada.id).order_by("id")

    response = await gql(
        REVOKE, {"i": {"sessionId": ids.encode("Session", second.id)}}, cookie=here
    )

    assert response == {"data": {"revokeSession": {"userErrors": []}}}
    assert [await gql(VIEWER, cookie=token) for token in (first, elsewhere, here)] == [
        ADA,
        ANONYMOUS,
        ADA,
    ]


async def test_revoke_other_sessions_keeps_only_the_current_one(gql: Client, ada: User) -> None:
    first = gql.cookies["ada_l"]
    second = await gql.sign_in("ada_l")
    here = await gql.sign_in("ada_l")

    response = await gql(REVOKE_OTHERS, cookie=here)

    assert response == {"data": {"revokeOtherSessions": {"userErrors": []}}}
    assert [await gql(VIEWER, cookie=token) for token in (first, second, here)] == [
        ANONYMOUS,
        ANONYMOUS,
        ADA,
    ]


async def test_another_members_session_is_not_found(gql: Client, ada: User) -> None:
    bob = await member(gql, "bob_k", by_login=True)
    (bobs,) = await Session.filter(user_id=bob.id)

    response = await gql(
        REVOKE, {"i": {"sessionId": ids.encode("Session", bobs.id)}}, as_member="ada_l"
    )

    assert response == user_error(
        "revokeSession", "sessionId", "You have no such session.", "SESSION_NOT_FOUND"
    )
    assert await gql(VIEWER, as_member="bob_k") == {"data": {"viewer": {"username": "bob_k"}}}


@pytest.mark.parametrize(
    ("query", "variables", "path"),
    [
        (
            CHANGE_PASSWORD,
            {"i": {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}},
            "changePassword",
        ),
        (CHANGE_EMAIL, {"i": {"password": PASSWORD, "newEmail": "x@new.example"}}, "changeEmail"),
        (REVOKE, {"i": {"sessionId": ids.encode("Session", 1)}}, "revokeSession"),
        (REVOKE_OTHERS, None, "revokeOtherSessions"),
    ],
)
async def test_account_changes_need_a_signed_in_member(
    gql: Client, ada: User, query: str, variables: dict | None, path: str
) -> None:
    response = await gql(query, variables)

    assert response == error(path, "Sign in to do this.", "UNAUTHENTICATED")
    assert await Session.filter(user_id=ada.id, revoked_at__isnull=True).count() == 1


@pytest.mark.parametrize("viewer", [None, "bob_k", "mod_m", "admin_a"])
async def test_owner_only_fields_are_null_for_everyone_else(
    gql: Client, ada: User, viewer: str | None
) -> None:
    await member(gql, "bob_k", by_login=True)
    await member(gql, "mod_m", Role.MODERATOR, by_login=True)
    await member(gql, "admin_a", Role.ADMIN, by_login=True)

    response = await gql(OWNER_ONLY, as_member=viewer)

    assert response == {
        "data": {
            "user": {
                "sessions": None,
                "newsletter": None,
                "consents": None,
                "policyAccepted": None,
                "correctionRequests": None,
                "privacyReads": None,
            }
        }
    }
