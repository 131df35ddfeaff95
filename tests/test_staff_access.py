"""Who may use the staff tools: signed-out callers, members and suspended staff are
refused every staff mutation, moderators every admin mutation, and nothing changes."""

from __future__ import annotations

from typing import Any

import pytest

from models.accounts import User
from models.audit import AuditEntry
from models.forums import Forum
from models.messages import Thread
from models.moderation import Warning
from tests.support.forum import coded_error, gid, new_forum, open_thread
from tests.support.harness import Client
from tests.support.members import suspend
from tests.support.staff import (
    ADMIN_MUTATIONS,
    CREATE_FORUM,
    MODERATE_THREAD,
    SET_ROLE,
    STAFF_MUTATIONS,
    UNHIDE,
    UPDATE_FORUM,
    WARN,
    staff_cast,
)

SIGN_IN = ("Sign in to do this.", "UNAUTHENTICATED")
NOT_ALLOWED = ("You are not allowed to do this.", "FORBIDDEN")


@pytest.fixture
async def world(gql: Client) -> dict[str, Any]:
    """The cast, a forum and a thread by ada (its first message hidden)."""
    cast = await staff_cast(gql)
    forum = await new_forum()
    thread_id, message_id = await open_thread(gql, "ada", forum)
    return {"cast": cast, "forum": forum, "thread": thread_id, "message": message_id}


def staff_calls(world: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    ada: User = world["cast"]["ada"]
    reason = "Keeping the forum tidy"
    return {
        "moderateThread": (
            MODERATE_THREAD,
            {"threadId": world["thread"], "reason": reason, "locked": True},
        ),
        "unhideMessage": (UNHIDE, {"messageId": world["message"], "reason": reason}),
        "warnMember": (WARN, {"userId": gid("User", ada.id), "reason": reason}),
    }


def admin_calls(world: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    ada: User = world["cast"]["ada"]
    forum: Forum = world["forum"]
    return {
        "createForum": (CREATE_FORUM, {"slug": "recipes", "title": "Recipes"}),
        "updateForum": (UPDATE_FORUM, {"forumId": gid("Forum", forum.id), "title": "Renamed"}),
        "setRole": (
            SET_ROLE,
            {"userId": gid("User", ada.id), "role": "ADMIN", "reason": "Trusted"},
        ),
    }


async def nothing_changed() -> None:
    """No staff action left a trace: no audit entry, warning, new forum or thread change."""
    assert await AuditEntry.all().count() == 0
    assert await Warning.all().count() == 0
    assert [f.title for f in await Forum.all()] == ["General"]
    assert [(t.locked, t.pinned) for t in await Thread.all()] == [(False, False)]
    assert {u.username: u.role.value for u in await User.all()} == {
        "ada": "member",
        "bob": "member",
        "grace": "moderator",
        "root": "admin",
    }


@pytest.mark.parametrize("mutation", STAFF_MUTATIONS + ADMIN_MUTATIONS)
@pytest.mark.parametrize(("caller", "refusal"), [(None, SIGN_IN), ("bob", NOT_ALLOWED)])
async def test_signed_out_callers_and_members_use_no_staff_tool(
    gql: Client, world: dict[str, Any], mutation: str, caller: str | None, refusal: tuple[str, str]
) -> None:
    query, variables = {**staff_calls(world), **admin_calls(world)}[mutation]

    response = await gql(query, {"i": variables}, as_member=caller)

    assert response == {
        "data": {mutation: None},
        "errors": [coded_error(query, mutation, *refusal)],
    }
    await nothing_changed()


@pytest.mark.parametrize("mutation", ADMIN_MUTATIONS)
async def test_a_moderator_uses_no_admin_tool(
    gql: Client, world: dict[str, Any], mutation: str
) -> None:
    query, variables = admin_calls(world)[mutation]

    response = await gql(query, {"i": variables}, as_member="grace")

    error = coded_error(query, mutation, *NOT_ALLOWED)
    assert response == {"data": {mutation: None}, "errors": [error]}
    await nothing_changed()


@pytest.mark.parametrize("mutation", STAFF_MUTATIONS + ADMIN_MUTATIONS)
async def test_a_suspended_admin_uses_no_staff_tool(
    gql: Client, world: dict[str, Any], mutation: str
) -> None:
    await suspend(world["cast"]["root"], "Cooling off")
    query, variables = {**staff_calls(world), **admin_calls(world)}[mutation]

    response = await gql(query, {"i": variables}, as_member="root")

    error = coded_error(query, mutation, *NOT_ALLOWED)
    assert response == {"data": {mutation: None}, "errors": [error]}
    await nothing_changed()
