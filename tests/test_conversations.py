"""Private conversations: who may start one, writing, reading state, leaving, and that
nobody outside a conversation can reach it or its messages by any path."""

from __future__ import annotations

from typing import Any

import pytest

from models.accounts import User
from models.blocks import Block
from models.conversations import Conversation
from models.messages import Message
from tests.support.documents import SEND, START
from tests.support.forum import coded_error, gid, pk, refused, send, start_conversation
from tests.support.harness import Client
from tests.support.members import follow, member, set_audiences
from tests.support.sqlcount import count_statements


@pytest.fixture
async def cast(gql: Client) -> dict[str, User]:
    """ada, bob and carol: confirmed members, signed in."""
    return {name: await member(gql, name) for name in ("ada", "bob", "carol")}


def start_input(recipients: list[str], title: str = "Just us", body: str = "Hi") -> dict[str, Any]:
    """startConversation variables for recipients given by global ID."""
    return {"i": {"recipientIds": recipients, "title": title, "body": body}}


STARTED = """mutation($i: StartConversationInput!) {
  startConversation(input: $i) {
    conversation { title participants { username }
      messages { edges { node { body author { username } } } } }
    userErrors { field message code }
  }
}"""
CANNOT = "You cannot message this member."


# ------------------------------------------------------------------ starting


async def test_a_member_starts_a_conversation(gql: Client, cast: dict[str, User]) -> None:
    variables = start_input([gid("User", cast["bob"].id)], "Lunch?", "Are you free *Friday*?")

    response = await gql(STARTED, variables, as_member="ada")

    conversation = {
        "title": "Lunch?",
        "participants": [{"username": "ada"}, {"username": "bob"}],
        "messages": {
            "edges": [{"node": {"body": "Are you free *Friday*?", "author": {"username": "ada"}}}]
        },
    }
    assert response == {
        "data": {"startConversation": {"conversation": conversation, "userErrors": []}}
    }


# Does bob's whoCanMessage let ada in? bob follows ada in the FOLLOWING case that allows it.
WHO_CAN_MESSAGE = [
    ("EVERYONE", False, True),
    ("MEMBERS", False, True),
    ("FOLLOWING", True, True),
    ("FOLLOWING", False, False),
    ("ONLY_ME", True, False),
]


async def bob_accepts(gql: Client, cast: dict[str, User], audience: str, follows: bool) -> None:
    """bob sets whoCanMessage through the API, and follows ada if asked."""
    response = await gql(
        "mutation($a: Audience!) { updatePrivacySettings(input: {whoCanMessage: $a}) "
        "{ privacySettings { whoCanMessage } userErrors { code } } }",
        {"a": audience},
        as_member="bob",
    )
    assert response == {
        "data": {
            "updatePrivacySettings": {
                "privacySettings": {"whoCanMessage": audience},
                "userErrors": [],
            }
        }
    }
    if follows:
        await follow(cast["bob"], cast["ada"])


@pytest.mark.parametrize(("audience", "follows", "allowed"), WHO_CAN_MESSAGE)
async def test_a_conversation_starts_only_within_the_recipients_who_can_message(
    gql: Client, cast: dict[str, User], audience: str, follows: bool, allowed: bool
) -> None:
    await bob_accepts(gql, cast, audience, follows)

    response = await gql(START, start_input([gid("User", cast["bob"].id)]), as_member="ada")

    payload = response["data"]["startConversation"]
    if allowed:
        assert (payload["userErrors"], await Conversation.all().count()) == ([], 1)
    else:
        errors = refused("CANNOT_MESSAGE", CANNOT, "recipientIds", "0")
        assert payload == {"conversation": None, "userErrors": errors}
        assert await Conversation.all().count() == 0


@pytest.mark.parametrize(("audience", "follows", "allowed"), WHO_CAN_MESSAGE)
async def test_viewer_can_message_agrees_with_who_can_message(
    gql: Client, cast: dict[str, User], audience: str, follows: bool, allowed: bool
) -> None:
    await bob_accepts(gql, cast, audience, follows)

    response = await gql('{ user(username: "bob") { viewerCanMessage } }', as_member="ada")

    assert response == {"data": {"user": {"viewerCanMessage": allowed}}}


async def test_signed_out_nobody_can_message_anyone(gql: Client, cast: dict[str, User]) -> None:
    await set_audiences(cast["bob"], who_can_message="EVERYONE")

    response = await gql('{ user(username: "bob") { viewerCanMessage } }')

    assert response == {"data": {"user": {"viewerCanMessage": False}}}


