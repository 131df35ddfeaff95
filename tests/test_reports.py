"""Reports and moderator actions: reporting, the moderators' queue, hiding, suspending,
who may do it, and the audit trail every action leaves."""

from __future__ import annotations

from typing import Any

import pytest

from models.accounts import User
from models.audit import AuditEntry
from models.base import Role
from models.reports import Report
from tests.support.forum import (
    coded_error,
    gid,
    new_forum,
    open_thread,
    pk,
    refused,
    reply,
    send,
    start_conversation,
)
from tests.support.harness import Client
from tests.support.members import member


@pytest.fixture
async def cast(gql: Client) -> dict[str, User]:
    """ada and bob (members), grace (moderator) and root (admin), all signed in."""
    roles = {"ada": Role.MEMBER, "bob": Role.MEMBER, "grace": Role.MODERATOR, "root": Role.ADMIN}
    return {name: await member(gql, name, role=role) for name, role in roles.items()}


@pytest.fixture
async def thread(gql: Client, cast: dict[str, User]) -> tuple[str, list[str]]:
    """A thread by ada whose messages read m1 .. m6: its ID and the message IDs."""
    thread_id, first = await open_thread(gql, "ada", await new_forum(), "Six", "m1")
    return thread_id, [first] + [await reply(gql, "ada", thread_id, f"m{n}") for n in range(2, 7)]


REPORT = """mutation($i: ReportMessageInput!) {
  reportMessage(input: $i) {
    report { reason status message { body } reporter { username } }
    userErrors { field message code }
  }
}"""


async def report(gql: Client, reporter: str, message_id: str, reason: str = "Spam link") -> str:
    """Report a message through the API; return the report's ID."""
    response = await gql(
        "mutation($i: ReportMessageInput!) { reportMessage(input: $i) "
        "{ report { id } userErrors { code } } }",
        {"i": {"messageId": message_id, "reason": reason}},
        as_member=reporter,
    )
    assert response["data"]["reportMessage"]["userErrors"] == [], response
    return response["data"]["reportMessage"]["report"]["id"]


# ------------------------------------------------------------------ reporting


async def test_a_member_reports_a_message(gql: Client, thread: tuple[str, list[str]]) -> None:
    variables = {"i": {"messageId": thread[1][2], "reason": "  Spam link  "}}

    response = await gql(REPORT, variables, as_member="bob")

    report = {
        "reason": "Spam link",
        "status": "OPEN",
        "message": {"body": "m3"},
        "reporter": {"username": "bob"},
    }
    assert response == {"data": {"reportMessage": {"report": report, "userErrors": []}}}


@pytest.mark.parametrize("reason", ["ab", "   ab   ", "x" * 1001])
async def test_a_reason_outside_3_to_1000_characters_is_refused(
    gql: Client, thread: tuple[str, list[str]], reason: str
) -> None:
    variables = {"i": {"messageId": thread[1][2], "reason": reason}}

    response = await gql(REPORT, variables, as_member="bob")

    message = "Say what is wrong in 3 to 1000 characters."
    errors = refused("REASON_LENGTH", message, "reason")
    assert response == {"data": {"reportMessage": {"report": None, "userErrors": errors}}}
    assert await Report.all().count() == 0


@pytest.mark.parametrize("reason", ["abc", "x" * 1000])
async def test_a_reason_of_3_to_1000_characters_is_accepted(
    gql: Client, thread: tuple[str, list[str]], reason: str
) -> None:
    variables = {"i": {"messageId": thread[1][2], "reason": reason}}

    response = await gql(REPORT, variables, as_member="bob")

    assert response["data"]["reportMessage"]["userErrors"] == []
    assert await Report.filter(reason=reason).count() == 1


async def test_a_report_of_an_unknown_message_is_refused(
    gql: Client, cast: dict[str, User]
) -> None:
    variables = {"i": {"messageId": gid("Message", 999), "reason": "Spam link"}}

    response = await gql(REPORT, variables, as_member="bob")

    errors = refused("MESSAGE_NOT_FOUND", "There is no such message.", "messageId")
    assert response == {"data": {"reportMessage": {"report": None, "userErrors": errors}}}


