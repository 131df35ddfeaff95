"""The schema as client caches need it: every Node type answers `node(id:)` and
`nodes(ids:)`, by the same access rules as its other paths."""

from __future__ import annotations

from typing import Any

import pytest

from models.accounts import User
from models.audit import AuditEntry
from models.base import Role
from tests.forum import gid, member, new_forum, open_thread, start_conversation
from tests.harness import Client
from tests.sqlcount import count_statements

NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"

REPORT = """
mutation($i: ReportMessageInput!) {
  reportMessage(input: $i) { report { id } userErrors { code } }
}
"""
CORRECTION = """
mutation($i: RequestCorrectionInput!) {
  requestCorrection(input: $i) { correctionRequest { id } userErrors { code } }
}
"""
LEAVE = """
mutation($i: ConversationInput!) {
  leaveConversation(input: $i) { userErrors { code } }
}
"""


async def cast(gql: Client) -> dict[str, User]:
    """Ada and Bob (members), Mod (a moderator), Root (an admin), all signed in."""
    return {
        "ada": await member(gql, "ada"),
        "bob": await member(gql, "bob"),
        "mod": await member(gql, "mod", role=Role.MODERATOR),
        "root": await member(gql, "root", role=Role.ADMIN),
    }


async def report(gql: Client, reporter: str, message_id: str) -> str:
    """`reporter` reports a message through the API; return the report's ID."""
    variables = {"i": {"messageId": message_id, "reason": "This is spam."}}
    response = await gql(REPORT, variables, as_member=reporter)
    assert response["data"]["reportMessage"]["userErrors"] == [], response
    return response["data"]["reportMessage"]["report"]["id"]


async def correction(gql: Client, asker: str) -> str:
    """`asker` asks for a username correction; return the request's ID."""
    variables = {"i": {"field": "username", "proposedValue": f"{asker}_x", "reason": "Typo."}}
    response = await gql(CORRECTION, variables, as_member=asker)
    assert response["data"]["requestCorrection"]["userErrors"] == [], response
    return response["data"]["requestCorrection"]["correctionRequest"]["id"]


async def audit_entry(actor: User, subject: User) -> str:
    """An entry of `actor` reading `subject`'s profile, as privilegedProfile writes it."""
    row = await AuditEntry.create(
        actor_id=actor.id,
        action="READ_PRIVATE_PROFILE",
        subject_id=subject.id,
        fields_read=["email"],
        reason="Spam check",
    )
    return gid("AuditEntry", row.id)


def node(type_name: str, global_id: str, visible: bool) -> dict[str, Any]:
    """The answer to NODE."""
    found = {"__typename": type_name, "id": global_id} if visible else None
    return {"data": {"node": found}}


VIEWERS = ["ada", "bob", "mod", "root", None]


@pytest.mark.parametrize(
    ("viewer", "visible"),
    [("ada", True), ("bob", False), ("mod", False), ("root", True), (None, False)],
)
async def test_node_answers_an_audit_entry_to_admins_and_its_subject(
    gql: Client, viewer: str | None, visible: bool
) -> None:
    people = await cast(gql)
    entry = await audit_entry(people["mod"], people["ada"])

    response = await gql(NODE, {"id": entry}, as_member=viewer)

    assert response == node("AuditEntry", entry, visible)


@pytest.mark.parametrize(
    ("viewer", "visible"),
    [("ada", True), ("bob", False), ("mod", True), ("root", True), (None, False)],
)
async def test_node_answers_a_correction_request_to_its_member_and_staff(
    gql: Client, viewer: str | None, visible: bool
) -> None:
    await cast(gql)
    request = await correction(gql, "ada")

    response = await gql(NODE, {"id": request}, as_member=viewer)

    assert response == node("CorrectionRequest", request, visible)


@pytest.mark.parametrize(
    ("viewer", "visible"),
    [("ada", True), ("bob", False), ("mod", True), ("root", True), (None, False)],
)
async def test_node_answers_a_report_to_staff_and_its_reporter(
    gql: Client, viewer: str | None, visible: bool
) -> None:
    await cast(gql)
    _, message = await open_thread(gql, "bob", await new_forum())
    made = await report(gql, "ada", message)

    response = await gql(NODE, {"id": made}, as_member=viewer)

    assert response == node("Report", made, visible)


