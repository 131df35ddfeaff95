"""updatePrivacySettings: any subset, the viewer's own settings only."""

from __future__ import annotations

from typing import Any

from tests.support.harness import Client
from tests.support.members import member
from tests.support.privacy import error, global_id

ALL = """email dateOfBirth age lastSeen bio location website dietPlan weightJourney
  followers following whoCanMessage listedInMembers"""
UPDATE = f"""mutation($i: UpdatePrivacySettingsInput!) {{
  updatePrivacySettings(input: $i) {{
    privacySettings {{ {ALL} }}
    userErrors {{ field message code }}
  }}
}}"""
DEFAULTS = {
    "email": "ONLY_ME",
    "dateOfBirth": "ONLY_ME",
    "age": "MEMBERS",
    "lastSeen": "EVERYONE",
    "bio": "EVERYONE",
    "location": "MEMBERS",
    "website": "EVERYONE",
    "dietPlan": "MEMBERS",
    "weightJourney": "ONLY_ME",
    "followers": "MEMBERS",
    "following": "MEMBERS",
    "whoCanMessage": "MEMBERS",
    "listedInMembers": True,
}


def settings(**changes: Any) -> dict[str, Any]:
    """The payload when the settings are the defaults but for `changes`."""
    return {
        "data": {
            "updatePrivacySettings": {
                "privacySettings": {**DEFAULTS, **changes},
                "userErrors": [],
            }
        }
    }


async def test_a_new_member_starts_with_the_documented_defaults(gql: Client) -> None:
    await member(gql, "ada")

    response = await gql(f"{{ viewer {{ privacySettings {{ {ALL} }} }} }}", as_member="ada")

    assert response == {"data": {"viewer": {"privacySettings": DEFAULTS}}}


async def test_each_update_changes_only_the_settings_it_names(gql: Client) -> None:
    await member(gql, "ada")

    first = await gql(UPDATE, {"i": {"email": "MEMBERS"}}, as_member="ada")
    second = await gql(UPDATE, {"i": {"bio": "ONLY_ME", "listedInMembers": False}}, as_member="ada")
    # An explicit null keeps the current value, like leaving the setting out.
    third = await gql(UPDATE, {"i": {"email": None, "whoCanMessage": "FOLLOWING"}}, as_member="ada")

    assert first == settings(email="MEMBERS")
    assert second == settings(email="MEMBERS", bio="ONLY_ME", listedInMembers=False)
    assert third == settings(
        email="MEMBERS", bio="ONLY_ME", listedInMembers=False, whoCanMessage="FOLLOWING"
    )


async def test_an_empty_update_changes_nothing(gql: Client) -> None:
    await member(gql, "ada")

    assert await gql(UPDATE, {"i": {}}, as_member="ada") == settings()


async def test_updating_settings_needs_a_signed_in_member(gql: Client) -> None:
    response = await gql(UPDATE, {"i": {"email": "EVERYONE"}})

    assert response == {
        "data": {"updatePrivacySettings": None},
        "errors": [
            error("Sign in to do this.", ["updatePrivacySettings"], "UNAUTHENTICATED", 2, 3)
        ],
    }


async def test_settings_cannot_be_aimed_at_another_member(gql: Client) -> None:
    await member(gql, "ada")
    bob = await member(gql, "bob")
    query = f"""mutation {{ updatePrivacySettings(
      input: {{email: EVERYONE, userId: "{global_id(bob)}"}}) {{ userErrors {{ code }} }} }}"""

    response = await gql(query, as_member="ada")

    message = (
        "Expected value of type 'UpdatePrivacySettingsInput' not to include unknown field "
        f"'userId', found: {{ email: EVERYONE, userId: \"{global_id(bob)}\" }}."
    )
    assert response == {
        "data": None,
        "errors": [
            {
                "message": message,
                "locations": [{"line": 2, "column": 32}],
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
    }
    assert await gql(f"{{ viewer {{ privacySettings {{ {ALL} }} }} }}", as_member="bob") == {
        "data": {"viewer": {"privacySettings": DEFAULTS}}
    }


async def test_an_unknown_audience_is_refused_as_bad_input(gql: Client) -> None:
    await member(gql, "ada")

    response = await gql(UPDATE, {"i": {"email": "FRIENDS"}}, as_member="ada")

    assert response == {
        "data": None,
        "errors": [
            {
                "message": "Variable '$i' has invalid value at .email: "
                "Value 'FRIENDS' does not exist in 'Audience' enum.",
                "locations": [{"line": 1, "column": 10}],
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
    }