async def test_each_refused_recipient_is_named_by_its_index(
    gql: Client, cast: dict[str, User]
) -> None:
    await set_audiences(cast["carol"], who_can_message="ONLY_ME")
    recipients = [gid("User", cast["bob"].id), gid("User", cast["carol"].id), gid("User", 999)]

    response = await gql(START, start_input(recipients), as_member="ada")

    errors = [
        {"field": ["recipientIds", "1"], "message": CANNOT, "code": "CANNOT_MESSAGE"},
        {"field": ["recipientIds", "2"], "message": CANNOT, "code": "CANNOT_MESSAGE"},
    ]
    assert response == {"data": {"startConversation": {"conversation": None, "userErrors": errors}}}
    assert await Conversation.all().count() == 0


async def test_an_unknown_member_is_refused_like_one_who_does_not_accept_you(
    gql: Client, cast: dict[str, User]
) -> None:
    await set_audiences(cast["carol"], who_can_message="ONLY_ME")

    closed = await gql(START, start_input([gid("User", cast["carol"].id)]), as_member="ada")
    unknown = await gql(START, start_input([gid("User", 999)]), as_member="ada")

    assert closed == unknown
    assert unknown == {
        "data": {
            "startConversation": {
                "conversation": None,
                "userErrors": refused("CANNOT_MESSAGE", CANNOT, "recipientIds", "0"),
            }
        }
    }


async def test_the_index_counts_the_ids_as_sent_with_yourself_among_them(
    gql: Client, cast: dict[str, User]
) -> None:
    await set_audiences(cast["carol"], who_can_message="ONLY_ME")
    recipients = [gid("User", cast["ada"].id), gid("User", cast["carol"].id)]

    response = await gql(START, start_input(recipients), as_member="ada")

    errors = refused("CANNOT_MESSAGE", CANNOT, "recipientIds", "1")
    assert response == {"data": {"startConversation": {"conversation": None, "userErrors": errors}}}


@pytest.mark.parametrize("recipients", [[], ["self"]])
async def test_a_conversation_needs_another_member(
    gql: Client, cast: dict[str, User], recipients: list[str]
) -> None:
    ids = [gid("User", cast["ada"].id) for _ in recipients]

    response = await gql(START, start_input(ids), as_member="ada")

    errors = refused("RECIPIENTS_COUNT", "Choose 1 to 20 other members.", "recipientIds")
    assert response == {"data": {"startConversation": {"conversation": None, "userErrors": errors}}}


async def test_signed_out_nobody_starts_a_conversation(gql: Client, cast: dict[str, User]) -> None:
    response = await gql(START, start_input([gid("User", cast["bob"].id)]))

    message = "Sign in to do this."
    assert response == {
        "data": {"startConversation": None},
        "errors": [coded_error(START, "startConversation", message, "UNAUTHENTICATED")],
    }


# ------------------------------------------------------------------ writing and reading

MESSAGES = """query($id: ID!) {
  conversation(id: $id) { messages { edges { node { body author { username } } } } }
}"""


async def test_a_participant_sends_a_message(gql: Client, cast: dict[str, User]) -> None:
    conversation_id, _ = await start_conversation(gql, "ada", [cast["bob"]], body="Hi Bob")

    await send(gql, "bob", conversation_id, "Hi Ada")

    response = await gql(MESSAGES, {"id": conversation_id}, as_member="ada")
    edges = [
        {"node": {"body": "Hi Bob", "author": {"username": "ada"}}},
        {"node": {"body": "Hi Ada", "author": {"username": "bob"}}},
    ]
    assert response == {"data": {"conversation": {"messages": {"edges": edges}}}}


async def test_a_participant_reaches_a_message_and_its_conversation_by_node(
    gql: Client, cast: dict[str, User]
) -> None:
    conversation_id, message_id = await start_conversation(gql, "ada", [cast["bob"]], "Lunch?")

    response = await gql(
        "query($m: ID!) { node(id: $m) { ... on Message { body conversation { id title } } } }",
        {"m": message_id},
        as_member="bob",
    )

    conversation = {"id": conversation_id, "title": "Lunch?"}
    assert response == {"data": {"node": {"body": "Hi", "conversation": conversation}}}


INBOX = "{ conversations { edges { node { title } } } }"


def titles(response: dict[str, Any]) -> list[str]:
    """The conversation titles of an INBOX, in order."""
    return [edge["node"]["title"] for edge in response["data"]["conversations"]["edges"]]


