"""blockMember / unblockMember: silent blocks, decided in the one privacy module."""

from __future__ import annotations

from typing import Any

import pytest

from models.accounts import User
from models.base import Role
from models.blocks import Block
from models.notifications import Notification
from models.profiles import Follow
from tests.support.documents import PUBLIC
from tests.support.forum import (
    gid,
    new_forum,
    open_thread,
    refused,
    reply,
    send,
    start_conversation,
)
from tests.support.harness import Client
from tests.support.members import follow, member, set_audiences, set_profile
from tests.support.privacy import global_id
from tests.support.sqlcount import count_statements
from tests.support.staff import MODERATE_THREAD

BLOCK = """mutation($i: BlockMemberInput!) {
  blockMember(input: $i) { user { username viewerHasBlocked } userErrors { field message code } }
}"""
UNBLOCK = BLOCK.replace("blockMember(input", "unblockMember(input").replace(
    "BlockMemberInput", "UnblockMemberInput"
)
BLOCKED = """query($u: String!) { user(username: $u) {
  blockedMembers(first: 10) { edges { node { username } } }
} }"""
THREAD = """query($t: ID!) { thread(id: $t) { messages(first: 50) { edges { node {
  body bodyHtml authorBlockedByViewer author { username }
} } } } }"""
AUTHORED = """query($u: String!) { user(username: $u) { messages(first: 10) {
  totalCount edges { node { body bodyHtml authorBlockedByViewer } } } } }"""
CONVERSATION = """query($c: ID!) { conversation(id: $c) { unreadCount messages(first: 10) {
  edges { node { body authorBlockedByViewer author { username } } } } } }"""
START = """mutation($i: StartConversationInput!) {
  startConversation(input: $i) { conversation { title } userErrors { field message code } }
}"""
MARK_READ = """mutation($i: ConversationInput!) {
  markConversationRead(input: $i) { userErrors { code } }
}"""
# Everything bob can read of ada and of what she writes (her privacy settings aside).
BOBS_VIEW = """query($u: String!, $t: ID!) {
  user(username: $u) {
    username email dateOfBirth age lastSeenAt suspendedUntil
    profile { bio location website dietPlan weightJourney { startKg currentKg goalKg } }
    followers(first: 10) { edges { node { username } } }
    following(first: 10) { edges { node { username } } }
    viewerIsFollowing viewerCanMessage viewerHasBlocked
    blockedMembers(first: 10) { edges { node { username } } }
    privacySettings { whoCanMessage }
  }
  thread(id: $t) { title messages(first: 10) { edges { node {
    body bodyHtml authorBlockedByViewer author { username viewerCanMessage }
  } } } }
  search(query: "runs") { edges { node { message { body author { username } } } } }
}"""


def blocked(username: str, mutation: str = "blockMember", now: bool = True) -> dict[str, Any]:
    """blockMember's (or unblockMember's) answer when it worked."""
    user = {"username": username, "viewerHasBlocked": now}
    return {"data": {mutation: {"user": user, "userErrors": []}}}


def thread_page(*messages: tuple[str, str, bool]) -> dict[str, Any]:
    """A thread page of (author, body, blocked) messages, as THREAD reads them."""
    edges = [
        {
            "node": {
                "body": "" if hidden else body,
                "bodyHtml": "" if hidden else f"<p>{body}</p>\n",
                "authorBlockedByViewer": hidden,
                "author": {"username": author},
            }
        }
        for author, body, hidden in messages
    ]
    return {"data": {"thread": {"messages": {"edges": edges}}}}


def authored(body: str, blocked: bool) -> dict[str, Any]:
    """AUTHORED's answer for a member with one public message reading `body`."""
    node = {
        "body": body,
        "bodyHtml": f"<p>{body}</p>\n" if body else "",
        "authorBlockedByViewer": blocked,
    }
    return {"data": {"user": {"messages": {"totalCount": 1, "edges": [{"node": node}]}}}}


async def block(blocker: User, target: User) -> None:
    """`blocker` blocks `target`, as blockMember leaves it."""
    await Block.create(blocker_id=blocker.id, blocked_id=target.id)