async def test_signed_out_nobody_reports(gql: Client, thread: tuple[str, list[str]]) -> None:
    response = await gql(REPORT, {"i": {"messageId": thread[1][0], "reason": "Spam link"}})

    error = coded_error(REPORT, "reportMessage", "Sign in to do this.", "UNAUTHENTICATED")
    assert response == {"data": {"reportMessage": None}, "errors": [error]}


# ------------------------------------------------------------------ the queue

QUEUE = """{
  reports(status: OPEN) {
    edges { node { reason status reporter { username } message { body }
      context { body } } }
  }
}"""


async def test_moderators_see_open_reports_with_the_messages_around_them(
    gql: Client, thread: tuple[str, list[str]]
) -> None:
    await report(gql, "bob", thread[1][2], "Rude")
    await report(gql, "ada", thread[1][0], "Wrong forum")

    response = await gql(QUEUE, as_member="grace")

    def node(reason: str, reporter: str, body: str, context: list[str]) -> dict[str, Any]:
        return {
            "node": {
                "reason": reason,
                "status": "OPEN",
                "reporter": {"username": reporter},
                "message": {"body": body},
                "context": [{"body": b} for b in context],
            }
        }

    edges = [
        node("Rude", "bob", "m3", ["m1", "m2", "m3", "m4", "m5"]),
        node("Wrong forum", "ada", "m1", ["m1", "m2", "m3"]),  # nothing before the first
    ]
    assert response == {"data": {"reports": {"edges": edges}}}


async def test_the_context_of_the_last_message_has_nothing_after_it(
    gql: Client, thread: tuple[str, list[str]]
) -> None:
    await report(gql, "bob", thread[1][5])

    response = await gql("{ reports { edges { node { context { body } } } } }", as_member="root")

    context = [{"body": body} for body in ("m4", "m5", "m6")]
    assert response == {"data": {"reports": {"edges": [{"node": {"context": context}}]}}}


RESOLVE = """mutation($i: ResolveReportInput!) {
  resolveReport(input: $i) {
    report { status message { body bodyHtml hidden } } userErrors { field message code }
  }
}"""


async def test_a_dismissed_report_leaves_the_message_and_the_queue(
    gql: Client, thread: tuple[str, list[str]]
) -> None:
    report_id = await report(gql, "bob", thread[1][2])

    variables = {"i": {"reportId": report_id, "action": "DISMISS", "note": "Fine"}}
    response = await gql(RESOLVE, variables, as_member="grace")

    resolved = {
        "status": "DISMISSED",
        "message": {"body": "m3", "bodyHtml": "<p>m3</p>\n", "hidden": False},
    }
    assert response == {"data": {"resolveReport": {"report": resolved, "userErrors": []}}}
    assert await gql(QUEUE, as_member="grace") == {"data": {"reports": {"edges": []}}}


async def test_a_report_resolved_by_hiding_hides_the_message(
    gql: Client, thread: tuple[str, list[str]]
) -> None:
    report_id = await report(gql, "bob", thread[1][2])

    variables = {"i": {"reportId": report_id, "action": "HIDE_MESSAGE"}}
    response = await gql(RESOLVE, variables, as_member="grace")

    resolved = {"status": "RESOLVED", "message": {"body": "", "bodyHtml": "", "hidden": True}}
    assert response == {"data": {"resolveReport": {"report": resolved, "userErrors": []}}}


async def test_a_hidden_message_reads_hidden_and_empty_to_everyone(
    gql: Client, thread: tuple[str, list[str]]
) -> None:
    report_id = await report(gql, "bob", thread[1][2])
    await gql(RESOLVE, {"i": {"reportId": report_id, "action": "HIDE_MESSAGE"}}, as_member="grace")

    response = await gql(
        "query($id: ID!) { node(id: $id) { ... on Message { body bodyHtml hidden deleted } } }",
        {"id": thread[1][2]},
    )

    hidden = {"body": "", "bodyHtml": "", "hidden": True, "deleted": False}
    assert response == {"data": {"node": hidden}}


