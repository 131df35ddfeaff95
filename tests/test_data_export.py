"""exportMyData: everything held about the viewer (and only the viewer) as one JSON
document, locations at country level and no IP address anywhere."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from models.accounts import User
from models.audit import AuditEntry
from models.base import Role
from models.blocks import Block
from models.forums import Forum
from models.messages import Message, Thread
from models.moderation import Warning
from models.notifications import Notification, NotificationSetting
from models.policy import Consent
from models.rights import CorrectionRequest
from models.sessions import Session
from resolvers.accounts import create_member
from schema import ids
from tests.support.harness import (
    LOOPBACK_IPS,
    PASSWORD,
    TEST_IP,
    Client,
    assert_no_ip,
    session_cookie,
)
from tests.support.members import member

EXPORT = """
mutation {
  exportMyData { export userErrors { field message code } }
}
"""
LOGIN = """
mutation($i: LoginInput!) {
  login(input: $i) { userErrors { code } }
}
"""
CREATE_THREAD = """
mutation($i: CreateThreadInput!) {
  createThread(input: $i) { thread { id } userErrors { code } }
}
"""
UPDATE_PROFILE = """
mutation($i: UpdateProfileInput!) {
  updateProfile(input: $i) { userErrors { code } }
}
"""
SET_CONSENT = """
mutation($i: SetConsentInput!) {
  setConsent(input: $i) { userErrors { code } }
}
"""
REQUEST_CORRECTION = """
mutation($i: RequestCorrectionInput!) {
  requestCorrection(input: $i) { userErrors { code } }
}
"""
PRIVILEGED = """
query($u: ID!) {
  privilegedProfile(userId: $u, reason: "Checking a spam report.") { email location }
}
"""
PRIVACY_READS = """
query {
  viewer { privacyReads { edges { node { actor { username } action fields reason } } } }
}
"""
CHROME_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)


async def ok(gql: Client, query: str, variables: dict | None = None, **options: Any) -> None:
    """Run a mutation that must succeed."""
    response = await gql(query, variables, **options)
    ((name, payload),) = response["data"].items()
    assert payload["userErrors"] == [], (name, payload)


@pytest.fixture
async def ada(gql: Client) -> User:
    """A member with something of every kind on file: a profile, consents, a session in
    Chrome, a thread, a correction request, and a moderator's read of her data."""
    user = await create_member(
        "ada_l", "ada_l@example.org", PASSWORD, Role.MEMBER, date(1990, 5, 17)
    )
    signed_in = await gql.post(
        LOGIN,
        {"i": {"login": "ada_l", "password": PASSWORD}},
        headers={"user-agent": CHROME_ON_WINDOWS},
    )
    gql.cookies["ada_l"] = session_cookie(signed_in)  # type: ignore[assignment]
    await ok(
        gql,
        UPDATE_PROFILE,
        {"i": {"bio": "Mathematician.", "location": "London"}},
        as_member="ada_l",
    )
    await ok(
        gql,
        SET_CONSENT,
        {"i": {"kind": "THIRD_PARTY_SHARING", "granted": False}},
        as_member="ada_l",
    )
    forum = await Forum.create(slug="s", title="T")
    thread = {
        "forumId": ids.encode("Forum", forum.id),
        "title": "Engines",
        "body": "On **engines**.",
    }
    await ok(gql, CREATE_THREAD, {"i": thread}, as_member="ada_l")
    correction = {"field": "dateOfBirth", "proposedValue": "1990-12-10", "reason": "A typo."}
    await ok(gql, REQUEST_CORRECTION, {"i": correction}, as_member="ada_l")
    await member(gql, "mod_m", Role.MODERATOR, by_login=True)
    read = await gql(PRIVILEGED, {"u": ids.encode("User", user.id)}, as_member="mod_m")
    assert read == {
        "data": {"privilegedProfile": {"email": "ada_l@example.org", "location": "London"}}
    }
    return user


async def export(gql: Client, viewer: str = "ada_l") -> dict[str, Any]:
    """The viewer's export document."""
    response = await gql(EXPORT, as_member=viewer)
    payload = response["data"]["exportMyData"]
    assert payload["userErrors"] == []
    return payload["export"]


