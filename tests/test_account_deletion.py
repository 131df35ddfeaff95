"""deleteAccount: with the right password the member's personal data and address records
go; public messages stay unsigned, private ones stay readable for the others."""

from __future__ import annotations

import pytest

from models.accounts import User
from models.activity import Visit
from models.conversations import Conversation
from models.forums import Forum
from models.messages import Message, Thread
from models.policy import Consent
from models.sessions import Session
from schema import ids
from tests.support.documents import VIEWER
from tests.support.harness import PASSWORD, Client
from tests.support.mail import Mailbox
from tests.support.members import member, register

DELETE = """
mutation($i: DeleteAccountInput!) {
  deleteAccount(input: $i) { userErrors { field message code } }
}
"""
LOGIN = """
mutation($i: LoginInput!) {
  login(input: $i) { user { username } userErrors { code } }
}
"""
CREATE_THREAD = """
mutation($i: CreateThreadInput!) {
  createThread(input: $i) { thread { id } userErrors { code } }
}
"""
POST = """
mutation($i: PostMessageInput!) {
  postMessage(input: $i) { message { id } userErrors { code } }
}
"""
START = """
mutation($i: StartConversationInput!) {
  startConversation(input: $i) { conversation { id } userErrors { code } }
}
"""
SEND = """
mutation($i: SendMessageInput!) {
  sendMessage(input: $i) { message { id } userErrors { code } }
}
"""
THREAD = """
query($id: ID!) {
  thread(id: $id) { author { username } messages { edges { node { author { username } body } } } }
}
"""
CONVERSATION = """
query($id: ID!) {
  conversation(id: $id) {
    participants { username }
    messages { edges { node { author { username } body } } }
  }
}
"""
PAGE_VIEW = """
mutation {
  recordPageView(input: {path: "/forums"}) { userErrors { code } }
}
"""
ADA = '{ user(username: "ada_l") { username } }'
NODE = "query($id: ID!) { node(id: $id) { id } }"
SET_CONSENT = """
mutation {
  setConsent(input: {kind: ANALYTICS, granted: true}) { userErrors { code } }
}
"""

DELETED = {"data": {"deleteAccount": {"userErrors": []}}}


@pytest.fixture
async def ada(gql: Client) -> User:
    return await member(gql, "ada_l", by_login=True)


@pytest.fixture
async def bob(gql: Client) -> User:
    return await member(gql, "bob_k", by_login=True)


async def delete(gql: Client, password: str = PASSWORD) -> dict:
    return await gql(DELETE, {"i": {"password": password}}, as_member="ada_l")


async def login(gql: Client, name: str) -> dict:
    return await gql(LOGIN, {"i": {"login": name, "password": PASSWORD}})


async def created(gql: Client, query: str, data: dict, viewer: str) -> str:
    """Run a create mutation that must succeed; return the new object's ID."""
    response = await gql(query, {"i": data}, as_member=viewer)
    ((_, payload),) = response["data"].items()
    assert payload["userErrors"] == [], payload
    ((_, node),) = [(k, v) for k, v in payload.items() if k != "userErrors"]
    return node["id"]


async def public_thread(gql: Client) -> str:
    """A thread ada_l opened and bob_k answered; its ID."""
    forum = await Forum.create(slug="s", title="T")
    data = {"forumId": ids.encode("Forum", forum.id), "title": "Engines", "body": "Ada writes."}
    thread_id = await created(gql, CREATE_THREAD, data, "ada_l")
    await created(gql, POST, {"threadId": thread_id, "body": "Bob answers."}, "bob_k")
    return thread_id


async def private_conversation(gql: Client, bob: User) -> str:
    """A conversation ada_l started with bob_k, who answered; its ID."""
    data = {
        "recipientIds": [ids.encode("User", bob.id)],
        "title": "Hello there",
        "body": "Ada asks.",
    }
    conversation_id = await created(gql, START, data, "ada_l")
    await created(gql, SEND, {"conversationId": conversation_id, "body": "Bob replies."}, "bob_k")
    return conversation_id


# ------------------------------------------------------------------ refused


@pytest.mark.parametrize("password", ["not my password", "", PASSWORD.upper()])
async def test_a_wrong_password_deletes_nothing(gql: Client, ada: User, password: str) -> None:
    response = await delete(gql, password)

    assert response == {
        "data": {
            "deleteAccount": {
                "userErrors": [
                    {
                        "field": ["password"],
                        "message": "Your password is not right.",
                        "code": "WRONG_PASSWORD",
                    }
                ]
            }
        }
    }
    assert await gql(VIEWER, as_member="ada_l") == {"data": {"viewer": {"username": "ada_l"}}}
    assert await gql(ADA) == {"data": {"user": {"username": "ada_l"}}}