async def test_an_unknown_report_is_refused(gql: Client, cast: dict[str, User]) -> None:
    variables = {"i": {"reportId": gid("Report", 999), "action": "DISMISS"}}

    response = await gql(RESOLVE, variables, as_member="grace")

    errors = refused("REPORT_NOT_FOUND", "There is no such report.", "reportId")
    assert response == {"data": {"resolveReport": {"report": None, "userErrors": errors}}}


# ------------------------------------------------------------------ hiding and suspending

HIDE = """mutation($i: HideMessageInput!) {
  hideMessage(input: $i) { message { body hidden } userErrors { field message code } }
}"""


async def test_a_moderator_hides_a_public_message(
    gql: Client, thread: tuple[str, list[str]]
) -> None:
    variables = {"i": {"messageId": thread[1][1], "reason": "Personal attack"}}

    response = await gql(HIDE, variables, as_member="grace")

    message = {"body": "", "hidden": True}
    assert response == {"data": {"hideMessage": {"message": message, "userErrors": []}}}


async def test_hiding_needs_a_reason(gql: Client, thread: tuple[str, list[str]]) -> None:
    response = await gql(HIDE, {"i": {"messageId": thread[1][1], "reason": " "}}, as_member="grace")

    problems = refused("REASON_INVALID", "Give a reason of 3 to 500 characters.", "reason")
    assert response == {"data": {"hideMessage": {"message": None, "userErrors": problems}}}


SUSPEND = """mutation($i: SuspendMemberInput!) {
  suspendMember(input: $i) { user { username suspendedUntil } userErrors { field message code } }
}"""
UNTIL = "2099-01-02T03:04:00+00:00"


def suspension(user: User, until: str = UNTIL, reason: str = "Spamming") -> dict[str, Any]:
    """suspendMember variables."""
    return {"i": {"userId": gid("User", user.id), "until": until, "reason": reason}}


async def test_a_moderator_suspends_a_member(gql: Client, cast: dict[str, User]) -> None:
    response = await gql(SUSPEND, suspension(cast["bob"]), as_member="grace")

    user = {"username": "bob", "suspendedUntil": UNTIL}
    assert response == {"data": {"suspendMember": {"user": user, "userErrors": []}}}


async def test_a_suspended_member_signs_in_and_reads_but_cannot_post(
    gql: Client, thread: tuple[str, list[str]], cast: dict[str, User]
) -> None:
    await gql(SUSPEND, suspension(cast["bob"], reason="Spamming the forum"), as_member="grace")

    await gql.sign_in("bob")
    read = await gql(
        "query($id: ID!) { viewer { username } thread(id: $id) { title } }",
        {"id": thread[0]},
        as_member="bob",
    )
    post = await gql(
        "mutation($i: PostMessageInput!) { postMessage(input: $i) "
        "{ message { id } userErrors { field message code } } }",
        {"i": {"threadId": thread[0], "body": "Buy now"}},
        as_member="bob",
    )

    assert read == {"data": {"viewer": {"username": "bob"}, "thread": {"title": "Six"}}}
    message = "Your account is suspended until 2099-01-02 03:04 UTC: Spamming the forum"
    errors = refused("SUSPENDED", message)
    assert post == {"data": {"postMessage": {"message": None, "userErrors": errors}}}


async def test_an_unsuspended_member_posts_again(
    gql: Client, thread: tuple[str, list[str]], cast: dict[str, User]
) -> None:
    await gql(SUSPEND, suspension(cast["bob"]), as_member="grace")

    response = await gql(
        "mutation($i: UnsuspendMemberInput!) { unsuspendMember(input: $i) "
        "{ user { username suspendedUntil } userErrors { code } } }",
        {"i": {"userId": gid("User", cast["bob"].id)}},
        as_member="grace",
    )

    user = {"username": "bob", "suspendedUntil": None}
    assert response == {"data": {"unsuspendMember": {"user": user, "userErrors": []}}}
    await reply(gql, "bob", thread[0], "I'm back")


async def test_a_suspension_must_end_in_the_future(gql: Client, cast: dict[str, User]) -> None:
    variables = suspension(cast["bob"], until="2001-01-01T00:00:00+00:00")

    response = await gql(SUSPEND, variables, as_member="grace")

    message = "Suspend until a time in the future (with zone)."
    errors = refused("UNTIL_IN_PAST", message, "until")
    assert response == {"data": {"suspendMember": {"user": None, "userErrors": errors}}}


