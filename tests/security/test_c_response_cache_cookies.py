"""Issue 14, extending SECURITY.md C11 (no authenticated answer is ever cached): the
response cache stores an answer only when the view ran it without a viewer or a session,
and serves none to a request naming a session cookie, in whatever form the cookie comes
(every Cookie line, spaces, case, quotes, `session` inside another cookie's value), and
no hit is answered ahead of the middleware to a request with any Cookie header at all.
X-Cache says hit or miss only when RESPONSE_CACHE_DEBUG is on."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from models.accounts import User
from models.sessions import Session
from services.settings import Settings
from tests.support.harness import Client, Server
from tests.support.harness import test_settings as make_settings
from tests.support.members import member, set_audiences, set_profile

# What ada, a member, may see of carol, and who is asking: both differ for signed-out readers.
DOCUMENT = '{ viewer { username } user(username: "carol") { profile { location } } }'
AS_ADA = {"data": {"viewer": {"username": "ada"}, "user": {"profile": {"location": "Leeds"}}}}
SIGNED_OUT = {"data": {"viewer": None, "user": {"profile": {"location": None}}}}

# Each way of naming ada's session (T) in a request, and who the view then runs it as.
# Starlette reads every Cookie line, strips spaces around names, unquotes values and
# splits on every ";", quotes or not; names are case sensitive.
COOKIE_FORMS = {
    "two_cookie_lines": ([("cookie", "theme=dark"), ("cookie", "session={T}")], AS_ADA),
    "space_before_equals": ([("cookie", "session ={T}")], AS_ADA),
    "space_before_name": ([("cookie", "theme=dark; session={T}")], AS_ADA),
    "leading_space": ([("cookie", " session={T}")], AS_ADA),
    "quoted_value": ([("cookie", 'session="{T}"')], AS_ADA),
    "upper_case_name": ([("cookie", "SESSION={T}")], SIGNED_OUT),
    "inside_another_value": ([("cookie", 'x="a; session={T}"')], SIGNED_OUT),
}


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """X-Cache on, to see whether the cache answered."""
    return make_settings(tmp_path, database_url, response_cache_debug=True)


@pytest.fixture
async def ada(gql: Client) -> User:
    """ada, signed in; carol shares her location with members only."""
    ada = await member(gql, "ada")
    carol = await member(None, "carol")
    await set_profile(carol, location="Leeds")
    await set_audiences(carol, location="MEMBERS")
    return ada


async def ask(gql: Client, headers: list[tuple[str, str]] | None = None) -> tuple[Any, Any]:
    """The answer to DOCUMENT with these headers, and what X-Cache said (None: absent)."""
    response = await gql.request(
        "POST",
        "/graphql",
        json={"query": DOCUMENT},
        headers=[("content-type", "application/json"), *(headers or [])],
    )
    return response.json(), response.headers.get("x-cache")


def with_token(headers: list[tuple[str, str]], token: str) -> list[tuple[str, str]]:
    """The headers of a cookie form, naming this token."""
    return [(name, value.replace("{T}", token)) for name, value in headers]


@pytest.mark.parametrize("form", list(COOKIE_FORMS))
async def test_C11_an_answer_to_a_request_naming_a_session_cookie_is_never_stored(
    gql: Client, ada: User, form: str
) -> None:
    headers, answer = COOKIE_FORMS[form]

    named = await ask(gql, with_token(headers, gql.cookies["ada"]))
    after = await ask(gql)

    assert (named, after) == ((answer, None), (SIGNED_OUT, "miss"))


@pytest.mark.parametrize("form", list(COOKIE_FORMS))
async def test_C11_a_request_naming_a_session_cookie_is_never_served_from_the_cache(
    gql: Client, ada: User, form: str
) -> None:
    headers, answer = COOKIE_FORMS[form]
    # The first answer learns its version keys, the second is kept (web/front.py).
    assert [await ask(gql), await ask(gql), await ask(gql)] == [
        (SIGNED_OUT, "miss"),
        (SIGNED_OUT, "miss"),
        (SIGNED_OUT, "hit"),
    ]

    named = await ask(gql, with_token(headers, gql.cookies["ada"]))

    assert named == (answer, None)


@pytest.mark.parametrize("ended", ["expired", "revoked"])
async def test_C11_a_dead_session_cookie_runs_signed_out_and_neither_reads_nor_fills_the_cache(
    gql: Client, ada: User, ended: str
) -> None:
    past = datetime.now(UTC) - timedelta(minutes=1)
    change = {"expires_at": past} if ended == "expired" else {"revoked_at": past}
    await Session.filter(user_id=ada.id).update(**change)
    cookie = [("cookie", f"session={gql.cookies['ada']}")]

    first = await ask(gql, cookie)
    second = await ask(gql, cookie)
    after = await ask(gql)

    assert (first, second, after) == ((SIGNED_OUT, None), (SIGNED_OUT, None), (SIGNED_OUT, "miss"))


async def test_C11_a_signed_out_answer_is_still_kept_and_served(gql: Client, ada: User) -> None:
    # The first answer learns its version keys, the second is kept (web/front.py).
    assert [await ask(gql), await ask(gql), await ask(gql)] == [
        (SIGNED_OUT, "miss"),
        (SIGNED_OUT, "miss"),
        (SIGNED_OUT, "hit"),
    ]


@pytest.mark.parametrize("form", [*COOKIE_FORMS, "another_cookie", "authorization"])
async def test_C11_a_request_with_any_cookie_is_never_answered_ahead_of_the_middleware(
    gql: Client, ada: User, caplog: pytest.LogCaptureFixture, form: str
) -> None:
    # Hits of requests without a Cookie or Authorization header at all are answered
    # ahead of the middleware (web/hits.py), without a request line each.
    caplog.set_level(logging.INFO, logger="forum.requests")
    states = [(await ask(gql))[1] for _ in range(4)]
    lines = len([r for r in caplog.records if r.name == "forum.requests"])
    assert (states, lines) == (["miss", "miss", "hit", "hit"], 3)  # the last one early
    others = {
        "another_cookie": ([("cookie", "theme=dark")], SIGNED_OUT),
        "authorization": ([("authorization", "Bearer {T}")], SIGNED_OUT),
    }
    headers, answer = COOKIE_FORMS.get(form) or others[form]
    caplog.clear()

    named = await ask(gql, with_token(headers, gql.cookies["ada"]))

    # A session named in any form bypasses the cache, as before; another cookie or an
    # Authorization header (which the site ignores) gets its hit from the whole stack.
    state = None if form in COOKIE_FORMS else "hit"
    lines = [r for r in caplog.records if r.name == "forum.requests"]
    assert (named, len(lines)) == ((answer, state), 1)


# ------------------------------------------------------------------ X-Cache


async def test_C11_x_cache_is_not_sent_unless_response_cache_debug_is_on(
    tmp_path: Path, database_url: str
) -> None:
    async with Server(make_settings(tmp_path, database_url)) as gql:
        await member(None, "carol")
        answers = [await ask(gql) for _ in range(3)]

    # The second and third came from the cache, which the prober must not learn.
    assert answers == [(SIGNED_OUT, None)] * 3


def test_C11_response_cache_debug_is_off_by_default(tmp_path: Path, database_url: str) -> None:
    assert make_settings(tmp_path, database_url).response_cache_debug is False
