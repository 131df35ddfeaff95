"""Issue 14, "whether an address is registered shows through side effects" (SECURITY.md G1
and G15, taken further): a registration is only a pending registration until its mailed
link is opened. It holds its username and nothing else about it shows, whether its
address is free or already a member's; counters on an address never change an answer.

The cast: ada_l is a confirmed member (ada_l@example.org); bob_k a second one where a
test needs two. Registrations use their own password, so that signing in with it can
only succeed through the registration itself.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import extract_parameters

from models.accounts import PendingRegistration, User
from models.base import Role
from models.policy import Consent, ConsentKind
from resolvers.accounts import create_member
from resolvers.common import Refused
from resolvers.policy import current_policy
from services import passwords
from services.addresses import AddressVault
from services.settings import Settings
from tests.support.accounts import SpyHasher, all_delivered
from tests.support.documents import (
    ADDRESS,
    CHANGE_EMAIL,
    CONFIRM,
    INVALID_CREDENTIALS,
    LOGIN,
    REGISTER,
    REGISTERED,
    RESEND,
    RESENT,
)
from tests.support.forum import gid
from tests.support.harness import TEST_IP, Client, Server
from tests.support.harness import test_settings as make_settings
from tests.support.mail import Mailbox, token_in
from tests.support.members import member

OWN_PASSWORD = "a newcomer's own passphrase"
FREE = "free@example.org"
TAKEN = {
    "data": {
        "register": {
            "userErrors": [
                {
                    "field": ["username"],
                    "message": "That username is taken.",
                    "code": "USERNAME_TAKEN",
                }
            ]
        }
    }
}
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
NOBODY = {"data": {"a": None, "b": None}}
PAIR = """
query($a: String!, $b: String!) {
  a: user(username: $a) { username }
  b: user(username: $b) { username }
}
"""
SEARCH = "query($s: String!) { users(search: $s) { edges { node { username } } } }"
CORRECTION = """
mutation($i: RequestCorrectionInput!) {
  requestCorrection(input: $i) { userErrors { field message code } }
}
"""


@pytest.fixture
async def ada(gql: Client) -> User:
    """A confirmed member, signed in on gql as ada_l."""
    return await member(gql, "ada_l")


@pytest.fixture
def spy_hasher(gql: Client, monkeypatch: pytest.MonkeyPatch) -> SpyHasher:
    """The server's Argon2 hasher, as the app configured it, noting every verification."""
    spy = SpyHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", spy)
    return spy


async def register(gql: Client, username: str, email: str, **extra: Any) -> dict[str, Any]:
    """Register with the newcomer's own password; the whole answer."""
    policy = await current_policy()
    fields = {"username": username, "email": email, "password": OWN_PASSWORD}
    fields |= {"dateOfBirth": "1990-05-17", "acceptPolicyVersion": policy.version, **extra}
    return await gql(REGISTER, {"i": fields})


async def login(gql: Client, name: str, password: str = OWN_PASSWORD) -> dict[str, Any]:
    """Try to sign in; the whole answer."""
    return await gql(LOGIN, {"i": {"login": name, "password": password}})


# ------------------------------------------------------------------ the probe from the issue


async def probe(gql: Client, username: str, email: str) -> list[dict[str, Any]]:
    """Everything an anonymous prober sees of one registration, in order."""
    return [
        await register(gql, username, email),
        await gql(PAIR, {"a": username, "b": username.upper()}),
        await gql(SEARCH, {"s": username}),
        await login(gql, username),
        await register(gql, username, f"again.{username}@example.org"),
    ]


async def test_G1_a_registration_with_a_members_address_and_one_with_a_free_address_look_alike(
    gql: Client, ada: User
) -> None:
    with_members_address = await probe(gql, "probe1x", ADDRESS)
    with_free_address = await probe(gql, "probe2x", FREE)

    empty_search = {"data": {"users": {"edges": []}}}
    expected = [REGISTERED, NOBODY, empty_search, INVALID_CREDENTIALS, TAKEN]
    assert with_members_address == with_free_address == expected