async def test_node_hides_a_report_from_a_reporter_who_left_its_conversation(
    gql: Client,
) -> None:
    people = await cast(gql)
    conversation, message = await start_conversation(gql, "bob", [people["ada"]])
    made = await report(gql, "ada", message)
    left = await gql(LEAVE, {"i": {"conversationId": conversation}}, as_member="ada")
    assert left["data"]["leaveConversation"]["userErrors"] == []

    response = await gql(NODE, {"id": made}, as_member="ada")

    assert response == node("Report", made, visible=False)


async def test_node_still_answers_a_report_to_staff_after_the_reporter_left(
    gql: Client,
) -> None:
    people = await cast(gql)
    conversation, message = await start_conversation(gql, "bob", [people["ada"]])
    made = await report(gql, "ada", message)
    await gql(LEAVE, {"i": {"conversationId": conversation}}, as_member="ada")

    response = await gql(NODE, {"id": made}, as_member="mod")

    assert response == node("Report", made, visible=True)


async def test_nodes_answers_in_order_with_null_for_missing_and_hidden_objects(
    gql: Client,
) -> None:
    people = await cast(gql)
    thread, message = await open_thread(gql, "bob", await new_forum())
    conversation, private = await start_conversation(gql, "bob", [people["mod"]])
    hidden_entry = await audit_entry(people["mod"], people["bob"])
    own_entry = await audit_entry(people["mod"], people["ada"])
    asked = [
        message,
        gid("User", people["bob"].id),
        private,  # a conversation ada is not in
        gid("Message", 999_999),  # none
        thread,
        conversation,
        hidden_entry,
        own_entry,
        gid("Nothing", 1),  # no such type
    ]

    response = await gql(NODES, {"ids": asked}, as_member="ada")

    assert response == {
        "data": {
            "nodes": [
                {"__typename": "Message", "id": message},
                {"__typename": "User", "id": gid("User", people["bob"].id)},
                None,
                None,
                {"__typename": "Thread", "id": thread},
                None,
                None,
                {"__typename": "AuditEntry", "id": own_entry},
                None,
            ]
        }
    }


async def test_nodes_answers_an_empty_list_for_no_ids(gql: Client) -> None:
    response = await gql(NODES, {"ids": []})

    assert response == {"data": {"nodes": []}}


async def test_nodes_refuses_more_than_100_ids(gql: Client) -> None:
    response = await gql(NODES, {"ids": [gid("User", n) for n in range(1, 102)]})

    assert response == {
        "data": None,
        "errors": [
            {
                "message": "Ask for at most 100 IDs at a time.",
                "locations": [{"line": 1, "column": 23}],
                "path": ["nodes"],
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
    }


async def test_nodes_takes_exactly_100_ids(gql: Client) -> None:
    response = await gql(NODES, {"ids": [gid("User", n) for n in range(1, 101)]})

    assert response == {"data": {"nodes": [None] * 100}}


async def test_nodes_refuses_a_malformed_id_like_node(gql: Client) -> None:
    response = await gql(NODES, {"ids": [gid("User", 1), "not an id!"]})

    assert response == {
        "data": None,
        "errors": [
            {
                "message": "That is not a valid ID.",
                "locations": [{"line": 1, "column": 23}],
                "path": ["nodes"],
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
    }


async def _one_of_each_type(gql: Client, people: dict[str, User], n: int) -> list[str]:
    """IDs of a new object of every Node type that an admin (root) may see."""
    forum = await new_forum(slug=f"f{n}")
    thread, message = await open_thread(gql, "ada", forum)
    conversation, private = await start_conversation(gql, "ada", [people["root"]])
    return [
        gid("Forum", forum.id),
        thread,
        message,
        conversation,
        private,
        gid("User", people["bob"].id),
        await report(gql, "root", message),
        await audit_entry(people["mod"], people["ada"]),
        await correction(gql, "ada" if n % 2 else "root"),
    ]


async def _statements(gql: Client, asked: list[str]) -> int:
    with count_statements() as statements:
        response = await gql(NODES, {"ids": asked}, as_member="root")
    assert len(response["data"]["nodes"]) == len(asked)
    assert None not in response["data"]["nodes"], response
    return statements.count


async def test_nodes_reads_each_type_in_one_batch_however_many_ids(gql: Client) -> None:
    people = await cast(gql)
    sets = [await _one_of_each_type(gql, people, n) for n in range(4)]

    few = await _statements(gql, sets[0])
    many = await _statements(gql, [global_id for found in sets for global_id in found])

    assert many == few
