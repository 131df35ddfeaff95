"""updateProfile: what a member may say about themselves, validated, and nothing else."""

from __future__ import annotations

from typing import Any

from tests.support.harness import Client
from tests.support.members import member
from tests.support.privacy import error, global_id

PROFILE = "bio location website dietPlan weightJourney { startKg currentKg goalKg }"
UPDATE = f"""mutation($i: UpdateProfileInput!) {{
  updateProfile(input: $i) {{
    user {{ username profile {{ {PROFILE} }} }}
    userErrors {{ field message code }}
  }}
}}"""
READ = f"{{ viewer {{ profile {{ {PROFILE} }} }} }}"
FULL = {
    "bio": "Walks, mostly.",
    "location": "Leeds",
    "website": "https://ada.example/walks",
    "dietPlan": "Mediterranean",
    "startWeightKg": 98.5,
    "currentWeightKg": 91.2,
    "goalWeightKg": 80,
}
FULL_PROFILE = {
    "bio": "Walks, mostly.",
    "location": "Leeds",
    "website": "https://ada.example/walks",
    "dietPlan": "Mediterranean",
    "weightJourney": {"startKg": 98.5, "currentKg": 91.2, "goalKg": 80.0},
}


def updated(profile: dict[str, Any]) -> dict[str, Any]:
    """updateProfile's answer when it worked."""
    user = {"username": "ada", "profile": profile}
    return {"data": {"updateProfile": {"user": user, "userErrors": []}}}


def refused(*problems: tuple[str, str, str]) -> dict[str, Any]:
    """updateProfile's answer when it refused: (field, message, code) each."""
    errors = [{"field": [f], "message": m, "code": c} for f, m, c in problems]
    return {"data": {"updateProfile": {"user": None, "userErrors": errors}}}


async def test_a_member_fills_in_every_profile_field(gql: Client) -> None:
    await member(gql, "ada")

    response = await gql(UPDATE, {"i": FULL}, as_member="ada")

    assert response == updated(FULL_PROFILE)
    assert await gql(READ, as_member="ada") == {"data": {"viewer": {"profile": FULL_PROFILE}}}


async def test_text_is_trimmed_and_weights_rounded_to_a_tenth(gql: Client) -> None:
    await member(gql, "ada")
    changes = {
        "bio": "  Hi \n",
        "location": "\tYork ",
        "startWeightKg": 80.05,
        "goalWeightKg": 70.04,
    }

    response = await gql(UPDATE, {"i": changes}, as_member="ada")

    assert response == updated(
        {
            "bio": "Hi",
            "location": "York",
            "website": None,
            "dietPlan": None,
            "weightJourney": {"startKg": 80.1, "currentKg": None, "goalKg": 70.0},
        }
    )


async def test_fields_left_out_keep_their_values(gql: Client) -> None:
    await member(gql, "ada")
    await gql(UPDATE, {"i": FULL}, as_member="ada")

    response = await gql(UPDATE, {"i": {"location": "York"}}, as_member="ada")

    assert response == updated({**FULL_PROFILE, "location": "York"})


async def test_null_or_blank_clears_a_field(gql: Client) -> None:
    await member(gql, "ada")
    await gql(UPDATE, {"i": FULL}, as_member="ada")
    clear = {"bio": None, "location": "", "website": "   ", "startWeightKg": None}

    response = await gql(UPDATE, {"i": clear}, as_member="ada")

    assert response == updated(
        {
            "bio": None,
            "location": None,
            "website": None,
            "dietPlan": "Mediterranean",
            "weightJourney": {"startKg": None, "currentKg": 91.2, "goalKg": 80.0},
        }
    )


async def test_a_journey_with_no_weight_left_reads_as_null(gql: Client) -> None:
    await member(gql, "ada")
    await gql(UPDATE, {"i": FULL}, as_member="ada")
    clear = {"startWeightKg": None, "currentWeightKg": None, "goalWeightKg": None}

    response = await gql(UPDATE, {"i": clear}, as_member="ada")

    assert response == updated({**FULL_PROFILE, "weightJourney": None})


TOO_LONG = "TOO_LONG"
BAD_URL = ("Enter a web address starting with http:// or https://.", "INVALID_URL")
WEIGHT = ("Weights are between 20 and 500 kg.", "WEIGHT_OUT_OF_RANGE")
REFUSALS = [
    ("bio", "b" * 2001, "At most 2000 characters.", TOO_LONG),
    ("location", "l" * 101, "At most 100 characters.", TOO_LONG),
    ("website", "https://ada.example/" + "w" * 181, "At most 200 characters.", TOO_LONG),
    ("website", "javascript:alert(1)", *BAD_URL),
    ("website", "ftp://x", *BAD_URL),
    ("website", "https://", *BAD_URL),
    ("website", "ada.example", *BAD_URL),
    ("dietPlan", "d" * 101, "At most 100 characters.", TOO_LONG),
    ("startWeightKg", 19.9, *WEIGHT),
    ("currentWeightKg", 500.1, *WEIGHT),
    ("goalWeightKg", -1, *WEIGHT),
]


