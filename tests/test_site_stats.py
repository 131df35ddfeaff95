"""siteStats: admins see aggregates of the visits in a date range, and nothing that
tells one visitor from another."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from models.activity import PageView, Visit
from models.base import Role
from resolvers.accounts import create_member
from tests.support.harness import PASSWORD, TEST_IP, Client, Server
from tests.support.harness import test_settings as make_settings

STATS = """query($from: Date!, $to: Date!) {
  siteStats(from: $from, to: $to) {
    visits pageViews averageVisitSeconds registrations
    topPages { key count } topReferrers { key count } countries { key count }
    browsers { key count } operatingSystems { key count } paths { from to count }
  }
}"""
RECORD = """mutation($i: RecordPageViewInput!) {
  recordPageView(input: $i) { userErrors { code } }
}"""
DAY = date(2025, 3, 10)
CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
SAFARI_IOS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36"
)
ONE = timedelta(days=1)
HOME = "http://localhost:8000/"  # PUBLIC_URL: our own pages
ADDRESSES = {"GB": "81.2.69.160", "US": "8.8.8.8", "SE": "89.160.20.112", "JP": "133.242.0.1"}


@dataclass(frozen=True)
class Visitor:
    """One browser on one network: who, from where, with what."""

    address: str
    user_agent: str
    member: str | None = None
    gpc: bool = False


@pytest.fixture
async def gql(tmp_path: Path, database_url: str) -> AsyncIterator[Client]:
    """The app behind our proxy (TEST_IP), so X-Forwarded-For names each visitor's address."""
    settings = make_settings(tmp_path, database_url, trusted_proxies=[f"{TEST_IP}/32"])
    async with Server(settings) as client:
        client.ips.update(ADDRESSES.values())
        yield client


async def add(username: str, role: Role = Role.MEMBER, joined: datetime | None = None) -> None:
    """A confirmed member who joined at `joined` (default: long before DAY)."""
    user = await create_member(
        username, f"{username}@example.org", PASSWORD, role, date(1990, 5, 17)
    )
    user.joined_at = joined or datetime(2024, 1, 1, tzinfo=UTC)
    await user.save(update_fields=["joined_at"])


@pytest.fixture
async def staff(gql: Client) -> None:
    """An admin `boss`, a moderator `mod` and a member `max`, signed in."""
    for username, role in (("boss", Role.ADMIN), ("mod", Role.MODERATOR), ("max", Role.MEMBER)):
        await add(username, role)
        await gql.sign_in(username)


async def browse(
    gql: Client, who: Visitor, pages: list[tuple[str, str | None]], start: datetime, seconds: int
) -> None:
    """One visit of (path, referrer) views, then pinned to `start`, lasting `seconds`."""
    cookie: str | None = None
    for path, referrer in pages:
        headers = {"x-forwarded-for": who.address, "user-agent": who.user_agent}
        if who.gpc:
            headers["sec-gpc"] = "1"
        if cookie:
            headers["cookie"] = f"visitor={cookie}"
        variables = {"i": {"path": path, "referrer": referrer, "title": None}}
        response = await gql.post(RECORD, variables, as_member=who.member, headers=headers)
        assert response.json() == {"data": {"recordPageView": {"userErrors": []}}}
        cookie = cookie or response.cookies.get("visitor")
    last = await Visit.all().order_by("-id").first()
    if last is None or who.gpc:
        return
    end = start + timedelta(seconds=seconds)
    await Visit.filter(id=last.id).update(started_at=start, ended_at=end)
    views = await PageView.filter(visit_id=last.id).order_by("id").values_list("id", flat=True)
    for step, view in enumerate(views):
        await PageView.filter(id=view).update(created_at=start + timedelta(seconds=step * 5))


