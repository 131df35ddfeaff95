"""Signing in and out: opaque cookie tokens, kept hashed on the server, revocable,
expiring, and guarded against guessing."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from tortoise import Tortoise

from models.limits import RateCounter
from models.sessions import Session
from services.settings import Settings
from tests.support.documents import VIEWER
from tests.support.harness import PASSWORD, Client, Server, session_cookie
from tests.support.harness import test_settings as make_settings
from tests.support.mail import Mailbox
from tests.support.members import confirmed_member

LOGIN = """
mutation($i: LoginInput!) {
  login(input: $i) { user { username } userErrors { field message code } }
}
"""
LOGOUT = "mutation { logout { userErrors { field message code } } }"

SIGNED_IN = {"data": {"login": {"user": {"username": "ada_l"}, "userErrors": []}}}
INVALID_CREDENTIALS = {
    "data": {
        "login": {
            "user": None,
            "userErrors": [
                {
                    "field": ["login"],
                    "message": "Wrong username, email or password, "
                    "or the email address is not confirmed yet.",
                    "code": "INVALID_CREDENTIALS",
                }
            ],
        }
    }
}
ANONYMOUS = {"data": {"viewer": None}}
ADA = {"data": {"viewer": {"username": "ada_l"}}}
# Starlette writes the attributes in this order; a Domain attribute would sit before Max-Age.
SESSION_SET_COOKIE = re.compile(
    r"session=([A-Za-z0-9_-]{43}); HttpOnly; Max-Age=2592000; Path=/; SameSite=lax"
)
SESSION_CLEARED = re.compile(
    r'session=""; expires=\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT; HttpOnly; '
    r"Max-Age=0; Path=/; SameSite=lax"
)


async def login(
    gql: Client, name: str, password: str = PASSWORD, **options: object
) -> httpx.Response:
    """POST the login mutation and return the raw response."""
    return await gql.post(LOGIN, {"i": {"login": name, "password": password}}, **options)  # type: ignore[arg-type]


@pytest.fixture
async def ada(gql: Client, mailbox: Mailbox) -> str:
    """A confirmed, signed-in member; her session token."""
    return await confirmed_member(gql, mailbox, "ada_l")


@pytest.fixture
def limited_settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings with the rate limits on."""
    return make_settings(tmp_path, database_url, rate_limits="on")


@pytest.fixture
async def limited(limited_settings: Settings, mailbox: Mailbox) -> AsyncIterator[Client]:
    """A client on an app with rate limits on, where ada_l is a confirmed member."""
    async with Server(limited_settings) as client:
        await confirmed_member(client, mailbox, "ada_l")
        yield client


async def fail_logins(gql: Client, name: str, times: int, **options: object) -> None:
    """Sign in with a wrong password `times` times, each refused as wrong credentials."""
    for attempt in range(times):
        response = await login(gql, name, f"wrong password {attempt}", **options)
        assert response.json() == INVALID_CREDENTIALS, (attempt, response.text)


def rate_limited(response: httpx.Response) -> dict:
    """The RATE_LIMITED answer to LOGIN, with the response's own retryAfter."""
    retry_after = response.json()["errors"][0]["extensions"]["retryAfter"]
    assert isinstance(retry_after, int)
    assert 0 < retry_after <= 15 * 60  # within the 15-minute window
    return {
        "data": None,
        "errors": [
            {
                "message": "Too many attempts; try again later.",
                "locations": [{"line": 3, "column": 3}],
                "path": ["login"],
                "extensions": {"code": "RATE_LIMITED", "retryAfter": retry_after},
            }
        ],
    }


async def database_text() -> str:
    """Every row of every table, as text."""
    rows = []
    for model in Tortoise.apps["models"].values():
        rows += [repr(row) for row in await model.all().values()]
    return "\n".join(rows)


# ------------------------------------------------------------------ signing in


@pytest.mark.parametrize("name", ["ada_l", "ADA_L", "Ada_L"])
async def test_login_by_username_in_any_case_signs_in(gql: Client, ada: str, name: str) -> None:
    response = await login(gql, name)

    assert response.json() == SIGNED_IN
    assert await gql(VIEWER, cookie=session_cookie(response)) == ADA


@pytest.mark.parametrize("email", ["ada_l@example.org", "ADA_L@Example.ORG"])
async def test_login_by_email_signs_in(gql: Client, ada: str, email: str) -> None:
    response = await login(gql, email)

    assert response.json() == SIGNED_IN
    assert await gql(VIEWER, cookie=session_cookie(response)) == ADA


