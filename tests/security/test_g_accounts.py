"""SECURITY.md section G: accounts — enumeration, sessions, cookies, reset and confirmation
tokens, password policy. The rate-limit rows (G14-G16, and B4's aliased mutations) are in
test_g_rate_limits.py.

The cast: ada_l is a confirmed member (ada_l@example.org) signed in on `gql`; bob_k, where
a second account is needed. The timing rows (G2, G3) assert the structural property that
makes the answers alike (a dummy hash of the same cost, work moved after the answer) and,
as a coarse check, that the medians of 10 interleaved rounds are within a factor of 3.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import extract_parameters
from tortoise import Tortoise

from models.accounts import EmailToken, PendingRegistration, TokenPurpose, User
from models.base import Role
from models.mail import OutboxMail
from models.sessions import Session
from resolvers import accounts as account_resolvers
from resolvers import mails
from resolvers import passwords as password_resolvers
from resolvers.accounts import create_member
from services import passwords
from services.logs import json_formatter
from tests.support.accounts import SpyHasher, all_delivered, settled
from tests.support.documents import (
    ADA,
    ADDRESS,
    ANONYMOUS,
    ASKED,
    CHANGE_EMAIL,
    CHANGE_PASSWORD,
    CONFIRM,
    INVALID_CREDENTIALS,
    LOGIN,
    LOGOUT,
    NEW_PASSWORD,
    PUBLIC,
    REGISTER,
    REGISTERED,
    REQUEST_RESET,
    RESEND,
    RESET,
    SIGNED_IN,
    TOKEN,
    VIEWER,
)
from tests.support.harness import PASSWORD, TEST_IP, Client, Live, Server, session_cookie
from tests.support.harness import test_settings as make_settings
from tests.support.mail import Mailbox, token_in
from tests.support.members import member, register

RESET_DONE = {"data": {"resetPassword": {"userErrors": []}}}
INVALID_LINK = {
    "field": ["token"],
    "message": "This link is invalid or has expired.",
    "code": "INVALID_TOKEN",
}
RESET_INVALID = {"data": {"resetPassword": {"userErrors": [INVALID_LINK]}}}
CONFIRM_INVALID = {"data": {"confirmEmail": {"user": None, "userErrors": [INVALID_LINK]}}}
# Starlette writes the attributes in this order; a Domain attribute would sit before Max-Age.
SESSION_SET = r"session=([A-Za-z0-9_-]{43}); HttpOnly; Max-Age=%d; Path=/; SameSite=lax"
SESSION_CLEARED = re.compile(
    r'session=""; expires=\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT; HttpOnly; '
    r"Max-Age=0; Path=/; SameSite=lax"
)


@pytest.fixture
async def ada(gql: Client) -> User:
    """A confirmed member, signed in on gql as ada_l."""
    return await member(gql, "ada_l")


async def login(gql: Client, name: str, password: str = PASSWORD, **options: Any) -> httpx.Response:
    """POST the login mutation; the raw response, cookies and all."""
    return await gql.post(LOGIN, {"i": {"login": name, "password": password}}, **options)


async def request_reset(gql: Client, address: str = ADDRESS, **options: Any) -> dict:
    """Ask for a password-reset link for an address."""
    return await gql(REQUEST_RESET, {"i": {"email": address}}, **options)


async def reset(gql: Client, token: str, password: str = NEW_PASSWORD, **options: Any) -> dict:
    """Set a new password with a reset token."""
    return await gql(RESET, {"i": {"token": token, "newPassword": password}}, **options)


async def confirm(gql: Client, token: str, **options: Any) -> dict:
    """Confirm an email address with a token."""
    return await gql(CONFIRM, {"i": {"token": token}}, **options)


async def mailed_reset(gql: Client, mailbox: Mailbox, count: int = 1, to: str = ADDRESS) -> str:
    """Ask for a reset link; the token of the newest of `count` mails to the address."""
    assert await request_reset(gql, to) == ASKED
    mails_to = await mailbox.wait_for(to, count)
    return token_in(mails_to[-1])


async def can_sign_in(gql: Client, name: str, password: str) -> bool:
    """Does the password sign the account in? (Leaves no cookie on the client.)"""
    result = (await login(gql, name, password)).json()
    return result["data"]["login"]["userErrors"] == []


async def database_text() -> str:
    """Every row of every table, as text."""
    rows = []
    for model in Tortoise.apps["models"].values():
        rows += [repr(row) for row in await model.all().values()]
    return "\n".join(rows)


def shared_prefixes(tokens: list[str], length: int) -> set[str]:
    """Prefixes of `length` characters that more than one token starts with."""
    seen: dict[str, int] = {}
    for token in tokens:
        seen[token[:length]] = seen.get(token[:length], 0) + 1
    return {prefix for prefix, count in seen.items() if count > 1}


def within_factor(durations: dict[str, list[float]], factor: float) -> bool:
    """Are the medians of every case within `factor` of each other?"""
    medians = [statistics.median(values) for values in durations.values()]
    return max(medians) <= factor * min(medians)


@pytest.fixture
def spy_hasher(gql: Client, monkeypatch: pytest.MonkeyPatch) -> SpyHasher:
    """Replace the server's Argon2 hasher (as the app configured it) by a spy."""
    spy = SpyHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", spy)
    return spy