def at(hour: int, minute: int = 0, second: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


@pytest.fixture
async def traffic(gql: Client, staff: None) -> None:
    """Five visits on DAY (one at its last second), two just outside it, one with GPC."""
    for username in ("ada", "bob"):
        await add(username, joined=at(9))
        await gql.sign_in(username)
    await add("carol", joined=at(0, day=date(2025, 3, 11)))
    gb, us, se, jp = (ADDRESSES[c] for c in ("GB", "US", "SE", "JP"))
    news = "https://news.ycombinator.com/item?id=4711"
    search = "https://www.google.com/search?q=minimins+forum"
    pages = [("/", news), ("/forums/general", HOME), ("/threads/1", f"{HOME}forums/general")]
    await browse(gql, Visitor(gb, CHROME_WINDOWS), pages, at(10), 600)
    pages = [("/threads/1", search), ("/forums/general", None)]
    await browse(gql, Visitor(us, FIREFOX_LINUX), pages, at(11), 300)
    pages = [("/", None), ("/forums/general", HOME), ("/threads/1", None)]
    await browse(gql, Visitor(se, SAFARI_IOS, "ada"), pages, at(12), 1200)
    await browse(gql, Visitor(gb, CHROME_WINDOWS, "bob"), [("/", search)], at(13), 0)
    await browse(gql, Visitor(jp, CHROME_ANDROID), [("/", None)], at(23, 59, 50), 7)
    await browse(gql, Visitor(us, FIREFOX_LINUX, gpc=True), [("/private", news)], at(14), 0)
    await browse(gql, Visitor(jp, SAFARI_IOS), [("/late", news)], at(0, day=date(2025, 3, 11)), 9)
    await browse(gql, Visitor(se, FIREFOX_LINUX), [("/early", news)], at(23, 59, 59, DAY - ONE), 1)


async def test_admins_see_the_days_aggregates_exactly(gql: Client, traffic: None) -> None:
    response = await gql(STATS, {"from": "2025-03-10", "to": "2025-03-10"}, as_member="boss")

    assert response == {
        "data": {
            "siteStats": {
                "visits": 5,
                "pageViews": 10,
                "averageVisitSeconds": 421.4,  # (600 + 300 + 1200 + 0 + 7) / 5
                "registrations": 2,
                "topPages": [
                    {"key": "/", "count": 4},
                    {"key": "/forums/general", "count": 3},
                    {"key": "/threads/1", "count": 3},
                ],
                "topReferrers": [  # page views from other sites; ours are not listed
                    {"key": "www.google.com", "count": 2},
                    {"key": "news.ycombinator.com", "count": 1},
                ],
                "countries": [
                    {"key": "GB", "count": 2},
                    {"key": "JP", "count": 1},
                    {"key": "SE", "count": 1},
                    {"key": "US", "count": 1},
                ],
                "browsers": [
                    {"key": "Chrome", "count": 2},
                    {"key": "Chrome Mobile", "count": 1},
                    {"key": "Firefox", "count": 1},
                    {"key": "Mobile Safari", "count": 1},
                ],
                "operatingSystems": [
                    {"key": "Windows", "count": 2},
                    {"key": "Android", "count": 1},
                    {"key": "Linux", "count": 1},
                    {"key": "iOS", "count": 1},
                ],
                "paths": [
                    {"from": "/", "to": "/forums/general", "count": 2},
                    {"from": "/forums/general", "to": "/threads/1", "count": 2},
                    {"from": "/threads/1", "to": "/forums/general", "count": 1},
                ],
            }
        }
    }


async def test_the_range_takes_in_whole_days_at_both_ends(gql: Client, traffic: None) -> None:
    response = await gql(
        "query($f: Date!, $t: Date!) { siteStats(from: $f, to: $t) "
        "{ visits pageViews registrations topPages { key count } } }",
        {"f": "2025-03-09", "t": "2025-03-11"},
        as_member="boss",
    )

    assert response == {
        "data": {
            "siteStats": {
                "visits": 7,
                "pageViews": 12,
                "registrations": 3,
                "topPages": [
                    {"key": "/", "count": 4},
                    {"key": "/forums/general", "count": 3},
                    {"key": "/threads/1", "count": 3},
                    {"key": "/early", "count": 1},
                    {"key": "/late", "count": 1},
                ],
            }
        }
    }


async def test_the_statistics_name_no_visitor(gql: Client, traffic: None) -> None:
    response = await gql.post(STATS, {"from": "2025-03-01", "to": "2025-03-31"}, as_member="boss")

    keys = await Visit.all().values_list("visitor_key", flat=True)
    assert [key for key in keys if key in response.text] == []
    assert "ada" not in response.text and "bob" not in response.text
    assert "4711" not in response.text and "minimins" not in response.text  # domains only


async def test_a_range_with_no_visits_counts_zero(gql: Client, staff: None) -> None:
    response = await gql(STATS, {"from": "2025-03-10", "to": "2025-03-10"}, as_member="boss")

    assert response == {
        "data": {
            "siteStats": {
                "visits": 0,
                "pageViews": 0,
                "averageVisitSeconds": 0.0,
                "registrations": 0,
                "topPages": [],
                "topReferrers": [],
                "countries": [],
                "browsers": [],
                "operatingSystems": [],
                "paths": [],
            }
        }
    }


async def test_a_visit_with_unknown_client_counts_without_a_country_or_browser(
    gql: Client, staff: None
) -> None:
    gql.ips.add("10.0.0.8")
    await browse(gql, Visitor("10.0.0.8", "python-httpx/0.28.1"), [("/", None)], at(10), 30)

    response = await gql(
        '{ siteStats(from: "2025-03-10", to: "2025-03-10") { visits averageVisitSeconds '
        "countries { key } browsers { key } operatingSystems { key } } }",
        as_member="boss",
    )

    assert response == {
        "data": {
            "siteStats": {
                "visits": 1,
                "averageVisitSeconds": 30.0,
                "countries": [],
                "browsers": [],
                "operatingSystems": [],
            }
        }
    }


# ------------------------------------------------------------------ who may ask, and how


def refusal(message: str, code: str) -> dict:
    return {
        "data": {"siteStats": None},
        "errors": [
            {
                "message": message,
                "locations": [{"line": 2, "column": 3}],
                "path": ["siteStats"],
                "extensions": {"code": code},
            }
        ],
    }


@pytest.mark.parametrize(
    ("viewer", "expected"),
    [
        ("mod", refusal("You are not allowed to do this.", "FORBIDDEN")),
        ("max", refusal("You are not allowed to do this.", "FORBIDDEN")),
        (None, refusal("Sign in to do this.", "UNAUTHENTICATED")),
    ],
)
async def test_only_admins_see_the_statistics(
    gql: Client, traffic: None, viewer: str | None, expected: dict
) -> None:
    response = await gql(STATS, {"from": "2025-03-10", "to": "2025-03-10"}, as_member=viewer)

    assert response == expected


BAD_RANGE = refusal("`to` must be on or after `from`, at most 366 days later.", "BAD_USER_INPUT")


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2025-03-10", "2025-03-09"),  # `to` before `from`
        ("2024-01-01", "2025-01-02"),  # 367 days
    ],
)
async def test_a_backwards_or_overlong_range_is_bad_input(
    gql: Client, staff: None, start: str, end: str
) -> None:
    response = await gql(STATS, {"from": start, "to": end}, as_member="boss")

    assert response == BAD_RANGE


async def test_a_range_of_366_days_is_allowed(gql: Client, staff: None) -> None:
    response = await gql(
        STATS.replace("visits pageViews", "visits"),
        {"from": "2024-01-01", "to": "2025-01-01"},
        as_member="boss",
    )

    assert response["data"]["siteStats"]["visits"] == 0
