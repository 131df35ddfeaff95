"""Issue 14, "account takeover through a pending email change" (SECURITY.md G7 and G18,
taken further): someone who once held a member's session and password asks to move the
account to their own address; the owner changes or resets the password, which must
cancel every link mailed before (reset, change of address, confirmation). And a move that
completes is mailed to the old address, so an owner who did not ask knows to act.

The cast: ada_l is a confirmed member (ada_l@example.org) signed in on `gql`; the attacker
uses her session and knows her old password; mallory@evil.example is the attacker's box.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from models.accounts import EmailToken, User
from tests.support.accounts import all_delivered, settled
from tests.support.documents import (
    ADDRESS,
    CHANGE_EMAIL,
    CHANGE_PASSWORD,
    CONFIRM,
    NEW_PASSWORD,
    PUBLIC,
    REQUEST_RESET,
    RESET,
)
from tests.support.harness import PASSWORD, Client
from tests.support.mail import Mailbox, token_in
from tests.support.members import member

ATTACKER = "mallory@evil.example"
CHANGED = {"data": {"changeEmail": {"userErrors": []}}}
INVALID_LINK = {
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
VIEWER_EMAIL = "{ viewer { email } }"


@pytest.fixture
async def ada(gql: Client) -> User:
    """A confirmed member, signed in on gql as ada_l."""
    return await member(gql, "ada_l")


async def change_email(gql: Client, address: str) -> dict:
    """As ada_l (with her password): ask to move the account to `address`."""
    move = {"password": PASSWORD, "newEmail": address}
    return await gql(CHANGE_EMAIL, {"i": move}, as_member="ada_l")


async def owner_changes_password(gql: Client, mailbox: Mailbox) -> None:
    """ada signs in in another browser and changes her password there."""
    await gql.sign_in("ada_l")
    change = {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}
    answer = await gql(CHANGE_PASSWORD, {"i": change}, as_member="ada_l")
    assert answer == {"data": {"changePassword": {"userErrors": []}}}


async def owner_resets_password(gql: Client, mailbox: Mailbox) -> None:
    """ada asks for a reset link and sets a new password with it."""
    assert await gql(REQUEST_RESET, {"i": {"email": ADDRESS}}) == {
        "data": {"requestPasswordReset": {"userErrors": []}}
    }
    await settled()
    mails = await mailbox.wait_for(ADDRESS, 2)  # the change notice, then the reset link
    (link,) = [mail for mail in mails if mail["Subject"] == "Reset your password"]
    answer = await gql(RESET, {"i": {"token": token_in(link), "newPassword": NEW_PASSWORD}})
    assert answer == {"data": {"resetPassword": {"userErrors": []}}}


@pytest.mark.parametrize(
    "new_password", [owner_changes_password, owner_resets_password], ids=["change", "reset"]
)
async def test_G18_a_new_password_cancels_an_attackers_pending_email_change(
    gql: Client,
    ada: User,
    mailbox: Mailbox,
    new_password: Callable[[Client, Mailbox], Awaitable[None]],
) -> None:
    assert await change_email(gql, ATTACKER) == CHANGED
    (link,) = await mailbox.wait_for(ATTACKER)
    await new_password(gql, mailbox)

    answer = await gql(CONFIRM, {"i": {"token": token_in(link)}})

    assert answer == INVALID_LINK
    assert (await User.get(id=ada.id)).email == ADDRESS
    await gql.sign_in("ada_l", NEW_PASSWORD)
    assert await gql(VIEWER_EMAIL, as_member="ada_l") == {"data": {"viewer": {"email": ADDRESS}}}
    # Nothing mailed before the new password still opens anything.
    assert await EmailToken.filter(user_id=ada.id, used_at__isnull=True).count() == 0
    # And the attacker's box is no way in: a reset for it mails nothing.
    await gql(REQUEST_RESET, {"i": {"email": ATTACKER}})
    await settled()
    await all_delivered()
    assert [mail["To"] for mail in mailbox.messages()].count(ATTACKER) == 1


async def test_G18_a_new_password_cancels_a_pending_reset_link_too(
    gql: Client, ada: User, mailbox: Mailbox
) -> None:
    assert await gql(REQUEST_RESET, {"i": {"email": ADDRESS}}) == {
        "data": {"requestPasswordReset": {"userErrors": []}}
    }
    await settled()
    (link,) = await mailbox.wait_for(ADDRESS)
    assert await change_email(gql, "ada.new@example.org") == CHANGED
    (move,) = await mailbox.wait_for("ada.new@example.org")
    await owner_changes_password(gql, mailbox)

    reset = await gql(RESET, {"i": {"token": token_in(link), "newPassword": "a third passphrase"}})
    confirm = await gql(CONFIRM, {"i": {"token": token_in(move)}})

    invalid = {"field": ["token"], "message": "This link is invalid or has expired."}
    assert reset == {
        "data": {"resetPassword": {"userErrors": [{**invalid, "code": "INVALID_TOKEN"}]}}
    }
    assert confirm == INVALID_LINK


async def test_G18_a_completed_move_is_mailed_to_the_old_address_without_the_new_one(
    gql: Client, ada: User, mailbox: Mailbox
) -> None:
    assert await change_email(gql, "ada.new@example.org") == CHANGED
    (link,) = await mailbox.wait_for("ada.new@example.org")

    answer = await gql(CONFIRM, {"i": {"token": token_in(link)}})

    assert answer == {"data": {"confirmEmail": {"user": {"username": "ada_l"}, "userErrors": []}}}
    mails = await mailbox.wait_for(ADDRESS, 2)
    assert [mail["Subject"] for mail in mails] == [
        "Your email address is being changed",
        "Your account now uses another email address",
    ]
    assert mails[1].get_content() == (
        "Hello,\n\nThe email address of your account was just changed: this address "
        "will get no more mail about the account.\n\n"
        f"If it was not you, reset your password at {PUBLIC} at once and "
        "tell the site's moderators; your account may be in someone else's hands.\n"
    )