def count_calls(
    monkeypatch: pytest.MonkeyPatch, calls: list[str], module: object, name: str
) -> None:
    """Wrap a module's function so that every call appends the function's name to `calls`."""
    original = getattr(module, name)

    def noted(*args: Any) -> Any:
        calls.append(name)
        return original(*args)

    monkeypatch.setattr(module, name, noted)


# ------------------------------------------------------------------ G1: enumeration at register


async def test_G1_a_taken_and_a_fresh_email_get_the_same_answer(gql: Client, ada: User) -> None:
    policy = (await gql("{ privacyPolicy { version } }"))["data"]["privacyPolicy"]["version"]
    answers = []
    for username, email in [("mallory", ADDRESS), ("grace_h", "grace_h@example.org")]:
        fields = {"username": username, "email": email, "password": PASSWORD}
        fields |= {"dateOfBirth": "1990-05-17", "acceptPolicyVersion": policy}
        response = await gql.post(REGISTER, {"i": fields})
        answers.append((response.status_code, response.json(), response.headers.get("set-cookie")))

    assert answers[0] == answers[1] == (200, REGISTERED, None)


async def test_G1_a_taken_email_creates_nothing(gql: Client, ada: User) -> None:
    assert await register(gql, "mallory", email="ADA_L@Example.org") == REGISTERED

    assert await User.all().values_list("username", flat=True) == ["ada_l"]
    assert await EmailToken.all().count() == 0
    assert not await can_sign_in(gql, "mallory", PASSWORD)


async def test_G1_the_owner_of_a_taken_email_is_told_without_a_link(
    gql: Client, ada: User, mailbox: Mailbox
) -> None:
    await register(gql, "mallory", email=ADDRESS)

    (notice,) = await mailbox.wait_for(ADDRESS)
    assert notice["Subject"] == "Someone tried to register with your email address"
    assert notice.get_content() == (
        "Hello,\n\nSomeone just tried to create a new account with this email address, "
        "which already belongs to an account.\n\n"
        f"If it was you, sign in at {PUBLIC} or reset your password there.\n"
        "If it was not you, you need do nothing: no account was created.\n"
    )