async def test_deleting_needs_a_signed_in_member(gql: Client, ada: User) -> None:
    response = await gql(DELETE, {"i": {"password": PASSWORD}})

    assert response == {
        "data": {"deleteAccount": None},
        "errors": [
            {
                "message": "Sign in to do this.",
                "locations": [{"line": 3, "column": 3}],
                "path": ["deleteAccount"],
                "extensions": {"code": "UNAUTHENTICATED"},
            }
        ],
    }
    assert await gql(ADA) == {"data": {"user": {"username": "ada_l"}}}


# ------------------------------------------------------------------ erased


async def test_a_deleted_member_is_gone(gql: Client, ada: User) -> None:
    response = await delete(gql)

    assert response == DELETED
    assert await gql(ADA) == {"data": {"user": None}}
    assert await gql(NODE, {"id": ids.encode("User", ada.id)}) == {"data": {"node": None}}


async def test_a_deleted_member_cannot_sign_in(gql: Client, ada: User) -> None:
    await delete(gql)

    for name in ("ada_l", "ada_l@example.org"):
        assert await login(gql, name) == {
            "data": {"login": {"user": None, "userErrors": [{"code": "INVALID_CREDENTIALS"}]}}
        }


async def test_deleting_signs_out_every_session(gql: Client, ada: User) -> None:
    elsewhere = await gql.sign_in("ada_l")
    here = gql.cookies["ada_l"] = await gql.sign_in("ada_l")

    response = await gql.post(DELETE, {"i": {"password": PASSWORD}}, cookie=here)

    assert response.headers["set-cookie"].startswith('session=""; expires=')
    for token in (elsewhere, here):
        assert await gql(VIEWER, cookie=token) == {"data": {"viewer": None}}
    assert not await Session.exists(user_id=ada.id)


async def test_deleting_erases_the_consent_ledger_and_sessions(gql: Client, ada: User) -> None:
    await gql(SET_CONSENT, as_member="ada_l")

    await delete(gql)

    assert not await Consent.exists(user_id=ada.id)
    assert not await User.exists(id=ada.id)


async def test_the_address_can_register_again(gql: Client, ada: User, mailbox: Mailbox) -> None:
    await delete(gql)

    response = await register(gql, "ada_new", email="ada_l@example.org")

    assert response == {"data": {"register": {"userErrors": []}}}
    (mail,) = await mailbox.wait_for("ada_l@example.org")
    assert mail["Subject"] == "Confirm your email address"


# ------------------------------------------------------------------ what stays


async def test_public_messages_stay_without_an_author(gql: Client, ada: User, bob: User) -> None:
    thread_id = await public_thread(gql)

    await delete(gql)

    assert await gql(THREAD, {"id": thread_id}) == {
        "data": {
            "thread": {
                "author": None,
                "messages": {
                    "edges": [
                        {"node": {"author": None, "body": "Ada writes."}},
                        {"node": {"author": {"username": "bob_k"}, "body": "Bob answers."}},
                    ]
                },
            }
        }
    }


async def test_private_messages_stay_readable_for_the_other_participant(
    gql: Client, ada: User, bob: User
) -> None:
    conversation_id = await private_conversation(gql, bob)

    await delete(gql)

    assert await gql(CONVERSATION, {"id": conversation_id}, as_member="bob_k") == {
        "data": {
            "conversation": {
                "participants": [{"username": "bob_k"}],
                "messages": {
                    "edges": [
                        {"node": {"author": None, "body": "Ada asks."}},
                        {"node": {"author": {"username": "bob_k"}, "body": "Bob replies."}},
                    ]
                },
            }
        }
    }


async def test_the_members_address_records_are_erased(gql: Client, ada: User, bob: User) -> None:
    await public_thread(gql)
    await private_conversation(gql, bob)
    mine = {
        Message: await Message.filter(author_id=ada.id).values_list("id", flat=True),
        Thread: await Thread.filter(author_id=ada.id).values_list("id", flat=True),
        Conversation: await Conversation.filter(created_by_id=ada.id).values_list("id", flat=True),
    }

    await delete(gql)

    for model, keys in mine.items():
        rows = await model.filter(id__in=keys).values("ip_cipher", "ip_hash", "user_agent")
        assert rows == [{"ip_cipher": None, "ip_hash": None, "user_agent": ""}] * len(keys)
    assert len(mine[Message]) == 2


async def test_other_members_address_records_stay(gql: Client, ada: User, bob: User) -> None:
    await public_thread(gql)
    await private_conversation(gql, bob)

    await delete(gql)

    bobs = await Message.filter(author_id=bob.id).values_list("ip_cipher", flat=True)
    assert len(bobs) == 2
    assert all(bobs)


async def test_the_members_visits_lose_their_address_records(gql: Client, ada: User) -> None:
    viewed = await gql(PAGE_VIEW, as_member="ada_l")
    assert viewed == {"data": {"recordPageView": {"userErrors": []}}}

    await delete(gql)

    rows = await Visit.all().values("user_id", "ip_cipher", "ip_hash", "user_agent")
    assert rows == [{"user_id": None, "ip_cipher": None, "ip_hash": None, "user_agent": ""}]