async def test_G1_no_account_exists_until_the_link_is_opened(gql: Client, ada: User) -> None:
    assert await register(gql, "probe1x", ADDRESS) == REGISTERED
    assert await register(gql, "probe2x", FREE) == REGISTERED

    assert await User.all().values_list("username", flat=True) == ["ada_l"]
    pending = await PendingRegistration.all().order_by("id").values_list("username", "email")
    assert pending == [("probe1x", ADDRESS), ("probe2x", FREE)]


# ------------------------------------------------------------------ the username is held


async def test_G1_a_registration_with_a_members_address_holds_its_username_as_any_other(
    gql: Client, ada: User
) -> None:
    assert await register(gql, "mallory", ADDRESS) == REGISTERED
    assert await register(gql, "grace_h", FREE) == REGISTERED

    assert await register(gql, "Mallory", "other.one@example.org") == TAKEN
    assert await register(gql, "grace.h", "other.two@example.org") == TAKEN


async def test_G1_createuser_and_corrections_cannot_take_a_pending_registrations_name(
    gql: Client, ada: User
) -> None:
    assert await register(gql, "mallory", ADDRESS) == REGISTERED

    with pytest.raises(Refused) as refused:
        await create_member("mallory", "someone@example.org", OWN_PASSWORD, Role.MEMBER)
    correction = {"field": "username", "proposedValue": "MaIlory", "reason": "My real name"}
    answer = await gql(CORRECTION, {"i": correction}, as_member="ada_l")

    assert [p.code for p in refused.value.problems] == ["USERNAME_TAKEN"]
    error = {"field": ["proposedValue"], "message": "That username is taken."}
    assert answer == {
        "data": {"requestCorrection": {"userErrors": [{**error, "code": "USERNAME_TAKEN"}]}}
    }


async def test_G1_an_expired_registration_frees_its_username_and_its_link(
    gql: Client, mailbox: Mailbox
) -> None:
    assert await register(gql, "grace_h", FREE) == REGISTERED
    (mail,) = await mailbox.wait_for(FREE)
    await PendingRegistration.all().update(expires_at=datetime.now(UTC) - timedelta(seconds=1))

    assert await register(gql, "grace_h", "grace.again@example.org") == REGISTERED

    assert await PendingRegistration.all().values_list("email", flat=True) == [
        "grace.again@example.org"
    ]
    assert await gql(CONFIRM, {"i": {"token": token_in(mail)}}) == INVALID_LINK
    assert await User.all().count() == 0


# ------------------------------------------------------------------ opening the link


async def test_G1_opening_the_link_creates_the_confirmed_member_with_the_registrations_consents(
    tmp_path: Path, database_url: str, mailbox: Mailbox
) -> None:
    # Behind our proxy, so registering and confirming come from addresses of their own:
    # the account and its consents keep where the registration came from.
    settings = make_settings(tmp_path, database_url, trusted_proxies=f"{TEST_IP}/32")
    registering, confirming = "198.51.100.31", "198.51.100.32"
    async with Server(settings) as gql:
        gql.ips.update({registering, confirming})
        policy = await current_policy()
        fields = {"username": "grace_h", "email": "Grace.H@Example.org", "newsletter": True}
        fields |= {"password": OWN_PASSWORD, "dateOfBirth": "1990-05-17"}
        sent = await gql(
            REGISTER,
            {"i": {**fields, "acceptPolicyVersion": policy.version}},
            headers={"x-forwarded-for": registering, "user-agent": "Registering/1.0"},
        )
        assert sent == REGISTERED
        (mail,) = await mailbox.wait_for("Grace.H@example.org")
        assert await User.all().count() == 0

        answer = await gql(
            CONFIRM, {"i": {"token": token_in(mail)}}, headers={"x-forwarded-for": confirming}
        )
        signed_in = await login(gql, "grace.h@example.org")
        user = await User.get(username="grace_h")
        consents = await Consent.filter(user_id=user.id).order_by("id")
        waiting = await PendingRegistration.all().count()

    assert answer == {"data": {"confirmEmail": {"user": {"username": "grace_h"}, "userErrors": []}}}
    assert signed_in == {"data": {"login": {"user": {"username": "grace_h"}, "userErrors": []}}}
    vault = AddressVault(settings.address_key)
    assert (user.email, user.email_key, user.date_of_birth) == (
        "Grace.H@example.org",
        "grace.h@example.org",
        date(1990, 5, 17),
    )
    assert (user.confirmed, user.newsletter, user.role) == (True, True, Role.MEMBER)
    assert (vault.open(user.ip_cipher or ""), user.ip_hash) == (
        registering,
        vault.fingerprint(registering),
    )
    assert [(c.kind, c.granted, c.policy_version, c.ip_hash, c.user_agent) for c in consents] == [
        (kind, True, policy.version, vault.fingerprint(registering), "Registering/1.0")
        for kind in (ConsentKind.PRIVACY_POLICY, ConsentKind.NEWSLETTER)
    ]
    assert waiting == 0


