"""profilePreview: a member's own profile exactly as a signed-out reader, a member they do
not follow and a member they follow read it, compared with what real readers read."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from models.accounts import User
from tests.support.harness import Client
from tests.support.members import follow, member, set_audiences, set_profile

# Every field of a User a reader may ask for, and the members the lists nest.
FIELDS = """fragment F on User {
  id username role email dateOfBirth age lastSeenAt suspendedUntil
  profile { bio location website dietPlan weightJourney { startKg currentKg goalKg } }
  followers(first: 5) { edges { node { username age profile { bio } } } }
  following(first: 5) { edges { node { username age profile { bio } } } }
  viewerIsFollowing viewerCanMessage viewerHasBlocked
  privacySettings { email } newsletter sessions { id } consents { kind }
  blockedMembers(first: 5) { edges { node { username } } }
  unreadNotificationCount notificationSettings { kind }
  profilePreview(as: MEMBER) { username }
}"""
PREVIEW = "query($as: PreviewAudience!) { viewer { profilePreview(as: $as) { ...F } } }" + FIELDS
REAL = '{ user(username: "ada") { ...F } }' + FIELDS
SETTINGS = (
    "email",
    "date_of_birth",
    "age",
    "last_seen",
    "bio",
    "location",
    "website",
    "diet_plan",
    "weight_journey",
    "followers",
    "following",
    "who_can_message",
)
READERS = {"ANONYMOUS": None, "MEMBER": "mallory", "FOLLOWED_MEMBER": "fred"}


@pytest.fixture
async def ada(gql: Client) -> User:
    """ada, with every profile field filled in; carol follows her, she follows fred;
    mallory is a member she does not follow."""
    ada = await member(gql, "ada", last_seen_at=datetime(2026, 1, 2, 10, 20, tzinfo=UTC))
    await set_profile(
        ada,
        bio="Runner",
        location="Leeds",
        website="https://ada.example",
        diet_plan="Plants",
        start_weight_kg=Decimal("80.0"),
        current_weight_kg=Decimal("75.5"),
        goal_weight_kg=Decimal("70.0"),
    )
    carol = await member(gql, "carol")
    await set_profile(carol, bio="Walker")
    fred = await member(gql, "fred")
    await member(gql, "mallory")
    await follow(carol, ada)
    await follow(ada, fred)
    return ada


@pytest.mark.parametrize("audience", ["ANONYMOUS", "MEMBER", "FOLLOWED_MEMBER"])
@pytest.mark.parametrize("setting", ["EVERYONE", "MEMBERS", "FOLLOWING", "ONLY_ME"])
async def test_the_preview_reads_exactly_what_a_real_reader_of_that_audience_reads(
    gql: Client, ada: User, audience: str, setting: str
) -> None:
    await set_audiences(ada, **dict.fromkeys(SETTINGS, setting))

    real = await gql(REAL, as_member=READERS[audience])
    preview = await gql(PREVIEW, {"as": audience}, as_member="ada")

    assert preview == {"data": {"viewer": {"profilePreview": real["data"]["user"]}}}


async def test_the_preview_differs_by_audience(gql: Client, ada: User) -> None:
    await set_audiences(ada, email="FOLLOWING", bio="MEMBERS")
    query = """query($as: PreviewAudience!) {
  viewer { profilePreview(as: $as) { email profile { bio } } }
}"""

    answers = {
        audience: (await gql(query, {"as": audience}, as_member="ada"))["data"]["viewer"]
        for audience in READERS
    }

    assert answers == {
        "ANONYMOUS": {"profilePreview": {"email": None, "profile": {"bio": None}}},
        "MEMBER": {"profilePreview": {"email": None, "profile": {"bio": "Runner"}}},
        "FOLLOWED_MEMBER": {
            "profilePreview": {"email": "ada@example.org", "profile": {"bio": "Runner"}}
        },
    }


@pytest.mark.parametrize("reader", ["mallory", None])
async def test_nobody_previews_someone_elses_profile(
    gql: Client, ada: User, reader: str | None
) -> None:
    query = '{ user(username: "ada") { profilePreview(as: ANONYMOUS) { username } } }'

    response = await gql(query, as_member=reader)

    assert response == {"data": {"user": {"profilePreview": None}}}