async def test_G1_both_answers_cost_one_password_hash(
    gql: Client, ada: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The slow step must not be skipped for a taken address, or the time would tell.
    hashed: list[str] = []
    count_calls(monkeypatch, hashed, account_resolvers, "hash_password")

    await register(gql, "mallory", email=ADDRESS)
    taken = len(hashed)
    await register(gql, "grace_h")

    assert (taken, len(hashed) - taken) == (1, 1)


async def test_G1_a_taken_username_is_a_plain_username_taken_error(gql: Client, ada: User) -> None:
    response = await register(gql, "ADA_L", email="someone.else@example.org")

    error = {"field": ["username"], "message": "That username is taken.", "code": "USERNAME_TAKEN"}
    assert response == {"data": {"register": {"userErrors": [error]}}}


# ------------------------------------------------------------------ G2: enumeration at reset


async def test_G2_a_known_and_an_unknown_address_get_the_same_answer(
    gql: Client, ada: User
) -> None:
    answers = []
    for address in (ADDRESS, "nobody@example.org"):
        response = await gql.post(REQUEST_RESET, {"i": {"email": address}})
        answers.append((response.status_code, response.json(), response.headers.get("set-cookie")))

    assert answers[0] == answers[1] == (200, ASKED, None)


async def test_G2_the_answer_does_not_wait_for_the_lookup_or_the_mail(
    gql: Client, ada: User, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Structural: the known address's extra work (token, mail) is held until after the
    # answer has arrived, so it cannot be in the answer's time.
    release = asyncio.Event()
    reached = asyncio.Event()
    original = mails.send_reset

    async def held(*args: Any) -> None:
        reached.set()
        await release.wait()
        await original(*args)

    monkeypatch.setattr(mails, "send_reset", held)

    # An answer that waited for the held work would never come: bounded, it fails instead.
    answer = await asyncio.wait_for(request_reset(gql), 10)

    assert answer == ASKED
    await asyncio.wait_for(reached.wait(), 10)
    assert mailbox.messages() == []
    release.set()
    await settled()
    (mail,) = await mailbox.wait_for(ADDRESS)
    assert mail["Subject"] == "Reset your password"


async def test_G2_median_answer_times_are_alike(gql: Client, ada: User) -> None:
    # 10 interleaved rounds each; a factor of 3 between medians is far beyond noise
    # (the known address does its work after the answer, so the medians match closely).
    durations: dict[str, list[float]] = {ADDRESS: [], "nobody@example.org": []}
    for _ in range(10):
        for address, times in durations.items():
            started = time.perf_counter()
            answer = await request_reset(gql, address)
            times.append(time.perf_counter() - started)
            assert answer == ASKED
            await settled()
            await all_delivered()

    assert within_factor(durations, 3), durations


# ------------------------------------------------------------------ G3: enumeration at login

FAILED_LOGINS = [
    ("ada_l", "not the password"),  # wrong password
    ("nobody_here", PASSWORD),  # unknown username
    ("nobody@example.org", PASSWORD),  # unknown email
]


@pytest.mark.parametrize(("name", "password"), FAILED_LOGINS)
async def test_G3_every_failed_login_gets_the_same_answer_and_no_cookie(
    gql: Client, ada: User, name: str, password: str
) -> None:
    response = await login(gql, name, password)

    assert (response.status_code, response.json()) == (200, INVALID_CREDENTIALS)
    assert response.headers.get_list("set-cookie") == []


async def test_G3_every_failed_login_verifies_one_hash_of_the_members_cost(
    gql: Client, spy_hasher: SpyHasher
) -> None:
    # Structural: an unknown name still runs Argon2, against a dummy hash of the same cost.
    ada = await create_member("ada_l", ADDRESS, PASSWORD, Role.MEMBER, date(1990, 5, 17))

    for name, password in FAILED_LOGINS:
        assert (await login(gql, name, password)).json() == INVALID_CREDENTIALS

    assert spy_hasher.verified == [extract_parameters(ada.password_hash)] * 3


async def test_G3_median_times_are_alike_with_a_real_hash_cost(
    tmp_path: Path, database_url: str
) -> None:
    # Argon2 at 32 MiB (tens of milliseconds) outweighs the rest of a request, so a path
    # that skipped the hash would be several times faster; 10 interleaved rounds each,
    # and a factor of 3 between medians that a loaded machine does not reach.
    settings = make_settings(tmp_path, database_url, argon2_memory_kib=32768)
    async with Server(settings) as gql:
        await create_member("ada_l", ADDRESS, PASSWORD, Role.MEMBER, date(1990, 5, 17))
        durations: dict[str, list[float]] = {name: [] for name, _ in FAILED_LOGINS}
        for _ in range(10):
            for name, password in FAILED_LOGINS:
                started = time.perf_counter()
                response = await login(gql, name, password)
                durations[name].append(time.perf_counter() - started)
                assert response.json() == INVALID_CREDENTIALS

    assert within_factor(durations, 3), durations


# ------------------------------------------------------------------ G4: unlisted usernames

USER_LOOKUP = """
query($u: String!) {
  user(username: $u) {
    username email dateOfBirth age lastSeenAt newsletter
    profile { bio location website dietPlan }
    privacySettings { listedInMembers }
  }
}
"""
SEARCH = """
query($s: String!) { users(search: $s) { edges { node { username } } } }
"""


@pytest.fixture
async def unlisted_ada(gql: Client, ada: User) -> User:
    """ada_l with canary profile values, every audience ONLY_ME, and out of the directory."""
    profile = {"bio": "canary-bio-71", "location": "canary-town-72"}
    profile |= {"website": "https://canary-73.example", "dietPlan": "canary-diet-74"}
    updated = await gql(
        "mutation($i: UpdateProfileInput!) { updateProfile(input: $i) { userErrors { code } } }",
        {"i": profile},
        as_member="ada_l",
    )
    assert updated == {"data": {"updateProfile": {"userErrors": []}}}
    audiences = ["email", "dateOfBirth", "age", "lastSeen", "bio", "location", "website"]
    settings: dict[str, Any] = dict.fromkeys([*audiences, "dietPlan"], "ONLY_ME")
    changed = await gql(
        "mutation($i: UpdatePrivacySettingsInput!) {"
        " updatePrivacySettings(input: $i) { userErrors { code } } }",
        {"i": {**settings, "listedInMembers": False}},
        as_member="ada_l",
    )
    assert changed == {"data": {"updatePrivacySettings": {"userErrors": []}}}
    # Seen a moment ago, so a null lastSeenAt can only mean the audience held.
    await User.filter(id=ada.id).update(last_seen_at=datetime.now(UTC))
    return ada


async def test_G4_an_unlisted_member_is_not_found_by_search(
    gql: Client, unlisted_ada: User
) -> None:
    await member(gql, "ada_b")

    assert await gql(SEARCH, {"s": "ada"}) == {
        "data": {"users": {"edges": [{"node": {"username": "ada_b"}}]}}
    }


@pytest.mark.parametrize("viewer", [None, "bob_k"])
async def test_G4_the_username_lookup_reveals_nothing_but_the_username(
    gql: Client, unlisted_ada: User, viewer: str | None
) -> None:
    await member(gql, "bob_k")

    response = await gql(USER_LOOKUP, {"u": "ada_l"}, as_member=viewer)

    private = dict.fromkeys(["email", "dateOfBirth", "age", "lastSeenAt", "newsletter"])
    profile = dict.fromkeys(["bio", "location", "website", "dietPlan"])
    expected = {"username": "ada_l", **private, "profile": profile, "privacySettings": None}
    assert response == {"data": {"user": expected}}


# ------------------------------------------------------------------ G5: session fixation


async def test_G5_login_never_adopts_a_planted_cookie(gql: Client, ada: User) -> None:
    response = await login(gql, "ada_l", cookie="attackerchosen123")

    token = session_cookie(response)
    assert token is not None
    assert TOKEN.fullmatch(token)
    assert await gql(VIEWER, cookie="attackerchosen123") == ANONYMOUS
    assert await gql(VIEWER, cookie=token) == ADA


async def test_G5_a_planted_session_of_another_member_is_ended_not_upgraded(
    gql: Client, ada: User
) -> None:
    await member(gql, "bob_k")
    planted = gql.cookies["bob_k"]

    response = await login(gql, "ada_l", cookie=planted)

    assert response.json() == SIGNED_IN
    assert session_cookie(response) != planted
    assert await gql(VIEWER, cookie=planted) == ANONYMOUS


async def test_G5_twenty_session_tokens_are_distinct_random_256_bit_strings(
    gql: Client, ada: User
) -> None:
    tokens = [session_cookie(await login(gql, "ada_l")) or "" for _ in range(20)]

    assert all(TOKEN.fullmatch(token) for token in tokens), tokens
    assert len(set(tokens)) == 20
    # Tokens made from a clock or a counter share their leading characters; random ones
    # share six leading characters with odds of about one in 10^8 per pair.
    assert shared_prefixes(tokens, 6) == set()


# ------------------------------------------------------------------ G6: cookie flags


async def test_G6_the_session_cookie_is_httponly_lax_host_only_and_bounded(
    gql: Client, ada: User
) -> None:
    response = await login(gql, "ada_l")

    (cookie,) = response.headers.get_list("set-cookie")
    assert re.fullmatch(SESSION_SET % (30 * 86400), cookie), cookie


async def test_G6_the_session_cookie_is_secure_when_cookie_secure_is_on(
    tmp_path: Path, database_url: str
) -> None:
    settings = make_settings(tmp_path, database_url, environment="production", cookie_secure=True)
    async with Server(settings) as gql:
        await member(gql, "ada_l")
        response = await login(gql, "ada_l")

    (cookie,) = response.headers.get_list("set-cookie")
    assert re.fullmatch(SESSION_SET % (30 * 86400) + "; Secure", cookie), cookie


async def test_G6_the_cookie_and_the_session_last_session_days(
    tmp_path: Path, database_url: str
) -> None:
    settings = make_settings(tmp_path, database_url, session_days=7)
    async with Server(settings) as gql:
        await member(gql, "ada_l", signed_in=False)
        before = datetime.now(UTC)
        response = await login(gql, "ada_l")
        (session,) = await Session.all()

    (cookie,) = response.headers.get_list("set-cookie")
    assert re.fullmatch(SESSION_SET % (7 * 86400), cookie), cookie
    assert before + timedelta(days=7) <= session.expires_at <= datetime.now(UTC) + timedelta(7)


# ------------------------------------------------------------------ G7: logout and revocation


async def test_G7_a_logged_out_cookie_is_anonymous_when_replayed(gql: Client, ada: User) -> None:
    saved = gql.cookies["ada_l"]

    response = await gql.post(LOGOUT, cookie=saved)

    assert response.json() == {"data": {"logout": {"userErrors": []}}}
    (cleared,) = response.headers.get_list("set-cookie")
    assert SESSION_CLEARED.fullmatch(cleared), cleared
    assert await gql(VIEWER, cookie=saved) == ANONYMOUS


async def test_G7_logout_revokes_the_session_row_on_the_server(gql: Client, ada: User) -> None:
    saved = gql.cookies["ada_l"]

    await gql(LOGOUT, cookie=saved)

    (row,) = await Session.filter(token_hash=hashlib.sha256(saved.encode()).hexdigest())
    assert row.revoked_at is not None


async def test_G7_changing_the_password_signs_out_every_other_session(
    gql: Client, ada: User
) -> None:
    other = session_cookie(await login(gql, "ada_l"))
    change = {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}

    response = await gql(CHANGE_PASSWORD, {"i": change}, as_member="ada_l")

    assert response == {"data": {"changePassword": {"userErrors": []}}}
    assert await gql(VIEWER, cookie=other) == ANONYMOUS
    assert await gql(VIEWER, as_member="ada_l") == ADA


async def test_G7_a_password_reset_signs_out_every_session(
    gql: Client, ada: User, mailbox: Mailbox
) -> None:
    other = session_cookie(await login(gql, "ada_l"))
    token = await mailed_reset(gql, mailbox)

    assert await reset(gql, token) == RESET_DONE

    assert await gql(VIEWER, as_member="ada_l") == ANONYMOUS
    assert await gql(VIEWER, cookie=other) == ANONYMOUS
    assert await Session.filter(revoked_at__isnull=True).count() == 0


# ------------------------------------------------------------------ G8: sessions stored hashed


async def test_G8_only_the_sha256_of_a_session_token_is_stored(gql: Client) -> None:
    await member(gql, "ada_l", signed_in=False)

    token = session_cookie(await login(gql, "ada_l"))

    assert token is not None
    stored = await Session.all().values_list("token_hash", flat=True)
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]
    assert token not in await database_text()


async def test_G8_the_stored_hash_is_not_a_usable_cookie(gql: Client, ada: User) -> None:
    (stored,) = await Session.all().values_list("token_hash", flat=True)

    assert await gql(VIEWER, cookie=stored) == ANONYMOUS


# ------------------------------------------------------------------ G9: reset token reuse


async def test_G9_a_used_reset_token_is_invalid_the_second_time(
    gql: Client, ada: User, mailbox: Mailbox
) -> None:
    token = await mailed_reset(gql, mailbox)
    assert await reset(gql, token) == RESET_DONE

    assert await reset(gql, token, "yet another passphrase") == RESET_INVALID
    assert await can_sign_in(gql, "ada_l", NEW_PASSWORD)


async def test_G9_a_newer_reset_link_retires_the_older_one(
    gql: Client, ada: User, mailbox: Mailbox
) -> None:
    older = await mailed_reset(gql, mailbox)
    newer = await mailed_reset(gql, mailbox, 2)

    assert await reset(gql, older) == RESET_INVALID
    assert await reset(gql, newer) == RESET_DONE


async def test_G9_a_refused_new_password_does_not_burn_the_token(
    gql: Client, ada: User, mailbox: Mailbox
) -> None:
    token = await mailed_reset(gql, mailbox)
    short = {"field": ["newPassword"], "message": "Passwords need at least 10 characters."}

    refused = await reset(gql, token, "too short")

    assert refused == {
        "data": {"resetPassword": {"userErrors": [{**short, "code": "PASSWORD_TOO_SHORT"}]}}
    }
    assert await reset(gql, token) == RESET_DONE


async def test_G9_two_simultaneous_uses_of_one_token_succeed_once(
    gql: Client, ada: User, mailbox: Mailbox
) -> None:
    token = await mailed_reset(gql, mailbox)

    first, second = await asyncio.gather(
        reset(gql, token, "first new passphrase"), reset(gql, token, "second new passphrase")
    )

    assert sorted([first, second], key=str) == sorted([RESET_DONE, RESET_INVALID], key=str)
    winner = "first new passphrase" if first == RESET_DONE else "second new passphrase"
    assert await can_sign_in(gql, "ada_l", winner)


# ------------------------------------------------------------------ G10: reset token expiry


async def test_G10_an_expired_reset_token_is_invalid_like_a_made_up_one(
    gql: Client, ada: User, mailbox: Mailbox
) -> None:
    # The expiry is moved into the past in the database instead of waiting an hour.
    token = await mailed_reset(gql, mailbox)
    await EmailToken.filter(purpose=TokenPurpose.RESET_PASSWORD).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )

    assert await reset(gql, token) == await reset(gql, "made-up-token") == RESET_INVALID
    assert await can_sign_in(gql, "ada_l", PASSWORD)


