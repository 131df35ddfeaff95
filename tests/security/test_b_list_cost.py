"""SECURITY.md row B2, extended by issue 14: the query price counted connections only,
so a plain list (`participants`, `forums`, `context`, ...) multiplied the connections
nested in it for free. The price now knows the schema: a plain list counts as a page of
its bound (21 participants, a report's 5 messages of context, 50 where nothing bounds
it) and multiplies what is nested under it, through fragments and their type
conditions too. The inbox and the thread page the frontend sends still run.
"""

from __future__ import annotations

from typing import Any

import pytest

from bench.queries import INBOX, PAGE_SIZE, THREAD_PAGE
from models.base import Role
from tests.support.cost import answer_without_sql, over_budget
from tests.support.forum import new_forum, open_thread, reply, start_conversation
from tests.support.harness import Client
from tests.support.members import member

FOLLOWERS = "followers(first: 100) { edges { node { username } } }"
PRICED = {
    # 100 conversations x (21 participants + 21 x 100 followers)
    "participants": (
        "{ conversations(first: 100) { edges { node { "
        f"participants {{ {FOLLOWERS} }} }} }} }} }}",
        100 + 100 * (21 + 21 * 100),
    ),
    # 50 forums x (100 threads + 100 x 100 messages)
    "forums": (
        "{ forums { threads(first: 100) { edges { node { "
        "messages(first: 100) { edges { node { body } } } } } } } }",
        50 + 50 * (100 + 100 * 100),
    ),
    # 100 reports x (5 messages of context + 5 x 100 followers of their authors)
    "context": (
        "{ reports(first: 100) { edges { node { "
        f"context {{ author {{ {FOLLOWERS} }} }} }} }} }} }}",
        100 + 100 * (5 + 5 * 100),
    ),
    # The same as "participants", through fragments on their own types.
    "fragments": (
        "{ ...Inbox } fragment Inbox on Query { conversations(first: 100) { edges { node { "
        "...People } } } } fragment People on Conversation { participants { ...Fans } } "
        f"fragment Fans on User {{ {FOLLOWERS} }}",
        100 + 100 * (21 + 21 * 100),
    ),
    # An inline fragment names the type whose fields it prices.
    "inline fragment": (
        "{ forums { ... on Forum { threads(first: 100) { edges { node { "
        "messages(first: 100) { edges { node { body } } } } } } } } }",
        50 + 50 * (100 + 100 * 100),
    ),
}


@pytest.mark.parametrize("name", PRICED)
async def test_B2_a_plain_list_multiplies_the_pages_nested_in_it(gql: Client, name: str) -> None:
    query, price = PRICED[name]
    await member(gql, "mo", role=Role.MODERATOR)

    response = await answer_without_sql(gql, query)

    assert response == over_budget(price)


async def test_B2_a_list_of_plain_values_costs_nothing_extra(gql: Client) -> None:
    # AuditEntry.fields is a list of strings that comes with its row.
    await member(gql, "boss", role=Role.ADMIN)
    query = "{ auditLog(first: 100) { edges { node { fields actor { username } } } } }"

    assert await gql(query, as_member="boss") == {"data": {"auditLog": {"edges": []}}}


async def test_B2_the_frontends_inbox_still_runs(gql: Client) -> None:
    ada = await member(gql, "ada")
    await member(gql, "bob")
    await start_conversation(gql, "bob", [ada], "Walk?", "Saturday at ten")

    response = await gql(INBOX, as_member="ada")

    assert "errors" not in response
    (edge,) = response["data"]["conversations"]["edges"]
    conversation = edge["node"]
    assert [p["username"] for p in conversation["participants"]] == ["bob", "ada"]
    (message,) = conversation["messages"]["edges"]
    assert message["node"]["bodyHtml"] == "<p>Saturday at ten</p>\n"


async def test_B2_the_frontends_thread_page_still_runs(gql: Client) -> None:
    await member(gql, "ada")
    thread_id, _ = await open_thread(gql, "ada", await new_forum(), "Plans", "First!")
    await reply(gql, "ada", thread_id, "Second")

    response: dict[str, Any] = await gql(THREAD_PAGE, {"id": thread_id, "first": PAGE_SIZE})

    assert "errors" not in response
    bodies = [edge["node"]["bodyHtml"] for edge in response["data"]["thread"]["messages"]["edges"]]
    assert bodies == ["<p>First!</p>\n", "<p>Second</p>\n"]