async def test_an_unknown_member_cannot_be_suspended(gql: Client, cast: dict[str, User]) -> None:
    variables = {"i": {"userId": gid("User", 999), "until": UNTIL, "reason": "Spamming"}}

    response = await gql(SUSPEND, variables, as_member="grace")

    errors = refused("USER_NOT_FOUND", "There is no such member.", "userId")
    assert response == {"data": {"suspendMember": {"user": None, "userErrors": errors}}}


async def test_a_moderator_cannot_suspend_staff(gql: Client, cast: dict[str, User]) -> None:
    response = await gql(SUSPEND, suspension(cast["root"]), as_member="grace")

    error = coded_error(SUSPEND, "suspendMember", "Only admins can suspend staff.", "FORBIDDEN")
    assert response == {"data": {"suspendMember": None}, "errors": [error]}
    assert (await User.get(username="root")).suspended_until is None


# ------------------------------------------------------------------ who may act

STAFF_FIELDS: dict[str, tuple[str, dict[str, Any]]] = {
    "reports": ("{ reports { edges { node { reason } } } }", {}),
    "auditLog": ("{ auditLog { edges { node { action } } } }", {}),
    "resolveReport": (
        "mutation($i: ResolveReportInput!) { resolveReport(input: $i) { userErrors { code } } }",
        {"i": {"reportId": gid("Report", 1), "action": "DISMISS"}},
    ),
    "hideMessage": (
        "mutation($i: HideMessageInput!) { hideMessage(input: $i) { userErrors { code } } }",
        {"i": {"messageId": gid("Message", 1), "reason": "Spam link"}},
    ),
    "suspendMember": (
        "mutation($i: SuspendMemberInput!) { suspendMember(input: $i) { userErrors { code } } }",
        {"i": {"userId": gid("User", 2), "until": UNTIL, "reason": "Spamming"}},
    ),
    "unsuspendMember": (
        "mutation($i: UnsuspendMemberInput!) { unsuspendMember(input: $i) "
        "{ userErrors { code } } }",
        {"i": {"userId": gid("User", 2)}},
    ),
}


@pytest.mark.parametrize(
    ("viewer", "code", "message"),
    [
        ("bob", "FORBIDDEN", "You are not allowed to do this."),
        (None, "UNAUTHENTICATED", "Sign in to do this."),
    ],
)
@pytest.mark.parametrize("field", STAFF_FIELDS)
async def test_staff_fields_refuse_members_and_anonymous_callers(
    gql: Client,
    thread: tuple[str, list[str]],
    field: str,
    viewer: str | None,
    code: str,
    message: str,
) -> None:
    await report(gql, "ada", thread[1][0])
    query, variables = STAFF_FIELDS[field]

    response = await gql(query, variables, as_member=viewer)

    assert response == {"data": {field: None}, "errors": [coded_error(query, field, message, code)]}
    assert await AuditEntry.all().count() == 0


async def test_the_audit_log_is_for_admins_only(gql: Client, cast: dict[str, User]) -> None:
    query, _ = STAFF_FIELDS["auditLog"]

    response = await gql(query, as_member="grace")

    message = "You are not allowed to do this."
    assert response == {
        "data": {"auditLog": None},
        "errors": [coded_error(query, "auditLog", message, "FORBIDDEN")],
    }


# ------------------------------------------------------------------ the audit trail

AUDIT = """{
  auditLog { edges { node { actor { username } action subject { username } fields reason } } }
}"""