async def test_G10_a_token_works_until_its_expiry(gql: Client, ada: User, mailbox: Mailbox) -> None:
    token = await mailed_reset(gql, mailbox)
    await EmailToken.filter(purpose=TokenPurpose.RESET_PASSWORD).update(
        expires_at=datetime.now(UTC) + timedelta(seconds=30)
    )

    assert await reset(gql, token) == RESET_DONE


async def test_G10_the_lifetime_follows_reset_token_minutes(
    tmp_path: Path, database_url: str, mailbox: Mailbox
) -> None:
    settings = make_settings(tmp_path, database_url, reset_token_minutes=7)
    async with Server(settings) as gql:
        await member(gql, "ada_l", signed_in=False)
        await mailed_reset(gql, mailbox)
        row = await EmailToken.get(purpose=TokenPurpose.RESET_PASSWORD)

    (mail,) = mailbox.messages()
    assert "open this link within 7 minutes" in mail.get_content()
    assert timedelta(minutes=6, seconds=50) < row.expires_at - row.created_at
    assert row.expires_at - row.created_at <= timedelta(minutes=7)


# ------------------------------------------------------------------ G11: token entropy, binding


async def test_G11_twenty_reset_tokens_are_random_url_safe_and_stored_hashed(
    gql: Client, ada: User, mailbox: Mailbox
) -> None:
    for _ in range(20):
        assert await request_reset(gql) == ASKED
        await settled()
    tokens = [token_in(mail) for mail in await mailbox.wait_for(ADDRESS, 20)]

    assert all(TOKEN.fullmatch(token) for token in tokens), tokens
    assert len(set(tokens)) == 20
    assert shared_prefixes(tokens, 6) == set()
    stored = await EmailToken.filter(purpose=TokenPurpose.RESET_PASSWORD).values_list(
        "token_hash", flat=True
    )
    assert sorted(stored) == sorted(hashlib.sha256(t.encode()).hexdigest() for t in tokens)


