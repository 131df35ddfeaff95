"""Whatever path reaches a member, her private fields follow the same settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from models.accounts import User
from tests.support.harness import Client
from tests.support.members import member, set_audiences, set_profile
from tests.support.privacy import (
    ALL_FIELDS,
    FIELDS,
    SEES,
    VIEWERS,
    ada_as_seen,
    cast,
    global_id,
    visible_to,
)

MIXED = {
    "email": "ONLY_ME",
    "dateOfBirth": "FOLLOWING",
    "age": "MEMBERS",
    "lastSeenAt": "EVERYONE",
    "bio": "FOLLOWING",
    "location": "MEMBERS",
    "website": "EVERYONE",
    "dietPlan": "ONLY_ME",
    "weightJourney": "FOLLOWING",
    "followers": "MEMBERS",
    "following": "EVERYONE",
}


async def mixed_cast(gql: Client) -> str:
    """Ada with MIXED audiences; friend's followers and fan's following are public lists."""
    ada = await cast(gql)
    await set_audiences(ada, **{FIELDS[name].setting: a for name, a in MIXED.items()})
    await set_audiences(await User.get(username="friend"), followers="EVERYONE")
    await set_audiences(await User.get(username="fan"), following="EVERYONE")
    return global_id(ada)


def first_node(connection: dict[str, Any]) -> Any:
    """The one member in a connection, or None when it lists nobody."""
    if not connection["edges"]:
        return None
    (edge,) = connection["edges"]
    return edge["node"]


# name: (query, how to find ada in the data)
PATHS: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
    "user(username:)": (
        f'{{ user(username: "ada") {{ {ALL_FIELDS} }} }}',
        lambda data: data["user"],
    ),
    "node(id:)": (
        f"query($id: ID!) {{ node(id: $id) {{ ... on User {{ {ALL_FIELDS} }} }} }}",
        lambda data: data["node"],
    ),
    "users(search:)": (
        f'{{ users(search: "AD") {{ edges {{ node {{ {ALL_FIELDS} }} }} }} }}',
        lambda data: first_node(data["users"]),
    ),
    "a follower list": (
        f'{{ user(username: "friend") {{ followers(first: 5) '
        f"{{ edges {{ node {{ {ALL_FIELDS} }} }} }} }} }}",
        lambda data: first_node(data["user"]["followers"]),
    ),
    "a following list": (
        f'{{ user(username: "fan") {{ following(first: 5) '
        f"{{ edges {{ node {{ {ALL_FIELDS} }} }} }} }} }}",
        lambda data: first_node(data["user"]["following"]),
    ),
    "an inline fragment": (
        f'{{ user(username: "ada") {{ ... on User {{ {ALL_FIELDS} }} }} }}',
        lambda data: data["user"],
    ),
    "named fragments": (
        '{ user(username: "ada") { ...Person } }\n'
        "fragment Person on User { ...Personal profile { ...About } }\n"
        "fragment Personal on User { username email dateOfBirth age lastSeenAt "
        "followers(first: 10) { edges { node { username } } } "
        "following(first: 10) { edges { node { username } } } }\n"
        "fragment About on Profile { bio location website dietPlan "
        "weightJourney { startKg currentKg goalKg } }",
        lambda data: data["user"],
    ),
    "an alias": (
        f'{{ someone: user(username: "ada") {{ {ALL_FIELDS} }} }}',
        lambda data: data["someone"],
    ),
}


@pytest.mark.parametrize("path", PATHS)
async def test_every_path_to_a_member_shows_the_same_fields(gql: Client, path: str) -> None:
    ada_id = await mixed_cast(gql)
    query, find = PATHS[path]

    seen = {}
    for viewer, login in VIEWERS.items():
        variables = {"id": ada_id} if "$id" in query else None
        response = await gql(query, variables, as_member=login)
        assert set(response) == {"data"}, response
        seen[viewer] = find(response["data"])

    # fan's following lists ada only to those who may see ada's followers (MEMBERS):
    # an edge shows only where the lists at both its ends may be seen.
    reached = SEES[MIXED["followers"]] if path == "a following list" else set(VIEWERS)
    assert seen == {
        viewer: ada_as_seen(visible_to(viewer, MIXED)) if viewer in reached else None
        for viewer in VIEWERS
    }


ALIASED = """{ who: user(username: "ada") {
  name: username mail: email again: email born: dateOfBirth years: age seen: lastSeenAt
  about: profile { text: bio place: location site: website diet: dietPlan
                   journey: weightJourney { startKg currentKg goalKg } }
  fans: followers(first: 10) { edges { node { username } } }
  idols: following(first: 10) { edges { node { username } } }
} }"""


async def test_aliased_fields_follow_the_fields_settings(gql: Client) -> None:
    await mixed_cast(gql)

    seen = {login: await gql(ALIASED, as_member=login) for login in ("stranger", "friend")}

    def aliased(viewer: str) -> dict[str, Any]:
        ada = ada_as_seen(visible_to(viewer, MIXED))
        about = ada["profile"]
        return {
            "who": {
                "name": "ada",
                "mail": None,  # ONLY_ME: however many times it is asked for
                "again": None,
                "born": ada["dateOfBirth"],
                "years": ada["age"],
                "seen": ada["lastSeenAt"],
                "about": {
                    "text": about["bio"],
                    "place": about["location"],
                    "site": about["website"],
                    "diet": about["dietPlan"],
                    "journey": about["weightJourney"],
                },
                "fans": ada["followers"],
                "idols": ada["following"],
            }
        }

    assert seen == {
        "stranger": {"data": aliased("member")},
        "friend": {"data": aliased("member the owner follows")},
    }


async def test_viewer_is_the_owner_and_shows_her_everything(gql: Client) -> None:
    await mixed_cast(gql)

    response = await gql(f"{{ viewer {{ {ALL_FIELDS} }} }}", as_member="ada")

    assert response == {"data": {"viewer": ada_as_seen(set(FIELDS))}}


async def test_the_user_inside_a_privileged_read_is_an_ordinary_read(gql: Client) -> None:
    ada_id = await mixed_cast(gql)
    query = f"""query($id: ID!) {{
      privilegedProfile(userId: $id, reason: "spam check") {{ user {{ {ALL_FIELDS} }} }}
    }}"""

    response = await gql(query, {"id": ada_id}, as_member="mod")

    moderator = ada_as_seen(visible_to("moderator, ordinary query", MIXED))
    assert response == {"data": {"privilegedProfile": {"user": moderator}}}


async def test_following_the_owner_through_follow_shows_no_more_than_before(
    gql: Client,
) -> None:
    ada_id = await mixed_cast(gql)
    query = f"""mutation($id: ID!) {{
      follow(input: {{userId: $id}}) {{ user {{ {ALL_FIELDS} }} userErrors {{ code }} }}
    }}"""

    response = await gql(query, {"id": ada_id}, as_member="stranger")

    member = ada_as_seen(visible_to("member", MIXED))
    # stranger now follows ada, so ada's list of followers has grown by one.
    member["followers"] = {
        "edges": [{"node": {"username": "fan"}}, {"node": {"username": "stranger"}}]
    }
    assert response == {"data": {"follow": {"user": member, "userErrors": []}}}


SETTINGS = """{ user(username: "ada") { privacySettings {
  email dateOfBirth age lastSeen bio location website dietPlan weightJourney
  followers following whoCanMessage listedInMembers
} } }"""
MIXED_SETTINGS = {
    "email": "ONLY_ME",
    "dateOfBirth": "FOLLOWING",
    "age": "MEMBERS",
    "lastSeen": "EVERYONE",
    "bio": "FOLLOWING",
    "location": "MEMBERS",
    "website": "EVERYONE",
    "dietPlan": "ONLY_ME",
    "weightJourney": "FOLLOWING",
    "followers": "MEMBERS",
    "following": "EVERYONE",
    "whoCanMessage": "MEMBERS",
    "listedInMembers": True,
}


async def test_privacy_settings_are_shown_to_the_owner_only(gql: Client) -> None:
    await mixed_cast(gql)

    seen = {viewer: await gql(SETTINGS, as_member=login) for viewer, login in VIEWERS.items()}

    assert seen == {
        viewer: {
            "data": {"user": {"privacySettings": MIXED_SETTINGS if viewer == "the owner" else None}}
        }
        for viewer in VIEWERS
    }


async def test_privacy_settings_stay_hidden_from_moderators_reading_privileged_user(
    gql: Client,
) -> None:
    ada_id = await mixed_cast(gql)
    query = """query($id: ID!) { privilegedProfile(userId: $id, reason: "spam check") {
      user { privacySettings { email } } privacySettings { email } } }"""

    response = await gql(query, {"id": ada_id}, as_member="mod")

    # The privileged record carries them; the ordinary User inside it does not.
    expected = {"user": {"privacySettings": None}, "privacySettings": {"email": "ONLY_ME"}}
    assert response == {"data": {"privilegedProfile": expected}}


UPDATE_ALL = """mutation($a: Audience!) { updatePrivacySettings(input: {
  email: $a dateOfBirth: $a age: $a lastSeen: $a bio: $a location: $a website: $a
  dietPlan: $a weightJourney: $a followers: $a following: $a
}) { userErrors { code } } }"""


async def test_a_setting_change_applies_to_the_very_next_request(gql: Client) -> None:
    await cast(gql)
    read = f'{{ user(username: "ada") {{ {ALL_FIELDS} }} }}'

    seen = []
    for audience in ("EVERYONE", "ONLY_ME", "MEMBERS"):
        changed = await gql(UPDATE_ALL, {"a": audience}, as_member="ada")
        assert changed == {"data": {"updatePrivacySettings": {"userErrors": []}}}
        seen.append(await gql(read, as_member="stranger"))

    assert seen == [
        {"data": {"user": ada_as_seen(set(FIELDS))}},
        {"data": {"user": ada_as_seen(set())}},
        {"data": {"user": ada_as_seen(set(FIELDS))}},
    ]


EMPTY_ABLE = """query($u: String!) { user(username: $u) { lastSeenAt
  profile { bio location website dietPlan weightJourney { startKg currentKg goalKg } } } }"""


@pytest.mark.parametrize("viewer", [None, "stranger"])
async def test_a_hidden_value_reads_byte_for_byte_like_an_empty_one(
    gql: Client, viewer: str | None
) -> None:
    ada = await cast(gql)
    await set_audiences(ada, **{FIELDS[name].setting: "ONLY_ME" for name in FIELDS})
    blank = await member(gql, "bob")  # never seen, nothing written, everything public
    await set_audiences(blank, **{FIELDS[name].setting: "EVERYONE" for name in FIELDS})
    await set_profile(blank, bio=None)  # a profile row with nothing in it

    hidden = await gql.post(EMPTY_ABLE, {"u": "ada"}, as_member=viewer)
    empty = await gql.post(EMPTY_ABLE, {"u": "bob"}, as_member=viewer)

    assert (hidden.status_code, hidden.content) == (empty.status_code, empty.content)
    assert hidden.headers["content-length"] == empty.headers["content-length"]
    assert hidden.json() == {
        "data": {
            "user": {
                "lastSeenAt": None,
                "profile": {
                    "bio": None,
                    "location": None,
                    "website": None,
                    "dietPlan": None,
                    "weightJourney": None,
                },
            }
        }
    }