@pytest.mark.parametrize(
    ("name", "password"),
    [
        ("ada_l", "not the password"),  # wrong password
        ("nobody_here", PASSWORD),  # unknown username
        ("nobody@example.org", PASSWORD),  # unknown email
    ],
)
async def test_wrong_password_unknown_user_and_unknown_email_answer_alike(
    gql: Client, ada: str, name: str, password: str
) -> None:
    response = await login(gql, name, password)

    assert response.json() == INVALID_CREDENTIALS


async def test_failed_login_sets_no_cookie(gql: Client, ada: str) -> None:
    response = await login(gql, "ada_l", "not the password")

    assert response.headers.get_list("set-cookie") == []


async def test_session_cookie_is_httponly_lax_host_only_and_not_secure_by_default(
    gql: Client, ada: str
) -> None:
    response = await login(gql, "ada_l")

    (cookie,) = response.headers.get_list("set-cookie")
    assert SESSION_SET_COOKIE.fullmatch(cookie), cookie


async def test_session_cookie_is_secure_when_cookie_secure_is_on(
    tmp_path: Path, database_url: str, mailbox: Mailbox
) -> None:
    settings = make_settings(tmp_path, database_url, cookie_secure=True)
    async with Server(settings) as gql:
        await confirmed_member(gql, mailbox, "ada_l")

        response = await login(gql, "ada_l")

    (cookie,) = response.headers.get_list("set-cookie")
    assert re.fullmatch(SESSION_SET_COOKIE.pattern + "; Secure", cookie), cookie


async def test_each_login_issues_a_fresh_token(gql: Client, ada: str) -> None:
    first = session_cookie(await login(gql, "ada_l"))
    second = session_cookie(await login(gql, "ada_l"))

    assert len({ada, first, second}) == 3


async def test_login_never_adopts_a_client_chosen_token(gql: Client, ada: str) -> None:
    response = await login(gql, "ada_l", cookie="attackerchosen123")

    token = session_cookie(response)
    assert token not in (None, "attackerchosen123")
    assert await gql(VIEWER, cookie="attackerchosen123") == ANONYMOUS
    assert await gql(VIEWER, cookie=token) == ADA


async def test_login_while_signed_in_ends_the_previous_session(gql: Client, ada: str) -> None:
    response = await login(gql, "ada_l", cookie=ada)

    assert await gql(VIEWER, cookie=ada) == ANONYMOUS
    assert await gql(VIEWER, cookie=session_cookie(response)) == ADA


async def test_session_token_is_stored_only_as_its_sha256(gql: Client, ada: str) -> None:
    sessions = await Session.all().values_list("token_hash", flat=True)

    assert sessions == [hashlib.sha256(ada.encode()).hexdigest()]
    assert ada not in await database_text()


@pytest.mark.parametrize(
    "cookie",
    ["", "x" * 43, "x" * 5000, hashlib.sha256(b"anything").hexdigest(), "a;b=c"],
)
async def test_an_unknown_or_malformed_session_cookie_is_anonymous(
    gql: Client, ada: str, cookie: str
) -> None:
    assert await gql(VIEWER, cookie=cookie) == ANONYMOUS


async def test_the_stored_hash_is_not_a_session_token(gql: Client, ada: str) -> None:
    stored = (await Session.get()).token_hash

    assert await gql(VIEWER, cookie=stored) == ANONYMOUS


# ------------------------------------------------------------------ signing out


async def test_logout_answers_no_user_errors(gql: Client, ada: str) -> None:
    assert await gql(LOGOUT, as_member="ada_l") == {"data": {"logout": {"userErrors": []}}}


async def test_logout_clears_the_cookie(gql: Client, ada: str) -> None:
    response = await gql.post(LOGOUT, as_member="ada_l")

    (cookie,) = response.headers.get_list("set-cookie")
    assert SESSION_CLEARED.fullmatch(cookie), cookie


async def test_logout_revokes_the_session_on_the_server(gql: Client, ada: str) -> None:
    await gql(LOGOUT, as_member="ada_l")

    assert await gql(VIEWER, cookie=ada) == ANONYMOUS
    assert await Session.filter(revoked_at__isnull=True).count() == 0


async def test_logout_ends_only_the_current_session(gql: Client, ada: str) -> None:
    other = session_cookie(await login(gql, "ada_l"))

    await gql(LOGOUT, cookie=other)

    assert await gql(VIEWER, cookie=ada) == ADA


