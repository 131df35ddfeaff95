"""accountsSharingAddress: staff learn which accounts used an address a member used
(matched by keyed hash), when and how often, but never the address. Every use is audited."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from models.accounts import User
from models.audit import AuditEntry
from models.base import Role
from models.sessions import Session
from resolvers.accounts import create_member
from resolvers.addresses import purge
from schema import ids
from services.settings import Settings
from tests.support.harness import PASSWORD, TEST_IP, Client, Server
from tests.support.harness import test_settings as make_settings
from tests.support.mail import Mailbox

HOME = "198.51.100.1"  # ada's home
CAFE = "198.51.100.2"  # a café ada went to once
OFFICE = "198.51.100.3"  # never ada's
MATCH = """query($id: ID!, $reason: String!) {
  accountsSharingAddress(userId: $id, reason: $reason) {
    user { username } firstSeenAt lastSeenAt times
  }
}"""
LOGIN = "mutation($i: LoginInput!) { login(input: $i) { userErrors { code } } }"
AUDIT = """{ auditLog(first: 10) {
  edges { node { actor { username } action subject { username } fields reason } }
} }"""


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """TEST_IP, the harness's peer, is our proxy: X-Forwarded-For names the client."""
    return make_settings(tmp_path, database_url, trusted_proxies=[f"{TEST_IP}/32"])


@pytest.fixture
async def gql(settings: Settings, mailbox: Mailbox) -> AsyncIterator[Client]:
    # The mailbox: its scan runs once this app has stopped.
    async with Server(settings) as client:
        client.ips.update({HOME, CAFE, OFFICE})
        yield client


async def add(username: str, role: Role = Role.MEMBER) -> User:
    return await create_member(
        username, f"{username}@example.org", PASSWORD, role, date(1990, 5, 17)
    )


async def sign_in_from(gql: Client, username: str, address: str, at: datetime) -> None:
    """Sign in from an address (a session row records it), as if at `at`."""
    response = await gql.post(
        LOGIN,
        {"i": {"login": username, "password": PASSWORD}},
        headers={"x-forwarded-for": address},
    )
    assert response.json() == {"data": {"login": {"userErrors": []}}}
    gql.cookies[username] = response.cookies["session"]
    newest = await Session.all().order_by("-id").first()
    assert newest is not None
    await Session.filter(id=newest.id).update(created_at=at)


def matched(response: dict[str, Any]) -> list[tuple[str, int]]:
    """(username, times) of each match in an answer."""
    return [(m["user"]["username"], m["times"]) for m in response["data"]["accountsSharingAddress"]]


def day(month: int, number: int) -> datetime:
    return datetime(2025, month, number, 10, 0, tzinfo=UTC)


@pytest.fixture
async def ada(gql: Client) -> str:
    """ada, seen at HOME and CAFE; bob twice at HOME, carol once at the CAFE and once at
    the OFFICE, dave only at the OFFICE; staff sign in from TEST_IP. ada's ID."""
    member = await add("ada")
    for username, role in (("boss", Role.ADMIN), ("mod", Role.MODERATOR), ("max", Role.MEMBER)):
        await add(username, role)
        await gql.sign_in(username)
    for username in ("bob", "carol", "dave"):
        await add(username)
    await sign_in_from(gql, "ada", HOME, day(1, 1))
    await sign_in_from(gql, "ada", CAFE, day(1, 20))
    await sign_in_from(gql, "bob", HOME, day(2, 1))
    await sign_in_from(gql, "carol", CAFE, day(1, 15))
    await sign_in_from(gql, "bob", HOME, day(1, 5))
    await sign_in_from(gql, "carol", OFFICE, day(3, 1))
    await sign_in_from(gql, "dave", OFFICE, day(3, 2))
    return ids.encode("User", member.id)


