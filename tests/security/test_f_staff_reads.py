"""SECURITY.md rows E7/F14, extended by issue 14: every staff read of a member's private
data reaches that member's privacyReads (and data export), including the messages
around a reported private message and the members an address match shows.

The cast: ada, bob and cy share a private conversation (ada 1, bob 2, cy 3, ada 4,
bob 5); bob reports cy's message 3, so its context is all five. mo is a moderator,
boss an admin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from models.accounts import User
from models.audit import AuditEntry
from models.base import Role
from tests.support.documents import EXPORT_CODE
from tests.support.forum import gid, new_forum, open_thread, pk, send, start_conversation
from tests.support.harness import Client
from tests.support.members import member

REPORT = """mutation($i: ReportMessageInput!) {
  reportMessage(input: $i) { report { id context { body } } userErrors { code } }
}"""
REPORTS_WITH_CONTEXT = "{ reports { edges { node { context { body } } } } }"
REPORTED_MESSAGE_ONLY = "{ reports { edges { node { message { body } } } } }"
RESOLVE = """mutation($id: ID!) {
  resolveReport(input: {reportId: $id, action: DISMISS}) {
    report { message { body } context { body } } userErrors { code }
  }
}"""
READS = """{ viewer { privacyReads { edges { node {
  actor { username } action subject { username } fields reason
} } } } }"""
MATCH = """query($id: ID!) {
  accountsSharingAddress(userId: $id, reason: "Ban evasion, report 12") { user { username } }
}"""
CONTEXT_BODIES = [{"body": body} for body in ("one", "two", "three", "four", "five")]


@dataclass(frozen=True)
class Story:
    """Who is who, the five private messages in order, and bob's report of the third."""

    ada: User
    bob: User
    cy: User
    messages: list[str]
    report: str


async def report(gql: Client, reporter: str, message_id: str) -> str:
    """Report a message through the API; return the report's ID."""
    variables = {"i": {"messageId": message_id, "reason": "Threatening me"}}
    response = await gql(REPORT, variables, as_member=reporter)
    assert response["data"]["reportMessage"]["userErrors"] == [], response
    return response["data"]["reportMessage"]["report"]["id"]


@pytest.fixture
async def story(gql: Client) -> Story:
    """The conversation and bob's report, everyone signed in on gql."""
    ada = await member(gql, "ada")
    bob = await member(gql, "bob")
    cy = await member(gql, "cy")
    await member(gql, "mo", role=Role.MODERATOR)
    await member(gql, "boss", role=Role.ADMIN)
    conversation, first = await start_conversation(gql, "ada", [bob, cy], "Us three", "one")
    messages = [first]
    for author, body in (("bob", "two"), ("cy", "three"), ("ada", "four"), ("bob", "five")):
        messages.append(await send(gql, author, conversation, body))
    return Story(ada, bob, cy, messages, await report(gql, "bob", messages[2]))


def told(story: Story, who: str, *numbers: int) -> dict[str, Any]:
    """A member's privacyReads holding one entry: mo read these of their messages (1-5)."""
    entry = {
        "actor": {"username": "mo"},
        "action": "READ_REPORTED_CONVERSATION",
        "subject": {"username": who},
        "fields": [f"message:{pk(story.messages[n - 1])}" for n in numbers],
        "reason": f"report:{pk(story.report)}",
    }
    return {"data": {"viewer": {"privacyReads": {"edges": [{"node": entry}]}}}}


NOTHING_READ = {"data": {"viewer": {"privacyReads": {"edges": []}}}}


async def reads(gql: Client) -> dict[str, dict[str, Any]]:
    """Each participant's privacyReads."""
    return {who: await gql(READS, as_member=who) for who in ("ada", "bob", "cy")}


async def test_F14_each_author_in_a_reported_conversations_context_is_told(
    gql: Client, story: Story
) -> None:
    listed = await gql(REPORTS_WITH_CONTEXT, as_member="mo")

    assert listed == {"data": {"reports": {"edges": [{"node": {"context": CONTEXT_BODIES}}]}}}
    assert await reads(gql) == {
        "ada": told(story, "ada", 1, 4),
        "bob": told(story, "bob", 2, 5),  # the reporter's own messages were shown too
        "cy": told(story, "cy", 3),
    }


async def test_F14_the_reported_messages_author_is_told_when_only_it_is_shown(
    gql: Client, story: Story
) -> None:
    await gql(REPORTED_MESSAGE_ONLY, as_member="mo")

    assert await reads(gql) == {
        "ada": NOTHING_READ,
        "bob": NOTHING_READ,
        "cy": told(story, "cy", 3),
    }


async def test_F14_resolve_reports_payload_tells_each_author_it_shows(
    gql: Client, story: Story
) -> None:
    response = await gql(RESOLVE, {"id": story.report}, as_member="mo")

    shown = {"message": {"body": "three"}, "context": CONTEXT_BODIES}
    assert response == {"data": {"resolveReport": {"report": shown, "userErrors": []}}}
    dismissed = {
        "actor": {"username": "mo"},
        "action": "DISMISS_REPORT",
        "subject": {"username": "cy"},
        "fields": [f"report:{pk(story.report)}"],
        "reason": None,
    }
    (read,) = told(story, "cy", 3)["data"]["viewer"]["privacyReads"]["edges"]
    assert await reads(gql) == {
        "ada": told(story, "ada", 1, 4),
        "bob": told(story, "bob", 2, 5),
        "cy": {"data": {"viewer": {"privacyReads": {"edges": [read, {"node": dismissed}]}}}},
    }


