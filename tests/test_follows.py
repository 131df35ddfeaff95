"""follow / unfollow, the follower lists, the member directory and viewerCanMessage."""

from __future__ import annotations

import base64
import re
from datetime import UTC, date, datetime
from typing import Any

import pytest

from models.accounts import User
from models.privacy import Audience, PrivacySettings
from models.profiles import Follow, Profile
from services import usernames
from tests.support.harness import Client
from tests.support.members import follow, member, password_hash, set_audiences
from tests.support.privacy import AUDIENCES, SEES, VIEWERS, cast, error, global_id
from tests.support.sqlcount import count_statements

FOLLOW = """mutation($i: FollowInput!) {
  follow(input: $i) { user { username viewerIsFollowing } userErrors { field message code } }
}"""
UNFOLLOW = FOLLOW.replace("follow(", "unfollow(")
LISTS = """query($u: String!) { user(username: $u) {
  followers(first: 10) { edges { node { username } } }
  following(first: 10) { edges { node { username } } }
} }"""


def followed(username: str, following: bool = True, mutation: str = "follow") -> dict[str, Any]:
    """follow's (or unfollow's) answer when it worked."""
    user = {"username": username, "viewerIsFollowing": following}
    return {"data": {mutation: {"user": user, "userErrors": []}}}


def names(*usernames_: str) -> dict[str, Any]:
    """A connection of these members."""
    return {"edges": [{"node": {"username": name}} for name in usernames_]}


def decoded(cursor: str) -> str:
    """What an opaque cursor holds."""
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()


def encoded(raw: str) -> str:
    """A cursor made by hand."""
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


async def test_following_a_member_puts_each_in_the_others_list(gql: Client) -> None:
    await member(gql, "ada")
    bob = await member(gql, "bob")

    response = await gql(FOLLOW, {"i": {"userId": global_id(bob)}}, as_member="ada")

    assert response == followed("bob")
    lists = {name: await gql(LISTS, {"u": name}, as_member="bob") for name in ("ada", "bob")}
    assert lists == {
        "ada": {"data": {"user": {"followers": names(), "following": names("bob")}}},
        "bob": {"data": {"user": {"followers": names("ada"), "following": names()}}},
    }


async def test_following_twice_is_harmless(gql: Client) -> None:
    await member(gql, "ada")
    bob = await member(gql, "bob")

    first = await gql(FOLLOW, {"i": {"userId": global_id(bob)}}, as_member="ada")
    second = await gql(FOLLOW, {"i": {"userId": global_id(bob)}}, as_member="ada")

    assert first == second == followed("bob")
    assert await Follow.all().count() == 1


async def test_unfollowing_removes_the_follow_and_twice_is_harmless(gql: Client) -> None:
    ada = await member(gql, "ada")
    bob = await member(gql, "bob")
    await follow(ada, bob)

    first = await gql(UNFOLLOW, {"i": {"userId": global_id(bob)}}, as_member="ada")
    second = await gql(UNFOLLOW, {"i": {"userId": global_id(bob)}}, as_member="ada")

    assert first == second == followed("bob", following=False, mutation="unfollow")
    lists = await gql(LISTS, {"u": "bob"}, as_member="bob")
    assert lists == {"data": {"user": {"followers": names(), "following": names()}}}


async def test_follow_and_unfollow_refuse_what_cannot_be_done(gql: Client) -> None:
    ada = await member(gql, "ada")
    bob = await member(gql, "bob")
    await member(gql, "newbie", confirmed=False)
    nobody = encoded("User:999999")
    cases = {
        ("ada", global_id(ada)): ("You cannot follow yourself.", "CANNOT_FOLLOW_SELF"),
        ("ada", nobody): ("There is no such member.", "USER_NOT_FOUND"),
        ("newbie", global_id(bob)): ("Confirm your email address first.", "EMAIL_NOT_CONFIRMED"),
    }

    seen = {}
    for (login, target), _ in cases.items():
        for mutation, query in (("follow", FOLLOW), ("unfollow", UNFOLLOW)):
            seen[mutation, login, target] = await gql(
                query, {"i": {"userId": target}}, as_member=login
            )

    assert seen == {
        (mutation, login, target): {
            "data": {
                mutation: {
                    "user": None,
                    "userErrors": [{"field": ["userId"], "message": message, "code": code}],
                }
            }
        }
        for (login, target), (message, code) in cases.items()
        for mutation in ("follow", "unfollow")
    }
    assert await Follow.all().count() == 0