async def test_conversations_are_listed_newest_activity_first(
    gql: Client, cast: dict[str, User]
) -> None:
    with_bob, _ = await start_conversation(gql, "ada", [cast["bob"]], "With Bob")
    await start_conversation(gql, "ada", [cast["carol"]], "With Carol")
    await start_conversation(gql, "bob", [cast["carol"]], "Without Ada")

    await send(gql, "bob", with_bob, "Bump")

    assert titles(await gql(INBOX, as_member="ada")) == ["With Bob", "With Carol"]


async def test_conversations_page_by_keyset_cursor(gql: Client, cast: dict[str, User]) -> None:
    for title in ("One", "Two", "Three"):
        await start_conversation(gql, "ada", [cast["bob"]], title)
    query = (
        "query($after: String) { conversations(first: 2, after: $after) "
        "{ edges { node { title } } pageInfo { hasNextPage endCursor } } }"
    )

    first = await gql(query, as_member="bob")
    cursor = first["data"]["conversations"]["pageInfo"]["endCursor"]
    second = await gql(query, {"after": cursor}, as_member="bob")

    assert (titles(first), first["data"]["conversations"]["pageInfo"]["hasNextPage"]) == (
        ["Three", "Two"],
        True,
    )
    assert (titles(second), second["data"]["conversations"]["pageInfo"]["hasNextPage"]) == (
        ["One"],
        False,
    )


INBOX_PAGE = """{ conversations(first: 20) { edges { node {
  title unreadCount participants { username }
  messages(last: 1) { edges { node { body bodyHtml authorBlockedByViewer author { username } } } }
} } } }"""


async def test_an_inbox_costs_five_statements_at_any_length(
    gql: Client, cast: dict[str, User]
) -> None:
    with_carol, _ = await start_conversation(gql, "carol", [cast["ada"]], "From Carol")
    await send(gql, "carol", with_carol, "Still there?")
    await Block.create(blocker_id=cast["ada"].id, blocked_id=cast["carol"].id)

    costs = []
    for round_ in range(2):
        with count_statements() as statements:
            inbox = await gql(INBOX_PAGE, as_member="ada")
        assert len(inbox["data"]["conversations"]["edges"]) == 1 + 3 * round_
        costs.append(statements.count)
        for i in range(3):
            others = [cast["ada"], cast["carol"]][: 1 + i % 2]
            started, _ = await start_conversation(gql, "bob", others, f"Plans {i}")
            await send(gql, "bob", started, f"More {i}")

    # The session (with the members ada blocked), the conversations with their unread
    # counts, their participants, each one's last message, the members named.
    assert costs == [5, 5]


async def test_signed_out_nobody_has_conversations(gql: Client) -> None:
    response = await gql(INBOX)

    assert response == {
        "data": {"conversations": None},
        "errors": [coded_error(INBOX, "conversations", "Sign in to do this.", "UNAUTHENTICATED")],
    }


UNREAD = "query($id: ID!) { conversation(id: $id) { unreadCount } }"
MARK_READ = """mutation($i: ConversationInput!) {
  markConversationRead(input: $i) { conversation { unreadCount } userErrors { field message code } }
}"""


async def test_unread_count_counts_the_others_messages_since_you_last_read(
    gql: Client, cast: dict[str, User]
) -> None:
    conversation_id, _ = await start_conversation(gql, "bob", [cast["ada"]])
    await send(gql, "bob", conversation_id, "Are you there?")
    await send(gql, "ada", conversation_id, "Yes")
    await send(gql, "bob", conversation_id, "Good")

    ada = await gql(UNREAD, {"id": conversation_id}, as_member="ada")
    bob = await gql(UNREAD, {"id": conversation_id}, as_member="bob")

    assert (ada, bob) == (
        {"data": {"conversation": {"unreadCount": 1}}},  # ada wrote after bob's first two
        {"data": {"conversation": {"unreadCount": 0}}},
    )


async def test_unread_count_starts_at_the_first_message_for_recipients(
    gql: Client, cast: dict[str, User]
) -> None:
    conversation_id, _ = await start_conversation(gql, "bob", [cast["ada"]])
    await send(gql, "bob", conversation_id, "Hello?")

    response = await gql(UNREAD, {"id": conversation_id}, as_member="ada")

    assert response == {"data": {"conversation": {"unreadCount": 2}}}


