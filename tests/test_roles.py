"""Roles by admins: setRole with a reason, audited, taking effect on the member's next
request, and never leaving the site without an admin who can act."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from models.accounts import User
from models.base import Role
from tests.support.forum import gid, refused
from tests.support.harness import Client
from tests.support.members import member, suspend
from tests.support.staff import SET_ROLE, audit_log, staff_cast

REASON = "Runs the recipes forum well"
LAST_ADMIN = "The site needs at least one admin who can act: make another first."
AUDIT_LOG = "query { auditLog(first: 1) { edges { node { action } } } }"
REPORTS = "query { reports { edges { node { id } } } }"


@pytest.fixture
async def cast(gql: Client) -> dict[str, User]:
    """ada and bob (members), grace (moderator) and root (admin), signed in."""
    return await staff_cast(gql)


async def set_role(
    gql: Client, user: User, role: str, as_member: str = "root", **more: str
) -> dict:
    variables = {"i": {"userId": gid("User", user.id), "role": role, "reason": REASON, **more}}
    return await gql(SET_ROLE, variables, as_member=as_member)


def changed(username: str, role: str) -> dict:
    return {"data": {"setRole": {"user": {"username": username, "role": role}, "userErrors": []}}}


@pytest.mark.parametrize("role", ["MODERATOR", "ADMIN"])
async def test_an_admin_promotes_a_member(gql: Client, cast: dict[str, User], role: str) -> None:
    response = await set_role(gql, cast["ada"], role)

    assert response == changed("ada", role)


async def test_an_admin_demotes_a_moderator(gql: Client, cast: dict[str, User]) -> None:
    response = await set_role(gql, cast["grace"], "MEMBER")

    assert response == changed("grace", "MEMBER")


async def test_a_promoted_member_has_staff_powers_on_her_next_request(
    gql: Client, cast: dict[str, User]
) -> None:
    before = await gql(REPORTS, as_member="ada")
    await set_role(gql, cast["ada"], "MODERATOR")

    after = await gql(REPORTS, as_member="ada")

    assert before["errors"][0]["extensions"] == {"code": "FORBIDDEN"}
    assert after == {"data": {"reports": {"edges": []}}}


async def test_a_demoted_admin_loses_admin_powers_on_her_next_request(
    gql: Client, cast: dict[str, User]
) -> None:
    await member(gql, "ida", role=Role.ADMIN)
    assert await set_role(gql, cast["root"], "MODERATOR", as_member="ida") == changed(
        "root", "MODERATOR"
    )

    response = await gql(AUDIT_LOG, as_member="root")

    assert response["data"] == {"auditLog": None}
    assert response["errors"][0]["extensions"] == {"code": "FORBIDDEN"}


async def test_the_last_admin_cannot_demote_herself(gql: Client, cast: dict[str, User]) -> None:
    response = await set_role(gql, cast["root"], "MEMBER")

    errors = refused("LAST_ADMIN", LAST_ADMIN, "role")
    assert response == {"data": {"setRole": {"user": None, "userErrors": errors}}}
    await cast["root"].refresh_from_db()
    assert cast["root"].role is Role.ADMIN


async def test_two_admins_demoting_each_other_at_once_leave_one_admin(
    gql: Client, cast: dict[str, User]
) -> None:
    ida = await member(gql, "ida", role=Role.ADMIN)

    answers = await asyncio.gather(
        set_role(gql, ida, "MEMBER", as_member="root"),
        set_role(gql, cast["root"], "MEMBER", as_member="ida"),
    )

    # One demotion wins. The other is refused: LAST_ADMIN when both reached the check,
    # FORBIDDEN when the winner committed before the loser's request read its own role.
    def outcome(answer: dict[str, Any]) -> str:
        if answer["data"]["setRole"] is None:
            return answer["errors"][0]["extensions"]["code"]
        return ",".join(error["code"] for error in answer["data"]["setRole"]["userErrors"])

    outcomes = sorted(outcome(answer) for answer in answers)
    assert outcomes in (["", "LAST_ADMIN"], ["", "FORBIDDEN"])
    assert await User.filter(role=Role.ADMIN).count() == 1


async def test_a_suspended_admin_does_not_count_as_another_admin(
    gql: Client, cast: dict[str, User]
) -> None:
    await suspend(await member(gql, "ida", role=Role.ADMIN), "Cooling off")

    response = await set_role(gql, cast["root"], "MODERATOR")

    errors = refused("LAST_ADMIN", LAST_ADMIN, "role")
    assert response == {"data": {"setRole": {"user": None, "userErrors": errors}}}


async def test_an_admin_steps_down_once_another_admin_can_act(
    gql: Client, cast: dict[str, User]
) -> None:
    await set_role(gql, cast["grace"], "ADMIN")

    response = await set_role(gql, cast["root"], "MEMBER")

    assert response == changed("root", "MEMBER")


async def test_keeping_the_last_admin_an_admin_is_allowed(
    gql: Client, cast: dict[str, User]
) -> None:
    response = await set_role(gql, cast["root"], "ADMIN")

    assert response == changed("root", "ADMIN")


@pytest.mark.parametrize("reason", ["", "  ", "no", "x" * 501])
async def test_a_role_change_needs_a_reason(
    gql: Client, cast: dict[str, User], reason: str
) -> None:
    response = await set_role(gql, cast["ada"], "ADMIN", reason=reason)

    errors = refused("REASON_INVALID", "Give a reason of 3 to 500 characters.", "reason")
    assert response == {"data": {"setRole": {"user": None, "userErrors": errors}}}
    await cast["ada"].refresh_from_db()
    assert cast["ada"].role is Role.MEMBER


async def test_setting_the_role_of_nobody_is_refused(gql: Client, cast: dict[str, User]) -> None:
    variables = {"i": {"userId": gid("User", 999), "role": "ADMIN", "reason": REASON}}

    response = await gql(SET_ROLE, variables, as_member="root")

    errors = refused("USER_NOT_FOUND", "There is no such member.", "userId")
    assert response == {"data": {"setRole": {"user": None, "userErrors": errors}}}


async def test_a_role_change_is_audited_with_the_old_and_new_role(
    gql: Client, cast: dict[str, User]
) -> None:
    await set_role(gql, cast["grace"], "ADMIN")

    (entry,) = await audit_log(gql)

    assert entry == {
        "actor": {"username": "root"},
        "action": "SET_ROLE",
        "subject": {"username": "grace"},
        "fields": ["role", "from:moderator", "to:admin"],
        "reason": REASON,
    }
