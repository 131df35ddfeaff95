"""SECURITY.md rows E7/E8, extended by issue 14: staff powers end with a suspension,
only admins act on or read staff, and nobody suspends or lifts their own suspension.

The cast: ada a member who wrote in a public thread; mo and mia moderators; boss and
root admins. A suspended staff member is still signed in and still has the role (roles
are public); what they lose is every power the role gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from models.accounts import User
from models.audit import AuditEntry
from models.base import Role
from models.messages import Message
from tests.support.forum import coded_error, gid, new_forum, open_thread, pk, refused
from tests.support.harness import Client
from tests.support.members import member, suspend

FORBIDDEN = "You are not allowed to do this."
SUSPEND = """mutation($id: ID!) {
  suspendMember(input: {userId: $id, until: "2099-01-01T00:00:00Z", reason: "Abusive posts"}) {
    user { username suspendedUntil } userErrors { field message code }
  }
}"""
UNSUSPEND = """mutation($id: ID!) {
  unsuspendMember(input: {userId: $id}) { user { username suspendedUntil } userErrors { code } }
}"""
PRIVILEGED = """query($id: ID!) {
  privilegedProfile(userId: $id, reason: "Report #9") { email }
}"""
SHARING = """query($id: ID!) {
  accountsSharingAddress(userId: $id, reason: "Report #9") { user { username } times }
}"""
DELETE = """mutation($id: ID!) {
  deleteMessage(input: {messageId: $id}) { message { deleted } userErrors { field message code } }
}"""
UNTIL = '{ user(username: "ada") { suspendedUntil } }'
AUDIT = "{ auditLog { edges { node { actor { username } action subject { username } } } } }"


@dataclass(frozen=True)
class Staff:
    """Who is who, and ada's public message."""

    ada: User
    mo: User
    mia: User
    boss: User
    root: User
    message: str


@pytest.fixture
async def staff(gql: Client) -> Staff:
    """The cast, all signed in on gql; ada opened a public thread."""
    ada = await member(gql, "ada")
    mo = await member(gql, "mo", role=Role.MODERATOR)
    mia = await member(gql, "mia", role=Role.MODERATOR)
    boss = await member(gql, "boss", role=Role.ADMIN)
    root = await member(gql, "root", role=Role.ADMIN)
    _, message = await open_thread(gql, "ada", await new_forum(), "Mine", "My words")
    return Staff(ada, mo, mia, boss, root, message)


def forbidden(query: str, field: str, message: str = FORBIDDEN, data: Any = None) -> dict:
    """The answer of a staff field refused with FORBIDDEN."""
    answer = {field: None} if data is None else data  # the refused root field alone is null
    return {"data": answer, "errors": [coded_error(query, field, message, "FORBIDDEN")]}


def user_id(user: User) -> dict[str, str]:
    """The variables naming one member."""
    return {"id": gid("User", user.id)}


# ------------------------------------------------------------------ suspended staff

STAFF_FIELDS = {
    "privilegedProfile": (PRIVILEGED, "user", {"privilegedProfile": None}),
    "accountsSharingAddress": (SHARING, "user", None),
    "reports": ("{ reports { edges { cursor } } }", None, None),
    "correctionRequests": ("{ correctionRequests { edges { cursor } } }", None, None),
    "resolveReport": (
        """mutation($id: ID!) { resolveReport(input: {reportId: $id, action: DISMISS})
          { userErrors { code } } }""",
        "report",
        None,
    ),
    "hideMessage": (
        """mutation($id: ID!) { hideMessage(input: {messageId: $id, reason: "spam"})
          { userErrors { code } } }""",
        "message",
        None,
    ),
    "suspendMember": (SUSPEND, "user", None),
    "unsuspendMember": (UNSUSPEND, "user", None),
    "resolveCorrection": (
        """mutation($id: ID!) { resolveCorrection(input: {requestId: $id, apply: false})
          { userErrors { code } } }""",
        "correction",
        None,
    ),
}
ADMIN_FIELDS = {
    "auditLog": (AUDIT, None, None),
    "siteStats": ('{ siteStats(from: "2026-01-01", to: "2026-01-31") { visits } }', None, None),
    "publishPrivacyPolicy": (
        """mutation { publishPrivacyPolicy(input: {version: "2099-01", body: "New terms",
          summaryOfChanges: "All of it"}) { userErrors { code } } }""",
        None,
        None,
    ),
    "sendNewsletter": (
        """mutation { sendNewsletter(input: {subject: "News", body: "Hello"})
          { recipients userErrors { code } } }""",
        None,
        None,
    ),
}