async def test_marking_a_conversation_read_clears_its_unread_count(
    gql: Client, cast: dict[str, User]
) -> None:
    conversation_id, _ = await start_conversation(gql, "bob", [cast["ada"]])
    await send(gql, "bob", conversation_id, "Hello?")

    response = await gql(MARK_READ, {"i": {"conversationId": conversation_id}}, as_member="ada")

    assert response == {
        "data": {"markConversationRead": {"conversation": {"unreadCount": 0}, "userErrors": []}}
    }
    assert await gql(UNREAD, {"id": conversation_id}, as_member="ada") == {
        "data": {"conversation": {"unreadCount": 0}}
    }


async def test_messages_after_marking_read_count_as_unread_again(
    gql: Client, cast: dict[str, User]
) -> None:
    conversation_id, _ = await start_conversation(gql, "bob", [cast["ada"]])
    await gql(MARK_READ, {"i": {"conversationId": conversation_id}}, as_member="ada")

    await send(gql, "bob", conversation_id, "One more")

    response = await gql(UNREAD, {"id": conversation_id}, as_member="ada")
    assert response == {"data": {"conversation": {"unreadCount": 1}}}


# ------------------------------------------------------------------ leaving

LEAVE = """mutation($i: ConversationInput!) {
  leaveConversation(input: $i) { userErrors { field message code } }
}"""


@pytest.fixture
async def left(gql: Client, cast: dict[str, User]) -> str:
    """A conversation of ada, bob and carol that carol has left."""
    conversation_id, _ = await start_conversation(gql, "ada", [cast["bob"], cast["carol"]], "Trio")
    response = await gql(LEAVE, {"i": {"conversationId": conversation_id}}, as_member="carol")
    assert response == {"data": {"leaveConversation": {"userErrors": []}}}
    return conversation_id


async def test_a_conversation_you_left_disappears_for_you(gql: Client, left: str) -> None:
    inbox = await gql(INBOX, as_member="carol")
    direct = await gql(
        "query($id: ID!) { conversation(id: $id) { id } }", {"id": left}, as_member="carol"
    )

    assert (inbox, direct) == (
        {"data": {"conversations": {"edges": []}}},
        {"data": {"conversation": None}},
    )


async def test_the_others_keep_a_conversation_someone_left(gql: Client, left: str) -> None:
    await send(gql, "bob", left, "Just us now")

    response = await gql(
        "query($id: ID!) { conversation(id: $id) { title participants { username } } }",
        {"id": left},
        as_member="ada",
    )

    participants = [{"username": "ada"}, {"username": "bob"}]
    assert response == {"data": {"conversation": {"title": "Trio", "participants": participants}}}


async def test_someone_who_left_cannot_write_there(gql: Client, left: str) -> None:
    response = await gql(SEND, {"i": {"conversationId": left, "body": "Back"}}, as_member="carol")

    message = "You are not allowed to do this."
    assert response == {
        "data": {"sendMessage": None},
        "errors": [coded_error(SEND, "sendMessage", message, "FORBIDDEN")],
    }


async def test_leaving_twice_finds_no_conversation(gql: Client, left: str) -> None:
    response = await gql(LEAVE, {"i": {"conversationId": left}}, as_member="carol")

    errors = refused("CONVERSATION_NOT_FOUND", "You have no such conversation.", "conversationId")
    assert response == {"data": {"leaveConversation": {"userErrors": errors}}}


# ------------------------------------------------------------------ outsiders


@pytest.fixture
async def private(gql: Client, cast: dict[str, User]) -> tuple[str, str]:
    """A conversation between ada and bob (carol is not in it): its ID and a message ID."""
    conversation_id, _ = await start_conversation(gql, "ada", [cast["bob"]], "Secret")
    message_id = await send(gql, "bob", conversation_id, "Between us")
    return conversation_id, message_id


UNKNOWN_CONVERSATION = gid("Conversation", 999)
UNKNOWN_MESSAGE = gid("Message", 999)


@pytest.mark.parametrize("viewer", ["carol", None])
async def test_an_outsider_finds_no_conversation_by_id(
    gql: Client, private: tuple[str, str], viewer: str | None
) -> None:
    query = (
        "query($id: ID!) { conversation(id: $id) { title messages { edges { node { body } } } } }"
    )

    existing = await gql(query, {"id": private[0]}, as_member=viewer)
    unknown = await gql(query, {"id": UNKNOWN_CONVERSATION}, as_member=viewer)

    assert existing == unknown == {"data": {"conversation": None}}