async def test_each_invalid_value_is_refused_and_changes_nothing(gql: Client) -> None:
    await member(gql, "ada")
    await gql(UPDATE, {"i": FULL}, as_member="ada")

    seen = {}
    for field, value, _, _ in REFUSALS:
        changes = {"bio": "changed", field: value}
        seen[field, value] = await gql(UPDATE, {"i": changes}, as_member="ada")

    assert seen == {(f, v): refused((f, message, code)) for f, v, message, code in REFUSALS}
    assert await gql(READ, as_member="ada") == {"data": {"viewer": {"profile": FULL_PROFILE}}}


async def test_every_problem_is_reported_at_once(gql: Client) -> None:
    await member(gql, "ada")
    changes = {"location": "l" * 101, "website": "ftp://x", "goalWeightKg": 501}

    response = await gql(UPDATE, {"i": changes}, as_member="ada")

    assert response == refused(
        ("location", "At most 100 characters.", TOO_LONG),
        ("website", *BAD_URL),
        ("goalWeightKg", *WEIGHT),
    )


async def test_values_at_the_limits_are_accepted(gql: Client) -> None:
    await member(gql, "ada")
    website = "http://ada.example/" + "w" * 181
    limits = {
        "bio": "b" * 2000,
        "location": "l" * 100,
        "website": website,
        "dietPlan": "d" * 100,
        "startWeightKg": 500,
        "currentWeightKg": 20,
        "goalWeightKg": 20.04,
    }

    response = await gql(UPDATE, {"i": limits}, as_member="ada")

    assert response == updated(
        {
            "bio": "b" * 2000,
            "location": "l" * 100,
            "website": website,
            "dietPlan": "d" * 100,
            "weightJourney": {"startKg": 500.0, "currentKg": 20.0, "goalKg": 20.0},
        }
    )


MASS_ASSIGNMENTS = {
    "username": 'username: "root"',
    "dateOfBirth": 'dateOfBirth: "2000-01-01"',
    "role": "role: ADMIN",
    "userId": 'userId: "VXNlcjox"',
}


def unknown_field(field: str, assignment: str) -> dict[str, Any]:
    """The validation error for an input field UpdateProfileInput does not have."""
    message = (
        f"Expected value of type 'UpdateProfileInput' not to include unknown field "
        f"'{field}', found: {{ bio: \"x\", {assignment} }}."
    )
    location = {"line": 1, "column": 44}
    return {
        "data": None,
        "errors": [
            {"message": message, "locations": [location], "extensions": {"code": "BAD_USER_INPUT"}}
        ],
    }


async def test_fields_that_are_not_the_profile_are_refused_as_bad_input(gql: Client) -> None:
    await member(gql, "ada")

    seen = {}
    for field, assignment in MASS_ASSIGNMENTS.items():
        query = (
            f'mutation {{ updateProfile(input: {{bio: "x", {assignment}}}) {{ user {{ id }} }} }}'
        )
        seen[field] = await gql(query, as_member="ada")

    assert seen == {field: unknown_field(field, a) for field, a in MASS_ASSIGNMENTS.items()}
    empty = dict.fromkeys(("bio", "location", "website", "dietPlan", "weightJourney"))
    assert await gql(READ, as_member="ada") == {"data": {"viewer": {"profile": empty}}}


async def test_updating_a_profile_needs_a_signed_in_member(gql: Client) -> None:
    response = await gql(UPDATE, {"i": {"bio": "anonymous"}})

    assert response == {
        "data": {"updateProfile": None},
        "errors": [error("Sign in to do this.", ["updateProfile"], "UNAUTHENTICATED", 2, 3)],
    }


async def test_an_update_changes_the_viewers_profile_only(gql: Client) -> None:
    await member(gql, "ada")
    bob = await member(gql, "bob")
    await gql(UPDATE, {"i": {"bio": "Bob's own words"}}, as_member="bob")

    await gql(UPDATE, {"i": {"bio": "Ada's words"}}, as_member="ada")

    read = "query($id: ID!) { node(id: $id) { ... on User { profile { bio } } } }"
    response = await gql(read, {"id": global_id(bob)}, as_member="ada")
    assert response == {"data": {"node": {"profile": {"bio": "Bob's own words"}}}}
