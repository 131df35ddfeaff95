"""recordPageView: visits of page views with no gap over half an hour, what a visit keeps
(country, browser, referring domain), and the choices that keep nothing (Sec-GPC, opt-out)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from tortoise import Tortoise

from models.activity import PageView, Visit
from models.base import Role
from resolvers.accounts import create_member
from services.addresses import AddressVault
from services.settings import Settings
from tests.support.harness import PASSWORD, Client, Server
from tests.support.harness import test_settings as make_settings

RECORD = """
mutation($i: RecordPageViewInput!) {
  recordPageView(input: $i) { userErrors { field message code } }
}
"""
RECORDED = {"data": {"recordPageView": {"userErrors": []}}}
CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
SAFARI_IOS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
VISIT_COLUMNS = (
    "user_id",
    "page_views",
    "country",
    "browser",
    "browser_version",
    "operating_system",
    "referrer_domain",
    "referrer_internal",
    "landing_path",
)
VIEW_COLUMNS = ("path", "previous_path", "title", "referrer_domain", "referrer_internal")


async def record(
    gql: Client,
    path: str,
    *,
    referrer: str | None = None,
    title: str | None = None,
    as_member: str | None = None,
    visitor: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """Report one page view, as the frontend does; return the raw response."""
    extra = dict(headers or {})
    if visitor is not None:
        extra["cookie"] = f"visitor={visitor}"
    variables = {"i": {"path": path, "referrer": referrer, "title": title}}
    return await gql.post(RECORD, variables, as_member=as_member, headers=extra)


def visitor_cookies(response: httpx.Response) -> list[str]:
    """Every `visitor` Set-Cookie header of a response, whole."""
    return [c for c in response.headers.get_list("set-cookie") if c.startswith("visitor=")]


def visitor_of(response: httpx.Response) -> str:
    """The visitor id a response gave."""
    (cookie,) = visitor_cookies(response)
    return cookie.removeprefix("visitor=").split(";")[0]


async def visits() -> list[dict[str, Any]]:
    """Every visit's aggregate columns, oldest first."""
    return list(await Visit.all().order_by("id").values(*VISIT_COLUMNS))


async def views() -> list[dict[str, Any]]:
    """Every page view, oldest first."""
    return list(await PageView.all().order_by("id").values("visit_id", *VIEW_COLUMNS))


def visit(**columns: Any) -> dict[str, Any]:
    """A visit row as a lone page view from the test client leaves it."""
    row = dict.fromkeys(VISIT_COLUMNS)
    row.update(page_views=1, referrer_internal=False, landing_path="/")
    row.update(columns)
    return row


async def age_visits(minutes: int) -> None:
    """Move every visit back in time, as if its last page view was `minutes` ago."""
    now = datetime.now(UTC)
    await Visit.all().update(
        started_at=now - timedelta(minutes=minutes + 5), ended_at=now - timedelta(minutes=minutes)
    )


async def everything_stored() -> str:
    """Every row of every table, as text."""
    rows = []
    for model in Tortoise.apps["models"].values():
        rows += [repr(row) for row in await model.all().values()]
    return "\n".join(rows)


@pytest.fixture
async def ada(gql: Client) -> int:
    """A confirmed member, signed in; her id."""
    user = await create_member("ada", "ada@example.org", PASSWORD, Role.MEMBER, date(1990, 5, 17))
    await gql.sign_in("ada")
    return user.id


# ------------------------------------------------------------------ anonymous and members


async def test_an_anonymous_page_view_sets_an_httponly_visitor_cookie(gql: Client) -> None:
    response = await record(gql, "/")

    assert response.json() == RECORDED
    (cookie,) = visitor_cookies(response)
    assert cookie == (
        f"visitor={visitor_of(response)}; HttpOnly; Max-Age=31536000; Path=/; SameSite=lax"
    )
    assert len(visitor_of(response)) >= 20


async def test_the_visitor_cookie_is_secure_when_cookies_are(
    tmp_path: Path, database_url: str
) -> None:
    async with Server(make_settings(tmp_path, database_url, cookie_secure=True)) as client:
        response = await record(client, "/")

    (cookie,) = visitor_cookies(response)
    assert cookie.endswith("; Secure")


async def test_an_anonymous_page_view_starts_a_visit_keyed_by_a_hash_of_the_cookie(
    gql: Client, settings: Settings
) -> None:
    response = await record(gql, "/forums/general", title="General")

    key = AddressVault(settings.address_key).fingerprint(f"visitor:{visitor_of(response)}")
    assert await visits() == [visit(landing_path="/forums/general")]
    assert await Visit.all().values_list("visitor_key", flat=True) == [key]
    assert visitor_of(response) not in await everything_stored()
    (only,) = await Visit.all()
    assert only.started_at == only.ended_at
    assert await views() == [
        {
            "visit_id": only.id,
            "path": "/forums/general",
            "previous_path": None,
            "title": "General",
            "referrer_domain": None,
            "referrer_internal": False,
        }
    ]