def iso(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


# ------------------------------------------------------------------ what is in it


async def test_the_export_holds_the_account(gql: Client, ada: User) -> None:
    document = await export(gql)

    await ada.refresh_from_db()
    assert document["account"] == {
        "username": "ada_l",
        "email": "ada_l@example.org",
        "dateOfBirth": "1990-05-17",
        "role": "member",
        "joinedAt": iso(ada.joined_at),
        "emailConfirmedAt": iso(ada.email_confirmed_at),
        "lastSeenAt": iso(ada.last_seen_at),
        "newsletter": False,
        "analyticsOptOut": False,
        "suspendedUntil": None,
        "suspensionReason": None,
    }


async def test_the_export_holds_the_profile_and_privacy_settings(gql: Client, ada: User) -> None:
    document = await export(gql)

    assert document["profile"] == {
        "bio": "Mathematician.",
        "location": "London",
        "website": None,
        "dietPlan": None,
        "startWeightKg": None,
        "currentWeightKg": None,
        "goalWeightKg": None,
    }
    assert document["privacySettings"] == {
        "email": "ONLY_ME",
        "date_of_birth": "ONLY_ME",
        "age": "MEMBERS",
        "last_seen": "EVERYONE",
        "bio": "EVERYONE",
        "location": "MEMBERS",
        "website": "EVERYONE",
        "diet_plan": "MEMBERS",
        "weight_journey": "ONLY_ME",
        "followers": "MEMBERS",
        "following": "MEMBERS",
        "who_can_message": "MEMBERS",
        "who_can_mention": "MEMBERS",
        "listed_in_members": True,
    }


async def test_the_export_holds_the_consent_ledger(gql: Client, ada: User) -> None:
    document = await export(gql)

    (row,) = await Consent.filter(user_id=ada.id)
    assert document["consents"] == [
        {
            "kind": "THIRD_PARTY_SHARING",
            "granted": False,
            "policyVersion": "2026-01",
            "createdAt": iso(row.created_at),
        }
    ]


async def test_the_export_holds_sessions_at_country_level(gql: Client, ada: User) -> None:
    document = await export(gql)

    (row,) = await Session.filter(user_id=ada.id)
    assert document["sessions"] == [
        {
            "createdAt": iso(row.created_at),
            "lastUsedAt": iso(row.last_used_at),
            "browser": "Chrome",
            "operatingSystem": "Windows",
            "country": None,  # 203.0.113.0/24 is a documentation range
            "revokedAt": None,
        }
    ]


async def test_the_export_holds_the_members_threads_and_messages(gql: Client, ada: User) -> None:
    document = await export(gql)

    thread = await Thread.get(author_id=ada.id)
    message = await Message.get(author_id=ada.id)
    assert document["threads"] == [
        {"id": thread.id, "title": "Engines", "createdAt": iso(thread.created_at)}
    ]
    assert document["messages"] == [
        {
            "id": message.id,
            "threadId": thread.id,
            "conversationId": None,
            "body": "On **engines**.",
            "createdAt": iso(message.created_at),
            "editedAt": None,
            "deleted": False,
            "hidden": False,
        }
    ]


async def test_the_export_holds_correction_requests(gql: Client, ada: User) -> None:
    document = await export(gql)

    row = await CorrectionRequest.get(user_id=ada.id)
    assert document["correctionRequests"] == [
        {
            "field": "dateOfBirth",
            "proposedValue": "1990-12-10",
            "reason": "A typo.",
            "status": "OPEN",
            "response": None,
            "createdAt": iso(row.created_at),
            "resolvedAt": None,
        }
    ]


async def test_the_export_holds_staff_reads_of_the_members_data(gql: Client, ada: User) -> None:
    document = await export(gql)

    entry = await AuditEntry.get(subject_id=ada.id)
    assert document["privacyReads"] == [
        {
            "by": "mod_m",
            "action": "READ_PRIVATE_PROFILE",
            "fields": ["email", "location"],
            "reason": "Checking a spam report.",
            "at": iso(entry.created_at),
        }
    ]


async def test_the_member_sees_staff_reads_of_their_data(gql: Client, ada: User) -> None:
    response = await gql(PRIVACY_READS, as_member="ada_l")

    assert response == {
        "data": {
            "viewer": {
                "privacyReads": {
                    "edges": [
                        {
                            "node": {
                                "actor": {"username": "mod_m"},
                                "action": "READ_PRIVATE_PROFILE",
                                "fields": ["email", "location"],
                                "reason": "Checking a spam report.",
                            }
                        }
                    ]
                }
            }
        }
    }


async def test_the_export_has_exactly_these_sections(gql: Client, ada: User) -> None:
    document = await export(gql)

    assert sorted(document) == [
        "account",
        "blocked",
        "consents",
        "correctionRequests",
        "exportedAt",
        "followers",
        "following",
        "messages",
        "notificationSettings",
        "notifications",
        "privacyReads",
        "privacySettings",
        "profile",
        "retention",
        "sessions",
        "threads",
        "warnings",
        "watchedThreads",
    ]


async def test_the_export_says_how_long_what_it_leaves_out_is_kept(gql: Client, ada: User) -> None:
    document = await export(gql)

    assert document["retention"] == {
        "visitsAndPageViewsDays": 395,
        "sentMailDays": 30,
        "readNotificationsDays": 90,
        "ipAddressesDays": 365,
        "ipAddressHashesDays": 90,
        "sessions": "until they expire or you sign out",
        "emailLinks": "until they are used or expire",
    }


# ------------------------------------------------------------------ what is not


async def test_the_export_contains_no_ip_address(gql: Client, ada: User) -> None:
    document = await export(gql)

    text = json.dumps(document)
    assert_no_ip(text, {TEST_IP, *LOOPBACK_IPS})
    assert "ip" not in {key.lower() for key in _keys(document)}
    assert "user_agent" not in text and "userAgent" not in text
    assert CHROME_ON_WINDOWS not in text


def _keys(value: Any) -> list[str]:
    """Every key at any depth of a JSON document."""
    if isinstance(value, dict):
        return [*value, *(key for child in value.values() for key in _keys(child))]
    if isinstance(value, list):
        return [key for child in value for key in _keys(child)]
    return []


async def test_another_members_export_holds_none_of_it(gql: Client, ada: User) -> None:
    await member(gql, "bob_k", by_login=True)

    document = await export(gql, "bob_k")

    assert document["account"]["username"] == "bob_k"
    assert (document["threads"], document["messages"], document["consents"]) == ([], [], [])
    assert (document["correctionRequests"], document["privacyReads"]) == ([], [])
    assert "ada_l" not in json.dumps(document)


async def test_exporting_needs_a_signed_in_member(gql: Client, ada: User) -> None:
    response = await gql(EXPORT)

    assert response == {
        "data": {"exportMyData": None},
        "errors": [
            {
                "message": "Sign in to do this.",
                "locations": [{"line": 3, "column": 3}],
                "path": ["exportMyData"],
                "extensions": {"code": "UNAUTHENTICATED"},
            }
        ],
    }


@pytest.mark.parametrize("argument", ["userId", "username", "input"])
async def test_no_argument_can_name_another_member(gql: Client, ada: User, argument: str) -> None:
    query = f'mutation {{ exportMyData({argument}: "bob_k") {{ export }} }}'

    response = await gql(query, as_member="ada_l")

    assert response == {
        "data": None,
        "errors": [
            {
                "message": f"Unknown argument '{argument}' on field 'Mutation.exportMyData'.",
                "locations": [{"line": 1, "column": 25}],
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
    }


async def test_the_export_holds_blocks_watches_and_notifications(gql: Client, ada: User) -> None:
    bob = await member(gql, "bob")
    thread = await Thread.filter(author_id=ada.id).first()
    assert thread is not None
    await Block.create(blocker_id=ada.id, blocked_id=bob.id)
    await NotificationSetting.create(user_id=ada.id, kind="reply", email=True)
    await Notification.create(recipient_id=ada.id, kind="new_follower", actor_id=bob.id)

    document = await export(gql)

    off = {"inApp": True, "email": False}
    assert (document["blocked"], document["watchedThreads"]) == (["bob"], [thread.title])
    assert document["notificationSettings"] == {
        "REPLY": {"inApp": True, "email": True},
        "MENTION": off,
        "CONVERSATION_MESSAGE": off,
        "NEW_FOLLOWER": off,
        "MODERATION": off,
    }
    (notification,) = document["notifications"]
    assert (notification["kind"], notification["readAt"]) == ("NEW_FOLLOWER", None)


async def test_the_export_holds_the_warnings_without_the_staff_member(
    gql: Client, ada: User
) -> None:
    grace = await member(gql, "grace")
    await Warning.create(user_id=ada.id, issued_by_id=grace.id, reason="Be kind to newcomers.")

    document = await export(gql)

    (warning,) = document["warnings"]
    assert sorted(warning) == ["createdAt", "reason"]
    assert warning["reason"] == "Be kind to newcomers."
