"""Evidence that stays: a report's frozen snapshot, a message's earlier texts for its
author and staff, unhideMessage, and a report's resolution; staff reads of a private
message's evidence are told to its author."""

from __future__ import annotations

from datetime import datetime

import pytest

from models.accounts import User
from models.blocks import Block
from models.messages import Message
from tests.support.forum import gid, new_forum, open_thread, pk, refused, send, start_conversation
from tests.support.harness import Client
from tests.support.staff import UNHIDE, audit_log, staff_cast

REASON = "Checked the appeal"
REPORT = """mutation($i: ReportMessageInput!) {
  reportMessage(input: $i) { report { id snapshot } userErrors { code } }
}"""
QUEUE = "query { reports { edges { node { snapshot message { body deleted hidden } } } } }"
EDIT = """mutation($i: EditMessageInput!) {
  editMessage(input: $i) { userErrors { code } }
}"""
DELETE = "mutation($i: DeleteMessageInput!) { deleteMessage(input: $i) { userErrors { code } } }"
HIDE = "mutation($i: HideMessageInput!) { hideMessage(input: $i) { userErrors { code } } }"
REVISIONS = """query($id: ID!) {
  node(id: $id) { ... on Message { body revisions { body createdAt } } }
}"""
RESOLVE = """mutation($i: ResolveReportInput!) {
  resolveReport(input: $i) {
    report { status resolvedAt resolvedBy { username } note } userErrors { code }
  }
}"""
READS = "query { viewer { privacyReads { edges { node { action fields reason } } } } }"


@pytest.fixture
async def cast(gql: Client) -> dict[str, User]:
    """ada and bob (members), grace (moderator) and root (admin), signed in."""
    return await staff_cast(gql)


@pytest.fixture
async def message(gql: Client, cast: dict[str, User]) -> str:
    """ada's public message, "Original", in a thread."""
    _, message_id = await open_thread(gql, "ada", await new_forum(), "Soup", "Original")
    return message_id


async def ok(gql: Client, query: str, variables: dict, as_member: str) -> dict:
    response = await gql(query, variables, as_member=as_member)
    (payload,) = response["data"].values()
    assert payload["userErrors"] == [], response
    return payload


async def report(gql: Client, message_id: str, reporter: str = "bob") -> dict:
    variables = {"i": {"messageId": message_id, "reason": "Rude"}}
    return (await ok(gql, REPORT, variables, reporter))["report"]


async def edit(gql: Client, message_id: str, body: str) -> None:
    await ok(gql, EDIT, {"i": {"messageId": message_id, "body": body}}, "ada")


async def test_the_snapshot_outlives_an_edit_a_hide_and_a_deletion(
    gql: Client, message: str
) -> None:
    await report(gql, message)
    await edit(gql, message, "Edited to look harmless")
    await ok(gql, HIDE, {"i": {"messageId": message, "reason": "Rude reply"}}, "grace")
    await ok(gql, DELETE, {"i": {"messageId": message}}, "ada")

    response = await gql(QUEUE, as_member="grace")

    node = {"snapshot": "Original", "message": {"body": "", "deleted": True, "hidden": True}}
    assert response == {"data": {"reports": {"edges": [{"node": node}]}}}


async def test_a_moderator_who_blocked_the_author_still_reads_the_reported_text(
    gql: Client, cast: dict[str, User], message: str
) -> None:
    await Block.create(blocker_id=cast["grace"].id, blocked_id=cast["ada"].id)
    await report(gql, message)

    queue = await gql(QUEUE, as_member="grace")
    history = await gql(REVISIONS, {"id": message}, as_member="grace")

    node = {"snapshot": "Original", "message": {"body": "", "deleted": False, "hidden": False}}
    assert queue == {"data": {"reports": {"edges": [{"node": node}]}}}
    assert history == {"data": {"node": {"body": "", "revisions": []}}}


async def test_the_reporter_is_never_shown_the_snapshot(gql: Client, message: str) -> None:
    made = await report(gql, message)

    assert made["snapshot"] == ""


async def test_a_member_cannot_reach_the_report_queue(gql: Client, message: str) -> None:
    await report(gql, message)

    response = await gql(QUEUE, as_member="bob")

    assert response["data"] == {"reports": None}
    assert response["errors"][0]["extensions"] == {"code": "FORBIDDEN"}


