"""search is never a side door: conversations, hidden and deleted messages, left-out
authors and members' profiles never come out of it, for anyone, their writers included;
the index follows every edit, hiding, deletion and account deletion."""

from __future__ import annotations

from typing import Any

import pytest
from tortoise import connections

from models.accounts import User
from models.base import Role
from models.blocks import Block
from models.forums import Forum
from models.messages import Message, Thread
from resolvers import search
from tests.support.forum import new_forum, open_thread, pk, reply, send, start_conversation
from tests.support.harness import PASSWORD, Client
from tests.support.members import member, set_audiences, set_profile

SEARCH = """
query($q: String!) {
  search(query: $q) {
    edges { node { snippet message { id body author { username } } thread { title } } }
  }
}
"""
NOTHING = {"data": {"search": {"edges": []}}}
HIDE = """mutation($i: HideMessageInput!) { hideMessage(input: $i) { userErrors { code } } }"""
DELETE = (
    """mutation($i: DeleteMessageInput!) { deleteMessage(input: $i) { userErrors { code } } }"""
)
EDIT = """mutation($i: EditMessageInput!) { editMessage(input: $i) { userErrors { code } } }"""
LEAVE = """mutation($i: DeleteAccountInput!) { deleteAccount(input: $i) { userErrors { code } } }"""
VIEWERS = [None, "ada", "grace"]  # signed out, the writer, a moderator


def hit(message_id: str, body: str, author: str | None, title: str, snippet: str) -> dict:
    """One edge as SEARCH asks for it."""
    written = {"username": author} if author else None
    message = {"id": message_id, "body": body, "author": written}
    return {"node": {"snippet": snippet, "message": message, "thread": {"title": title}}}


def found(*hits: dict[str, Any]) -> dict[str, Any]:
    """The whole response of SEARCH."""
    return {"data": {"search": {"edges": list(hits)}}}


@pytest.fixture
async def forum(gql: Client) -> Forum:
    """A forum; ada and bob write, grace moderates."""
    await member(gql, "ada")
    await member(gql, "bob")
    await member(gql, "grace", role=Role.MODERATOR)
    return await new_forum()


async def ok(gql: Client, document: str, variables: dict[str, Any], as_member: str) -> None:
    """Run a mutation that must succeed."""
    response = await gql(document, variables, as_member=as_member)
    (payload,) = response["data"].values()
    assert payload["userErrors"] == [], response


@pytest.mark.parametrize("viewer", [None, "ada", "cleo", "bob"])  # bob takes no part
async def test_conversations_are_never_searched(
    gql: Client, forum: Forum, viewer: str | None
) -> None:
    cleo = await member(gql, "cleo")
    conversation, _ = await start_conversation(gql, "ada", [cleo], "Kohlrabi", "Kohlrabi soup?")
    await send(gql, "cleo", conversation, "Kohlrabi soup!")

    response = await gql(SEARCH, {"q": "kohlrabi"}, as_member=viewer)

    assert response == NOTHING


@pytest.mark.parametrize("viewer", VIEWERS)
async def test_a_hidden_message_never_matches(
    gql: Client, forum: Forum, viewer: str | None
) -> None:
    thread, _ = await open_thread(gql, "ada", forum, "Saturday", "Anyone about?")
    message = await reply(gql, "ada", thread, "Kohlrabi soup.")
    await ok(gql, HIDE, {"i": {"messageId": message, "reason": "Off topic"}}, "grace")

    response = await gql(SEARCH, {"q": "kohlrabi"}, as_member=viewer)

    assert response == NOTHING


@pytest.mark.parametrize("viewer", VIEWERS)
async def test_a_deleted_message_never_matches(
    gql: Client, forum: Forum, viewer: str | None
) -> None:
    thread, _ = await open_thread(gql, "ada", forum, "Saturday", "Anyone about?")
    message = await reply(gql, "ada", thread, "Kohlrabi soup.")
    await ok(gql, DELETE, {"i": {"messageId": message}}, "ada")

    response = await gql(SEARCH, {"q": "kohlrabi"}, as_member=viewer)

    assert response == NOTHING


async def test_a_hidden_first_message_takes_its_title_match_with_it(
    gql: Client, forum: Forum
) -> None:
    _, first = await open_thread(gql, "ada", forum, "Kohlrabi", "Who grows it?")
    await ok(gql, HIDE, {"i": {"messageId": first, "reason": "Spam"}}, "grace")

    response = await gql(SEARCH, {"q": "kohlrabi"}, as_member="ada")

    assert response == NOTHING


async def test_a_deleted_first_message_takes_its_title_match_with_it(
    gql: Client, forum: Forum
) -> None:
    thread, first = await open_thread(gql, "ada", forum, "Kohlrabi", "Who grows it?")
    await reply(gql, "bob", thread, "Me!")
    await ok(gql, DELETE, {"i": {"messageId": first}}, "ada")

    response = await gql(SEARCH, {"q": "kohlrabi"})

    # The title matches through the first message alone, and that is gone.
    assert response == NOTHING


async def test_an_edited_message_is_found_by_its_new_words_only(gql: Client, forum: Forum) -> None:
    thread, _ = await open_thread(gql, "ada", forum, "Saturday", "Anyone about?")
    message = await reply(gql, "ada", thread, "Kohlrabi soup.")
    await ok(gql, EDIT, {"i": {"messageId": message, "body": "Leek soup."}}, "ada")

    old = await gql(SEARCH, {"q": "kohlrabi"})
    new = await gql(SEARCH, {"q": "leek"})

    assert old == NOTHING
    assert new == found(hit(message, "Leek soup.", "ada", "Saturday", "<mark>Leek</mark> soup."))