async def test_following_needs_a_signed_in_member(gql: Client) -> None:
    bob = await member(gql, "bob")

    response = await gql(FOLLOW, {"i": {"userId": global_id(bob)}})

    assert response == {
        "data": {"follow": None},
        "errors": [error("Sign in to do this.", ["follow"], "UNAUTHENTICATED", 2, 3)],
    }


@pytest.mark.parametrize(
    ("user_id", "message"),
    [
        (encoded("Follow:1"), "That is not a valid User ID."),
        (encoded("User:1 OR 1=1"), "That is not a valid User ID."),
        ("!!!", "That is not a valid ID."),
    ],
)
async def test_a_malformed_member_id_is_bad_input(gql: Client, user_id: str, message: str) -> None:
    await member(gql, "ada")

    response = await gql(FOLLOW, {"i": {"userId": user_id}}, as_member="ada")

    assert response == {
        "data": {"follow": None},
        "errors": [error(message, ["follow"], "BAD_USER_INPUT", 2, 3)],
    }


PAGE = """query($after: String) { user(username: "bob") {
  followers(first: 2, after: $after) {
    edges { cursor node { username } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
} }"""


async def test_follower_lists_page_by_keyset_cursors_holding_only_the_follow_id(
    gql: Client,
) -> None:
    bob = await member(gql, "bob")
    for name in ("cy", "di", "ed"):
        await follow(await member(gql, name, signed_in=False), bob)
    follow_ids = [f"Follow:{row.id}" for row in await Follow.all().order_by("id")]

    first = await gql(PAGE, as_member="bob")
    end = first["data"]["user"]["followers"]["pageInfo"]["endCursor"]
    second = await gql(PAGE, {"after": end}, as_member="bob")

    pages = [first["data"]["user"]["followers"], second["data"]["user"]["followers"]]
    cursors = [edge["cursor"] for page in pages for edge in page["edges"]]
    assert [decoded(cursor) for cursor in cursors] == follow_ids
    assert all(re.fullmatch(r"Follow:\d+", decoded(cursor)) for cursor in cursors)
    assert pages == [
        {
            "edges": [
                {"cursor": cursors[0], "node": {"username": "cy"}},
                {"cursor": cursors[1], "node": {"username": "di"}},
            ],
            "pageInfo": {
                "hasNextPage": True,
                "hasPreviousPage": False,
                "startCursor": cursors[0],
                "endCursor": cursors[1],
            },
        },
        {
            "edges": [{"cursor": cursors[2], "node": {"username": "ed"}}],
            "pageInfo": {
                "hasNextPage": False,
                "hasPreviousPage": True,
                "startCursor": cursors[2],
                "endCursor": cursors[2],
            },
        },
    ]


async def test_page_sizes_outside_1_to_100_are_bad_input(gql: Client) -> None:
    await member(gql, "bob")
    query = 'query($n: Int) { user(username: "bob") { following(first: $n) { edges { cursor } } } }'

    seen = {n: await gql(query, {"n": n}, as_member="bob") for n in (-1, 0, 1, 100, 101)}

    bad = {
        "data": {"user": {"following": None}},
        "errors": [
            error(
                "`first` and `last` must be between 1 and 100.",
                ["user", "following"],
                "BAD_USER_INPUT",
                1,
                42,
            )
        ],
    }
    ok = {"data": {"user": {"following": {"edges": []}}}}
    assert seen == {-1: bad, 0: bad, 1: ok, 100: ok, 101: bad}


