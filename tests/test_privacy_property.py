"""Random settings, follows, viewers and query shapes: no hidden value ever gets out.

One app per test function; hypothesis only changes ada's settings and follows between
examples, through the ORM, and asks again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.accounts import User
from models.profiles import Follow
from tests.support.harness import Client
from tests.support.members import follow, member, set_audiences
from tests.support.privacy import AUDIENCES, FIELDS, VIEWERS, cast, global_id

UNCONFIRMED = {"newbie", "newbie_pal"}
# The text of each field's canary as it would show in a body (lastSeenAt rounded or not).
CANARY_TEXT = {
    "email": ["ada.canary-e7@example.test", "canary-e7"],
    "dateOfBirth": ["1961-02-03"],
    "lastSeenAt": ["2024-03-09T13:3"],
    "bio": ["bio canary 4f1"],
    "location": ["Location-canary-9b"],
    "website": ["website-canary-2c"],
    "dietPlan": ["diet canary 77d"],
    "weightJourney": ["187.3", "154.6", "92.1"],
}
PROFILE_FIELDS = {name for name, field in FIELDS.items() if field.path[0] == "profile"}


@dataclass(frozen=True)
class Case:
    """One drawn situation."""

    audiences: dict[str, str]
    listed: bool
    viewer: str | None
    ada_follows_viewer: bool
    viewer_follows_ada: bool
    path: str
    wrapper: str
    fields: tuple[str, ...]
    settings_too: bool


PATHS = {
    "user": ('user(username: "ada") {', "}"),
    "node": ('node(id: "{id}") {', "}"),
    "search": ('users(search: "ADA") { edges { node {', "} } }"),
    "directory": ("users(first: 100) { edges { node {", "} } }"),
    "a follower list": ('user(username: "hub") { followers(first: 10) { edges { node {', "} } } }"),
    "a following list": (
        'user(username: "hub") { following(first: 10) { edges { node {',
        "} } } }",
    ),
    "viewer": ("viewer {", "}"),
    "privileged user": ('privilegedProfile(userId: "{id}", reason: "property") { user {', "} }"),
}

cases = st.builds(
    Case,
    audiences=st.fixed_dictionaries({name: st.sampled_from(AUDIENCES) for name in FIELDS}),
    listed=st.booleans(),
    viewer=st.sampled_from(sorted(VIEWERS.values(), key=str)),
    ada_follows_viewer=st.booleans(),
    viewer_follows_ada=st.booleans(),
    path=st.sampled_from(sorted(PATHS)),
    wrapper=st.sampled_from(["plain", "inline fragment", "named fragment", "aliases"]),
    fields=st.lists(st.sampled_from(sorted(FIELDS)), min_size=1, unique=True).map(tuple),
    settings_too=st.booleans(),
)


def selection(case: Case) -> str:
    """ada's fields as the case asks for them (aliased `a_<name>` if it says so)."""
    a = "a_" if case.wrapper == "aliases" else ""
    parts = [f"{a}username: username"]
    for name in case.fields:
        field = FIELDS[name]
        if name in PROFILE_FIELDS:
            inner = field.selection.removeprefix("profile { ").removesuffix(" }")
            parts.append(f"{a}profile: profile {{ {a}{name}: {inner} }}")
        else:
            parts.append(f"{a}{name}: {field.selection}")
    if case.settings_too:
        parts.append(f"{a}privacySettings: privacySettings {{ email }}")
    return " ".join(parts)


def query(case: Case, ada_id: str) -> str:
    """The whole document."""
    start, end = (part.replace("{id}", ada_id) for part in PATHS[case.path])
    fields = selection(case)
    if case.wrapper == "named fragment":
        return f"{{ {start} ...Ada {end} }} fragment Ada on User {{ {fields} }}"
    if case.wrapper == "inline fragment" or case.path == "node":
        return f"{{ {start} ... on User {{ {fields} }} {end} }}"
    return f"{{ {start} {fields} {end} }}"


def visible(case: Case, name: str) -> bool:
    """The policy, restated: may this case's viewer see ada's field?"""
    if case.viewer == "ada":
        return True
    audience = case.audiences[name]
    if audience == "EVERYONE":
        return True
    if case.viewer is None or case.viewer in UNCONFIRMED:
        return False
    return audience == "MEMBERS" or (audience == "FOLLOWING" and case.ada_follows_viewer)


def unaliased(value: Any) -> Any:
    """The response with the `a_` aliases taken off again."""
    if isinstance(value, dict):
        return {re.sub(r"^a_", "", key): unaliased(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unaliased(item) for item in value]
    return value


def adas(value: Any) -> list[dict[str, Any]]:
    """Every object in the response that is ada with her fields (not a bare list entry)."""
    found = []
    if isinstance(value, dict):
        if value.get("username") == "ada" and len(value) > 1:
            found.append(value)
        for item in value.values():
            found += adas(item)
    elif isinstance(value, list):
        for item in value:
            found += adas(item)
    return found


def field_value(ada: dict[str, Any], name: str) -> Any:
    """One of ada's fields in an answer."""
    return ada["profile"][name] if name in PROFILE_FIELDS else ada[name]


@pytest.fixture
async def ada_id(gql: Client) -> str:
    """The cast of the matrix, plus hub: ada follows hub, hub follows ada, hub's lists public."""
    ada = await cast(gql)
    hub = await member(gql, "hub", signed_in=False)
    await set_audiences(hub, followers="EVERYONE", following="EVERYONE")
    await follow(ada, hub)
    await follow(hub, ada)
    return global_id(ada)


async def arrange(case: Case) -> None:
    """ada's settings, and the follows between ada and the viewer, as the case draws them."""
    ada = await User.get(username="ada")
    columns = {FIELDS[name].setting: audience for name, audience in case.audiences.items()}
    await set_audiences(ada, listed_in_members=case.listed, **columns)
    if case.viewer is None or case.viewer == "ada":
        return
    viewer = await User.get(username=case.viewer)
    await Follow.filter(follower_id=ada.id, followee_id=viewer.id).delete()
    await Follow.filter(follower_id=viewer.id, followee_id=ada.id).delete()
    if case.ada_follows_viewer:
        await follow(ada, viewer)
    if case.viewer_follows_ada:
        await follow(viewer, ada)


@settings(
    max_examples=40,
    deadline=None,
    database=None,  # each run draws afresh; no example folder left in the tree
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(case=cases)
async def test_no_hidden_value_reaches_any_viewer_by_any_shape(
    gql: Client, ada_id: str, case: Case
) -> None:
    await arrange(case)

    response = await gql.post(query(case, ada_id), as_member=case.viewer)

    body = response.text
    hidden = [name for name in FIELDS if not visible(case, name)]
    for name in hidden:
        for text in CANARY_TEXT.get(name, []):
            assert text not in body, (name, case)
    for ada in adas(unaliased(response.json().get("data"))):
        for name in case.fields:
            value = field_value(ada, name)
            if name in ("followers", "following"):  # who is in them depends on the draw
                assert (value is not None) == visible(case, name), (name, case)
            elif visible(case, name):
                assert value == FIELDS[name].value, (name, case)
            else:
                assert value is None, (name, case)
        if case.settings_too:
            assert (ada["privacySettings"] is not None) == (case.viewer == "ada"), case
