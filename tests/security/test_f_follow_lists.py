"""SECURITY.md row F1, extended by issue 14: a member who hides both follow lists was
still listed in other members' lists. An edge now shows in a list only if the viewer
may also see the other member's list that shows the same edge: follower F in carol's
`followers` needs F's `following`; followee G in carol's `following` needs G's
`followers`. The lists' owner sees every edge of her own lists (accepted: whoever
follows her could tell anyway, since FOLLOWING audiences answer to those one follows).

The cast: carol shows both lists to everyone; vic and wes are members, neither
followed by anyone unless a test says so.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from models.accounts import User
from models.privacy import Audience, PrivacySettings
from models.profiles import Follow
from services import usernames
from tests.support.harness import Client
from tests.support.members import follow, member, password_hash, set_audiences
from tests.support.sqlcount import count_statements

LISTS = """query($after: String, $first: Int) { user(username: "carol") {
  followers(first: $first, after: $after) { edges { node { username } } }
  following(first: $first, after: $after) { edges { node { username } } }
} }"""
VIEWERS = {"anonymous": None, "vic": "vic", "wes": "wes", "carol": "carol"}


@pytest.fixture
async def carol(gql: Client) -> User:
    """carol with both lists public, and the members vic and wes, all signed in."""
    carol = await member(gql, "carol")
    await set_audiences(carol, followers="EVERYONE", following="EVERYONE")
    await member(gql, "vic")
    await member(gql, "wes")
    return carol


def lists(followers: list[str], following: list[str]) -> dict[str, Any]:
    """carol's two lists as LISTS answers them."""

    def page(names: list[str]) -> dict[str, Any]:
        return {"edges": [{"node": {"username": name}} for name in names]}

    return {"data": {"user": {"followers": page(followers), "following": page(following)}}}


async def seen_by_each(gql: Client) -> dict[str, dict[str, Any]]:
    """carol's lists as every viewer sees them."""
    return {viewer: await gql(LISTS, as_member=login) for viewer, login in VIEWERS.items()}


async def test_F1_a_member_who_hides_both_lists_is_in_nobody_elses_lists(
    gql: Client, carol: User
) -> None:
    shy = await member(gql, "shy")
    await set_audiences(shy, followers="ONLY_ME", following="ONLY_ME")
    open_ = await member(gql, "open")
    await set_audiences(open_, followers="EVERYONE", following="EVERYONE")
    for other in (shy, open_):
        await follow(other, carol)
        await follow(carol, other)

    seen = await seen_by_each(gql)

    assert seen == {
        "anonymous": lists(["open"], ["open"]),
        "vic": lists(["open"], ["open"]),
        "wes": lists(["open"], ["open"]),
        "carol": lists(["shy", "open"], ["shy", "open"]),  # her own lists: the accepted risk
    }
    assert await gql(LISTS, as_member="shy") == lists(["shy", "open"], ["shy", "open"])


@pytest.mark.parametrize(
    ("hidden", "followers", "following"),
    [
        ("following", [], ["one"]),  # in carol's followers she needs her own following
        ("followers", ["one"], []),  # in carol's following she needs her own followers
    ],
)
async def test_F1_each_list_of_the_other_member_guards_its_own_edge(
    gql: Client, carol: User, hidden: str, followers: list[str], following: list[str]
) -> None:
    one = await member(gql, "one")
    await set_audiences(one, followers="EVERYONE", following="EVERYONE")
    await set_audiences(one, **{hidden: "ONLY_ME"})
    await follow(one, carol)
    await follow(carol, one)

    response = await gql(LISTS, as_member="vic")

    assert response == lists(followers, following)


@pytest.mark.parametrize("audience", ["MEMBERS", "EVERYONE"])
async def test_F1_the_other_members_audience_decides_as_everywhere(
    gql: Client, carol: User, audience: str
) -> None:
    newbie = await member(gql, "newbie", confirmed=False)
    fan = await member(gql, "fan")
    await set_audiences(fan, followers=audience, following=audience)
    await follow(fan, carol)
    await follow(carol, fan)

    seen = {login: await gql(LISTS, as_member=login) for login in (None, newbie.username, "vic")}

    shown = lists(["fan"], ["fan"])
    if audience == "MEMBERS":  # signed-in members with a confirmed email
        assert seen == {None: lists([], []), "newbie": lists([], []), "vic": shown}
    else:
        assert seen == {None: shown, "newbie": shown, "vic": shown}


