"""Forums and public threads: reading, paging, writing, editing, deleting, limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from models.accounts import User
from models.base import Role
from models.forums import Forum
from models.messages import Message, MessageEdit, Thread
from models.profiles import Follow
from services.addresses import AddressVault
from services.markdown import Renderer
from services.settings import Settings
from tests.support import harness
from tests.support.forum import coded_error, gid, new_forum, open_thread, pk, refused, reply
from tests.support.harness import TEST_IP, Client, Server
from tests.support.members import member, set_audiences, set_profile, suspend
from tests.support.sqlcount import count_statements

# ------------------------------------------------------------------ reading


async def test_forums_are_listed_in_display_order(gql: Client) -> None:
    await Forum.create(slug="recipes", title="Recipes", position=2)
    await Forum.create(slug="intro", title="Introductions", description="Say hi", position=1)

    response = await gql("{ forums { slug title description } }")

    assert response == {
        "data": {
            "forums": [
                {"slug": "intro", "title": "Introductions", "description": "Say hi"},
                {"slug": "recipes", "title": "Recipes", "description": None},
            ]
        }
    }


async def test_a_forum_is_found_by_its_slug(gql: Client) -> None:
    forum = await new_forum("recipes", "Recipes")

    response = await gql('{ forum(slug: "recipes") { id slug title } }')

    assert response == {
        "data": {"forum": {"id": gid("Forum", forum.id), "slug": "recipes", "title": "Recipes"}}
    }


async def test_an_unknown_slug_is_no_forum(gql: Client) -> None:
    await new_forum("recipes", "Recipes")

    assert await gql('{ forum(slug: "nope") { id } }') == {"data": {"forum": None}}


async def test_anyone_signed_out_reads_a_public_thread(gql: Client) -> None:
    forum = await new_forum()
    await member(gql, "ada")
    thread_id, message_id = await open_thread(gql, "ada", forum, "Hello there", "Hi *all*")
    created = (await Thread.get(id=pk(thread_id))).created_at.isoformat()

    response = await gql(
        "query($id: ID!) { thread(id: $id) { id title createdAt author { username } "
        "forum { slug } messages { edges { node { id body bodyHtml author { username } "
        "thread { id } conversation { id } editedAt deleted hidden } } } } }",
        {"id": thread_id},
    )

    message = {
        "id": message_id,
        "body": "Hi *all*",
        "bodyHtml": "<p>Hi <em>all</em></p>\n",
        "author": {"username": "ada"},
        "thread": {"id": thread_id},
        "conversation": None,
        "editedAt": None,
        "deleted": False,
        "hidden": False,
    }
    assert response == {
        "data": {
            "thread": {
                "id": thread_id,
                "title": "Hello there",
                "createdAt": created,
                "author": {"username": "ada"},
                "forum": {"slug": "general"},
                "messages": {"edges": [{"node": message}]},
            }
        }
    }


async def test_an_unknown_thread_id_is_no_thread(gql: Client) -> None:
    response = await gql("query($id: ID!) { thread(id: $id) { id } }", {"id": gid("Thread", 999)})

    assert response == {"data": {"thread": None}}


async def test_a_thread_is_reachable_as_a_node(gql: Client) -> None:
    forum = await new_forum()
    await member(gql, "ada")
    thread_id, message_id = await open_thread(gql, "ada", forum, "Hello there")

    response = await gql(
        "query($t: ID!, $m: ID!) { t: node(id: $t) { ... on Thread { title } } "
        "m: node(id: $m) { ... on Message { body } } }",
        {"t": thread_id, "m": message_id},
    )

    assert response == {"data": {"t": {"title": "Hello there"}, "m": {"body": "First!"}}}


# ------------------------------------------------------------------ thread order

THREADS = """
query($after: String) {
  forum(slug: "general") {
    threads(first: 2, after: $after) {
      edges { node { title } }
      pageInfo { hasNextPage hasPreviousPage endCursor }
    }
  }
}
"""


def titles(response: dict[str, Any]) -> list[str]:
    """The thread titles of a THREADS page, in order."""
    return [edge["node"]["title"] for edge in response["data"]["forum"]["threads"]["edges"]]


async def test_threads_are_listed_newest_activity_first(gql: Client) -> None:
    forum = await new_forum()
    await member(gql, "ada")
    for title in ("Oldest", "Middle", "Newest"):
        await open_thread(gql, "ada", forum, title)

    response = await gql('{ forum(slug: "general") { threads { edges { node { title } } } } }')

    assert titles(response) == ["Newest", "Middle", "Oldest"]


async def test_a_reply_moves_its_thread_to_the_top(gql: Client) -> None:
    forum = await new_forum()
    await member(gql, "ada")
    oldest, _ = await open_thread(gql, "ada", forum, "Oldest")
    for title in ("Middle", "Newest"):
        await open_thread(gql, "ada", forum, title)

    await reply(gql, "ada", oldest, "Bump")

    response = await gql('{ forum(slug: "general") { threads { edges { node { title } } } } }')
    assert titles(response) == ["Oldest", "Newest", "Middle"]


async def test_threads_page_forwards_by_keyset_cursor(gql: Client) -> None:
    forum = await new_forum()
    await member(gql, "ada")
    for title in ("One", "Two", "Three"):
        await open_thread(gql, "ada", forum, title)

    first = await gql(THREADS)
    info = first["data"]["forum"]["threads"]["pageInfo"]
    second = await gql(THREADS, {"after": info["endCursor"]})

    assert (titles(first), info["hasNextPage"], info["hasPreviousPage"]) == (
        ["Three", "Two"],
        True,
        False,
    )
    last_info = second["data"]["forum"]["threads"]["pageInfo"]
    assert (titles(second), last_info["hasNextPage"], last_info["hasPreviousPage"]) == (
        ["One"],
        False,
        True,
    )


async def test_threads_of_another_forum_are_not_listed(gql: Client) -> None:
    forum = await new_forum()
    other = await new_forum("other", "Other", 1)
    await member(gql, "ada")
    await open_thread(gql, "ada", forum, "Here")
    await open_thread(gql, "ada", other, "Elsewhere")

    response = await gql('{ forum(slug: "general") { threads { edges { node { title } } } } }')

    assert titles(response) == ["Here"]


# ------------------------------------------------------------------ message pages

PAGE = """
query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  thread(id: $id) {
    messages(first: $first, after: $after, last: $last, before: $before) {
      edges { cursor node { body } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}
"""


@pytest.fixture
async def five(gql: Client) -> str:
    """A thread whose messages read m1 .. m5, oldest first."""
    forum = await new_forum()
    await member(gql, "ada")
    thread_id, _ = await open_thread(gql, "ada", forum, "Counting", "m1")
    for n in range(2, 6):
        await reply(gql, "ada", thread_id, f"m{n}")
    return thread_id


def page(response: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """The bodies on a PAGE and its pageInfo, checking that the cursors match the edges."""
    messages = response["data"]["thread"]["messages"]
    edges, info = messages["edges"], messages["pageInfo"]
    if edges:
        assert (info["startCursor"], info["endCursor"]) == (edges[0]["cursor"], edges[-1]["cursor"])
    else:
        assert (info["startCursor"], info["endCursor"]) == (None, None)
    flags = {"hasNextPage": info["hasNextPage"], "hasPreviousPage": info["hasPreviousPage"]}
    return [edge["node"]["body"] for edge in edges], flags


async def test_thread_messages_read_oldest_first(gql: Client, five: str) -> None:
    response = await gql(PAGE, {"id": five})

    assert page(response) == (
        ["m1", "m2", "m3", "m4", "m5"],
        {"hasNextPage": False, "hasPreviousPage": False},
    )


async def test_thread_messages_page_forwards_with_first_and_after(gql: Client, five: str) -> None:
    first = await gql(PAGE, {"id": five, "first": 2})
    cursor = first["data"]["thread"]["messages"]["pageInfo"]["endCursor"]
    second = await gql(PAGE, {"id": five, "first": 2, "after": cursor})
    cursor = second["data"]["thread"]["messages"]["pageInfo"]["endCursor"]
    third = await gql(PAGE, {"id": five, "first": 2, "after": cursor})

    assert [page(first), page(second), page(third)] == [
        (["m1", "m2"], {"hasNextPage": True, "hasPreviousPage": False}),
        (["m3", "m4"], {"hasNextPage": True, "hasPreviousPage": True}),
        (["m5"], {"hasNextPage": False, "hasPreviousPage": True}),
    ]


async def test_thread_messages_page_backwards_with_last_and_before(gql: Client, five: str) -> None:
    last = await gql(PAGE, {"id": five, "last": 2})
    cursor = last["data"]["thread"]["messages"]["pageInfo"]["startCursor"]
    earlier = await gql(PAGE, {"id": five, "last": 2, "before": cursor})
    cursor = earlier["data"]["thread"]["messages"]["pageInfo"]["startCursor"]
    earliest = await gql(PAGE, {"id": five, "last": 2, "before": cursor})

    assert [page(last), page(earlier), page(earliest)] == [
        (["m4", "m5"], {"hasNextPage": False, "hasPreviousPage": True}),
        (["m2", "m3"], {"hasNextPage": True, "hasPreviousPage": True}),
        (["m1"], {"hasNextPage": True, "hasPreviousPage": False}),
    ]


async def test_a_page_of_exactly_the_rest_says_nothing_follows(gql: Client, five: str) -> None:
    first = await gql(PAGE, {"id": five, "first": 3})
    cursor = first["data"]["thread"]["messages"]["pageInfo"]["endCursor"]

    rest = await gql(PAGE, {"id": five, "first": 2, "after": cursor})

    assert page(rest) == (["m4", "m5"], {"hasNextPage": False, "hasPreviousPage": True})


async def test_a_thread_cursor_is_refused_as_a_bad_input_elsewhere(gql: Client, five: str) -> None:
    threads = await gql('{ forum(slug: "general") { threads { edges { cursor } } } }')
    cursor = threads["data"]["forum"]["threads"]["edges"][0]["cursor"]

    response = await gql(PAGE, {"id": five, "first": 2, "after": cursor})

    assert response["errors"] == [
        {
            "message": "That cursor is not valid here.",
            "locations": [{"line": 4, "column": 5}],
            "path": ["thread", "messages"],
            "extensions": {"code": "BAD_USER_INPUT"},
        }
    ]


@pytest.mark.parametrize("size", [0, 101])
async def test_a_page_size_outside_1_to_100_is_refused(gql: Client, five: str, size: int) -> None:
    response = await gql(PAGE, {"id": five, "first": size})

    assert response["errors"] == [
        {
            "message": "`first` and `last` must be between 1 and 100.",
            "locations": [{"line": 4, "column": 5}],
            "path": ["thread", "messages"],
            "extensions": {"code": "BAD_USER_INPUT"},
        }
    ]


# ------------------------------------------------------------------ who may write

CREATE = """mutation($i: CreateThreadInput!) {
  createThread(input: $i) { thread { title } userErrors { field message code } }
}"""
POST_ONE = """mutation($i: PostMessageInput!) {
  postMessage(input: $i) { message { body } userErrors { field message code } }
}"""


def new_thread(forum: Forum, title: str = "A title", body: str = "A body") -> dict[str, Any]:
    """createThread variables."""
    return {"i": {"forumId": gid("Forum", forum.id), "title": title, "body": body}}


@pytest.fixture
async def thread_id(gql: Client) -> str:
    """A thread opened by ada in the forum `general`."""
    forum = await new_forum()
    await member(gql, "ada")
    thread_id, _ = await open_thread(gql, "ada", forum, "Open thread")
    return thread_id


async def test_a_confirmed_member_opens_a_thread(gql: Client) -> None:
    forum = await new_forum()
    await member(gql, "ada")

    response = await gql(CREATE, new_thread(forum, "  Spaced    out  title "), as_member="ada")

    assert response == {
        "data": {"createThread": {"thread": {"title": "Spaced out title"}, "userErrors": []}}
    }


async def test_signed_out_nobody_opens_a_thread(gql: Client) -> None:
    forum = await new_forum()

    response = await gql(CREATE, new_thread(forum))

    assert response == {
        "data": {"createThread": None},
        "errors": [coded_error(CREATE, "createThread", "Sign in to do this.", "UNAUTHENTICATED")],
    }
    assert await Thread.all().count() == 0


async def test_signed_out_nobody_posts_a_message(gql: Client, thread_id: str) -> None:
    response = await gql(POST_ONE, {"i": {"threadId": thread_id, "body": "Hi"}})

    assert response == {
        "data": {"postMessage": None},
        "errors": [coded_error(POST_ONE, "postMessage", "Sign in to do this.", "UNAUTHENTICATED")],
    }
    assert await Message.all().count() == 1


async def test_an_unconfirmed_member_cannot_open_a_thread(gql: Client) -> None:
    forum = await new_forum()
    await member(gql, "newbie", confirmed=False)

    response = await gql(CREATE, new_thread(forum), as_member="newbie")

    errors = refused("EMAIL_NOT_CONFIRMED", "Confirm your email address first.")
    assert response == {"data": {"createThread": {"thread": None, "userErrors": errors}}}
    assert await Thread.all().count() == 0


async def test_an_unconfirmed_member_cannot_post(gql: Client, thread_id: str) -> None:
    await member(gql, "newbie", confirmed=False)

    response = await gql(POST_ONE, {"i": {"threadId": thread_id, "body": "Hi"}}, as_member="newbie")

    errors = refused("EMAIL_NOT_CONFIRMED", "Confirm your email address first.")
    assert response == {"data": {"postMessage": {"message": None, "userErrors": errors}}}
    assert await Message.all().count() == 1


SUSPENDED = "Your account is suspended until 2099-01-02 03:04 UTC: spamming the recipes forum"


async def test_a_suspended_member_cannot_open_a_thread_and_is_told_why(gql: Client) -> None:
    forum = await new_forum()
    await suspend(await member(gql, "spammer"), "spamming the recipes forum")

    response = await gql(CREATE, new_thread(forum), as_member="spammer")

    errors = refused("SUSPENDED", SUSPENDED)
    assert response == {"data": {"createThread": {"thread": None, "userErrors": errors}}}
    assert await Thread.all().count() == 0


async def test_a_suspended_member_cannot_post_and_is_told_why(gql: Client, thread_id: str) -> None:
    await suspend(await member(gql, "spammer"), "spamming the recipes forum")

    variables = {"i": {"threadId": thread_id, "body": "Buy now"}}
    response = await gql(POST_ONE, variables, as_member="spammer")

    errors = refused("SUSPENDED", SUSPENDED)
    assert response == {"data": {"postMessage": {"message": None, "userErrors": errors}}}
    assert await Message.all().count() == 1


async def test_a_suspension_that_has_ended_no_longer_stops_posting(
    gql: Client, thread_id: str
) -> None:
    await suspend(await member(gql, "bob"), "cooling off", datetime.now(UTC) - timedelta(1))

    response = await gql(POST_ONE, {"i": {"threadId": thread_id, "body": "Back"}}, as_member="bob")

    assert response == {"data": {"postMessage": {"message": {"body": "Back"}, "userErrors": []}}}


async def test_a_thread_in_an_unknown_forum_is_refused(gql: Client) -> None:
    await member(gql, "ada")

    variables = {"i": {"forumId": gid("Forum", 404), "title": "A title", "body": "A body"}}
    response = await gql(CREATE, variables, as_member="ada")

    errors = refused("FORUM_NOT_FOUND", "There is no such forum.", "forumId")
    assert response == {"data": {"createThread": {"thread": None, "userErrors": errors}}}


async def test_a_reply_to_an_unknown_thread_is_refused(gql: Client) -> None:
    await member(gql, "ada")

    variables = {"i": {"threadId": gid("Thread", 404), "body": "Hi"}}
    response = await gql(POST_ONE, variables, as_member="ada")

    errors = refused("THREAD_NOT_FOUND", "There is no such thread.", "threadId")
    assert response == {"data": {"postMessage": {"message": None, "userErrors": errors}}}


# ------------------------------------------------------------------ limits

TITLE_LENGTH = refused("TITLE_LENGTH", "Titles are 3 to 150 characters long.", "title")


@pytest.mark.parametrize("title", ["ab", "  ab   ", "x" * 151, ""])
async def test_a_title_outside_3_to_150_characters_is_refused(gql: Client, title: str) -> None:
    forum = await new_forum()
    await member(gql, "ada")

    response = await gql(CREATE, new_thread(forum, title=title), as_member="ada")

    assert response == {"data": {"createThread": {"thread": None, "userErrors": TITLE_LENGTH}}}
    assert await Thread.all().count() == 0


@pytest.mark.parametrize("title", ["abc", "x" * 150])
async def test_a_title_of_3_to_150_characters_is_accepted(gql: Client, title: str) -> None:
    forum = await new_forum()
    await member(gql, "ada")

    response = await gql(CREATE, new_thread(forum, title=title), as_member="ada")

    assert response == {"data": {"createThread": {"thread": {"title": title}, "userErrors": []}}}


BODY_EMPTY = refused("BODY_EMPTY", "Write something first.", "body")
BODY_TOO_LONG = refused("BODY_TOO_LONG", "Messages have at most 10000 characters.", "body")


@pytest.mark.parametrize(
    ("body", "errors"),
    [("", BODY_EMPTY), (" \n\t ", BODY_EMPTY), ("x" * 10_001, BODY_TOO_LONG)],
)
async def test_a_thread_with_an_empty_or_overlong_body_is_refused(
    gql: Client, body: str, errors: list[dict[str, Any]]
) -> None:
    forum = await new_forum()
    await member(gql, "ada")

    response = await gql(CREATE, new_thread(forum, body=body), as_member="ada")

    assert response == {"data": {"createThread": {"thread": None, "userErrors": errors}}}
    assert await Thread.all().count() == 0


@pytest.mark.parametrize(
    ("body", "errors"),
    [("", BODY_EMPTY), (" \n\t ", BODY_EMPTY), ("x" * 10_001, BODY_TOO_LONG)],
)
async def test_a_reply_with_an_empty_or_overlong_body_is_refused(
    gql: Client, thread_id: str, body: str, errors: list[dict[str, Any]]
) -> None:
    response = await gql(POST_ONE, {"i": {"threadId": thread_id, "body": body}}, as_member="ada")

    assert response == {"data": {"postMessage": {"message": None, "userErrors": errors}}}
    assert await Message.all().count() == 1


async def test_a_body_of_exactly_10000_characters_is_accepted(gql: Client, thread_id: str) -> None:
    body = "x" * 10_000

    response = await gql(POST_ONE, {"i": {"threadId": thread_id, "body": body}}, as_member="ada")

    assert response == {"data": {"postMessage": {"message": {"body": body}, "userErrors": []}}}


# ------------------------------------------------------------------ editing

EDIT = """mutation($i: EditMessageInput!) {
  editMessage(input: $i) {
    message { id body bodyHtml editedAt } userErrors { field message code }
  }
}"""


async def test_the_author_edits_a_recent_message(gql: Client, thread_id: str) -> None:
    message_id = await reply(gql, "ada", thread_id, "Teh typo")

    variables = {"i": {"messageId": message_id, "body": "The **fix**"}}
    response = await gql(EDIT, variables, as_member="ada")

    edited = (await Message.get(id=pk(message_id))).edited_at
    assert edited is not None
    message = {
        "id": message_id,
        "body": "The **fix**",
        "bodyHtml": "<p>The <strong>fix</strong></p>\n",
        "editedAt": edited.isoformat(),
    }
    assert response == {"data": {"editMessage": {"message": message, "userErrors": []}}}


async def test_an_edit_keeps_the_earlier_text(gql: Client, thread_id: str) -> None:
    message_id = await reply(gql, "ada", thread_id, "Teh typo")

    await gql(EDIT, {"i": {"messageId": message_id, "body": "The fix"}}, as_member="ada")

    edits = await MessageEdit.filter(message_id=pk(message_id)).values_list(
        "previous_body", flat=True
    )
    assert edits == ["Teh typo"]


async def test_an_edit_after_30_minutes_is_refused(gql: Client, thread_id: str) -> None:
    message_id = await reply(gql, "ada", thread_id, "Old words")
    long_ago = datetime.now(UTC) - timedelta(minutes=31)
    await Message.filter(id=pk(message_id)).update(created_at=long_ago)

    variables = {"i": {"messageId": message_id, "body": "New words"}}
    response = await gql(EDIT, variables, as_member="ada")

    errors = refused("EDIT_WINDOW_CLOSED", "Messages can be edited for 30 minutes.")
    assert response == {"data": {"editMessage": {"message": None, "userErrors": errors}}}
    assert (await Message.get(id=pk(message_id))).body == "Old words"


async def test_nobody_edits_another_members_message(gql: Client, thread_id: str) -> None:
    message_id = await reply(gql, "ada", thread_id, "Ada's words")
    await member(gql, "bob")

    variables = {"i": {"messageId": message_id, "body": "Bob's words"}}
    response = await gql(EDIT, variables, as_member="bob")

    errors = refused("MESSAGE_NOT_FOUND", "You have no such message.", "messageId")
    assert response == {"data": {"editMessage": {"message": None, "userErrors": errors}}}
    assert (await Message.get(id=pk(message_id))).body == "Ada's words"


async def test_an_edit_of_an_unknown_message_reads_the_same_as_of_anothers(
    gql: Client, thread_id: str
) -> None:
    await member(gql, "bob")

    variables = {"i": {"messageId": gid("Message", 999), "body": "Bob's words"}}
    response = await gql(EDIT, variables, as_member="bob")

    errors = refused("MESSAGE_NOT_FOUND", "You have no such message.", "messageId")
    assert response == {"data": {"editMessage": {"message": None, "userErrors": errors}}}


async def test_an_edit_to_an_empty_body_is_refused(gql: Client, thread_id: str) -> None:
    message_id = await reply(gql, "ada", thread_id, "Words")

    response = await gql(EDIT, {"i": {"messageId": message_id, "body": "  "}}, as_member="ada")

    assert response == {"data": {"editMessage": {"message": None, "userErrors": BODY_EMPTY}}}


# ------------------------------------------------------------------ deleting

DELETE = """mutation($i: DeleteMessageInput!) {
  deleteMessage(input: $i) {
    message { id body bodyHtml deleted } userErrors { field message code }
  }
}"""


async def bodies(gql: Client, thread_id: str) -> list[dict[str, Any]]:
    """Each message of the thread as anyone reads it, oldest first."""
    response = await gql(
        "query($id: ID!) { thread(id: $id) { messages { edges { node "
        "{ body bodyHtml deleted } } } } }",
        {"id": thread_id},
    )
    return [edge["node"] for edge in response["data"]["thread"]["messages"]["edges"]]


async def test_the_author_deletes_a_message_which_keeps_its_place(
    gql: Client, thread_id: str
) -> None:
    message_id = await reply(gql, "ada", thread_id, "Regrets")
    await reply(gql, "ada", thread_id, "After")

    response = await gql(DELETE, {"i": {"messageId": message_id}}, as_member="ada")

    message = {"id": message_id, "body": "", "bodyHtml": "", "deleted": True}
    assert response == {"data": {"deleteMessage": {"message": message, "userErrors": []}}}
    assert await bodies(gql, thread_id) == [
        {"body": "First!", "bodyHtml": "<p>First!</p>\n", "deleted": False},
        {"body": "", "bodyHtml": "", "deleted": True},
        {"body": "After", "bodyHtml": "<p>After</p>\n", "deleted": False},
    ]


async def test_a_moderator_deletes_a_members_public_message(gql: Client, thread_id: str) -> None:
    message_id = await reply(gql, "ada", thread_id, "Rude words")
    await member(gql, "grace", role=Role.MODERATOR)

    response = await gql(DELETE, {"i": {"messageId": message_id}}, as_member="grace")

    message = {"id": message_id, "body": "", "bodyHtml": "", "deleted": True}
    assert response == {"data": {"deleteMessage": {"message": message, "userErrors": []}}}


async def test_a_member_cannot_delete_another_members_message(gql: Client, thread_id: str) -> None:
    message_id = await reply(gql, "ada", thread_id, "Mine")
    await member(gql, "bob")

    response = await gql(DELETE, {"i": {"messageId": message_id}}, as_member="bob")

    errors = refused("MESSAGE_NOT_FOUND", "You have no such message.", "messageId")
    assert response == {"data": {"deleteMessage": {"message": None, "userErrors": errors}}}
    assert (await Message.get(id=pk(message_id))).deleted_at is None


async def test_signed_out_nobody_deletes_a_message(gql: Client, thread_id: str) -> None:
    message_id = await reply(gql, "ada", thread_id, "Mine")

    response = await gql(DELETE, {"i": {"messageId": message_id}})

    assert response == {
        "data": {"deleteMessage": None},
        "errors": [coded_error(DELETE, "deleteMessage", "Sign in to do this.", "UNAUTHENTICATED")],
    }


async def test_a_deleted_message_can_no_longer_be_edited(gql: Client, thread_id: str) -> None:
    message_id = await reply(gql, "ada", thread_id, "Gone soon")
    await gql(DELETE, {"i": {"messageId": message_id}}, as_member="ada")

    response = await gql(EDIT, {"i": {"messageId": message_id, "body": "Back"}}, as_member="ada")

    errors = refused("MESSAGE_GONE", "This message was removed.", "messageId")
    assert response == {"data": {"editMessage": {"message": None, "userErrors": errors}}}


# ------------------------------------------------------------------ client addresses


async def test_a_thread_and_its_first_message_store_the_writers_address_encrypted(
    gql: Client, settings: Settings
) -> None:
    forum = await new_forum()
    await member(gql, "ada")
    thread_id, message_id = await open_thread(gql, "ada", forum)

    thread, message = await Thread.get(id=pk(thread_id)), await Message.get(id=pk(message_id))

    vault = AddressVault(settings.address_key)
    assert [vault.open(thread.ip_cipher), vault.open(message.ip_cipher)] == [TEST_IP, TEST_IP]
    assert TEST_IP not in thread.ip_cipher + message.ip_cipher


async def test_a_reply_and_an_edit_store_the_writers_address_encrypted(
    gql: Client, settings: Settings, thread_id: str
) -> None:
    message_id = await reply(gql, "ada", thread_id, "Words")
    await gql(EDIT, {"i": {"messageId": message_id, "body": "Better"}}, as_member="ada")

    message = await Message.get(id=pk(message_id))
    edit = await MessageEdit.get(message_id=message.id)

    vault = AddressVault(settings.address_key)
    assert [vault.open(message.ip_cipher), vault.open(edit.ip_cipher)] == [TEST_IP, TEST_IP]


FIELDS = "query($t: String!) { __type(name: $t) { fields { name } } }"


@pytest.mark.parametrize(
    ("type_name", "fields"),
    [
        (
            "Message",
            [
                "id",
                "body",
                "bodyHtml",
                "createdAt",
                "editedAt",
                "deleted",
                "hidden",
                "authorBlockedByViewer",
                "author",
                "revisions",
                "thread",
                "conversation",
            ],
        ),
        (
            "Thread",
            [
                "id",
                "title",
                "forum",
                "author",
                "createdAt",
                "viewerIsWatching",
                "locked",
                "pinned",
                "messages",
            ],
        ),
    ],
)
async def test_no_field_of_a_thread_or_message_maps_the_address(
    gql: Client, type_name: str, fields: list[str]
) -> None:
    response = await gql(FIELDS, {"t": type_name})

    assert response == {"data": {"__type": {"fields": [{"name": name} for name in fields]}}}


# ------------------------------------------------------------------ posting limit


@pytest.fixture
async def limited(tmp_path: Path, database_url: str) -> AsyncIterator[Client]:
    """A client on an app with the rate limits on."""
    async with Server(harness.test_settings(tmp_path, database_url, rate_limits="on")) as client:
        yield client


async def test_the_21st_post_within_a_minute_is_rate_limited_and_not_written(
    limited: Client,
) -> None:
    forum = await new_forum()
    await member(limited, "ada")
    thread_id, _ = await open_thread(limited, "ada", forum)
    for n in range(20):
        await reply(limited, "ada", thread_id, f"Post {n}")

    response = await limited(
        POST_ONE, {"i": {"threadId": thread_id, "body": "One too many"}}, as_member="ada"
    )

    retry = response["errors"][0]["extensions"].pop("retryAfter")
    assert 1 <= retry <= 60
    limit = coded_error(
        POST_ONE, "postMessage", "Too many attempts; try again later.", "RATE_LIMITED"
    )
    assert response == {"data": {"postMessage": None}, "errors": [limit]}
    assert await Message.filter(body="One too many").count() == 0


# ------------------------------------------------------------------ N+1

AUTHORS_PAGE = """
query($id: ID!, $first: Int!) {
  thread(id: $id) {
    messages(first: $first) {
      edges { node { body author { username email dateOfBirth
        profile { bio location website } viewerIsFollowing } } }
    }
  }
}
"""


@pytest.fixture
async def fifty(gql: Client, settings: Settings) -> str:
    """A thread of 50 messages, each by a different member with a profile and settings."""
    forum = await new_forum()
    await member(gql, "reader")
    reader = await User.get(username="reader")
    renderer = Renderer(settings.public_url, settings.key)
    thread = await Thread.create(forum=forum, title="Busy", last_message_id=0)
    for n in range(50):
        author = await member(None, f"writer{n:02}")
        await set_profile(author, bio=f"bio {n}", location="Leeds", website="https://a.example")
        await set_audiences(author, email="EVERYONE" if n % 2 else "ONLY_ME")
        if n % 3 == 0:
            await Follow.create(follower_id=reader.id, followee_id=author.id)
        body = f"message {n}"
        await Message.create(
            thread=thread, author=author, body=body, body_html=renderer.render(body)
        )
    return gid("Thread", thread.id)


@pytest.mark.parametrize("viewer", ["reader", None])
async def test_a_thread_page_costs_the_same_statements_for_50_authors_as_for_5(
    gql: Client, fifty: str, viewer: str | None
) -> None:
    await gql(AUTHORS_PAGE, {"id": fifty, "first": 1}, as_member=viewer)  # warm the session

    with count_statements() as small:
        five = await gql(AUTHORS_PAGE, {"id": fifty, "first": 5}, as_member=viewer)
    with count_statements() as large:
        fifty_page = await gql(AUTHORS_PAGE, {"id": fifty, "first": 50}, as_member=viewer)

    assert "errors" not in five and "errors" not in fifty_page
    assert len(fifty_page["data"]["thread"]["messages"]["edges"]) == 50
    assert large.count == small.count, f"5 messages:\n{small}\n50 messages:\n{large}"
    assert large.count <= 10, str(large)


async def test_a_thread_page_shows_each_author_as_the_viewer_may_see_them(
    gql: Client, fifty: str
) -> None:
    signed_in = await gql(AUTHORS_PAGE, {"id": fifty, "first": 4}, as_member="reader")
    anonymous = await gql(AUTHORS_PAGE, {"id": fifty, "first": 4})

    def author(n: int, member: bool) -> dict[str, Any]:
        return {
            "username": f"writer{n:02}",
            "email": f"writer{n:02}@example.org" if n % 2 else None,
            "dateOfBirth": None,
            "profile": {
                "bio": f"bio {n}",
                "location": "Leeds" if member else None,
                "website": "https://a.example",
            },
            "viewerIsFollowing": member and n % 3 == 0,
        }

    def expected(member: bool) -> dict[str, Any]:
        edges = [{"node": {"body": f"message {n}", "author": author(n, member)}} for n in range(4)]
        return {"data": {"thread": {"messages": {"edges": edges}}}}

    assert (signed_in, anonymous) == (expected(True), expected(False))