async def revisions(gql: Client, message_id: str, viewer: str | None) -> list | None:
    response = await gql(REVISIONS, {"id": message_id}, as_member=viewer)
    return response["data"]["node"]["revisions"]


@pytest.mark.parametrize("viewer", ["ada", "grace", "root"])
async def test_the_author_and_staff_read_every_earlier_text_oldest_first(
    gql: Client, message: str, viewer: str
) -> None:
    await edit(gql, message, "Second")
    await edit(gql, message, "Third")

    found = await revisions(gql, message, viewer)

    row = await Message.get(id=pk(message)).prefetch_related("edits")
    written = [row.created_at, *(e.edited_at for e in sorted(row.edits, key=lambda e: e.id))]
    assert found == [
        {"body": "Original", "createdAt": written[0].isoformat()},
        {"body": "Second", "createdAt": written[1].isoformat()},
    ]
    assert [datetime.fromisoformat(r["createdAt"]) for r in found] == written[:2]


@pytest.mark.parametrize("viewer", ["bob", None])
async def test_anyone_else_reads_null_revisions(
    gql: Client, message: str, viewer: str | None
) -> None:
    await edit(gql, message, "Second")

    assert await revisions(gql, message, viewer) is None


async def test_a_message_never_edited_has_no_revisions(gql: Client, message: str) -> None:
    assert await revisions(gql, message, "ada") == []


async def test_staff_read_a_hidden_messages_text_through_its_revisions(
    gql: Client, message: str
) -> None:
    await edit(gql, message, "Worse")
    await ok(gql, HIDE, {"i": {"messageId": message, "reason": "Rude reply"}}, "grace")

    response = await gql(REVISIONS, {"id": message}, as_member="grace")

    node = {
        "body": "",
        "revisions": [
            {"body": "Original", "createdAt": response["data"]["node"]["revisions"][0]["createdAt"]}
        ],
    }
    assert response == {"data": {"node": node}}


# ---------------------------------------------------------------- private messages


@pytest.fixture
async def private(gql: Client, cast: dict[str, User]) -> str:
    """A message ada sent bob in a conversation, then edited."""
    conversation_id, _ = await start_conversation(gql, "bob", [cast["ada"]], "Hello there", "Hi")
    message_id = await send(gql, "ada", conversation_id, "Original")
    await edit(gql, message_id, "Edited")
    return message_id


async def test_a_moderator_in_the_conversation_reads_no_revisions_until_it_is_reported(
    gql: Client, cast: dict[str, User]
) -> None:
    conversation_id, _ = await start_conversation(gql, "grace", [cast["ada"]], "Hello there")
    message_id = await send(gql, "ada", conversation_id, "Original")
    await edit(gql, message_id, "Edited")

    assert await revisions(gql, message_id, "grace") is None
    assert await audit_log(gql) == []


async def test_staff_read_a_reported_private_messages_revisions_and_its_author_is_told(
    gql: Client, private: str
) -> None:
    made = await report(gql, private)
    query = "query { reports { edges { node { id message { revisions { body } } } } } }"

    response = await gql(query, as_member="grace")
    reads = await gql(READS, as_member="ada")

    node = {"id": made["id"], "message": {"revisions": [{"body": "Original"}]}}
    assert response == {"data": {"reports": {"edges": [{"node": node}]}}}
    entry = {
        "action": "READ_REPORTED_CONVERSATION",
        "fields": [f"message:{pk(private)}"],
        "reason": f"report:{pk(made['id'])}",
    }
    assert reads == {"data": {"viewer": {"privacyReads": {"edges": [{"node": entry}]}}}}


async def test_staff_reading_a_private_snapshot_is_told_to_its_author(
    gql: Client, private: str
) -> None:
    made = await report(gql, private)

    response = await gql("query { reports { edges { node { snapshot } } } }", as_member="grace")
    reads = await gql(READS, as_member="ada")

    assert response == {"data": {"reports": {"edges": [{"node": {"snapshot": "Edited"}}]}}}
    entry = {
        "action": "READ_REPORTED_CONVERSATION",
        "fields": [f"message:{pk(private)}"],
        "reason": f"report:{pk(made['id'])}",
    }
    assert reads == {"data": {"viewer": {"privacyReads": {"edges": [{"node": entry}]}}}}


