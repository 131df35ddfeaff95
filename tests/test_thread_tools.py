"""Thread tools by staff: moderateThread locks, pins, renames and moves threads, any
subset at once, audited; locked threads take no members' messages; pinned threads come
first in stable pages; a moved thread keeps its id, pages and subscribers."""

from __future__ import annotations

from typing import Any

import pytest

from models.accounts import User
from models.forums import Forum
from models.messages import Thread
from tests.support.forum import gid, new_forum, open_thread, pk, refused, reply
from tests.support.harness import Client
from tests.support.sqlcount import count_statements
from tests.support.staff import MODERATE_THREAD, audit_log, staff_cast

REASON = "Off-topic drift"
LOCKED = "This thread is locked: it takes no new messages."
POST = """mutation($i: PostMessageInput!) {
  postMessage(input: $i) { message { body } userErrors { field message code } }
}"""
EDIT = """mutation($i: EditMessageInput!) {
  editMessage(input: $i) { message { body } userErrors { field message code } }
}"""
PAGE = """query($slug: String!, $after: String) {
  forum(slug: $slug) {
    threads(first: 2, after: $after) {
      edges { node { title pinned } } pageInfo { hasNextPage endCursor }
    }
  }
}"""


@pytest.fixture
async def cast(gql: Client) -> dict[str, User]:
    """ada and bob (members), grace (moderator) and root (admin), signed in."""
    return await staff_cast(gql)


@pytest.fixture
async def general(cast: dict[str, User]) -> Forum:
    """The forum the threads start in."""
    return await new_forum("general", "General")


async def moderate(gql: Client, thread_id: str, as_member: str = "grace", **change: Any) -> dict:
    variables = {"i": {"threadId": thread_id, "reason": REASON, **change}}
    return await gql(MODERATE_THREAD, variables, as_member=as_member)


def thread(
    title: str, *, locked: bool = False, pinned: bool = False, forum: str = "general"
) -> dict:
    node = {"title": title, "locked": locked, "pinned": pinned, "forum": {"slug": forum}}
    return {"data": {"moderateThread": {"thread": node, "userErrors": []}}}


async def test_a_moderator_locks_a_thread(gql: Client, general: Forum) -> None:
    thread_id, _ = await open_thread(gql, "ada", general, "Diet talk")

    response = await moderate(gql, thread_id, locked=True)

    assert response == thread("Diet talk", locked=True)


async def test_a_moderator_changes_several_things_at_once(gql: Client, general: Forum) -> None:
    await new_forum("recipes", "Recipes")
    thread_id, _ = await open_thread(gql, "ada", general, "Diet talk")

    response = await moderate(
        gql, thread_id, pinned=True, title="  Diet   recipes ", forumId=gid("Forum", 2)
    )

    assert response == thread("Diet recipes", pinned=True, forum="recipes")


async def test_a_member_cannot_post_in_a_locked_thread(gql: Client, general: Forum) -> None:
    thread_id, _ = await open_thread(gql, "ada", general)
    await moderate(gql, thread_id, locked=True)

    response = await gql(POST, {"i": {"threadId": thread_id, "body": "Me too"}}, as_member="bob")

    errors = refused("THREAD_LOCKED", LOCKED)
    assert response == {"data": {"postMessage": {"message": None, "userErrors": errors}}}
    assert await Thread.get(id=pk(thread_id)).values_list("last_message_id", flat=True) == 1


@pytest.mark.parametrize("staff", ["grace", "root"])
async def test_staff_still_post_in_a_locked_thread(gql: Client, general: Forum, staff: str) -> None:
    thread_id, _ = await open_thread(gql, "ada", general)
    await moderate(gql, thread_id, locked=True)

    response = await gql(POST, {"i": {"threadId": thread_id, "body": "Closed."}}, as_member=staff)

    assert response == {"data": {"postMessage": {"message": {"body": "Closed."}, "userErrors": []}}}


async def test_a_member_cannot_edit_in_a_locked_thread(gql: Client, general: Forum) -> None:
    thread_id, message_id = await open_thread(gql, "ada", general)
    await moderate(gql, thread_id, locked=True)

    response = await gql(EDIT, {"i": {"messageId": message_id, "body": "Changed"}}, as_member="ada")

    errors = refused("THREAD_LOCKED", LOCKED)
    assert response == {"data": {"editMessage": {"message": None, "userErrors": errors}}}


async def test_an_unlocked_thread_takes_members_messages_again(gql: Client, general: Forum) -> None:
    thread_id, _ = await open_thread(gql, "ada", general)
    await moderate(gql, thread_id, locked=True)
    await moderate(gql, thread_id, locked=False)

    response = await gql(POST, {"i": {"threadId": thread_id, "body": "Me too"}}, as_member="bob")

    assert response == {"data": {"postMessage": {"message": {"body": "Me too"}, "userErrors": []}}}


async def test_pinned_threads_come_first_and_pages_stay_stable(gql: Client, general: Forum) -> None:
    ids = {}
    for title in ("one", "two", "three", "four", "five"):
        ids[title], _ = await open_thread(gql, "ada", general, title)
    await moderate(gql, ids["two"], pinned=True)
    await moderate(gql, ids["four"], pinned=True)

    titles: list[tuple[str, bool]] = []
    after = None
    for _ in range(3):
        page = (await gql(PAGE, {"slug": "general", "after": after}))["data"]["forum"]["threads"]
        titles += [(edge["node"]["title"], edge["node"]["pinned"]) for edge in page["edges"]]
        after = page["pageInfo"]["endCursor"]

    assert titles == [
        ("four", True),
        ("two", True),
        ("five", False),
        ("three", False),
        ("one", False),
    ]
    assert page["pageInfo"]["hasNextPage"] is False