async def test_blocking_a_member_answers_with_them_and_lists_them_for_the_blocker(
    gql: Client,
) -> None:
    await member(gql, "ada")
    bob = await member(gql, "bob")

    response = await gql(BLOCK, {"i": {"userId": global_id(bob)}}, as_member="ada")

    assert response == blocked("bob")
    listed = await gql(BLOCKED, {"u": "ada"}, as_member="ada")
    assert listed == {
        "data": {"user": {"blockedMembers": {"edges": [{"node": {"username": "bob"}}]}}}
    }


async def test_the_blocker_counts_the_members_she_blocked(gql: Client) -> None:
    ada = await member(gql, "ada")
    for name in ("bob", "carol"):
        await block(ada, await member(gql, name))
    query = 'query { user(username: "ada") { blockedMembers(first: 1) { totalCount } } }'

    response = await gql(query, as_member="ada")

    assert response == {"data": {"user": {"blockedMembers": {"totalCount": 2}}}}


async def test_blocked_members_read_null_for_everyone_but_the_blocker(gql: Client) -> None:
    ada = await member(gql, "ada")
    bob = await member(gql, "bob")
    await block(ada, bob)

    answers = [await gql(BLOCKED, {"u": "ada"}, as_member=name) for name in ("bob", None)]

    assert answers == [{"data": {"user": {"blockedMembers": None}}}] * 2


async def test_blocking_twice_is_harmless(gql: Client) -> None:
    await member(gql, "ada")
    bob = await member(gql, "bob")

    first = await gql(BLOCK, {"i": {"userId": global_id(bob)}}, as_member="ada")
    second = await gql(BLOCK, {"i": {"userId": global_id(bob)}}, as_member="ada")

    assert first == second == blocked("bob")
    assert await Block.all().count() == 1


async def test_blocking_yourself_is_refused_and_changes_nothing(gql: Client) -> None:
    ada = await member(gql, "ada")

    response = await gql(BLOCK, {"i": {"userId": global_id(ada)}}, as_member="ada")

    errors = refused("CANNOT_BLOCK_SELF", "You cannot block yourself.", "userId")
    assert response == {"data": {"blockMember": {"user": None, "userErrors": errors}}}
    assert await Block.all().count() == 0


@pytest.mark.parametrize("mutation", [BLOCK, UNBLOCK])
async def test_blocking_an_unknown_member_is_refused(gql: Client, mutation: str) -> None:
    await member(gql, "ada")
    unconfirmed = await member(None, "cy", confirmed=False)
    name = "blockMember" if mutation == BLOCK else "unblockMember"

    answers = [
        await gql(mutation, {"i": {"userId": user_id}}, as_member="ada")
        for user_id in (global_id(unconfirmed), "VXNlcjo5OTk5")  # cy unconfirmed; User:9999
    ]

    errors = refused("USER_NOT_FOUND", "There is no such member.", "userId")
    assert answers == [{"data": {name: {"user": None, "userErrors": errors}}}] * 2
    assert await Block.all().count() == 0