async def test_staff_find_the_accounts_seen_at_any_of_the_members_addresses(
    gql: Client, ada: str
) -> None:
    response = await gql(MATCH, {"id": ada, "reason": "Ban evasion, report 12"}, as_member="mod")

    assert response == {
        "data": {
            "accountsSharingAddress": [
                {
                    "user": {"username": "bob"},
                    "firstSeenAt": "2025-01-05T10:00:00+00:00",
                    "lastSeenAt": "2025-02-01T10:00:00+00:00",
                    "times": 2,
                },
                {
                    "user": {"username": "carol"},  # her OFFICE sign-in is no match
                    "firstSeenAt": "2025-01-15T10:00:00+00:00",
                    "lastSeenAt": "2025-01-15T10:00:00+00:00",
                    "times": 1,
                },
            ]
        }
    }


async def test_admins_may_match_addresses_too(gql: Client, ada: str) -> None:
    response = await gql(MATCH, {"id": ada, "reason": "Ban evasion"}, as_member="boss")

    assert matched(response) == [("bob", 2), ("carol", 1)]


async def test_every_kind_of_record_counts_as_a_sighting(gql: Client, ada: str) -> None:
    view = """mutation { recordPageView(input: {path: "/", referrer: null, title: null})
      { userErrors { code } } }"""
    await gql(view, as_member="dave", headers={"x-forwarded-for": CAFE})

    response = await gql(MATCH, {"id": ada, "reason": "Ban evasion"}, as_member="mod")

    assert matched(response) == [("bob", 2), ("carol", 1), ("dave", 1)]


async def test_anonymous_visits_from_the_address_match_no_account(gql: Client, ada: str) -> None:
    view = """mutation { recordPageView(input: {path: "/", referrer: null, title: null})
      { userErrors { code } } }"""
    await gql(view, headers={"x-forwarded-for": HOME})

    response = await gql(MATCH, {"id": ada, "reason": "Ban evasion"}, as_member="mod")

    assert matched(response) == [("bob", 2), ("carol", 1)]


async def test_a_member_seen_nowhere_matches_nobody(gql: Client, ada: str) -> None:
    quiet = await add("quiet")

    response = await gql(
        MATCH, {"id": ids.encode("User", quiet.id), "reason": "Checking"}, as_member="mod"
    )

    assert response == {"data": {"accountsSharingAddress": []}}


async def test_sightings_whose_hash_was_purged_no_longer_match(gql: Client, ada: str) -> None:
    long_ago = datetime(2000, 1, 1, tzinfo=UTC)
    await Session.filter(created_at__lt=day(1, 10)).update(created_at=long_ago)  # ada HOME, bob
    since_2010 = (datetime.now(UTC) - datetime(2010, 1, 1, tzinfo=UTC)).days
    await purge(raw_days=since_2010, hash_days=since_2010)

    response = await gql(MATCH, {"id": ada, "reason": "Ban evasion"}, as_member="mod")

    assert response == {
        "data": {
            "accountsSharingAddress": [
                {
                    "user": {"username": "carol"},
                    "firstSeenAt": "2025-01-15T10:00:00+00:00",
                    "lastSeenAt": "2025-01-15T10:00:00+00:00",
                    "times": 1,
                }
            ]
        }
    }


async def test_the_audit_entry_keeps_no_address(gql: Client, ada: str) -> None:
    await gql(MATCH, {"id": ada, "reason": "Ban evasion"}, as_member="mod")

    entries = await AuditEntry.all().values()
    assert len(entries) == 3  # ada's, and one for each member matched (bob, carol)
    for address in (HOME, CAFE, OFFICE, TEST_IP):
        assert address not in repr(entries)


# ------------------------------------------------------------------ audit


def audited(actor: str, reason: str, matched: str | None = None) -> dict[str, Any]:
    """The entry of a match on ada, or (`matched`) of one member the match showed."""
    return {
        "actor": {"username": actor},
        "action": "MATCHED_SHARED_ADDRESS" if matched else "MATCH_SHARED_ADDRESSES",
        "subject": {"username": matched or "ada"},
        "fields": ["accountsSharingAddress"],
        "reason": reason,
    }