async def test_F14_one_request_showing_a_report_twice_tells_each_author_once(
    gql: Client, story: Story
) -> None:
    query = """{ a: reports { edges { node { message { body } } } }
                 b: reports { edges { node { context { body } message { body } } } } }"""

    await gql(query, as_member="mo")

    assert await reads(gql) == {
        "ada": told(story, "ada", 1, 4),
        "bob": told(story, "bob", 2, 5),
        "cy": told(story, "cy", 3),
    }


async def test_F14_more_of_an_authors_messages_shown_later_extend_her_one_entry(
    gql: Client,
) -> None:
    ada = await member(gql, "ada")
    bob = await member(gql, "bob")
    await member(gql, "mo", role=Role.MODERATOR)
    conversation, first = await start_conversation(gql, "ada", [bob], "Two of us", "a1")
    second = await send(gql, "ada", conversation, "a2")
    await send(gql, "bob", conversation, "b1")
    reported = await report(gql, "bob", second)

    # The reported message shows ada's second message, its context her first one too.
    query = "{ reports { edges { node { message { body } context { body } } } } }"
    await gql(query, as_member="mo")

    entries = await AuditEntry.filter(subject_id=ada.id).values_list(
        "action", "fields_read", "reason"
    )
    shown = [f"message:{pk(first)}", f"message:{pk(second)}"]
    assert entries == [("READ_REPORTED_CONVERSATION", shown, f"report:{pk(reported)}")]


async def test_F14_each_new_request_that_shows_the_report_is_told_again(
    gql: Client, story: Story
) -> None:
    await gql(REPORTED_MESSAGE_ONLY, as_member="mo")
    await gql(REPORTED_MESSAGE_ONLY, as_member="mo")

    response = await gql(READS, as_member="cy")

    (entry,) = told(story, "cy", 3)["data"]["viewer"]["privacyReads"]["edges"]
    assert response == {"data": {"viewer": {"privacyReads": {"edges": [entry, entry]}}}}


async def test_F14_the_read_is_in_each_members_data_export(gql: Client, story: Story) -> None:
    await gql(REPORTS_WITH_CONTEXT, as_member="mo")
    (entry,) = await AuditEntry.filter(subject_id=story.ada.id)

    response = await gql(EXPORT_CODE, as_member="ada")

    assert response["data"]["exportMyData"]["export"]["privacyReads"] == [
        {
            "by": "mo",
            "action": "READ_REPORTED_CONVERSATION",
            "fields": [f"message:{pk(story.messages[0])}", f"message:{pk(story.messages[3])}"],
            "reason": f"report:{pk(story.report)}",
            "at": entry.created_at.isoformat(),
        }
    ]


async def test_F14_a_moderators_own_messages_in_the_context_need_no_entry(
    gql: Client, story: Story
) -> None:
    mo = await User.get(username="mo")
    conversation, mine = await start_conversation(gql, "mo", [story.ada], "Quick one", "mine")
    theirs = await send(gql, "ada", conversation, "hers")
    await report(gql, "ada", theirs)

    await gql("{ reports(status: OPEN) { edges { node { context { body } } } } }", as_member="mo")

    subjects = await AuditEntry.filter(action="READ_REPORTED_CONVERSATION").values_list(
        "subject_id", "fields_read"
    )
    assert mo.id not in {subject for subject, _ in subjects}
    assert (story.ada.id, [f"message:{pk(theirs)}"]) in subjects
    assert f"message:{pk(mine)}" not in str(subjects)


async def test_F14_the_reporter_seeing_her_own_report_is_no_staff_read(
    gql: Client, story: Story
) -> None:
    variables = {"i": {"messageId": story.messages[1], "reason": "Rude"}}

    response = await gql(REPORT, variables, as_member="cy")

    assert response["data"]["reportMessage"]["report"]["context"] == CONTEXT_BODIES[:4]
    assert await AuditEntry.all().count() == 0


async def test_F14_a_report_of_a_public_message_is_no_private_read(gql: Client) -> None:
    await member(gql, "ada")
    await member(gql, "bob")
    await member(gql, "mo", role=Role.MODERATOR)
    _, opener = await open_thread(gql, "ada", await new_forum(), "Open", "Hello all")
    await report(gql, "bob", opener)

    await gql(
        "{ reports { edges { node { message { body } context { body } } } } }", as_member="mo"
    )

    assert await AuditEntry.all().values_list("action", flat=True) == ["READ_REPORTS"]


# ------------------------------------------------------------------ accountsSharingAddress


async def test_F14_each_member_an_address_match_shows_is_told(gql: Client, story: Story) -> None:
    # Everyone wrote from the test client's address, so ada's match shows bob and cy.
    matched = await gql(MATCH, {"id": gid("User", story.ada.id)}, as_member="mo")
    seen = await reads(gql)

    shown = [{"user": {"username": "bob"}}, {"user": {"username": "cy"}}]
    assert matched == {"data": {"accountsSharingAddress": shown}}
    assert seen == {
        "ada": matched_entry("MATCH_SHARED_ADDRESSES", "ada"),
        "bob": matched_entry("MATCHED_SHARED_ADDRESS", "bob"),
        "cy": matched_entry("MATCHED_SHARED_ADDRESS", "cy"),
    }


def matched_entry(action: str, who: str) -> dict[str, Any]:
    """A member's privacyReads holding one entry of mo's address match on ada."""
    entry = {
        "actor": {"username": "mo"},
        "action": action,
        "subject": {"username": who},
        "fields": ["accountsSharingAddress"],
        "reason": "Ban evasion, report 12",
    }
    return {"data": {"viewer": {"privacyReads": {"edges": [{"node": entry}]}}}}