async def test_G1_an_address_that_became_a_members_before_the_link_was_opened_makes_it_invalid(
    gql: Client, mailbox: Mailbox
) -> None:
    assert await register(gql, "grace_h", FREE) == REGISTERED
    (mail,) = await mailbox.wait_for(FREE)
    await create_member("bob_k", FREE, OWN_PASSWORD, Role.MEMBER)

    answer = await gql(CONFIRM, {"i": {"token": token_in(mail)}})

    assert answer == INVALID_LINK
    assert await User.all().values_list("username", flat=True) == ["bob_k"]
    # A registration that can never become an account no longer holds its name.
    assert await register(gql, "grace_h", "grace.again@example.org") == REGISTERED


async def test_G1_a_registrations_link_works_once(gql: Client, mailbox: Mailbox) -> None:
    assert await register(gql, "grace_h", FREE) == REGISTERED
    (mail,) = await mailbox.wait_for(FREE)
    assert (await gql(CONFIRM, {"i": {"token": token_in(mail)}}))["data"]["confirmEmail"][
        "userErrors"
    ] == []

    assert await gql(CONFIRM, {"i": {"token": token_in(mail)}}) == INVALID_LINK
    assert await User.all().count() == 1


# ------------------------------------------------------------------ signing in


@pytest.mark.parametrize("name", ["grace_h", FREE], ids=["username", "email"])
async def test_G1_a_pending_registration_signs_in_no_more_than_a_wrong_password(
    gql: Client, spy_hasher: SpyHasher, name: str
) -> None:
    ada = await create_member("ada_l", ADDRESS, OWN_PASSWORD, Role.MEMBER, date(1990, 5, 17))
    assert await register(gql, "grace_h", FREE) == REGISTERED

    answers = [await login(gql, name), await login(gql, "ada_l", "not her password")]

    assert answers == [INVALID_CREDENTIALS] * 2
    # The same Argon2 work as a wrong password: one verification each, of a member's cost.
    assert spy_hasher.verified == [extract_parameters(ada.password_hash)] * 2


LEGACY_LOOKUPS = """
query($u: String!, $id: ID!) {
  user(username: $u) { username }
  users(search: $u) { edges { node { username } } }
  node(id: $id) { id }
}
"""


async def test_G1_an_unconfirmed_account_from_before_is_no_member_until_it_confirms(
    gql: Client, mailbox: Mailbox
) -> None:
    # Accounts registered before registrations waited for their link: rows without a
    # confirmation. They are nobody to others and cannot sign in, but may still confirm.
    old = await member(gql, "old_timer", confirmed=False, signed_in=False)
    address = "old_timer@example.org"
    lookups = {"u": "old_timer", "id": gid("User", old.id)}

    hidden = await gql(LEGACY_LOOKUPS, lookups)
    refused = await login(gql, "old_timer", "correct horse battery")
    assert await gql(RESEND, {"i": {"email": address}}) == RESENT
    (mail,) = await mailbox.wait_for(address)
    confirmed = await gql(CONFIRM, {"i": {"token": token_in(mail)}})

    assert hidden == {"data": {"user": None, "users": {"edges": []}, "node": None}}
    assert refused == INVALID_CREDENTIALS
    assert confirmed == {
        "data": {"confirmEmail": {"user": {"username": "old_timer"}, "userErrors": []}}
    }
    assert await gql(LEGACY_LOOKUPS, lookups) == {
        "data": {
            "user": {"username": "old_timer"},
            "users": {"edges": [{"node": {"username": "old_timer"}}]},
            "node": {"id": gid("User", old.id)},
        }
    }