@pytest.mark.parametrize("viewer", ["carol", None])
async def test_an_outsider_finds_neither_conversation_nor_message_by_node(
    gql: Client, private: tuple[str, str], viewer: str | None
) -> None:
    query = (
        "query($c: ID!, $m: ID!) { c: node(id: $c) { id ... on Conversation { title } } "
        "m: node(id: $m) { id ... on Message { body conversation { title } } } }"
    )

    existing = await gql(query, {"c": private[0], "m": private[1]}, as_member=viewer)
    unknown = await gql(query, {"c": UNKNOWN_CONVERSATION, "m": UNKNOWN_MESSAGE}, as_member=viewer)

    assert existing == unknown == {"data": {"c": None, "m": None}}


async def test_an_outsider_does_not_see_the_conversation_in_their_list(
    gql: Client, private: tuple[str, str]
) -> None:
    assert await gql(INBOX, as_member="carol") == {"data": {"conversations": {"edges": []}}}


REPORT = """mutation($i: ReportMessageInput!) {
  reportMessage(input: $i) { report { reason } userErrors { field message code } }
}"""


async def test_an_outsider_cannot_report_a_private_message(
    gql: Client, private: tuple[str, str]
) -> None:
    reason = "I think this is spam"

    existing = await gql(
        REPORT, {"i": {"messageId": private[1], "reason": reason}}, as_member="carol"
    )
    unknown = await gql(
        REPORT, {"i": {"messageId": UNKNOWN_MESSAGE, "reason": reason}}, as_member="carol"
    )

    errors = refused("MESSAGE_NOT_FOUND", "There is no such message.", "messageId")
    assert (
        existing == unknown == {"data": {"reportMessage": {"report": None, "userErrors": errors}}}
    )


async def test_an_outsider_cannot_edit_or_delete_a_private_message(
    gql: Client, private: tuple[str, str]
) -> None:
    edit = await gql(
        "mutation($i: EditMessageInput!) { editMessage(input: $i) { userErrors { code } } }",
        {"i": {"messageId": private[1], "body": "Mine now"}},
        as_member="carol",
    )
    delete = await gql(
        "mutation($i: DeleteMessageInput!) { deleteMessage(input: $i) { userErrors { code } } }",
        {"i": {"messageId": private[1]}},
        as_member="carol",
    )

    assert (edit, delete) == (
        {"data": {"editMessage": {"userErrors": [{"code": "MESSAGE_NOT_FOUND"}]}}},
        {"data": {"deleteMessage": {"userErrors": [{"code": "MESSAGE_NOT_FOUND"}]}}},
    )
    assert (await Message.get(id=pk(private[1]))).body == "Between us"


async def test_an_outsiders_message_is_forbidden_the_same_as_to_no_conversation(
    gql: Client, private: tuple[str, str]
) -> None:
    existing = await gql(
        SEND, {"i": {"conversationId": private[0], "body": "Hi"}}, as_member="carol"
    )
    unknown = await gql(
        SEND, {"i": {"conversationId": UNKNOWN_CONVERSATION, "body": "Hi"}}, as_member="carol"
    )

    forbidden = coded_error(SEND, "sendMessage", "You are not allowed to do this.", "FORBIDDEN")
    assert existing == unknown == {"data": {"sendMessage": None}, "errors": [forbidden]}
    assert await Message.filter(conversation_id=pk(private[0])).count() == 2


async def test_signed_out_nobody_sends_a_message(gql: Client, private: tuple[str, str]) -> None:
    response = await gql(SEND, {"i": {"conversationId": private[0], "body": "Hi"}})

    error = coded_error(SEND, "sendMessage", "Sign in to do this.", "UNAUTHENTICATED")
    assert response == {"data": {"sendMessage": None}, "errors": [error]}


@pytest.mark.parametrize("mutation", ["markConversationRead", "leaveConversation"])
async def test_an_outsider_cannot_mark_read_or_leave_a_conversation(
    gql: Client, private: tuple[str, str], mutation: str
) -> None:
    query = (
        f"mutation($i: ConversationInput!) {{ {mutation}(input: $i) {{ userErrors {{ code }} }} }}"
    )

    existing = await gql(query, {"i": {"conversationId": private[0]}}, as_member="carol")
    unknown = await gql(query, {"i": {"conversationId": UNKNOWN_CONVERSATION}}, as_member="carol")

    expected = {"data": {mutation: {"userErrors": [{"code": "CONVERSATION_NOT_FOUND"}]}}}
    assert existing == unknown == expected
