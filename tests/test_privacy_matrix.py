"""Every private field x every audience x every kind of viewer: the value, or null.

One test per field: ada and her viewers are made once, then ada walks the field through
the four audiences and every viewer asks after each change.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.harness import Client
from tests.support.members import set_audiences
from tests.support.privacy import (
    ALL_FIELDS,
    AUDIENCES,
    FIELDS,
    SEES,
    VIEWERS,
    ada_as_seen,
    cast,
    global_id,
    visible_to,
)

PRIVILEGED = "moderator, privilegedProfile"  # the one viewer who sees past every audience


@pytest.mark.parametrize("name", FIELDS)
async def test_each_audience_shows_the_field_to_exactly_its_viewers(gql: Client, name: str) -> None:
    field = FIELDS[name]
    ada = await cast(gql)
    ordinary = f'{{ user(username: "ada") {{ {field.selection} }} }}'
    privileged = (
        f'query($id: ID!) {{ privilegedProfile(userId: $id, reason: "matrix") {{ {name} }} }}'
    )

    seen: dict[tuple[str, str], Any] = {}
    expected: dict[tuple[str, str], Any] = {}
    for audience in AUDIENCES:
        await set_audiences(ada, **{field.setting: audience})
        for viewer, login in VIEWERS.items():
            seen[audience, viewer] = await gql(ordinary, as_member=login)
            value = field.value if viewer in SEES[audience] else None
            expected[audience, viewer] = {"data": {"user": field.shape(value)}}
        if field.privileged is not None:  # age, diet, weights and the lists are not on it
            response = await gql(privileged, {"id": global_id(ada)}, as_member="mod")
            seen[audience, PRIVILEGED] = response
            value = field.value if field.privileged == "same" else field.privileged
            expected[audience, PRIVILEGED] = {"data": {"privilegedProfile": {name: value}}}

    assert seen == expected


DEFAULT_AUDIENCES = {
    "email": "ONLY_ME",
    "dateOfBirth": "ONLY_ME",
    "age": "MEMBERS",
    "lastSeenAt": "EVERYONE",
    "bio": "EVERYONE",
    "location": "MEMBERS",
    "website": "EVERYONE",
    "dietPlan": "MEMBERS",
    "weightJourney": "ONLY_ME",
    "followers": "MEMBERS",
    "following": "MEMBERS",
}


async def test_a_member_who_never_chose_has_the_documented_defaults(gql: Client) -> None:
    await cast(gql)
    query = f'{{ user(username: "ada") {{ {ALL_FIELDS} }} }}'

    seen = {viewer: await gql(query, as_member=login) for viewer, login in VIEWERS.items()}

    assert seen == {
        viewer: {"data": {"user": ada_as_seen(visible_to(viewer, DEFAULT_AUDIENCES))}}
        for viewer in VIEWERS
    }