async def test_G11_twenty_confirm_tokens_are_random_url_safe_and_stored_hashed(
    gql: Client, mailbox: Mailbox
) -> None:
    assert await register(gql, "ada_l") == REGISTERED
    for _ in range(19):
        resent = await gql(RESEND, {"i": {"email": ADDRESS}})
        assert resent == {"data": {"resendConfirmation": {"userErrors": []}}}
    tokens = [token_in(mail) for mail in await mailbox.wait_for(ADDRESS, 20)]

    assert all(TOKEN.fullmatch(token) for token in tokens), tokens
    assert len(set(tokens)) == 20
    assert shared_prefixes(tokens, 6) == set()
    # A resend replaces the registration's token: only the newest one's hash is kept.
    stored = await PendingRegistration.all().values_list("token_hash", flat=True)
    assert stored == [hashlib.sha256(tokens[-1].encode()).hexdigest()]
    text = await database_text()
    assert [token for token in tokens if token in text] == []


async def test_G11_one_members_token_resets_only_that_member(
    gql: Client, ada: User, mailbox: Mailbox
) -> None:
    await member(gql, "bob_k")
    token = await mailed_reset(gql, mailbox)

    assert await reset(gql, token, as_member="bob_k") == RESET_DONE

    assert await can_sign_in(gql, "ada_l", NEW_PASSWORD)
    assert await can_sign_in(gql, "bob_k", PASSWORD)


