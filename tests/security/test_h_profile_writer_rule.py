"""Issue 14, P3-3: suspended and unconfirmed members could still write public text through
updateProfile (SECURITY.md H5, profile text). A profile is public text like a post, so
the rule for posting holds: a confirmed address and no suspension.
"""

from __future__ import annotations

from models.profiles import Profile
from tests.support.forum import refused
from tests.support.harness import Client
from tests.support.members import member, suspend

UPDATE = """
mutation($i: UpdateProfileInput!) {
  updateProfile(input: $i) { user { username } userErrors { field message code } }
}
"""
TEXT = {"bio": "Buy cheap watches", "location": "Spamtown", "website": "https://spam.example"}
SUSPENDED = "Your account is suspended until 2099-01-02 03:04 UTC: spamming the recipes forum"


async def test_H5_a_suspended_member_cannot_write_profile_text_and_is_told_why(
    gql: Client,
) -> None:
    await suspend(await member(gql, "spammer"), "spamming the recipes forum")

    response = await gql(UPDATE, {"i": TEXT}, as_member="spammer")

    errors = refused("SUSPENDED", SUSPENDED)
    assert response == {"data": {"updateProfile": {"user": None, "userErrors": errors}}}
    assert await Profile.all().count() == 0


async def test_H5_an_unconfirmed_member_cannot_write_profile_text(gql: Client) -> None:
    await member(gql, "newbie", confirmed=False)

    response = await gql(UPDATE, {"i": TEXT}, as_member="newbie")

    errors = refused("EMAIL_NOT_CONFIRMED", "Confirm your email address first.")
    assert response == {"data": {"updateProfile": {"user": None, "userErrors": errors}}}
    assert await Profile.all().count() == 0


async def test_H5_a_confirmed_member_in_good_standing_still_writes_profile_text(
    gql: Client,
) -> None:
    await member(gql, "ada_l")

    response = await gql(UPDATE, {"i": TEXT}, as_member="ada_l")

    assert response == {
        "data": {"updateProfile": {"user": {"username": "ada_l"}, "userErrors": []}}
    }
    row = await Profile.get(user__username="ada_l")
    assert (row.bio, row.location, row.website) == tuple(TEXT.values())
