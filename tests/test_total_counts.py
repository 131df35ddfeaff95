"""`totalCount` on the lists a frontend counts: the whole list as its viewer sees it,
counted only when selected, and in one statement for many lists of a page."""

from __future__ import annotations

from models.accounts import User
from models.base import Role
from models.privacy import PrivacySettings
from models.profiles import Follow
from models.reports import Report
from models.rights import CorrectionRequest
from tests.support.forum import new_forum, open_thread, pk, reply, send, start_conversation
from tests.support.harness import Client
from tests.support.members import follow, member, set_audiences
from tests.support.sqlcount import count_statements

THREAD_MESSAGES = "query($id: ID!) { thread(id: $id) { messages(first: 1) { totalCount } } }"
CONVERSATION_MESSAGES = (
    "query($id: ID!) { conversation(id: $id) { messages(first: 1) { totalCount } } }"
)
FORUM_THREADS = '{ forum(slug: "general") { threads(first: 1) { totalCount } } }'
CONVERSATIONS = "{ conversations(first: 1) { totalCount } }"
DIRECTORY = "query($s: String) { users(first: 1, search: $s) { totalCount } }"
FOLLOWERS = """query($name: String!) { user(username: $name) {
  followers(first: 1) { totalCount } following(first: 1) { totalCount } } }"""


async def test_a_threads_message_count_counts_every_message_beyond_the_page(
    gql: Client,
) -> None:
    await member(gql, "ada")
    thread, _ = await open_thread(gql, "ada", await new_forum())
    for n in range(3):
        await reply(gql, "ada", thread, f"Reply {n}")

    response = await gql(THREAD_MESSAGES, {"id": thread})

    assert response == {"data": {"thread": {"messages": {"totalCount": 4}}}}


async def test_a_conversations_message_count_counts_its_messages_only(gql: Client) -> None:
    await member(gql, "ada")
    bob = await member(gql, "bob")
    conversation, _ = await start_conversation(gql, "ada", [bob])
    await send(gql, "bob", conversation, "Hi Ada")
    await start_conversation(gql, "ada", [bob], title="Another", body="Elsewhere")

    response = await gql(CONVERSATION_MESSAGES, {"id": conversation}, as_member="ada")

    assert response == {"data": {"conversation": {"messages": {"totalCount": 2}}}}


async def test_a_forums_thread_count_counts_its_threads_only(gql: Client) -> None:
    await member(gql, "ada")
    general, other = await new_forum(), await new_forum(slug="other", title="Other")
    for n in range(3):
        await open_thread(gql, "ada", general, title=f"Thread {n}")
    await open_thread(gql, "ada", other)

    response = await gql(FORUM_THREADS)

    assert response == {"data": {"forum": {"threads": {"totalCount": 3}}}}


async def test_the_inbox_count_leaves_out_conversations_left_and_others(gql: Client) -> None:
    ada, bob, cy = await member(gql, "ada"), await member(gql, "bob"), await member(gql, "cy")
    await start_conversation(gql, "ada", [bob])
    left, _ = await start_conversation(gql, "bob", [ada])
    await start_conversation(gql, "bob", [cy])  # not ada's
    leave = "mutation($i: ConversationInput!) { leaveConversation(input: $i) { conversationId } }"
    await gql(leave, {"i": {"conversationId": left}}, as_member="ada")

    response = await gql(CONVERSATIONS, as_member="ada")

    assert response == {"data": {"conversations": {"totalCount": 1}}}


async def test_the_report_queue_counts_each_status(gql: Client) -> None:
    await member(gql, "mod", role=Role.MODERATOR)
    await member(gql, "ada")
    _, message = await open_thread(gql, "ada", await new_forum())
    for status in ("open", "open", "dismissed"):
        await Report.create(message_id=pk(message), reason="Spam.", status=status)
    query = "query($s: ReportStatus) { reports(first: 1, status: $s) { totalCount } }"

    counts = [
        (await gql(query, {"s": status}, as_member="mod"))["data"]["reports"]["totalCount"]
        for status in (None, "OPEN", "DISMISSED", "RESOLVED")
    ]

    assert counts == [3, 2, 1, 0]


async def test_the_correction_queue_counts_each_status(gql: Client) -> None:
    await member(gql, "mod", role=Role.MODERATOR)
    ada = await member(gql, "ada")
    for status in ("open", "applied", "rejected", "open"):
        await CorrectionRequest.create(
            user=ada, field="username", proposed_value="ada_l", reason="Typo.", status=status
        )
    query = (
        "query($s: CorrectionStatus) { correctionRequests(first: 1, status: $s) { totalCount } }"
    )

    counts = [
        (await gql(query, {"s": s}, as_member="mod"))["data"]["correctionRequests"]["totalCount"]
        for s in (None, "OPEN", "APPLIED", "REJECTED")
    ]

    assert counts == [4, 2, 1, 1]


async def test_a_members_count_of_a_staff_list_is_refused_with_the_list(gql: Client) -> None:
    await member(gql, "ada")

    response = await gql("{ reports { totalCount } }", as_member="ada")

    assert response["data"] == {"reports": None}
    assert [error["extensions"]["code"] for error in response["errors"]] == ["FORBIDDEN"]