# ------------------------------------------------------------------ resending


async def test_G1_a_resend_for_a_pending_registration_retires_the_old_link_and_extends_it(
    gql: Client, mailbox: Mailbox
) -> None:
    assert await register(gql, "grace_h", FREE) == REGISTERED
    (first,) = await mailbox.wait_for(FREE)
    await PendingRegistration.all().update(expires_at=datetime.now(UTC) + timedelta(minutes=1))

    assert await gql(RESEND, {"i": {"email": "FREE@example.org"}}) == RESENT

    mails = await mailbox.wait_for(FREE, 2)
    (second,) = {token_in(mail) for mail in mails} - {token_in(first)}
    row = await PendingRegistration.get(username="grace_h")
    assert row.expires_at > datetime.now(UTC) + timedelta(hours=47)
    assert await gql(CONFIRM, {"i": {"token": token_in(first)}}) == INVALID_LINK
    answer = await gql(CONFIRM, {"i": {"token": second}})
    assert answer == {"data": {"confirmEmail": {"user": {"username": "grace_h"}, "userErrors": []}}}


async def test_G1_a_resend_for_a_registration_with_a_members_address_mails_nobody(
    gql: Client, ada: User, mailbox: Mailbox
) -> None:
    assert await register(gql, "mallory", ADDRESS) == REGISTERED
    await mailbox.wait_for(ADDRESS)  # the notice

    assert await gql(RESEND, {"i": {"email": ADDRESS}}) == RESENT
    await all_delivered()

    assert [mail["Subject"] for mail in mailbox.messages()] == [
        "Someone tried to register with your email address"
    ]


# ------------------------------------------------------------------ counters on an address


@pytest.fixture
def limited_settings(tmp_path: Path, database_url: str) -> Settings:
    """The test settings with the rate limits on."""
    return make_settings(tmp_path, database_url, rate_limits="on")


async def test_G15_three_email_changes_then_a_resend_answer_alike_for_a_member_and_a_free_address(
    limited_settings: Settings, mailbox: Mailbox
) -> None:
    async with Server(limited_settings) as gql:
        await member(gql, "ada_l")
        await member(gql, "carol_m")
        await member(gql, "bob_k", signed_in=False)
        answers: dict[str, list[dict[str, Any]]] = {}
        for viewer, target in [("ada_l", "bob_k@example.org"), ("carol_m", FREE)]:
            change = {"password": "correct horse battery", "newEmail": target}
            answers[target] = [
                await gql(CHANGE_EMAIL, {"i": change}, as_member=viewer) for _ in range(3)
            ]
            answers[target].append(await gql(RESEND, {"i": {"email": target}}))

    changed = {"data": {"changeEmail": {"userErrors": []}}}
    assert answers["bob_k@example.org"] == answers[FREE] == [changed] * 3 + [RESENT]


async def test_G15_registrations_count_mail_to_every_address_alike_and_never_refuse_for_it(
    limited_settings: Settings, mailbox: Mailbox
) -> None:
    async with Server(limited_settings) as gql:
        await member(gql, "ada_l", signed_in=False)
        answers: dict[str, list[dict[str, Any]]] = {}
        for prefix, target in [("taken", ADDRESS), ("free", FREE)]:
            answers[target] = [await register(gql, f"{prefix}{n}", target) for n in range(4)]
            answers[target].append(await gql(RESEND, {"i": {"email": target}}))
        await all_delivered()

    assert answers[ADDRESS] == answers[FREE] == [REGISTERED] * 4 + [RESENT]
    # Three mails an hour to one address, the fourth and the resend skipped silently.
    subjects = [(mail["To"], mail["Subject"]) for mail in mailbox.messages()]
    assert sorted(subjects) == sorted(
        [(ADDRESS, "Someone tried to register with your email address")] * 3
        + [(FREE, "Confirm your email address")] * 3
    )