async def test_anonymous_logout_answers_no_user_errors_and_clears_the_cookie(
    gql: Client,
) -> None:
    response = await gql.post(LOGOUT)

    assert response.json() == {"data": {"logout": {"userErrors": []}}}
    (cookie,) = response.headers.get_list("set-cookie")
    assert SESSION_CLEARED.fullmatch(cookie), cookie


# ------------------------------------------------------------------ expiry


async def test_an_expired_session_is_anonymous(gql: Client, ada: str) -> None:
    await Session.all().update(expires_at=datetime.now(UTC) - timedelta(seconds=1))

    assert await gql(VIEWER, cookie=ada) == ANONYMOUS


async def test_use_after_five_idle_minutes_slides_the_expiry_forward(
    gql: Client, ada: str, settings: Settings
) -> None:
    before = datetime.now(UTC)
    await Session.all().update(
        last_used_at=before - timedelta(minutes=6), expires_at=before + timedelta(days=1)
    )

    assert await gql(VIEWER, cookie=ada) == ADA

    session = await Session.get()
    assert session.last_used_at >= before
    assert session.expires_at >= before + timedelta(days=settings.session_days)


async def test_use_within_five_minutes_leaves_the_expiry_alone(gql: Client, ada: str) -> None:
    now = datetime.now(UTC)
    last_used, expires = now - timedelta(minutes=4), now + timedelta(days=1)
    await Session.all().update(last_used_at=last_used, expires_at=expires)

    assert await gql(VIEWER, cookie=ada) == ADA

    session = await Session.get()
    assert (session.last_used_at, session.expires_at) == (last_used, expires)


# ------------------------------------------------------------------ guessing


@pytest.mark.parametrize(
    ("name", "password"),
    [
        ("ada_l", PASSWORD),  # even the right password
        ("nobody_here", PASSWORD),  # no account: the same lock, so no enumeration
    ],
)
async def test_ten_failed_logins_lock_the_account_name(
    limited: Client, name: str, password: str
) -> None:
    await fail_logins(limited, name, 10)

    response = await login(limited, name, password)

    assert response.status_code == 200
    assert response.json() == rate_limited(response)
    assert session_cookie(response) is None


async def test_the_lock_ignores_the_case_of_the_account_name(limited: Client) -> None:
    await fail_logins(limited, "ada_l", 10)

    response = await login(limited, "ADA_L")

    assert response.json() == rate_limited(response)


async def test_a_new_x_forwarded_for_does_not_lift_the_account_lock(limited: Client) -> None:
    forged = [f"198.51.100.{n}" for n in range(1, 12)]
    limited.ips.update(forged)
    for attempt, address in enumerate(forged[:10]):
        response = await login(
            limited, "ada_l", f"wrong {attempt}", headers={"x-forwarded-for": address}
        )
        assert response.json() == INVALID_CREDENTIALS

    response = await login(limited, "ada_l", headers={"x-forwarded-for": forged[10]})

    assert response.json() == rate_limited(response)


async def test_a_new_x_forwarded_for_does_not_lift_the_client_limit(limited: Client) -> None:
    # 50 failures from one client, each on another account name and "from" another address.
    forged = [f"198.51.100.{n}" for n in range(1, 52)]
    limited.ips.update(forged)
    for n, address in enumerate(forged[:50]):
        response = await login(
            limited, f"nobody_{n}", "wrong password", headers={"x-forwarded-for": address}
        )
        assert response.json() == INVALID_CREDENTIALS

    response = await login(limited, "ada_l", headers={"x-forwarded-for": forged[50]})

    assert response.json() == rate_limited(response)


async def test_a_successful_login_resets_the_account_count(limited: Client) -> None:
    await fail_logins(limited, "ada_l", 9)
    assert (await login(limited, "ada_l")).json() == SIGNED_IN
    await fail_logins(limited, "ada_l", 9)

    response = await login(limited, "ada_l")

    assert response.json() == SIGNED_IN


async def test_aliased_logins_are_refused_before_any_is_tried(limited: Client) -> None:
    guesses = " ".join(
        f'a{n}: login(input: {{login: "ada_l", password: "guess {n}"}}) {{ userErrors {{ code }} }}'
        for n in range(100)
    )

    counters = await RateCounter.all().values_list("key", "count")

    response = await limited(f"mutation {{ {guesses} }}")

    assert response == {
        "data": None,
        "errors": [
            {"message": "100 aliases found. Allowed: 30", "extensions": {"code": "BAD_USER_INPUT"}}
        ],
    }
    assert await RateCounter.all().values_list("key", "count") == counters
    assert (await login(limited, "ada_l")).json() == SIGNED_IN