async def test_the_directory_count_leaves_out_unlisted_and_unconfirmed_members(
    gql: Client,
) -> None:
    await member(gql, "ada")
    await member(gql, "adam")
    hidden = await member(gql, "adele")
    await PrivacySettings.create(user=hidden, listed_in_members=False)
    await member(gql, "adrian", confirmed=False)
    await member(gql, "bob")

    everyone = await gql(DIRECTORY, {"s": None})
    searched = await gql(DIRECTORY, {"s": "AD"})

    assert everyone == {"data": {"users": {"totalCount": 3}}}
    assert searched == {"data": {"users": {"totalCount": 2}}}


async def test_a_follow_count_counts_only_the_edges_the_viewer_may_see(gql: Client) -> None:
    carol, fay, gus = await member(gql, "carol"), await member(gql, "fay"), await member(gql, "gus")
    await member(gql, "viewer")
    await set_audiences(carol, followers="EVERYONE", following="EVERYONE")
    await set_audiences(fay, following="ONLY_ME")  # her follow of carol shows to her alone
    await set_audiences(gus, following="EVERYONE")
    await follow(fay, carol)
    await follow(gus, carol)
    await follow(carol, gus)

    as_viewer = await gql(FOLLOWERS, {"name": "carol"}, as_member="viewer")
    as_fay = await gql(FOLLOWERS, {"name": "carol"}, as_member="fay")
    as_carol = await gql(FOLLOWERS, {"name": "carol"}, as_member="carol")

    def counts(followers: int, following: int) -> dict:
        user = {"followers": {"totalCount": followers}, "following": {"totalCount": following}}
        return {"data": {"user": user}}

    assert (as_viewer, as_fay, as_carol) == (counts(1, 1), counts(2, 1), counts(2, 1))


async def test_a_hidden_follow_list_has_no_count_at_all(gql: Client) -> None:
    carol = await member(gql, "carol")
    await member(gql, "viewer")
    await set_audiences(carol, followers="ONLY_ME")
    await follow(await member(gql, "fay"), carol)
    query = '{ user(username: "carol") { followers { totalCount } } }'

    response = await gql(query, as_member="viewer")

    assert response == {"data": {"user": {"followers": None}}}


# ------------------------------------------------------------------ statements


async def _directory_of(count: int, prefix: str = "m") -> list[User]:
    """`count` members, each with three followers among them, all lists public."""
    people = [await member(None, f"{prefix}{n:03}") for n in range(count)]
    for person in people:
        await set_audiences(person, followers="EVERYONE", following="EVERYONE")
    await Follow.bulk_create(
        [
            Follow(follower_id=people[(n + k) % count].id, followee_id=person.id)
            for n, person in enumerate(people)
            for k in (1, 2, 3)
        ]
    )
    return people


DIRECTORY_COUNTS = """{ users(first: 100) { totalCount edges { node {
  followers(first: 2) { totalCount } following(first: 2) { totalCount } } } } }"""
DIRECTORY_LISTS = """{ users(first: 100) { edges { node {
  followers(first: 2) { edges { cursor } } following(first: 2) { edges { cursor } } } } } }"""


async def _statements(gql: Client, query: str) -> tuple[int, list[str]]:
    with count_statements() as statements:
        response = await gql(query)
    assert "errors" not in response, response
    return statements.count, statements.sql


async def test_many_members_follow_counts_cost_one_statement_per_direction(
    gql: Client,
) -> None:
    await _directory_of(5)
    few, _ = await _statements(gql, DIRECTORY_COUNTS)
    await _directory_of(20, prefix="n")

    many, sql = await _statements(gql, DIRECTORY_COUNTS)

    counted = [s for s in sql if "ROW_NUMBER()" in s]
    assert many == few
    assert len(counted) == 4  # the two pages and the two counts, for all 25 members


async def test_a_count_costs_nothing_unless_selected(gql: Client) -> None:
    await _directory_of(5)

    _, sql = await _statements(gql, DIRECTORY_LISTS)

    assert [s for s in sql if "COUNT(" in s.upper()] == []
    assert len([s for s in sql if "ROW_NUMBER()" in s]) == 2  # the two pages alone


async def test_every_threads_message_count_on_a_page_is_one_statement(gql: Client) -> None:
    await member(gql, "ada")
    forum = await new_forum()
    for n in range(4):
        thread, _ = await open_thread(gql, "ada", forum, title=f"Thread {n}")
        await reply(gql, "ada", thread, "More")
    query = """{ forum(slug: "general") { threads(first: 10) { totalCount edges { node {
      messages(first: 1) { totalCount } } } } } }"""
    without = query.replace("totalCount ", "").replace("{ totalCount }", "{ edges { cursor } }")

    with_counts, sql = await _statements(gql, query)
    plain, _ = await _statements(gql, without)

    assert with_counts == plain + 2  # one for the forum's threads, one for every thread
    assert len([s for s in sql if "COUNT(" in s.upper()]) == 2