@pytest.mark.parametrize(
    "forge",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),
        lambda token: token[:-1],
        lambda token: token.swapcase(),
        lambda token: hashlib.sha256(token.encode()).hexdigest(),
    ],
    ids=["last-character", "truncated", "swapcase", "stored-hash"],
)
async def test_G11_a_near_miss_of_a_real_token_is_invalid(
    gql: Client, ada: User, mailbox: Mailbox, forge: Callable[[str], str]
) -> None:
    # Tokens are found by their SHA-256, so a near miss is as far off as any other guess.
    token = await mailed_reset(gql, mailbox)

    assert await reset(gql, forge(token)) == RESET_INVALID
    assert await reset(gql, token) == RESET_DONE


async def test_G11_a_reset_link_sent_to_a_former_address_is_invalid(
    gql: Client, ada: User, mailbox: Mailbox
) -> None:
    # The token row keeps the address it was mailed to; a member who moved their account
    # away from a mailbox (lost, shared, compromised) must not be reset from it.
    token = await mailed_reset(gql, mailbox)
    moved = await gql(
        CHANGE_EMAIL,
        {"i": {"password": PASSWORD, "newEmail": "ada.new@example.org"}},
        as_member="ada_l",
    )
    assert moved == {"data": {"changeEmail": {"userErrors": []}}}
    (mail,) = await mailbox.wait_for("ada.new@example.org")
    assert (await confirm(gql, token_in(mail)))["data"]["confirmEmail"]["userErrors"] == []

    assert await reset(gql, token) == RESET_INVALID
    assert await can_sign_in(gql, "ada_l", PASSWORD)


# ------------------------------------------------------------------ G12: Host header poisoning


async def test_G12_a_foreign_host_is_refused_and_mails_nothing(gql: Client, ada: User) -> None:
    headers = {"host": "evil.example", "x-forwarded-host": "evil.example"}

    response = await gql.post(REQUEST_RESET, {"i": {"email": ADDRESS}}, headers=headers)
    await settled()

    assert (response.status_code, response.text) == (400, "Invalid host header")
    assert await EmailToken.all().count() == 0
    assert await OutboxMail.all().count() == 0


async def test_G12_forwarded_host_headers_do_not_steer_the_link(
    tmp_path: Path, database_url: str, mailbox: Mailbox
) -> None:
    # Even from a trusted proxy (the harness's own address), host headers are ignored.
    settings = make_settings(tmp_path, database_url, trusted_proxies=f"{TEST_IP}/32")
    headers = {
        "x-forwarded-host": "evil.example",
        "x-forwarded-proto": "https",
        "x-forwarded-server": "evil.example",
        "x-original-host": "evil.example",
        "forwarded": "host=evil.example;proto=https",
    }
    async with Server(settings) as gql:
        await member(gql, "ada_l", signed_in=False)
        assert await request_reset(gql, headers=headers) == ASKED
        (mail,) = await mailbox.wait_for(ADDRESS)

    token = token_in(mail)
    links = re.findall(r"https?://\S+", mail.get_content())
    assert links == [f"{PUBLIC}/reset-password?token={token}"]


async def test_G12_an_allowed_second_host_still_gets_public_url_links(
    tmp_path: Path, database_url: str, mailbox: Mailbox
) -> None:
    settings = make_settings(
        tmp_path,
        database_url,
        public_url="https://forum.example.org",
        allowed_hosts="alias.example",
    )
    async with Server(settings) as gql:
        await member(gql, "ada_l", signed_in=False)
        assert await request_reset(gql, headers={"host": "alias.example"}) == ASKED
        (mail,) = await mailbox.wait_for(ADDRESS)

    links = re.findall(r"https?://\S+", mail.get_content())
    assert links == [f"https://forum.example.org/reset-password?token={token_in(mail)}"]


# ------------------------------------------------------------------ G13: token leaks