async def test_the_same_visitor_cookie_continues_the_same_visit(gql: Client) -> None:
    visitor = visitor_of(await record(gql, "/"))

    response = await record(gql, "/forums/general", visitor=visitor)

    assert response.json() == RECORDED
    assert visitor_cookies(response) == []
    assert await visits() == [visit(page_views=2)]
    assert await PageView.all().order_by("id").values_list("previous_path", "path") == [
        (None, "/"),
        ("/", "/forums/general"),
    ]


async def test_a_view_without_the_cookie_is_another_visitors_visit(gql: Client) -> None:
    first = visitor_of(await record(gql, "/"))

    second = visitor_of(await record(gql, "/"))

    assert second != first
    assert await visits() == [visit(), visit()]


async def test_a_short_made_up_visitor_cookie_is_replaced(gql: Client) -> None:
    response = await record(gql, "/", visitor="guessable")

    assert visitor_of(response) != "guessable"
    assert await visits() == [visit()]


async def test_a_members_page_views_make_their_visit_without_a_visitor_cookie(
    gql: Client, ada: int
) -> None:
    first = await record(gql, "/", as_member="ada")
    second = await record(gql, "/threads/1", as_member="ada")

    assert [first.json(), second.json()] == [RECORDED, RECORDED]
    assert visitor_cookies(first) + visitor_cookies(second) == []
    assert await visits() == [visit(user_id=ada, page_views=2)]


async def test_a_member_signing_in_mid_visit_starts_a_visit_of_their_own(
    gql: Client, ada: int
) -> None:
    visitor = visitor_of(await record(gql, "/"))

    await record(gql, "/threads/1", as_member="ada", visitor=visitor)

    assert await visits() == [visit(), visit(user_id=ada, landing_path="/threads/1")]


# ------------------------------------------------------------------ half an hour


async def test_page_views_within_thirty_minutes_join_one_visit(gql: Client) -> None:
    visitor = visitor_of(await record(gql, "/"))
    await age_visits(minutes=29)
    (before,) = await Visit.all()

    await record(gql, "/threads/1", visitor=visitor)

    (after,) = await Visit.all()
    assert await visits() == [visit(page_views=2)]
    assert after.started_at == before.started_at
    assert after.ended_at > before.ended_at


async def test_a_gap_of_over_thirty_minutes_starts_a_new_visit(gql: Client) -> None:
    visitor = visitor_of(await record(gql, "/"))
    await age_visits(minutes=31)

    await record(gql, "/threads/1", visitor=visitor)

    assert await visits() == [visit(), visit(landing_path="/threads/1")]
    assert await PageView.all().order_by("id").values_list("previous_path", "path") == [
        (None, "/"),
        (None, "/threads/1"),  # a new visit: no move from the old one's last page
    ]


async def test_a_members_visit_ends_after_thirty_minutes_too(gql: Client, ada: int) -> None:
    await record(gql, "/", as_member="ada")
    await age_visits(minutes=31)

    await record(gql, "/", as_member="ada")

    assert await visits() == [visit(user_id=ada), visit(user_id=ada)]


# ------------------------------------------------------------------ what a visit keeps


@pytest.mark.parametrize(
    ("address", "country"),
    [
        ("81.2.69.160", "GB"),
        ("8.8.8.8", "US"),
        ("89.160.20.112", "SE"),
        ("133.242.0.1", "JP"),
        ("10.1.2.3", None),  # private: no country
        ("2001:4860:4860::8888", None),  # the embedded database is IPv4 only
    ],
)
async def test_the_visit_keeps_the_country_of_the_client_address(
    settings: Settings, address: str, country: str | None
) -> None:
    async with Server(settings, client_ip=address) as client:
        response = await record(client, "/")

        assert response.json() == RECORDED
        assert await visits() == [visit(country=country)]


@pytest.mark.parametrize(
    ("user_agent", "browser", "version", "system"),
    [
        (CHROME_WINDOWS, "Chrome", "124", "Windows"),
        (FIREFOX_LINUX, "Firefox", "125", "Linux"),
        (SAFARI_IOS, "Mobile Safari", "17", "iOS"),
        ("", None, None, None),
        ("python-httpx/0.28.1", None, None, None),
    ],
)
async def test_the_visit_keeps_browser_version_and_operating_system(
    gql: Client, user_agent: str, browser: str | None, version: str | None, system: str | None
) -> None:
    await record(gql, "/", headers={"user-agent": user_agent})

    assert await visits() == [
        visit(browser=browser, browser_version=version, operating_system=system)
    ]