async def test_a_deleted_members_public_messages_stay_found_unsigned(
    gql: Client, forum: Forum
) -> None:
    thread, first = await open_thread(gql, "ada", forum, "Kohlrabi", "Who grows it?")
    message = await reply(gql, "ada", thread, "Kohlrabi soup.")
    await ok(gql, LEAVE, {"i": {"password": PASSWORD}}, "ada")

    response = await gql(SEARCH, {"q": "kohlrabi"})

    # As readable as before, so as searchable: the thread page shows the same.
    assert response == found(
        hit(first, "Who grows it?", None, "Kohlrabi", "<mark>Kohlrabi</mark>"),
        hit(message, "Kohlrabi soup.", None, "Kohlrabi", "<mark>Kohlrabi</mark> soup."),
    )


@pytest.mark.parametrize(
    "query",
    ["ada", "ada@example.org", "example", "1990", "kohlrabi-bio", "kohlrabi-town", "canary"],
)
async def test_members_profiles_are_not_searched(gql: Client, forum: Forum, query: str) -> None:
    ada = await member(gql, "ada_l")
    await set_profile(
        ada, bio="kohlrabi-bio", location="kohlrabi-town", website="https://canary.example"
    )
    await set_audiences(ada, bio="EVERYONE", location="EVERYONE", email="EVERYONE")
    await open_thread(gql, "ada_l", forum, "Saturday", "Anyone about?")

    response = await gql(SEARCH, {"q": query}, as_member="bob")

    assert response == NOTHING


async def test_the_members_a_reader_blocked_are_never_found(gql: Client, forum: Forum) -> None:
    ada, bob = await User.get(username="ada"), await User.get(username="bob")
    thread, _ = await open_thread(gql, "ada", forum, "Kohlrabi", "Who grows it?")
    await reply(gql, "ada", thread, "Kohlrabi soup.")
    kept = await reply(gql, "bob", thread, "Kohlrabi salad.")
    await Block.create(blocker_id=bob.id, blocked_id=ada.id)

    hits = await search.find(search.parse("kohlrabi"), 20, None, None, bob.id)

    assert [(hit.message.id, hit.snippet) for hit in hits.hits] == [
        (pk(kept), "<mark>Kohlrabi</mark> salad.")
    ]


# ---------------------------------------------------------------- the index follows the rows


async def test_a_message_shown_again_is_found_again(gql: Client, forum: Forum) -> None:
    thread, _ = await open_thread(gql, "ada", forum, "Saturday", "Anyone about?")
    message = await reply(gql, "ada", thread, "Kohlrabi soup.")
    await ok(gql, HIDE, {"i": {"messageId": message, "reason": "Off topic"}}, "grace")
    await Message.filter(id=pk(message)).update(hidden_at=None)  # as unhiding will

    response = await gql(SEARCH, {"q": "kohlrabi"})

    snippet = "<mark>Kohlrabi</mark> soup."
    assert response == found(hit(message, "Kohlrabi soup.", "ada", "Saturday", snippet))


async def test_a_new_thread_title_moves_the_title_match(gql: Client, forum: Forum) -> None:
    thread, first = await open_thread(gql, "ada", forum, "Kohlrabi", "Who grows it?")
    await Thread.filter(id=pk(thread)).update(title="Leeks")  # as moderating a thread will

    old = await gql(SEARCH, {"q": "kohlrabi"})
    new = await gql(SEARCH, {"q": "leeks"})

    assert old == NOTHING
    assert new == found(hit(first, "Who grows it?", "ada", "Leeks", "<mark>Leeks</mark>"))


async def test_the_index_holds_exactly_the_readable_public_messages(
    gql: Client, forum: Forum
) -> None:
    cleo = await member(gql, "cleo")
    thread, first = await open_thread(gql, "ada", forum, "Saturday", "Anyone about?")
    kept = [first, await reply(gql, "bob", thread, "Soup.")]
    edited = await reply(gql, "ada", thread, "Kohlrabi soup.")
    await ok(gql, EDIT, {"i": {"messageId": edited, "body": "Leek soup."}}, "ada")
    hidden = await reply(gql, "bob", thread, "Spam.")
    await ok(gql, HIDE, {"i": {"messageId": hidden, "reason": "Spam"}}, "grace")
    deleted = await reply(gql, "ada", thread, "Oops.")
    await ok(gql, DELETE, {"i": {"messageId": deleted}}, "ada")
    await start_conversation(gql, "ada", [cleo], "Just us", "Kohlrabi soup?")

    indexed = await indexed_messages()

    assert indexed == sorted(pk(m) for m in [*kept, edited])


async def indexed_messages() -> list[int]:
    """The ids of the messages in the search index; on SQLite after FTS5's own check
    that the index and the text it was built from agree."""
    db = connections.get("default")
    if db.capabilities.dialect == "postgres":
        sql = "SELECT id FROM messages WHERE search_vector IS NOT NULL ORDER BY id"
    else:
        for table in ("message_search", "thread_search"):
            await db.execute_query(
                f"INSERT INTO {table} ({table}, rank) VALUES ('integrity-check', 1)"  # noqa: S608
            )
        sql = "SELECT id FROM message_search_docsize ORDER BY id"
    return [int(row["id"]) for row in await db.execute_query_dict(sql)]
