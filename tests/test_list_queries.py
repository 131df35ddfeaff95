"""Lists that reach messages cost a constant number of SQL statements: an inbox with the
last message of each conversation, and a forum's threads with their first messages."""

from tests.support.forum import new_forum, open_thread, reply, send, start_conversation
from tests.support.members import member
from tests.support.sqlcount import count_statements

INBOX = """
query { conversations(first: 50) { edges { node { title unreadCount
  participants { username profile { location } }
  messages(last: 1) { edges { node { body author { username } } } pageInfo { hasPreviousPage } }
} } } }
"""
THREADS = """
query($slug: String!) { forum(slug: $slug) { threads(first: 50) { edges { node { title
  author { username }
  messages(first: 2) { edges { node { body author { username email } } } pageInfo { hasNextPage } }
} } } } }
"""


INBOX_STATEMENTS = 12  # 11 measured, one spare for a split batch
THREAD_LIST_STATEMENTS = 7  # 6 measured, one spare for a split batch


async def add_conversations(gql, me, start: int, count: int) -> None:
    for n in range(start, start + count):
        conversation_id, _ = await start_conversation(gql, "friend", [me], title=f"Topic {n}")
        await send(gql, "friend", conversation_id, f"latest {n}")


async def inbox(gql) -> tuple[int, dict]:
    with count_statements() as seen:
        response = await gql(INBOX, as_member="reader")
    return seen.count, response


async def test_an_inbox_costs_the_same_for_three_conversations_and_for_twelve(gql) -> None:
    me = await member(gql, "reader")
    await member(gql, "friend")
    await add_conversations(gql, me, 0, 3)
    few, _ = await inbox(gql)
    await add_conversations(gql, me, 3, 9)

    many, response = await inbox(gql)

    assert len(response["data"]["conversations"]["edges"]) == 12
    # 11 statements, however many conversations; the loaders' batches may split at
    # one await more or less, so allow one statement either way but no growth.
    assert max(few, many) <= INBOX_STATEMENTS


async def test_an_inbox_shows_each_conversations_last_message(gql) -> None:
    me = await member(gql, "reader")
    await member(gql, "friend")
    await add_conversations(gql, me, 0, 3)

    _, response = await inbox(gql)

    nodes = [edge["node"] for edge in response["data"]["conversations"]["edges"]]
    assert [n["title"] for n in nodes] == ["Topic 2", "Topic 1", "Topic 0"]
    assert [n["messages"]["edges"][0]["node"]["body"] for n in nodes] == [
        "latest 2",
        "latest 1",
        "latest 0",
    ]
    assert all(n["messages"]["pageInfo"] == {"hasPreviousPage": True} for n in nodes)
    assert all(n["unreadCount"] == 2 for n in nodes)


async def add_threads(gql, forum, start: int, count: int) -> None:
    for n in range(start, start + count):
        thread_id, _ = await open_thread(gql, "writer", forum, title=f"Thread {n}")
        await reply(gql, "writer", thread_id, f"reply {n}")


async def thread_list(gql) -> tuple[int, dict]:
    with count_statements() as seen:
        response = await gql(THREADS, {"slug": "busy"})
    return seen.count, response


async def test_a_thread_list_with_messages_costs_no_statement_per_thread(gql) -> None:
    await member(gql, "writer")
    forum = await new_forum("busy")
    await add_threads(gql, forum, 0, 2)
    few, _ = await thread_list(gql)
    await add_threads(gql, forum, 2, 8)

    many, response = await thread_list(gql)

    edges = response["data"]["forum"]["threads"]["edges"]
    assert [e["node"]["title"] for e in edges][:2] == ["Thread 9", "Thread 8"]
    assert all(len(e["node"]["messages"]["edges"]) == 2 for e in edges)
    assert max(few, many) <= THREAD_LIST_STATEMENTS, (few, many)