async def test_only_the_referring_sites_domain_is_kept(gql: Client) -> None:
    referrer = "https://News.Example.com/item?id=4711&email=ada%40example.org#top"

    await record(gql, "/", referrer=referrer)

    assert await visits() == [visit(referrer_domain="news.example.com")]
    assert await PageView.all().values_list("referrer_domain", "referrer_internal") == [
        ("news.example.com", False)
    ]
    stored = await everything_stored()
    assert "4711" not in stored
    assert "ada%40example.org" not in stored


async def test_a_referrer_on_our_own_site_is_internal(gql: Client) -> None:
    await record(gql, "/threads/1", referrer="http://localhost:8000/forums/general")

    assert await visits() == [
        visit(landing_path="/threads/1", referrer_domain="localhost", referrer_internal=True)
    ]


@pytest.mark.parametrize("referrer", ["", "not a url", "about:blank"])
async def test_a_referrer_without_a_host_is_none(gql: Client, referrer: str) -> None:
    await record(gql, "/", referrer=referrer)

    assert await visits() == [visit()]


async def test_the_fragment_is_dropped_and_the_title_cut_to_200(gql: Client) -> None:
    await record(gql, "/threads/1#reply-7", title="  " + "T" * 250)

    assert await PageView.all().values_list("path", "title") == [("/threads/1", "T" * 200)]


# ------------------------------------------------------------------ choices that keep nothing


async def test_sec_gpc_keeps_nothing_and_sets_no_cookie_but_answers_the_same(
    gql: Client,
) -> None:
    response = await record(gql, "/", headers={"sec-gpc": "1"})

    assert response.json() == RECORDED
    assert visitor_cookies(response) == []
    assert await visits() == []
    assert await views() == []


async def test_sec_gpc_keeps_nothing_for_a_returning_visitor(gql: Client) -> None:
    visitor = visitor_of(await record(gql, "/"))

    response = await record(gql, "/threads/1", visitor=visitor, headers={"sec-gpc": "1"})

    assert response.json() == RECORDED
    assert visitor_cookies(response) == []
    assert await visits() == [visit()]


async def test_sec_gpc_keeps_nothing_for_a_member(gql: Client, ada: int) -> None:
    response = await record(gql, "/", as_member="ada", headers={"sec-gpc": "1"})

    assert response.json() == RECORDED
    assert await visits() == []


async def test_a_members_analytics_opt_out_keeps_nothing(gql: Client, ada: int) -> None:
    consent = await gql(
        "mutation { setConsent(input: {kind: ANALYTICS, granted: false}) { userErrors { code } } }",
        as_member="ada",
    )

    response = await record(gql, "/", as_member="ada")

    assert consent == {"data": {"setConsent": {"userErrors": []}}}
    assert response.json() == RECORDED
    assert visitor_cookies(response) == []
    assert await visits() == []
    assert await views() == []


async def test_granting_analytics_again_resumes_recording(gql: Client, ada: int) -> None:
    for granted in ("false", "true"):
        await gql(
            f"mutation {{ setConsent(input: {{kind: ANALYTICS, granted: {granted}}}) "
            "{ userErrors { code } } }",
            as_member="ada",
        )

    await record(gql, "/", as_member="ada")

    assert await visits() == [visit(user_id=ada)]


# ------------------------------------------------------------------ refused input

PATH_INVALID = {
    "data": {
        "recordPageView": {
            "userErrors": [
                {
                    "field": ["path"],
                    "message": "Give the page's path, starting with /, at most 500 characters.",
                    "code": "PATH_INVALID",
                }
            ]
        }
    }
}


@pytest.mark.parametrize(
    "path",
    [
        "threads/1",  # no leading slash
        "https://elsewhere.example/",
        "",
        "/" + "a" * 500,  # 501 characters
        "/threads/1\r\nSet-Cookie: x=1",
    ],
)
async def test_an_invalid_path_is_refused_and_nothing_kept(gql: Client, path: str) -> None:
    response = await record(gql, path)

    assert response.json() == PATH_INVALID
    assert visitor_cookies(response) == []
    assert await visits() == []
    assert await views() == []


async def test_a_path_of_500_characters_is_kept(gql: Client) -> None:
    path = "/" + "a" * 499

    response = await record(gql, path)

    assert response.json() == RECORDED
    assert await PageView.all().values_list("path", flat=True) == [path]


async def test_a_referrer_over_1000_characters_is_refused(gql: Client) -> None:
    response = await record(gql, "/", referrer="https://example.com/" + "a" * 981)

    assert response.json() == {
        "data": {
            "recordPageView": {
                "userErrors": [
                    {
                        "field": ["referrer"],
                        "message": "That referrer is too long.",
                        "code": "REFERRER_INVALID",
                    }
                ]
            }
        }
    }
    assert await visits() == []