async def test_a_tampered_cursor_is_bad_input(gql: Client) -> None:
    bob = await member(gql, "bob")
    await follow(await member(gql, "cy", signed_in=False), bob)
    query = """query($after: String) { user(username: "bob") {
      followers(first: 5, after: $after) { edges { cursor } } } }"""
    tampered = [
        encoded("User:1"),  # a cursor of another list
        encoded("Follow:one"),
        encoded("Follow:1 OR 1=1"),
        encoded("Follow:-1"),
        encoded("Follow:" + "9" * 19),
        "!!!",
        "A" * 101,
    ]

    seen = {cursor: await gql(query, {"after": cursor}, as_member="bob") for cursor in tampered}

    bad = {
        "data": {"user": {"followers": None}},
        "errors": [
            error(
                "That cursor is not valid here.",
                ["user", "followers"],
                "BAD_USER_INPUT",
                2,
                7,
            )
        ],
    }
    assert seen == dict.fromkeys(tampered, bad)


DIRECTORY = """query($search: String, $after: String, $first: Int) {
  users(search: $search, after: $after, first: $first) {
    edges { cursor node { username } }
    pageInfo { hasNextPage endCursor }
  }
}"""


async def directory(gql: Client, **variables: Any) -> list[str]:
    """The usernames `users` lists, signed out."""
    response = await gql(DIRECTORY, variables)
    return [edge["node"]["username"] for edge in response["data"]["users"]["edges"]]


async def test_the_directory_lists_only_members_who_are_listed(gql: Client) -> None:
    await member(gql, "ada")
    hermit = await member(gql, "hermit")
    await member(gql, "cy")
    await set_audiences(hermit, listed_in_members=False)

    assert await directory(gql) == ["ada", "cy"]
    assert await directory(gql, search="hermit") == []
    # Usernames are public: the hermit is still found by name, just not listed.
    assert await gql('{ user(username: "hermit") { username } }') == {
        "data": {"user": {"username": "hermit"}}
    }


async def test_the_directory_pages_by_cursors_holding_only_the_user_id(gql: Client) -> None:
    members = [await member(gql, name, signed_in=False) for name in ("ada", "bob", "cy")]

    first = await gql(DIRECTORY, {"first": 2})
    end = first["data"]["users"]["pageInfo"]["endCursor"]
    rest = await gql(DIRECTORY, {"first": 2, "after": end})

    cursors = [e["cursor"] for r in (first, rest) for e in r["data"]["users"]["edges"]]
    assert [decoded(cursor) for cursor in cursors] == [f"User:{m.id}" for m in members]
    assert [first["data"]["users"]["pageInfo"], rest["data"]["users"]["pageInfo"]] == [
        {"hasNextPage": True, "endCursor": cursors[1]},
        {"hasNextPage": False, "endCursor": cursors[2]},
    ]


async def test_search_matches_usernames_only_never_private_fields(gql: Client) -> None:
    await cast(gql)  # ada: every private field a canary
    await set_audiences(await User.get(username="ada"), location="EVERYONE", bio="EVERYONE")
    canaries = [
        "ada.canary",  # email
        "example.test",
        "1961-02",  # date of birth
        "Location-canary",
        "bio canary",
        "website-canary",
        "diet canary",
        "187.3",
    ]

    found = {term: await directory(gql, search=term) for term in canaries}

    assert found == {term: [] for term in canaries}
    assert await directory(gql, search="AD") == ["ada"]


async def test_search_takes_percent_and_underscore_literally(gql: Client) -> None:
    for name in ("ann_lee", "annxlee"):
        await member(gql, name, signed_in=False)
    terms = ("_", "n_l", "%", "ann%lee", "a%")

    found = {term: await directory(gql, search=term) for term in terms}

    assert found == {"_": ["ann_lee"], "n_l": ["ann_lee"], "%": [], "ann%lee": [], "a%": []}


async def test_a_search_longer_than_a_username_is_bad_input(gql: Client) -> None:
    response = await gql(DIRECTORY, {"search": "x" * 31})

    assert response == {
        "data": None,
        "errors": [
            error(
                "Search for part of a username (at most 30 characters).",
                ["users"],
                "BAD_USER_INPUT",
                2,
                3,
            )
        ],
    }


MAY_MESSAGE = {
    "member",
    "member the owner follows",
    "member who follows the owner, not followed back",
    "moderator, ordinary query",
}  # never the signed-out, the unconfirmed or the owner herself


