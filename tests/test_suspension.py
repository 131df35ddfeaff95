"""Suspension: moderators stop a member writing until a time, with a reason the member
is told; the member still signs in and reads; lifting it restores writing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models.accounts import User
from models.base import Role
from models.forums import Forum
from schema import ids
from tests.support.harness import Client
from tests.support.members import member

SUSPEND = """
mutation($i: SuspendMemberInput!) {
  suspendMember(input: $i) { user { username suspendedUntil } userErrors { field message code } }
}
"""
UNSUSPEND = """
mutation($i: UnsuspendMemberInput!) {
  unsuspendMember(input: $i) { user { username suspendedUntil } userErrors { code } }
}
"""
CREATE_THREAD = """
mutation($i: CreateThreadInput!) {
  createThread(input: $i) { thread { id } userErrors { field message code } }
}
"""
POST = """
mutation($i: PostMessageInput!) {
  postMessage(input: $i) { message { body } userErrors { field message code } }
}
"""
START = """
mutation($i: StartConversationInput!) {
  startConversation(input: $i) { conversation { title } userErrors { field message code } }
}
"""
THREAD = """
query($id: ID!) {
  thread(id: $id) { title messages { edges { node { body } } } }
}
"""
UNTIL = 'query { viewer { suspendedUntil } user(username: "ada_l") { suspendedUntil } }'
AUDIT = """
query {
  auditLog { edges { node { actor { username } action subject { username } fields reason } } }
}
"""

REASON = "Spamming the recipes forum."
# Whole seconds, so the stored value reads back exactly on every database.
TOMORROW = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)


def error(path: str, message: str, code: str) -> dict:
    """The answer to a mutation refused with a GraphQL error (its field on line 3)."""
    located = {"message": message, "locations": [{"line": 3, "column": 3}], "path": [path]}
    return {"data": {path: None}, "errors": [{**located, "extensions": {"code": code}}]}


def suspended_error(mutation: str, node: str) -> dict:
    message = f"Your account is suspended until {TOMORROW:%Y-%m-%d %H:%M} UTC: {REASON}"
    return {
        "data": {
            mutation: {
                node: None,
                "userErrors": [{"field": None, "message": message, "code": "SUSPENDED"}],
            }
        }
    }


@pytest.fixture
async def ada(gql: Client) -> User:
    return await member(gql, "ada_l", by_login=True)


@pytest.fixture
async def moderator(gql: Client) -> User:
    return await member(gql, "mod_m", Role.MODERATOR, by_login=True)


@pytest.fixture
async def forum_id() -> str:
    forum = await Forum.create(slug="s", title="T")
    return ids.encode("Forum", forum.id)


@pytest.fixture
async def thread_id(gql: Client, moderator: User, forum_id: str) -> str:
    """A thread the moderator opened."""
    data = {"forumId": forum_id, "title": "Welcome", "body": "Say hello."}
    response = await gql(CREATE_THREAD, {"i": data}, as_member="mod_m")
    assert response["data"]["createThread"]["userErrors"] == []
    return response["data"]["createThread"]["thread"]["id"]


async def suspend(gql: Client, user: User, **fields: str) -> dict:
    data = {"userId": ids.encode("User", user.id), "until": TOMORROW.isoformat(), "reason": REASON}
    return await gql(SUSPEND, {"i": {**data, **fields}}, as_member="mod_m")


async def unsuspend(gql: Client, user: User) -> dict:
    return await gql(UNSUSPEND, {"i": {"userId": ids.encode("User", user.id)}}, as_member="mod_m")


async def open_thread(gql: Client, forum_id: str) -> dict:
    data = {"forumId": forum_id, "title": "My thread", "body": "Hello all."}
    return await gql(CREATE_THREAD, {"i": data}, as_member="ada_l")


async def post(gql: Client, thread_id: str) -> dict:
    return await gql(POST, {"i": {"threadId": thread_id, "body": "Hello."}}, as_member="ada_l")


# ------------------------------------------------------------------ suspending


async def test_a_moderator_suspends_a_member(gql: Client, ada: User, moderator: User) -> None:
    response = await suspend(gql, ada)

    assert response == {
        "data": {
            "suspendMember": {
                "user": {"username": "ada_l", "suspendedUntil": TOMORROW.isoformat()},
                "userErrors": [],
            }
        }
    }


async def test_a_suspended_member_sees_until_when(gql: Client, ada: User, moderator: User) -> None:
    await suspend(gql, ada)

    response = await gql(UNTIL, as_member="ada_l")

    until = TOMORROW.isoformat()
    assert response == {
        "data": {"viewer": {"suspendedUntil": until}, "user": {"suspendedUntil": until}}
    }


@pytest.mark.parametrize(("viewer", "visible"), [(None, False), ("bob_k", False), ("mod_m", True)])
async def test_only_the_member_and_moderators_see_a_suspension(
    gql: Client, ada: User, moderator: User, viewer: str | None, visible: bool
) -> None:
    await member(gql, "bob_k", by_login=True)
    await suspend(gql, ada)

    response = await gql('{ user(username: "ada_l") { suspendedUntil } }', as_member=viewer)

    until = TOMORROW.isoformat() if visible else None
    assert response == {"data": {"user": {"suspendedUntil": until}}}


async def test_a_suspended_member_can_sign_in_and_read(
    gql: Client, ada: User, moderator: User, thread_id: str
) -> None:
    await suspend(gql, ada)

    await gql.sign_in("ada_l")

    assert await gql(THREAD, {"id": thread_id}, as_member="ada_l") == {
        "data": {
            "thread": {
                "title": "Welcome",
                "messages": {"edges": [{"node": {"body": "Say hello."}}]},
            }
        }
    }


async def test_a_suspended_member_cannot_open_a_thread(
    gql: Client, ada: User, moderator: User, forum_id: str
) -> None:
    await suspend(gql, ada)

    response = await open_thread(gql, forum_id)

    assert response == suspended_error("createThread", "thread")


async def test_a_suspended_member_cannot_post(
    gql: Client, ada: User, moderator: User, thread_id: str
) -> None:
    await suspend(gql, ada)

    response = await post(gql, thread_id)

    assert response == suspended_error("postMessage", "message")
    assert await gql(THREAD, {"id": thread_id}) == {
        "data": {
            "thread": {
                "title": "Welcome",
                "messages": {"edges": [{"node": {"body": "Say hello."}}]},
            }
        }
    }


async def test_a_suspended_member_cannot_start_a_conversation(
    gql: Client, ada: User, moderator: User
) -> None:
    await suspend(gql, ada)
    bob = await member(gql, "bob_k", by_login=True)

    data = {"recipientIds": [ids.encode("User", bob.id)], "title": "Hello there", "body": "Hi."}
    response = await gql(START, {"i": data}, as_member="ada_l")

    assert response == suspended_error("startConversation", "conversation")


async def test_a_suspended_member_reads_that_they_cannot_message_anyone(
    gql: Client, ada: User, moderator: User
) -> None:
    await member(gql, "bob_k")
    everyone = "mutation { updatePrivacySettings(input: {whoCanMessage: EVERYONE}) { __typename } }"
    await gql(everyone, as_member="bob_k")
    can_message = '{ user(username: "bob_k") { viewerCanMessage } }'
    before = await gql(can_message, as_member="ada_l")

    await suspend(gql, ada)

    after = await gql(can_message, as_member="ada_l")
    assert (before, after) == (
        {"data": {"user": {"viewerCanMessage": True}}},
        {"data": {"user": {"viewerCanMessage": False}}},
    )


async def test_unsuspending_restores_writing(
    gql: Client, ada: User, moderator: User, thread_id: str
) -> None:
    await suspend(gql, ada)

    response = await unsuspend(gql, ada)

    assert response == {
        "data": {
            "unsuspendMember": {
                "user": {"username": "ada_l", "suspendedUntil": None},
                "userErrors": [],
            }
        }
    }
    assert await post(gql, thread_id) == {
        "data": {"postMessage": {"message": {"body": "Hello."}, "userErrors": []}}
    }
    assert await gql(UNTIL, as_member="ada_l") == {
        "data": {"viewer": {"suspendedUntil": None}, "user": {"suspendedUntil": None}}
    }


async def test_a_suspension_that_has_ended_stops_nothing(
    gql: Client, ada: User, moderator: User, thread_id: str
) -> None:
    await suspend(gql, ada)
    await User.filter(id=ada.id).update(suspended_until=datetime.now(UTC) - timedelta(seconds=1))

    assert await post(gql, thread_id) == {
        "data": {"postMessage": {"message": {"body": "Hello."}, "userErrors": []}}
    }
    assert await gql(UNTIL, as_member="ada_l") == {
        "data": {"viewer": {"suspendedUntil": None}, "user": {"suspendedUntil": None}}
    }


async def test_suspending_and_lifting_are_audited(gql: Client, ada: User, moderator: User) -> None:
    await member(gql, "admin_a", Role.ADMIN, by_login=True)
    await suspend(gql, ada)
    await unsuspend(gql, ada)

    response = await gql(AUDIT, as_member="admin_a")

    assert response == {
        "data": {
            "auditLog": {
                "edges": [
                    {
                        "node": {
                            "actor": {"username": "mod_m"},
                            "action": "UNSUSPEND_MEMBER",
                            "subject": {"username": "ada_l"},
                            "fields": [],
                            "reason": None,
                        }
                    },
                    {
                        "node": {
                            "actor": {"username": "mod_m"},
                            "action": "SUSPEND_MEMBER",
                            "subject": {"username": "ada_l"},
                            "fields": [TOMORROW.isoformat()],
                            "reason": REASON,
                        }
                    },
                ]
            }
        }
    }


# ------------------------------------------------------------------ refused


@pytest.mark.parametrize(
    ("viewer", "message", "code"),
    [
        (None, "Sign in to do this.", "UNAUTHENTICATED"),
        ("bob_k", "You are not allowed to do this.", "FORBIDDEN"),
    ],
)
@pytest.mark.parametrize("mutation", ["suspendMember", "unsuspendMember"])
async def test_members_cannot_suspend_or_lift(
    gql: Client, ada: User, viewer: str | None, message: str, code: str, mutation: str
) -> None:
    await member(gql, "bob_k", by_login=True)
    data = {"userId": ids.encode("User", ada.id), "until": TOMORROW.isoformat(), "reason": REASON}
    if mutation == "unsuspendMember":
        query, data = UNSUSPEND, {"userId": data["userId"]}
    else:
        query = SUSPEND

    response = await gql(query, {"i": data}, as_member=viewer)

    assert response == error(mutation, message, code)
    await ada.refresh_from_db(fields=["suspended_until"])
    assert ada.suspended_until is None


@pytest.mark.parametrize("role", [Role.MODERATOR, Role.ADMIN])
async def test_only_admins_suspend_staff(gql: Client, moderator: User, role: Role) -> None:
    staff = await member(gql, "staff_s", role, by_login=True)

    response = await suspend(gql, staff)

    assert response == error("suspendMember", "Only admins can suspend staff.", "FORBIDDEN")


async def test_an_admin_suspends_a_moderator(gql: Client, moderator: User) -> None:
    await member(gql, "admin_a", Role.ADMIN, by_login=True)
    data = {
        "userId": ids.encode("User", moderator.id),
        "until": TOMORROW.isoformat(),
        "reason": REASON,
    }

    response = await gql(SUSPEND, {"i": data}, as_member="admin_a")

    assert response["data"]["suspendMember"] == {
        "user": {"username": "mod_m", "suspendedUntil": TOMORROW.isoformat()},
        "userErrors": [],
    }


@pytest.mark.parametrize(
    "until",
    [
        (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),  # in the past
        TOMORROW.replace(tzinfo=None).isoformat(),  # no zone: which tomorrow?
    ],
    ids=["past", "no-zone"],
)
async def test_a_suspension_must_end_at_a_future_time_with_a_zone(
    gql: Client, ada: User, moderator: User, until: str
) -> None:
    response = await suspend(gql, ada, until=until)

    assert response == {
        "data": {
            "suspendMember": {
                "user": None,
                "userErrors": [
                    {
                        "field": ["until"],
                        "message": "Suspend until a time in the future (with zone).",
                        "code": "UNTIL_IN_PAST",
                    }
                ],
            }
        }
    }
    await ada.refresh_from_db(fields=["suspended_until"])
    assert ada.suspended_until is None


@pytest.mark.parametrize("reason", ["", "no", "x" * 501])
async def test_a_suspension_needs_a_reason(
    gql: Client, ada: User, moderator: User, reason: str
) -> None:
    response = await suspend(gql, ada, reason=reason)

    problem = {
        "field": ["reason"],
        "message": "Give a reason of 3 to 500 characters.",
        "code": "REASON_INVALID",
    }
    assert response == {"data": {"suspendMember": {"user": None, "userErrors": [problem]}}}
    await ada.refresh_from_db(fields=["suspended_until"])
    assert ada.suspended_until is None


async def test_suspending_nobody_is_refused(gql: Client, moderator: User) -> None:
    data = {"userId": ids.encode("User", 999), "until": TOMORROW.isoformat(), "reason": REASON}

    response = await gql(SUSPEND, {"i": data}, as_member="mod_m")

    assert response == {
        "data": {
            "suspendMember": {
                "user": None,
                "userErrors": [
                    {
                        "field": ["userId"],
                        "message": "There is no such member.",
                        "code": "USER_NOT_FOUND",
                    }
                ],
            }
        }
    }