async def test_F1_a_following_audience_shows_the_edge_to_whom_the_member_follows(
    gql: Client, carol: User
) -> None:
    vic = await User.get(username="vic")
    fond = await member(gql, "fond")
    await set_audiences(fond, followers="FOLLOWING", following="FOLLOWING")
    await follow(fond, carol)
    await follow(carol, fond)
    await follow(fond, vic)  # fond's FOLLOWING audiences include vic, not wes

    seen = await seen_by_each(gql)

    assert seen == {
        "anonymous": lists([], []),
        "vic": lists(["fond"], ["fond"]),
        "wes": lists([], []),
        "carol": lists(["fond"], ["fond"]),  # fond follows carol too, and they are hers
    }


async def test_F1_the_viewers_own_edge_always_shows_to_her(gql: Client, carol: User) -> None:
    vic = await User.get(username="vic")
    await set_audiences(vic, followers="ONLY_ME", following="ONLY_ME")
    await follow(vic, carol)
    await follow(carol, vic)

    seen = await seen_by_each(gql)

    # vic hides both lists: others never see her edges with carol; vic herself and carol,
    # the two ends of each edge, always do (carol learns that vic follows her: the
    # accepted risk, as any FOLLOWING audience of vic's would tell her).
    assert seen == {
        "anonymous": lists([], []),
        "vic": lists(["vic"], ["vic"]),
        "wes": lists([], []),
        "carol": lists(["vic"], ["vic"]),
    }


# ------------------------------------------------------------------ pages


async def quick_members(names: list[str], hidden: set[str]) -> list[User]:
    """Confirmed members in one statement; those in `hidden` hide both lists."""
    now = datetime.now(UTC)
    await User.bulk_create(
        [
            User(
                username=name,
                username_key=usernames.lookalike_key(name),
                email=f"{name}@example.org",
                email_key=f"{name}@example.org",
                password_hash=password_hash(),
                date_of_birth=date(1990, 5, 17),
                email_confirmed_at=now,
            )
            for name in names
        ]
    )
    users = await User.filter(username__in=names).order_by("id")
    hide = Audience.ONLY_ME
    await PrivacySettings.bulk_create(
        [
            PrivacySettings(user_id=u.id, followers=hide, following=hide)
            for u in users
            if u.username in hidden
        ]
    )
    return users


async def walk(gql: Client, direction: str, first: int) -> list[tuple[list[str], bool]]:
    """Every page of carol's `direction` list as vic sees it: (usernames, hasNextPage)."""
    query = f"""query($after: String) {{ user(username: "carol") {{
      {direction}(first: {first}, after: $after) {{
        edges {{ node {{ username }} }} pageInfo {{ hasNextPage endCursor }} }} }} }}"""
    pages: list[tuple[list[str], bool]] = []
    after = None
    for _ in range(50):  # a fail-safe: no list here has 50 pages
        response = await gql(query, {"after": after}, as_member="vic")
        connection = response["data"]["user"][direction]
        names = [edge["node"]["username"] for edge in connection["edges"]]
        pages.append((names, connection["pageInfo"]["hasNextPage"]))
        if not connection["pageInfo"]["hasNextPage"]:
            return pages
        after = connection["pageInfo"]["endCursor"]
    raise AssertionError(f"no last page: {pages}")


@pytest.mark.parametrize("direction", ["followers", "following"])
async def test_F1_paging_past_hidden_members_lists_each_visible_one_exactly_once(
    gql: Client, carol: User, direction: str
) -> None:
    names = [f"p{i:02}" for i in range(40)]
    # Hidden: every third, and then a run of twenty that fills several windows.
    hidden = {name for i, name in enumerate(names) if i % 3 == 0 or 12 <= i < 32}
    others = await quick_members(names, hidden)
    edges = [
        Follow(follower_id=o.id, followee_id=carol.id)
        if direction == "followers"
        else Follow(follower_id=carol.id, followee_id=o.id)
        for o in others
    ]
    await Follow.bulk_create(edges)
    visible = [name for name in names if name not in hidden]

    pages = await walk(gql, direction, 4)

    assert [name for page, _ in pages for name in page] == visible
    assert pages == [(visible[i : i + 4], i + 4 < len(visible)) for i in range(0, len(visible), 4)]