def variables_for(staff: Staff, target: str | None) -> dict[str, str] | None:
    """An ID of the kind the field takes (refusals come before any look-up)."""
    ids = {
        "user": gid("User", staff.ada.id),
        "message": staff.message,
        "report": gid("Report", 1),
        "correction": gid("CorrectionRequest", 1),
    }
    return None if target is None else {"id": ids[target]}


@pytest.mark.parametrize("field", STAFF_FIELDS)
async def test_E8_a_suspended_moderator_has_no_staff_power(
    gql: Client, staff: Staff, field: str
) -> None:
    query, target, data = STAFF_FIELDS[field]
    await suspend(staff.mo, "Abused the queue")

    response = await gql(query, variables_for(staff, target), as_member="mo")

    assert response == forbidden(query, field, data=data)
    assert await AuditEntry.all().count() == 0


@pytest.mark.parametrize("field", [*STAFF_FIELDS, *ADMIN_FIELDS])
async def test_E8_a_suspended_admin_has_no_staff_or_admin_power(
    gql: Client, staff: Staff, field: str
) -> None:
    query, target, data = {**STAFF_FIELDS, **ADMIN_FIELDS}[field]
    await suspend(staff.boss, "Account under review")

    response = await gql(query, variables_for(staff, target), as_member="boss")

    assert response == forbidden(query, field, data=data)
    assert await AuditEntry.all().count() == 0


async def test_E8_a_suspended_moderator_cannot_suspend_a_member(gql: Client, staff: Staff) -> None:
    await suspend(staff.mo, "Abused the queue")

    response = await gql(SUSPEND, user_id(staff.ada), as_member="mo")

    assert response == forbidden(SUSPEND, "suspendMember")
    assert (await User.get(id=staff.ada.id)).suspended_until is None


async def test_E8_a_suspended_moderator_cannot_read_a_privileged_profile(
    gql: Client, staff: Staff
) -> None:
    await suspend(staff.mo, "Abused the queue")

    response = await gql(PRIVILEGED, user_id(staff.ada), as_member="mo")

    assert response == forbidden(PRIVILEGED, "privilegedProfile", data={"privilegedProfile": None})
    assert await AuditEntry.all().count() == 0


async def test_E8_a_suspended_moderator_cannot_lift_her_own_suspension(
    gql: Client, staff: Staff
) -> None:
    until = await suspend(staff.mo, "Abused the queue")

    response = await gql(UNSUSPEND, user_id(staff.mo), as_member="mo")

    assert response == forbidden(UNSUSPEND, "unsuspendMember")
    assert (await User.get(id=staff.mo.id)).suspended_until == until


async def test_E8_a_suspended_moderator_cannot_lift_another_moderators_suspension(
    gql: Client, staff: Staff
) -> None:
    await suspend(staff.mo, "Abused the queue")
    until = await suspend(staff.mia, "Abused the queue too")

    response = await gql(UNSUSPEND, user_id(staff.mia), as_member="mo")

    assert response == forbidden(UNSUSPEND, "unsuspendMember")
    assert (await User.get(id=staff.mia.id)).suspended_until == until


async def test_E8_a_suspended_moderator_cannot_delete_a_members_public_message(
    gql: Client, staff: Staff
) -> None:
    await suspend(staff.mo, "Abused the queue")

    response = await gql(DELETE, {"id": staff.message}, as_member="mo")

    errors = refused("MESSAGE_NOT_FOUND", "You have no such message.", "messageId")
    assert response == {"data": {"deleteMessage": {"message": None, "userErrors": errors}}}
    assert (await Message.get(id=pk(staff.message))).deleted_at is None


async def test_E8_a_suspended_moderator_no_longer_sees_members_suspensions(
    gql: Client, staff: Staff
) -> None:
    await suspend(staff.ada, "Spam")
    await suspend(staff.mo, "Abused the queue")

    response = await gql(UNTIL, as_member="mo")

    assert response == {"data": {"user": {"suspendedUntil": None}}}


async def test_E8_a_moderator_whose_suspension_ended_has_her_powers_back(
    gql: Client, staff: Staff
) -> None:
    await suspend(staff.mo, "Abused the queue")
    await gql(UNSUSPEND, user_id(staff.mo), as_member="boss")

    response = await gql(PRIVILEGED, user_id(staff.ada), as_member="mo")

    assert response == {"data": {"privilegedProfile": {"email": "ada@example.org"}}}


# ------------------------------------------------------------------ lifting staff suspensions


async def test_E8_a_moderator_cannot_lift_a_moderators_suspension(
    gql: Client, staff: Staff
) -> None:
    until = await suspend(staff.mia, "Abused the queue")

    response = await gql(UNSUSPEND, user_id(staff.mia), as_member="mo")

    message = "Only admins can lift a staff member's suspension."
    assert response == forbidden(UNSUSPEND, "unsuspendMember", message)
    assert (await User.get(id=staff.mia.id)).suspended_until == until
    assert await AuditEntry.all().count() == 0