async def test_G13_the_token_is_in_the_mail_once_in_its_link(
    gql: Client, ada: User, mailbox: Mailbox
) -> None:
    token = await mailed_reset(gql, mailbox)

    (mail,) = mailbox.messages()
    assert [name for name, value in mail.items() if token in str(value)] == []
    body = mail.get_content()
    assert body.count(token) == 1
    assert f"\n{PUBLIC}/reset-password?token={token}\n" in body


async def test_G13_the_reset_page_sends_no_referrer_and_never_echoes_the_token(
    gql: Client, ada: User, mailbox: Mailbox
) -> None:
    token = await mailed_reset(gql, mailbox)

    page = await gql.request("GET", f"/reset-password?token={token}")

    assert (page.status_code, page.headers["content-type"]) == (200, "text/html; charset=utf-8")
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert token not in page.text
    # Nothing on the page loads or links elsewhere, so nothing could carry the address on.
    assert [m for m in ("src=", "href=", "http:", "https:") if m in page.text] == []


@pytest.fixture
def server_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every logger but the SQL drivers' at DEBUG, into caplog. (The SQL loggers print
    parameter values; the server pins them to WARNING at start, and tests/test_logs.py
    holds it to that.)"""
    quiet = ("tortoise", "aiosqlite", "asyncpg")
    names = ["", "forum", "forum.requests", "strawberry", "uvicorn", "uvicorn.error"]
    for name in [*names, *logging.root.manager.loggerDict]:
        if not name.startswith(quiet):
            caplog.set_level(logging.DEBUG, logger=name or None)
    return caplog


async def test_G13_no_log_record_of_a_real_server_holds_the_token(
    live: Live, mailbox: Mailbox, server_logs: pytest.LogCaptureFixture
) -> None:
    # uvicorn writes access lines (URL, query string and all) only when its access logger
    # has a handler. Serve's options leave it none; pytest hangs its capture handlers on
    # every non-propagating logger, so they are taken off for the traffic, as serve has it.
    access = logging.getLogger("uvicorn.access")
    attached = list(access.handlers)
    access.handlers.clear()
    try:
        await member(None, "ada_l")
        assert await request_reset(live.http) == ASKED
        (mail,) = await mailbox.wait_for(ADDRESS)
        token = token_in(mail)
        page = await live.http.request("GET", f"/reset-password?token={token}")
        assert page.status_code == 200
        assert await reset(live.http, token) == RESET_DONE
    finally:
        access.handlers.extend(attached)

    written = json_formatter()  # each record as the server's stdout would get it
    request_lines = [written.format(r) for r in server_logs.records if r.name == "forum.requests"]
    assert any('"path": "/reset-password"' in line for line in request_lines), request_lines
    # The test's own HTTP client logs the URLs it fetches; only the server's records count.
    for record in server_logs.records:
        if not record.name.startswith(("httpx", "httpcore")):
            text = "\n".join([written.format(record), repr(record.args), record.exc_text or ""])
            assert token not in text, record.name


# ------------------------------------------------------------------ G17: password policy

SHORT = ("PASSWORD_TOO_SHORT", "Passwords need at least 10 characters.")
LONG = ("PASSWORD_TOO_LONG", "Passwords have at most 256 characters.")


@pytest.mark.parametrize(
    ("password", "code", "message"),
    [
        ("password", *SHORT),
        ("x", *SHORT),
        ("x7" * 5000, *LONG),  # 10 000 characters
    ],
    ids=["password", "one-character", "10000-characters"],
)
async def test_G17_register_refuses_an_unusable_password(
    gql: Client, password: str, code: str, message: str
) -> None:
    response = await register(gql, "ada_l", password=password)

    error = {"field": ["password"], "message": message, "code": code}
    assert response == {"data": {"register": {"userErrors": [error]}}}
    assert await User.all().count() == 0


async def test_G17_a_nul_byte_in_a_password_is_refused_before_any_resolver(
    gql: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed: list[str] = []
    count_calls(monkeypatch, hashed, account_resolvers, "hash_password")

    response = await register(gql, "ada_l", password="correct horse\x00battery")

    error = {"message": "Text cannot contain NUL characters."}
    assert response == {
        "data": None,
        "errors": [{**error, "extensions": {"code": "BAD_USER_INPUT"}}],
    }
    assert (await User.all().count(), hashed) == (0, [])


async def overlong_register(gql: Client, mailbox: Mailbox) -> dict:
    """Register with a 10 000-character password."""
    return await register(gql, "grace_h", password="x7" * 5000)


async def overlong_reset(gql: Client, mailbox: Mailbox) -> dict:
    """Reset ada_l's password to a 10 000-character one."""
    token = await mailed_reset(gql, mailbox)
    return await reset(gql, token, "x7" * 5000)


async def overlong_change(gql: Client, mailbox: Mailbox) -> dict:
    """Change ada_l's password to a 10 000-character one."""
    change = {"currentPassword": PASSWORD, "newPassword": "x7" * 5000}
    return await gql(CHANGE_PASSWORD, {"i": change}, as_member="ada_l")