async def test_F1_a_page_of_exactly_the_visible_rows_left_has_no_next_page(
    gql: Client, carol: User
) -> None:
    others = await quick_members(["a1", "a2", "h1", "h2", "h3"], {"h1", "h2", "h3"})
    await Follow.bulk_create([Follow(follower_id=o.id, followee_id=carol.id) for o in others])

    assert await walk(gql, "followers", 2) == [(["a1", "a2"], False)]


# ------------------------------------------------------------------ statements

DIRECTORY = """{ users(first: 50) { edges { node {
  username followers(first: 10) { edges { node { username } } pageInfo { hasNextPage } }
} } } }"""


async def directory(size: int, followers: int, shown: int) -> None:
    """`size` members showing their followers to everyone; each is followed by the
    `followers` members after it (in a ring). Only the first `shown` show whom they
    follow; the rest hide it, so they are left out of every followers list."""
    names = [f"d{i:02}" for i in range(size)]
    users = await quick_members(names, set())
    await PrivacySettings.bulk_create(
        [
            PrivacySettings(
                user_id=u.id,
                followers=Audience.EVERYONE,
                following=Audience.EVERYONE if i < shown else Audience.ONLY_ME,
            )
            for i, u in enumerate(users)
        ]
    )
    await Follow.bulk_create(
        [
            Follow(follower_id=users[(i + k) % size].id, followee_id=owner.id)
            for i, owner in enumerate(users)
            for k in range(1, followers + 1)
        ]
    )


async def directory_statements(gql: Client) -> tuple[int, dict[str, Any]]:
    """The statements vic's directory page with everyone's followers costs, and the page."""
    with count_statements() as statements:
        response = await gql(DIRECTORY, as_member="vic")
    assert "errors" not in response, response
    return statements.count, response


async def test_F1_follower_lists_of_a_directory_page_cost_what_they_did(
    gql: Client, carol: User
) -> None:
    await directory(47, followers=11, shown=47)
    # Last, a member who hides whom she follows follows them all: her rows come after
    # each full first page, and its look-ahead row settles hasNextPage.
    shy = (await quick_members(["shy"], {"shy"}))[0]
    await PrivacySettings.filter(user_id=shy.id).update(listed_in_members=False)
    await Follow.bulk_create(
        [Follow(follower_id=shy.id, followee_id=u.id) for u in await User.all()]
    )

    count, response = await directory_statements(gql)

    # Measured before the follow lists were filtered, on SQLite and PostgreSQL: the
    # session; the directory page; its members' settings, and who of them follows vic,
    # for the list audiences; every follower page in one statement; the followers.
    assert count == 6
    pages = {
        edge["node"]["username"]: edge["node"]["followers"]
        for edge in response["data"]["users"]["edges"]
    }
    assert len(pages) == 50
    assert {name: len(page["edges"]) for name, page in pages.items() if name[0] == "d"} == {
        f"d{i:02}": 10 for i in range(47)
    }


async def test_F1_short_pages_cost_rounds_not_statements_per_member(
    gql: Client, carol: User
) -> None:
    await directory(21, followers=20, shown=1)
    few, _ = await directory_statements(gql)
    await User.filter(username__startswith="d").delete()

    await directory(47, followers=20, shown=1)
    many, response = await directory_statements(gql)

    # Each list of 20 shows d00 at most: windows of 11 and then 22 rows, one round more
    # than a full page, whether the page lists 24 members or 50.
    assert (few, many) == (7, 7)
    pages = {
        edge["node"]["username"]: edge["node"]["followers"]
        for edge in response["data"]["users"]["edges"]
    }
    d00 = [{"node": {"username": "d00"}}]
    assert {name: pages[name] for name in pages if name.startswith("d")} == {
        f"d{i:02}": {"edges": d00 if i >= 27 else [], "pageInfo": {"hasNextPage": False}}
        for i in range(47)  # d00 is among the 20 after d27 ... d46 in the ring
    }