# ---------------------------------------------------------------- unhiding, resolving


async def test_a_moderator_unhides_a_hidden_message(gql: Client, message: str) -> None:
    await ok(gql, HIDE, {"i": {"messageId": message, "reason": "Rude reply"}}, "grace")

    response = await gql(UNHIDE, {"i": {"messageId": message, "reason": REASON}}, as_member="grace")

    unhidden = {"message": {"body": "Original", "hidden": False}, "userErrors": []}
    assert response == {"data": {"unhideMessage": unhidden}}


async def test_unhiding_leaves_the_authors_deletion_in_place(gql: Client, message: str) -> None:
    await ok(gql, HIDE, {"i": {"messageId": message, "reason": "Rude reply"}}, "grace")
    await ok(gql, DELETE, {"i": {"messageId": message}}, "ada")

    response = await gql(UNHIDE, {"i": {"messageId": message, "reason": REASON}}, as_member="grace")

    unhidden = {"message": {"body": "", "hidden": False}, "userErrors": []}
    assert response == {"data": {"unhideMessage": unhidden}}


async def test_unhiding_an_unknown_or_unreported_private_message_is_refused(
    gql: Client, private: str
) -> None:
    for message_id in (gid("Message", 999), private):
        response = await gql(
            UNHIDE, {"i": {"messageId": message_id, "reason": REASON}}, as_member="grace"
        )

        errors = refused("MESSAGE_NOT_FOUND", "There is no such message.", "messageId")
        assert response == {"data": {"unhideMessage": {"message": None, "userErrors": errors}}}


@pytest.mark.parametrize("reason", ["", "ab"])
async def test_unhiding_needs_a_reason(gql: Client, message: str, reason: str) -> None:
    await ok(gql, HIDE, {"i": {"messageId": message, "reason": "Rude reply"}}, "grace")

    response = await gql(UNHIDE, {"i": {"messageId": message, "reason": reason}}, as_member="grace")

    errors = refused("REASON_INVALID", "Give a reason of 3 to 500 characters.", "reason")
    assert response == {"data": {"unhideMessage": {"message": None, "userErrors": errors}}}
    assert (await Message.get(id=pk(message))).hidden_at is not None


async def test_unhiding_is_audited(gql: Client, message: str) -> None:
    await gql(UNHIDE, {"i": {"messageId": message, "reason": REASON}}, as_member="grace")

    assert await audit_log(gql) == [
        {
            "actor": {"username": "grace"},
            "action": "UNHIDE_MESSAGE",
            "subject": {"username": "ada"},
            "fields": [f"message:{pk(message)}"],
            "reason": REASON,
        }
    ]


async def test_a_resolved_report_says_who_resolved_it_when_and_with_what_note(
    gql: Client, message: str
) -> None:
    made = await report(gql, message)
    variables = {"i": {"reportId": made["id"], "action": "DISMISS", "note": "Banter"}}

    response = await gql(RESOLVE, variables, as_member="grace")

    resolved = response["data"]["resolveReport"]["report"]
    assert resolved["resolvedAt"] is not None
    assert {**resolved, "resolvedAt": None} == {
        "status": "DISMISSED",
        "resolvedAt": None,
        "resolvedBy": {"username": "grace"},
        "note": "Banter",
    }


async def test_the_reporter_reads_the_outcome_but_not_the_moderator_or_the_note(
    gql: Client, message: str
) -> None:
    made = await report(gql, message)
    variables = {"i": {"reportId": made["id"], "action": "DISMISS", "note": "Banter"}}
    await gql(RESOLVE, variables, as_member="grace")
    query = """query($id: ID!) {
      node(id: $id) { ... on Report { status resolvedBy { username } note } }
    }"""

    response = await gql(query, {"id": made["id"]}, as_member="bob")

    outcome = {"status": "DISMISSED", "resolvedBy": None, "note": None}
    assert response == {"data": {"node": outcome}}


async def test_an_open_report_has_no_resolution(gql: Client, message: str) -> None:
    await report(gql, message)

    response = await gql(
        "query { reports { edges { node { resolvedAt resolvedBy { username } note } } } }",
        as_member="grace",
    )

    node = {"resolvedAt": None, "resolvedBy": None, "note": None}
    assert response == {"data": {"reports": {"edges": [{"node": node}]}}}