async def test_blocking_signed_out_is_unauthenticated(gql: Client) -> None:
    bob = await member(gql, "bob")

    response = await gql(BLOCK, {"i": {"userId": global_id(bob)}})

    assert response["data"] == {"blockMember": None}
    assert response["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_unblocking_lifts_the_block_and_twice_is_harmless(gql: Client) -> None:
    ada = await member(gql, "ada")
    bob = await member(gql, "bob")
    await block(ada, bob)

    first = await gql(UNBLOCK, {"i": {"userId": global_id(bob)}}, as_member="ada")
    second = await gql(UNBLOCK, {"i": {"userId": global_id(bob)}}, as_member="ada")

    assert first == second == blocked("bob", "unblockMember", now=False)
    assert await Block.all().count() == 0


async def test_a_block_ends_follows_both_ways(gql: Client) -> None:
    ada = await member(gql, "ada")
    bob = await member(gql, "bob")
    carol = await member(gql, "carol")
    for follower, followee in ((ada, bob), (bob, ada), (ada, carol), (carol, ada)):
        await follow(follower, followee)

    await gql(BLOCK, {"i": {"userId": global_id(bob)}}, as_member="ada")

    left = await Follow.all().order_by("id").values_list("follower_id", "followee_id")
    assert left == [(ada.id, carol.id), (carol.id, ada.id)]


async def test_the_blocker_reads_the_blocked_members_thread_messages_empty(gql: Client) -> None:
    ada = await member(gql, "ada")
    bob = await member(gql, "bob")
    await member(gql, "carol")
    thread_id, _ = await open_thread(gql, "carol", await new_forum(), body="Welcome")
    await reply(gql, "bob", thread_id, "Bob here")
    await reply(gql, "ada", thread_id, "Ada here")
    await block(ada, bob)

    answers = {name: await gql(THREAD, {"t": thread_id}, as_member=name) for name in ("ada", "bob")}

    assert answers == {
        "ada": thread_page(
            ("carol", "Welcome", False), ("bob", "Bob here", True), ("ada", "Ada here", False)
        ),
        "bob": thread_page(
            ("carol", "Welcome", False), ("bob", "Bob here", False), ("ada", "Ada here", False)
        ),
    }


async def test_a_moved_and_pinned_thread_keeps_the_blocked_members_messages_empty(
    gql: Client,
) -> None:
    ada = await member(gql, "ada")
    bob = await member(gql, "bob")
    await member(gql, "carol")
    await member(gql, "mod", Role.MODERATOR)
    thread_id, _ = await open_thread(gql, "carol", await new_forum(), body="Welcome")
    await reply(gql, "bob", thread_id, "Bob here")
    await block(ada, bob)
    elsewhere = await new_forum("elsewhere", "Elsewhere")
    change = {"threadId": thread_id, "pinned": True, "forumId": gid("Forum", elsewhere.id)}
    moved = await gql(
        MODERATE_THREAD, {"i": {**change, "reason": "Belongs there"}}, as_member="mod"
    )
    thread = {
        "title": "Hello there",
        "locked": False,
        "pinned": True,
        "forum": {"slug": "elsewhere"},
    }
    assert moved == {"data": {"moderateThread": {"thread": thread, "userErrors": []}}}

    answers = {name: await gql(THREAD, {"t": thread_id}, as_member=name) for name in ("ada", "bob")}

    assert answers == {
        "ada": thread_page(("carol", "Welcome", False), ("bob", "Bob here", True)),
        "bob": thread_page(("carol", "Welcome", False), ("bob", "Bob here", False)),
    }


async def test_the_blocker_reads_the_blocked_members_message_list_empty(gql: Client) -> None:
    ada = await member(gql, "ada")
    bob = await member(gql, "bob")
    await member(gql, "carol")
    thread_id, _ = await open_thread(gql, "carol", await new_forum(), body="Welcome")
    await reply(gql, "bob", thread_id, "Bob here")
    await block(ada, bob)

    answers = {name: await gql(AUTHORED, {"u": "bob"}, as_member=name) for name in ("ada", "carol")}

    assert answers == {"ada": authored("", True), "carol": authored("Bob here", False)}


async def test_the_blocker_cannot_start_a_conversation_with_the_blocked_member(
    gql: Client,
) -> None:
    ada = await member(gql, "ada")
    bob = await member(gql, "bob")
    await block(ada, bob)

    variables = {"i": {"recipientIds": [global_id(bob)], "title": "Hello", "body": "Hello"}}
    response = await gql(START, variables, as_member="ada")

    errors = refused("CANNOT_MESSAGE", "You cannot message this member.", "recipientIds", "0")
    assert response == {"data": {"startConversation": {"conversation": None, "userErrors": errors}}}


async def test_messages_in_a_shared_conversation_reach_everyone_but_the_blocker(
    gql: Client,
) -> None:
    ada = await member(gql, "ada")
    bob = await member(gql, "bob")
    carol = await member(gql, "carol")
    conversation_id, _ = await start_conversation(gql, "carol", [ada, bob], body="Hi all")
    await gql(MARK_READ, {"i": {"conversationId": conversation_id}}, as_member="ada")
    await block(ada, bob)

    await send(gql, "bob", conversation_id, "Bob writes")
    answers = {
        name: await gql(CONVERSATION, {"c": conversation_id}, as_member=name)
        for name in ("ada", "carol")
    }

    def seen(unread: int, bob_blocked: bool) -> dict[str, Any]:
        edges = [
            {
                "node": {
                    "body": "Hi all",
                    "authorBlockedByViewer": False,
                    "author": {"username": "carol"},
                }
            },
            {
                "node": {
                    "body": "" if bob_blocked else "Bob writes",
                    "authorBlockedByViewer": bob_blocked,
                    "author": {"username": "bob"},
                }
            },
        ]
        return {"data": {"conversation": {"unreadCount": unread, "messages": {"edges": edges}}}}

    assert answers == {"ada": seen(0, True), "carol": seen(1, False)}
    del carol


@pytest.mark.parametrize("reference", ["block", "nobody may message or mention"])
async def test_the_blocked_members_view_equals_the_view_when_nobody_may_message_or_mention(
    gql: Client, reference: str
) -> None:
    ada = await member(gql, "ada")
    bob = await member(gql, "bob")
    await set_profile(ada, bio="Runner", location="Leeds", website="https://ada.example")
    await set_audiences(ada, email="MEMBERS", following="EVERYONE")
    thread_id, _ = await open_thread(gql, "ada", await new_forum(), title="Runs", body="Ada runs")
    if reference == "block":
        await gql(BLOCK, {"i": {"userId": global_id(bob)}}, as_member="ada")
    else:
        await set_audiences(ada, who_can_message="ONLY_ME", who_can_mention="ONLY_ME")
    await reply(gql, "bob", thread_id, "Bob runs too @ada")
    await gql(
        "mutation($i: FollowInput!) { follow(input: $i) { userErrors { code } } }",
        {"i": {"userId": global_id(ada)}},
        as_member="bob",
    )

    view = await gql(BOBS_VIEW, {"u": "ada", "t": thread_id}, as_member="bob")
    variables = {"i": {"recipientIds": [global_id(ada)], "title": "Hello", "body": "Hello"}}
    start = await gql(START, variables, as_member="bob")

    def message(author: str, body: str, can_message: bool) -> dict[str, Any]:
        link = f'<a href="{PUBLIC}/members/ada" class="mention">@ada</a>'
        return {
            "node": {
                "body": body,
                "bodyHtml": f"<p>{body.replace('@ada', link)}</p>\n",
                "authorBlockedByViewer": False,
                "author": {"username": author, "viewerCanMessage": can_message},
            }
        }

    assert view == {
        "data": {
            "user": {
                "username": "ada",
                "email": "ada@example.org",
                "dateOfBirth": None,
                "age": view["data"]["user"]["age"],  # the years since BORN, today
                "lastSeenAt": None,
                "suspendedUntil": None,
                "profile": {
                    "bio": "Runner",
                    "location": "Leeds",
                    "website": "https://ada.example",
                    "dietPlan": None,
                    "weightJourney": None,
                },
                "followers": {"edges": [{"node": {"username": "bob"}}]},
                "following": {"edges": []},
                "viewerIsFollowing": True,
                "viewerCanMessage": False,
                "viewerHasBlocked": False,
                "blockedMembers": None,
                "privacySettings": None,
            },
            "thread": {
                "title": "Runs",
                "messages": {
                    "edges": [
                        message("ada", "Ada runs", False),
                        message("bob", "Bob runs too @ada", False),
                    ]
                },
            },
            "search": {
                "edges": [
                    {"node": {"message": {"body": "Ada runs", "author": {"username": "ada"}}}},
                    {
                        "node": {
                            "message": {"body": "Bob runs too @ada", "author": {"username": "bob"}}
                        }
                    },
                ]
            },
        }
    }
    assert isinstance(view["data"]["user"]["age"], int)
    assert await Notification.filter(recipient_id=ada.id, kind="mention").count() == 0
    errors = refused("CANNOT_MESSAGE", "You cannot message this member.", "recipientIds", "0")
    assert start == {"data": {"startConversation": {"conversation": None, "userErrors": errors}}}


async def test_a_thread_page_with_blocked_authors_costs_the_same_statements_at_any_length(
    gql: Client,
) -> None:
    ada = await member(gql, "ada")
    writers = [await member(gql, f"writer{i}") for i in range(6)]
    forum = await new_forum()
    short_id, _ = await open_thread(gql, "writer0", forum, title="Short")
    long_id, _ = await open_thread(gql, "writer0", forum, title="Long")
    await reply(gql, "writer1", short_id, "One")
    for writer in writers:
        await reply(gql, writer.username, long_id, f"From {writer.username}")
    for writer in writers:
        await block(ada, writer)

    costs = []
    for thread_id in (short_id, long_id):
        with count_statements() as statements:
            await gql(THREAD, {"t": thread_id}, as_member="ada")
        costs.append(statements.count)

    assert costs[0] == costs[1]