async def act(
    gql: Client, action: str, cast: dict[str, User], thread: tuple[str, list[str]]
) -> list[str]:
    """Have grace take one moderator action; return the fields its audit entry should name."""
    message_id = thread[1][2]
    if action in ("DISMISS_REPORT", "HIDE_REPORTED_MESSAGE"):
        report_id = await report(gql, "bob", message_id)
        choice = "DISMISS" if action == "DISMISS_REPORT" else "HIDE_MESSAGE"
        variables = {"i": {"reportId": report_id, "action": choice, "note": "Looked at it"}}
        await gql(RESOLVE, variables, as_member="grace")
        return [f"report:{pk(report_id)}"]
    if action == "HIDE_MESSAGE":
        await gql(
            HIDE, {"i": {"messageId": message_id, "reason": "Looked at it"}}, as_member="grace"
        )
        return [f"message:{pk(message_id)}"]
    if action == "DELETE_MESSAGE":
        await gql(
            "mutation($i: DeleteMessageInput!) { deleteMessage(input: $i) "
            "{ userErrors { code } } }",
            {"i": {"messageId": message_id}},
            as_member="grace",
        )
        return [str(pk(message_id))]
    if action == "SUSPEND_MEMBER":
        await gql(SUSPEND, suspension(cast["ada"], reason="Looked at it"), as_member="grace")
        return [UNTIL]
    await gql(
        "mutation($i: UnsuspendMemberInput!) { unsuspendMember(input: $i) "
        "{ userErrors { code } } }",
        {"i": {"userId": gid("User", cast["ada"].id)}},
        as_member="grace",
    )
    return []


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        ("DISMISS_REPORT", "Looked at it"),
        ("HIDE_REPORTED_MESSAGE", "Looked at it"),
        ("HIDE_MESSAGE", "Looked at it"),
        ("DELETE_MESSAGE", None),
        ("SUSPEND_MEMBER", "Looked at it"),
        ("UNSUSPEND_MEMBER", None),
    ],
)
async def test_every_moderator_action_is_audited(
    gql: Client,
    cast: dict[str, User],
    thread: tuple[str, list[str]],
    action: str,
    reason: str | None,
) -> None:
    fields = await act(gql, action, cast, thread)

    response = await gql(AUDIT, as_member="root")

    entry = {
        "actor": {"username": "grace"},
        "action": action,
        "subject": {"username": "ada"},  # the message's author, or the member acted on
        "fields": fields,
        "reason": reason,
    }
    assert response == {"data": {"auditLog": {"edges": [{"node": entry}]}}}


# ------------------------------------------------------------------ private messages


@pytest.fixture
async def private(gql: Client, cast: dict[str, User]) -> tuple[str, str]:
    """A conversation of ada and bob with two messages: its ID and ada's second message."""
    conversation_id, _ = await start_conversation(gql, "ada", [cast["bob"]], "Secret", "Hi")
    return conversation_id, await send(gql, "ada", conversation_id, "Rude words")


async def test_a_moderator_reaches_no_private_message_by_id(
    gql: Client, private: tuple[str, str]
) -> None:
    await report(gql, "bob", private[1], "Harassment")

    response = await gql(
        "query($c: ID!, $m: ID!) { conversation(id: $c) { title } "
        "c: node(id: $c) { id } m: node(id: $m) { id } }",
        {"c": private[0], "m": private[1]},
        as_member="grace",
    )

    assert response == {"data": {"conversation": None, "c": None, "m": None}}


async def test_a_reported_private_message_reaches_moderators_through_the_report_only(
    gql: Client, private: tuple[str, str]
) -> None:
    await report(gql, "bob", private[1], "Harassment")

    response = await gql(
        "{ reports { edges { node { message { body author { username } conversation { title } } "
        "context { body } } } } }",
        as_member="grace",
    )

    node = {
        "message": {"body": "Rude words", "author": {"username": "ada"}, "conversation": None},
        "context": [{"body": "Hi"}, {"body": "Rude words"}],
    }
    assert response == {"data": {"reports": {"edges": [{"node": node}]}}}


async def test_a_moderator_hides_a_private_message_only_once_it_is_reported(
    gql: Client, private: tuple[str, str]
) -> None:
    variables = {"i": {"messageId": private[1], "reason": "Harassment"}}

    before = await gql(HIDE, variables, as_member="grace")
    await report(gql, "bob", private[1], "Harassment")
    after = await gql(HIDE, variables, as_member="grace")

    errors = refused("MESSAGE_NOT_FOUND", "There is no such message.", "messageId")
    assert before == {"data": {"hideMessage": {"message": None, "userErrors": errors}}}
    hidden = {"body": "", "hidden": True}
    assert after == {"data": {"hideMessage": {"message": hidden, "userErrors": []}}}