async def test_each_match_is_audited_for_admins(gql: Client, ada: str) -> None:
    await gql(MATCH, {"id": ada, "reason": "  Ban evasion, report 12 "}, as_member="mod")
    await gql(MATCH, {"id": ada, "reason": "Second look"}, as_member="boss")

    response = await gql(AUDIT, as_member="boss")

    assert response == {
        "data": {
            "auditLog": {
                "edges": [
                    {"node": audited("boss", "Second look", "carol")},
                    {"node": audited("boss", "Second look", "bob")},
                    {"node": audited("boss", "Second look")},
                    {"node": audited("mod", "Ban evasion, report 12", "carol")},
                    {"node": audited("mod", "Ban evasion, report 12", "bob")},
                    {"node": audited("mod", "Ban evasion, report 12")},
                ]
            }
        }
    }


async def test_a_match_with_no_result_is_audited_too(gql: Client, ada: str) -> None:
    quiet = await add("quiet")

    await gql(MATCH, {"id": ids.encode("User", quiet.id), "reason": "Checking"}, as_member="mod")

    assert await AuditEntry.all().values_list("action", "subject_id", "reason") == [
        ("MATCH_SHARED_ADDRESSES", quiet.id, "Checking")
    ]


# ------------------------------------------------------------------ refusals


def refusal(message: str, code: str) -> dict[str, Any]:
    return {
        "data": {"accountsSharingAddress": None},
        "errors": [
            {
                "message": message,
                "locations": [{"line": 2, "column": 3}],
                "path": ["accountsSharingAddress"],
                "extensions": {"code": code},
            }
        ],
    }


@pytest.mark.parametrize(
    ("viewer", "expected"),
    [
        ("max", refusal("You are not allowed to do this.", "FORBIDDEN")),
        ("ada", refusal("You are not allowed to do this.", "FORBIDDEN")),  # not even her own
        (None, refusal("Sign in to do this.", "UNAUTHENTICATED")),
    ],
)
async def test_only_staff_may_match_addresses(
    gql: Client, ada: str, viewer: str | None, expected: dict[str, Any]
) -> None:
    response = await gql(MATCH, {"id": ada, "reason": "Curious"}, as_member=viewer)

    assert response == expected
    assert await AuditEntry.all().count() == 0


@pytest.mark.parametrize("reason", ["", "ab", "  ab  ", "x" * 501])
async def test_a_missing_or_overlong_reason_is_bad_input(
    gql: Client, ada: str, reason: str
) -> None:
    response = await gql(MATCH, {"id": ada, "reason": reason}, as_member="mod")

    assert response == refusal("Give a reason of 3 to 500 characters.", "BAD_USER_INPUT")
    assert await AuditEntry.all().count() == 0


@pytest.mark.parametrize(
    ("user_id", "message"),
    [
        ("garbage", "That is not a valid ID."),
        (ids.encode("Thread", 1), "That is not a valid User ID."),
        (ids.encode("User", "ada"), "That is not a valid User ID."),
    ],
)
async def test_an_id_that_is_not_a_members_is_bad_input(
    gql: Client, ada: str, user_id: str, message: str
) -> None:
    response = await gql(MATCH, {"id": user_id, "reason": "Checking"}, as_member="mod")

    assert response == refusal(message, "BAD_USER_INPUT")
    assert await AuditEntry.all().count() == 0


async def test_an_unknown_member_matches_nobody_and_is_not_audited(gql: Client, ada: str) -> None:
    response = await gql(
        MATCH, {"id": ids.encode("User", 999_999), "reason": "Checking"}, as_member="mod"
    )

    assert response == {"data": {"accountsSharingAddress": []}}
    assert await AuditEntry.all().count() == 0