async def test_a_page_of_pinned_threads_costs_the_same_statements_as_one_thread(
    gql: Client, general: Forum
) -> None:
    query = (
        '{ forum(slug: "general") { threads(first: 20) { edges { node { title pinned locked '
        "author { username } forum { slug } } } } } }"
    )
    first_id, _ = await open_thread(gql, "ada", general, "first")
    await moderate(gql, first_id, pinned=True)
    with count_statements() as one:
        await gql(query)
    for n in range(5):
        thread_id, _ = await open_thread(gql, "bob", general, f"more {n}")
        await moderate(gql, thread_id, pinned=n % 2 == 0)

    with count_statements() as six:
        response = await gql(query)

    assert len(response["data"]["forum"]["threads"]["edges"]) == 6
    assert six.count == one.count, str(six)


async def test_a_moved_thread_leaves_the_old_forum_and_keeps_its_id_and_messages(
    gql: Client, general: Forum
) -> None:
    await new_forum("recipes", "Recipes")
    thread_id, _ = await open_thread(gql, "ada", general, "Soup", "First")
    await reply(gql, "bob", thread_id, "Second")

    await moderate(gql, thread_id, forumId=gid("Forum", 2))

    lists = await gql(
        '{ general: forum(slug: "general") { threads { edges { node { id } } } } '
        'recipes: forum(slug: "recipes") { threads { edges { node { id } } } } }'
    )
    moved = await gql(
        "query($id: ID!) { thread(id: $id) { forum { slug } "
        "messages { edges { node { body } } } } }",
        {"id": thread_id},
    )
    assert lists == {
        "data": {
            "general": {"threads": {"edges": []}},
            "recipes": {"threads": {"edges": [{"node": {"id": thread_id}}]}},
        }
    }
    bodies = [{"node": {"body": "First"}}, {"node": {"body": "Second"}}]
    assert moved == {
        "data": {"thread": {"forum": {"slug": "recipes"}, "messages": {"edges": bodies}}}
    }


async def test_moving_a_thread_to_a_missing_forum_changes_nothing(
    gql: Client, general: Forum
) -> None:
    thread_id, _ = await open_thread(gql, "ada", general, "Soup")

    response = await moderate(gql, thread_id, forumId=gid("Forum", 999), locked=True)

    errors = refused("FORUM_NOT_FOUND", "There is no such forum.", "forumId")
    assert response == {"data": {"moderateThread": {"thread": None, "userErrors": errors}}}
    row = await Thread.get(id=pk(thread_id))
    assert (row.forum_id, row.locked) == (general.id, False)  # type: ignore[attr-defined]


async def test_a_bad_title_changes_nothing(gql: Client, general: Forum) -> None:
    thread_id, _ = await open_thread(gql, "ada", general, "Soup")

    response = await moderate(gql, thread_id, title="x", pinned=True)

    errors = refused("TITLE_LENGTH", "Titles are 3 to 150 characters long.", "title")
    assert response == {"data": {"moderateThread": {"thread": None, "userErrors": errors}}}
    assert (await Thread.get(id=pk(thread_id))).pinned is False


async def test_moderating_an_unknown_thread_is_refused(gql: Client, general: Forum) -> None:
    response = await moderate(gql, gid("Thread", 999), locked=True)

    errors = refused("THREAD_NOT_FOUND", "There is no such thread.", "threadId")
    assert response == {"data": {"moderateThread": {"thread": None, "userErrors": errors}}}


async def test_a_change_of_nothing_is_refused(gql: Client, general: Forum) -> None:
    thread_id, _ = await open_thread(gql, "ada", general, "Soup")

    response = await moderate(gql, thread_id)

    errors = refused("NOTHING_TO_CHANGE", "Say what to change.")
    assert response == {"data": {"moderateThread": {"thread": None, "userErrors": errors}}}


@pytest.mark.parametrize("reason", ["", " ", "no", "x" * 501])
async def test_thread_tools_need_a_reason(gql: Client, general: Forum, reason: str) -> None:
    thread_id, _ = await open_thread(gql, "ada", general, "Soup")

    response = await gql(
        MODERATE_THREAD,
        {"i": {"threadId": thread_id, "reason": reason, "locked": True}},
        as_member="grace",
    )

    errors = refused("REASON_INVALID", "Give a reason of 3 to 500 characters.", "reason")
    assert response == {"data": {"moderateThread": {"thread": None, "userErrors": errors}}}
    assert (await Thread.get(id=pk(thread_id))).locked is False


async def test_thread_tools_are_audited_with_the_fields_touched(
    gql: Client, general: Forum
) -> None:
    thread_id, _ = await open_thread(gql, "ada", general, "Soup")

    await moderate(gql, thread_id, locked=True, title="Soup recipes", forumId=gid("Forum", 1))

    assert await audit_log(gql) == [
        {
            "actor": {"username": "grace"},
            "action": "MODERATE_THREAD",
            "subject": {"username": "ada"},
            "fields": [f"thread:{pk(thread_id)}", "forum", "locked", "title"],
            "reason": REASON,
        }
    ]