async def test_viewer_can_message_follows_who_can_message(gql: Client) -> None:
    ada = await cast(gql)
    query = '{ user(username: "ada") { viewerCanMessage } }'

    seen = {}
    for audience in AUDIENCES:
        await set_audiences(ada, who_can_message=audience)
        for viewer, login in VIEWERS.items():
            seen[audience, viewer] = await gql(query, as_member=login)

    assert seen == {
        (audience, viewer): {
            "data": {"user": {"viewerCanMessage": viewer in SEES[audience] & MAY_MESSAGE}}
        }
        for audience in AUDIENCES
        for viewer in VIEWERS
    }


async def test_viewer_is_following_is_false_when_signed_out(gql: Client) -> None:
    ada = await member(gql, "ada")
    bob = await member(gql, "bob")
    await follow(ada, bob)
    query = '{ user(username: "bob") { viewerIsFollowing } }'

    seen = {login: await gql(query, as_member=login) for login in (None, "ada", "bob")}

    assert seen == {
        None: {"data": {"user": {"viewerIsFollowing": False}}},
        "ada": {"data": {"user": {"viewerIsFollowing": True}}},
        "bob": {"data": {"user": {"viewerIsFollowing": False}}},
    }


# ------------------------------------------------------------------------- N+1

EVERYTHING = """{ users(first: 50) { edges { cursor node {
  id username role joinedAt email dateOfBirth age lastSeenAt
  profile { bio location website dietPlan weightJourney { startKg currentKg goalKg } }
  viewerIsFollowing viewerCanMessage privacySettings { email }
  %s
} } } }"""
LISTS_OF_FIVE = """followers(first: 5) { edges { node { username email viewerIsFollowing } } }
  following(first: 5) { edges { node { username email viewerIsFollowing } } }"""


async def directory_of(count: int) -> None:
    """`count` members with full profiles and mixed settings, each following the next."""
    now = datetime.now(UTC)
    await User.bulk_create(
        [
            User(
                username=f"m{i:03}",
                username_key=usernames.lookalike_key(f"m{i:03}"),
                email=f"m{i:03}@example.org",
                email_key=f"m{i:03}@example.org",
                password_hash=password_hash(),
                date_of_birth=date(1980, 1, 1 + i % 28),
                email_confirmed_at=now,
                last_seen_at=now,
            )
            for i in range(count)
        ]
    )
    members = await User.filter(username__startswith="m").order_by("id")
    audiences = list(Audience)
    await Profile.bulk_create(
        [
            Profile(user_id=m.id, bio=f"bio {m.id}", location="here", goal_weight_kg=70)
            for m in members
        ]
    )
    await PrivacySettings.bulk_create(
        [
            PrivacySettings(user_id=m.id, email=audiences[i % 4], followers=audiences[(i + 1) % 4])
            for i, m in enumerate(members)
        ]
    )
    await Follow.bulk_create(
        [
            Follow(follower_id=m.id, followee_id=members[(i + 1) % count].id)
            for i, m in enumerate(members)
        ]
    )


async def statements_for(gql: Client, members: int, query: str) -> int:
    """SQL statements `query` costs a member looking at a directory of `members`."""
    reader = await member(gql, "reader")
    await directory_of(members)
    await follow(reader, await User.get(username="m001"))
    with count_statements() as statements:
        response = await gql(query, as_member="reader")
    assert "errors" not in response
    assert len(response["data"]["users"]["edges"]) == members + 1
    return statements.count


async def test_the_directory_costs_the_same_statements_for_5_members_as_for_50(
    gql: Client,
) -> None:
    # Measured: 7 statements for 6 members and for 50 (the session; the page; privacy
    # settings for the policy and for the viewer's own privacySettings; profiles; whom
    # the viewer follows; who follows the viewer), on SQLite and PostgreSQL alike.
    few = await statements_for(gql, 5, EVERYTHING % "")
    await User.all().delete()
    many = await statements_for(gql, 50 - 1, EVERYTHING % "")

    assert few == many


async def test_follower_lists_in_the_directory_cost_no_statement_per_member(
    gql: Client,
) -> None:
    # Measured: 22 statements for 6 members; for 50, 132 on SQLite and 117 on PostgreSQL.
    few = await statements_for(gql, 5, EVERYTHING % LISTS_OF_FIVE)
    await User.all().delete()
    many = await statements_for(gql, 50 - 1, EVERYTHING % LISTS_OF_FIVE)

    assert few == many