@pytest.mark.parametrize(
    ("attempt", "mutation", "field"),
    [
        (overlong_register, "register", "password"),
        (overlong_reset, "resetPassword", "newPassword"),
        (overlong_change, "changePassword", "newPassword"),
    ],
    ids=["register", "resetPassword", "changePassword"],
)
async def test_G17_a_10000_character_password_is_refused_before_any_hash(
    gql: Client,
    ada: User,
    mailbox: Mailbox,
    monkeypatch: pytest.MonkeyPatch,
    attempt: Callable[[Client, Mailbox], Awaitable[dict]],
    mutation: str,
    field: str,
) -> None:
    hashed: list[str] = []
    count_calls(monkeypatch, hashed, account_resolvers, "hash_password")
    count_calls(monkeypatch, hashed, password_resolvers, "hash_password")

    response = await attempt(gql, mailbox)

    error = {"field": [field], "message": LONG[1], "code": LONG[0]}
    assert response == {"data": {mutation: {"userErrors": [error]}}}
    assert hashed == []


async def test_G17_login_verifies_at_most_1024_characters(
    gql: Client, ada: User, spy_hasher: SpyHasher
) -> None:
    response = await login(gql, "ada_l", "x7" * 50_000)

    assert response.json() == INVALID_CREDENTIALS
    assert spy_hasher.lengths == [1024]


# ------------------------------------------------------------------ G18: confirmation tokens


async def registered(gql: Client, mailbox: Mailbox, username: str) -> str:
    """Register a newcomer; the token of their confirmation mail."""
    assert await register(gql, username) == REGISTERED
    (mail,) = await mailbox.wait_for(f"{username}@example.org")
    return token_in(mail)


async def legacy_unconfirmed(gql: Client, mailbox: Mailbox, username: str) -> str:
    """An account left unconfirmed from before registrations waited for their link, still
    signed in on gql; the token of a confirmation link resent to it."""
    await member(gql, username, confirmed=False)
    assert await gql(RESEND, {"i": {"email": f"{username}@example.org"}}) == {
        "data": {"resendConfirmation": {"userErrors": []}}
    }
    (mail,) = await mailbox.wait_for(f"{username}@example.org")
    return token_in(mail)


async def test_G18_another_members_token_confirms_that_member_not_the_viewer(
    gql: Client, mailbox: Mailbox
) -> None:
    await legacy_unconfirmed(gql, mailbox, "ada_l")
    bobs = await registered(gql, mailbox, "bob_k")

    response = await confirm(gql, bobs, as_member="ada_l")

    assert response == {"data": {"confirmEmail": {"user": {"username": "bob_k"}, "userErrors": []}}}
    confirmed = await User.all().order_by("id").values_list("username", "email_confirmed_at")
    assert [(name, at is not None) for name, at in confirmed] == [
        ("ada_l", False),
        ("bob_k", True),
    ]


async def test_G18_a_confirm_token_works_once(gql: Client, mailbox: Mailbox) -> None:
    token = await registered(gql, mailbox, "ada_l")
    assert (await confirm(gql, token))["data"]["confirmEmail"]["userErrors"] == []

    assert await confirm(gql, token) == CONFIRM_INVALID


async def test_G18_a_resent_confirm_token_works_once(gql: Client, mailbox: Mailbox) -> None:
    token = await legacy_unconfirmed(gql, mailbox, "ada_l")
    assert (await confirm(gql, token))["data"]["confirmEmail"]["userErrors"] == []

    assert await confirm(gql, token) == CONFIRM_INVALID


async def test_G18_a_confirm_token_for_a_former_address_is_invalid(
    gql: Client, mailbox: Mailbox
) -> None:
    first = await legacy_unconfirmed(gql, mailbox, "ada_l")
    move = {"password": PASSWORD, "newEmail": "ada.new@example.org"}
    assert await gql(CHANGE_EMAIL, {"i": move}, as_member="ada_l") == {
        "data": {"changeEmail": {"userErrors": []}}
    }
    (mail,) = await mailbox.wait_for("ada.new@example.org")
    assert (await confirm(gql, token_in(mail)))["data"]["confirmEmail"]["userErrors"] == []

    assert await confirm(gql, first) == CONFIRM_INVALID
    assert (await User.get(username="ada_l")).email == "ada.new@example.org"


async def test_G18_a_reset_token_confirms_nothing(gql: Client, mailbox: Mailbox) -> None:
    await member(gql, "ada_l", confirmed=False, signed_in=False)
    token = await mailed_reset(gql, mailbox)

    assert await confirm(gql, token) == CONFIRM_INVALID
    assert not (await User.get(username="ada_l")).confirmed


async def test_G18_a_confirm_token_resets_nothing(gql: Client, mailbox: Mailbox) -> None:
    token = await registered(gql, mailbox, "ada_l")

    assert await reset(gql, token) == RESET_INVALID
    # Nor is the link used up: it still creates the account, with the password as chosen.
    assert (await confirm(gql, token))["data"]["confirmEmail"]["userErrors"] == []
    assert await can_sign_in(gql, "ada_l", PASSWORD)