async def test_E8_a_moderator_cannot_lift_an_admins_suspension(gql: Client, staff: Staff) -> None:
    until = await suspend(staff.boss, "Account under review")

    response = await gql(UNSUSPEND, user_id(staff.boss), as_member="mo")

    message = "Only admins can lift a staff member's suspension."
    assert response == forbidden(UNSUSPEND, "unsuspendMember", message)
    assert (await User.get(id=staff.boss.id)).suspended_until == until


async def test_E8_an_admin_lifts_a_moderators_suspension(gql: Client, staff: Staff) -> None:
    await suspend(staff.mo, "Abused the queue")

    response = await gql(UNSUSPEND, user_id(staff.mo), as_member="boss")
    audit = await gql(AUDIT, as_member="root")

    user = {"username": "mo", "suspendedUntil": None}
    assert response == {"data": {"unsuspendMember": {"user": user, "userErrors": []}}}
    assert (await User.get(id=staff.mo.id)).suspended_until is None
    entry = {
        "actor": {"username": "boss"},
        "action": "UNSUSPEND_MEMBER",
        "subject": {"username": "mo"},
    }
    assert audit == {"data": {"auditLog": {"edges": [{"node": entry}]}}}


async def test_E8_a_moderator_still_lifts_a_members_suspension(gql: Client, staff: Staff) -> None:
    await suspend(staff.ada, "Spam")

    response = await gql(UNSUSPEND, user_id(staff.ada), as_member="mo")

    user = {"username": "ada", "suspendedUntil": None}
    assert response == {"data": {"unsuspendMember": {"user": user, "userErrors": []}}}


@pytest.mark.parametrize("login", ["mo", "boss"])
async def test_E8_nobody_suspends_themselves(gql: Client, staff: Staff, login: str) -> None:
    me = await User.get(username=login)

    response = await gql(SUSPEND, user_id(me), as_member=login)

    message = "Nobody can suspend themselves or lift their own suspension."
    assert response == forbidden(SUSPEND, "suspendMember", message)
    assert (await User.get(id=me.id)).suspended_until is None


async def test_E8_an_admin_cannot_lift_her_own_suspension(gql: Client, staff: Staff) -> None:
    until = await suspend(staff.boss, "Account under review")

    response = await gql(UNSUSPEND, user_id(staff.boss), as_member="boss")

    assert response == forbidden(UNSUSPEND, "unsuspendMember")
    assert (await User.get(id=staff.boss.id)).suspended_until == until


# ------------------------------------------------------------------ staff reads of staff


@pytest.mark.parametrize("target", ["boss", "mia", "mo"])
async def test_E7_a_moderator_cannot_read_a_staff_members_private_profile(
    gql: Client, staff: Staff, target: str
) -> None:
    subject = await User.get(username=target)

    response = await gql(PRIVILEGED, user_id(subject), as_member="mo")

    message = "Only admins can read a staff member's private data."
    expected = forbidden(PRIVILEGED, "privilegedProfile", message, {"privilegedProfile": None})
    assert response == expected
    assert await AuditEntry.all().count() == 0


@pytest.mark.parametrize("target", ["boss", "mia"])
async def test_E7_a_moderator_cannot_match_a_staff_members_addresses(
    gql: Client, staff: Staff, target: str
) -> None:
    subject = await User.get(username=target)

    response = await gql(SHARING, user_id(subject), as_member="mo")

    message = "Only admins can read a staff member's private data."
    assert response == forbidden(SHARING, "accountsSharingAddress", message)
    assert await AuditEntry.all().count() == 0


@pytest.mark.parametrize("target", ["mo", "root"])
async def test_E7_an_admin_reads_a_staff_members_private_profile_audited(
    gql: Client, staff: Staff, target: str
) -> None:
    subject = await User.get(username=target)

    response = await gql(PRIVILEGED, user_id(subject), as_member="boss")
    shared = await gql(SHARING, user_id(subject), as_member="boss")

    email = f"{target}@example.org"
    assert response == {"data": {"privilegedProfile": {"email": email}}}
    assert shared == {"data": {"accountsSharingAddress": []}}
    audited = await AuditEntry.filter(subject_id=subject.id).values_list("action", flat=True)
    assert sorted(audited) == ["MATCH_SHARED_ADDRESSES", "READ_PRIVATE_PROFILE"]


async def test_E7_a_moderator_still_reads_a_members_private_profile(
    gql: Client, staff: Staff
) -> None:
    response = await gql(PRIVILEGED, user_id(staff.ada), as_member="mo")

    assert response == {"data": {"privilegedProfile": {"email": "ada@example.org"}}}
