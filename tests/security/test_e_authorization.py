"""SECURITY.md section E: authorization and IDOR through Relay node IDs and mutations.

The cast: ada and bob share a private conversation; bob also wrote in a public thread;
cy is a member outside the conversation; mo is a moderator and boss an admin. Every
refusal must look exactly like the answer about an object that does not exist.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import pytest

from models.accounts import User
from models.audit import AuditEntry
from models.base import Role
from models.conversations import Conversation, Participant
from models.messages import Message, MessageEdit
from models.privacy import PrivacySettings
from models.profiles import Follow, Profile
from models.reports import Report
from models.rights import CorrectionRequest
from models.sessions import Session
from services.addresses import AddressVault
from services.settings import Settings
from tests.support.documents import EXPORT_CODE, SEND
from tests.support.forum import (
    coded_error,
    gid,
    new_forum,
    open_thread,
    pk,
    refused,
    reply,
    send,
    start_conversation,
)
from tests.support.harness import LOOPBACK_IPS, TEST_IP, Client, assert_no_ip
from tests.support.members import follow, member, set_audiences, set_profile


def raw_id(text: str) -> str:
    """A global ID with arbitrary content, encoded the way the server encodes its own."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@dataclass(frozen=True)
class World:
    """Who is who, and the IDs of what they wrote."""

    ada: User
    bob: User
    cy: User
    mo: User
    boss: User
    thread: str  # a public thread by bob
    public: list[str]  # its messages: bob's opener, then ada's reply
    conversation: str  # ada and bob only
    private: list[str]  # its messages: ada's opener, then bob's reply


@pytest.fixture
async def world(gql: Client) -> World:
    """The cast, all signed in on gql, with one public thread and one private conversation."""
    ada = await member(gql, "ada")
    bob = await member(gql, "bob")
    cy = await member(gql, "cy")
    mo = await member(gql, "mo", role=Role.MODERATOR)
    boss = await member(gql, "boss", role=Role.ADMIN)
    thread, opener = await open_thread(gql, "bob", await new_forum(), "Open to all", "Hello all")
    answer = await reply(gql, "ada", thread, "Hello bob")
    conversation, first = await start_conversation(gql, "ada", [bob], "Just us", "Secret plan")
    second = await send(gql, "bob", conversation, "Secret reply")
    return World(ada, bob, cy, mo, boss, thread, [opener, answer], conversation, [first, second])


# ------------------------------------------------------------------ E1: walking IDs

NODE = """query($id: ID!) { node(id: $id) { __typename id
  ... on Conversation { title participants { username } }
  ... on Message { body conversation { title } } } }"""
CONVERSATION = "query($id: ID!) { conversation(id: $id) { title } }"
WALK = range(1, 51)  # 50 neighbours cover every row this test made, and many that do not exist


@pytest.mark.parametrize("viewer", ["cy", None])
async def test_E1_walking_conversation_ids_finds_nothing_for_an_outsider(
    gql: Client, world: World, viewer: str | None
) -> None:
    seen = {}
    for key in WALK:
        conversation_id = gid("Conversation", key)
        seen[key] = (
            await gql(NODE, {"id": conversation_id}, as_member=viewer),
            await gql(CONVERSATION, {"id": conversation_id}, as_member=viewer),
        )

    assert seen == {
        key: ({"data": {"node": None}}, {"data": {"conversation": None}}) for key in WALK
    }


@pytest.mark.parametrize("viewer", ["cy", None])
async def test_E1_walking_message_ids_finds_public_messages_only(
    gql: Client, world: World, viewer: str | None
) -> None:
    public = {pk(message_id): message_id for message_id in world.public}
    bodies = dict(zip(world.public, ["Hello all", "Hello bob"], strict=True))

    seen = {key: await gql(NODE, {"id": gid("Message", key)}, as_member=viewer) for key in WALK}

    def found(key: int) -> dict[str, Any]:
        """A public message as anyone sees it; nothing for every other key."""
        if key not in public:
            return {"data": {"node": None}}
        message_id = public[key]
        node = {
            "__typename": "Message",
            "id": message_id,
            "body": bodies[message_id],
            "conversation": None,
        }
        return {"data": {"node": node}}

    assert seen == {key: found(key) for key in WALK}
    assert {pk(m) for m in world.private} <= set(WALK)  # the walk did pass the private ones


async def test_E1_a_private_conversation_answers_byte_for_byte_like_a_missing_one(
    gql: Client, world: World
) -> None:
    missing = gid("Conversation", 10_000)

    hidden = await gql.post(NODE, {"id": world.conversation}, as_member="cy")
    absent = await gql.post(NODE, {"id": missing}, as_member="cy")

    assert (hidden.status_code, hidden.content) == (absent.status_code, absent.content)
    assert hidden.headers["content-length"] == absent.headers["content-length"]
    assert hidden.json() == {"data": {"node": None}}


async def test_E1_participants_find_their_conversation_by_the_same_id(
    gql: Client, world: World
) -> None:
    seen = {
        name: await gql(NODE, {"id": world.conversation}, as_member=name) for name in ("ada", "bob")
    }

    node = {
        "__typename": "Conversation",
        "id": world.conversation,
        "title": "Just us",
        "participants": [{"username": "ada"}, {"username": "bob"}],
    }
    assert seen == {"ada": {"data": {"node": node}}, "bob": {"data": {"node": node}}}


# ------------------------------------------------------------------ E2: type confusion

TYPED_NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
# Tables behind no Node type. `node` knows User, Forum, Thread, Message, Conversation,
# AuditEntry, CorrectionRequest and Report only (tests/test_client_caches.py holds the
# last three's access rules), so any other type name must read as "no such object", even
# where a row has key 1.
INTERNAL_TYPES = [
    "Session",
    "PrivacySettings",
    "Profile",
    "EmailToken",
    "Consent",
    "Participant",
    "Follow",
    "MessageEdit",
    "Outbox",
    "PolicyVersion",
]


@pytest.fixture
async def internals(gql: Client, world: World) -> None:
    """A row with key 1 in each internal table this cast can fill through the API."""
    await set_audiences(world.ada, email="ONLY_ME")
    await set_profile(world.ada, bio="ada's bio")
    await follow(world.cy, world.ada)
    answers = [
        await gql(
            'query($id: ID!) { privilegedProfile(userId: $id, reason: "check") { email } }',
            {"id": gid("User", world.ada.id)},
            as_member="mo",
        ),
        await gql(
            "mutation($i: ReportMessageInput!) { reportMessage(input: $i) "
            "{ userErrors { code } } }",
            {"i": {"messageId": world.public[0], "reason": "Spam link"}},
            as_member="cy",
        ),
        await gql(
            "mutation($i: RequestCorrectionInput!) { requestCorrection(input: $i) "
            "{ userErrors { code } } }",
            {"i": {"field": "dateOfBirth", "proposedValue": "1990-05-18", "reason": "A typo"}},
            as_member="ada",
        ),
        await gql(
            "mutation($i: EditMessageInput!) { editMessage(input: $i) { userErrors { code } } }",
            {"i": {"messageId": world.private[0], "body": "Secret plan, edited"}},
            as_member="ada",
        ),
    ]
    assert answers[0] == {"data": {"privilegedProfile": {"email": "ada@example.org"}}}
    assert [a["data"] for a in answers[1:]] == [
        {"reportMessage": {"userErrors": []}},
        {"requestCorrection": {"userErrors": []}},
        {"editMessage": {"userErrors": []}},
    ]
    filled = [
        Session,
        AuditEntry,
        PrivacySettings,
        Profile,
        Report,
        CorrectionRequest,
        Participant,
        Follow,
        MessageEdit,
    ]
    # Profiles and settings are keyed by their member, so key 1 is ada's row.
    key = {PrivacySettings: "user_id", Profile: "user_id"}
    empty = [t.__name__ for t in filled if not await t.exists(**{key.get(t, "id"): 1})]
    assert empty == []


@pytest.mark.parametrize("viewer", ["cy", "boss"])
async def test_E2_an_id_naming_an_internal_table_finds_nothing(
    gql: Client, internals: None, viewer: str
) -> None:
    seen = {
        name: await gql(TYPED_NODE, {"id": raw_id(f"{name}:1")}, as_member=viewer)
        for name in INTERNAL_TYPES
    }

    assert seen == {name: {"data": {"node": None}} for name in INTERNAL_TYPES}


@pytest.mark.parametrize("type_name", ["Conversation", "Message"])
async def test_E2_a_members_key_under_a_private_type_finds_nothing(
    gql: Client, world: World, type_name: str
) -> None:
    # The same number as cy's own member key, read as a conversation or a message.
    response = await gql(NODE, {"id": gid(type_name, world.cy.id)}, as_member="cy")

    assert response == {"data": {"node": None}}


async def test_E2_a_member_id_under_a_conversation_fragment_is_only_a_member(
    gql: Client, world: World
) -> None:
    ada_id = gid("User", world.ada.id)

    response = await gql(NODE, {"id": ada_id}, as_member="cy")

    # The fragments on Conversation and Message do not apply: no field of theirs appears.
    assert response == {"data": {"node": {"__typename": "User", "id": ada_id}}}


async def test_E2_a_private_message_id_finds_nothing_for_an_outsider(
    gql: Client, world: World
) -> None:
    seen = [await gql(NODE, {"id": message_id}, as_member="cy") for message_id in world.private]

    assert seen == [{"data": {"node": None}}, {"data": {"node": None}}]


def wrong_type(query: str, field: str, type_name: str) -> dict[str, Any]:
    """The answer to an ID of another type where a `type_name` ID is expected."""
    message = f"That is not a valid {type_name} ID."
    return coded_error(query, field, message, "BAD_USER_INPUT")


THREAD = "query($id: ID!) { thread(id: $id) { title } }"
PRIVILEGED = 'query($id: ID!) { privilegedProfile(userId: $id, reason: "check") { email } }'


async def test_E2_a_conversation_id_is_no_thread_id(gql: Client, world: World) -> None:
    response = await gql(THREAD, {"id": world.conversation}, as_member="ada")

    assert response == {
        "data": {"thread": None},
        "errors": [wrong_type(THREAD, "thread", "Thread")],
    }


async def test_E2_a_thread_id_is_no_conversation_id(gql: Client, world: World) -> None:
    response = await gql(CONVERSATION, {"id": world.thread}, as_member="ada")

    assert response == {
        "data": {"conversation": None},
        "errors": [wrong_type(CONVERSATION, "conversation", "Conversation")],
    }


async def test_E2_a_thread_id_cannot_send_into_a_conversation(gql: Client, world: World) -> None:
    variables = {"i": {"conversationId": world.thread, "body": "x"}}

    response = await gql(SEND, variables, as_member="ada")

    assert response == {
        "data": {"sendMessage": None},
        "errors": [wrong_type(SEND, "sendMessage", "Conversation")],
    }
    assert await Message.all().count() == 4


async def test_E2_a_conversation_id_is_no_member_id(gql: Client, world: World) -> None:
    response = await gql(PRIVILEGED, {"id": world.conversation}, as_member="mo")

    assert response == {
        "data": {"privilegedProfile": None},
        "errors": [wrong_type(PRIVILEGED, "privilegedProfile", "User")],
    }
    assert await AuditEntry.all().count() == 0


# ------------------------------------------------------------------ E3: malformed IDs

NOT_AN_ID = "That is not a valid ID."
MALFORMED = {
    "not base64": "!!!",
    "type and no key": "VXNlcjo=",  # "User:"
    "key and no type": raw_id(":1"),
    "10 KB": "A" * 10_000,
    "not UTF-8": base64.urlsafe_b64encode(b"\xff\xfe:1").decode(),
}
HOSTILE_KEYS = {
    "SQL in the key": raw_id("User:1' OR 1=1--"),
    "negative key": raw_id("User:-1"),
    "huge key": raw_id("User:99999999999999999999999"),
    "full-width digit": raw_id("User:\uff11"),
    "JSON key": raw_id('User:{"id": 1}'),
}


@pytest.mark.parametrize("node_id", MALFORMED.values(), ids=MALFORMED.keys())
async def test_E3_a_malformed_node_id_is_bad_input(gql: Client, world: World, node_id: str) -> None:
    response = await gql(TYPED_NODE, {"id": node_id}, as_member="cy")

    error = coded_error(TYPED_NODE, "node", NOT_AN_ID, "BAD_USER_INPUT")
    assert response == {"data": {"node": None}, "errors": [error]}


@pytest.mark.parametrize("node_id", HOSTILE_KEYS.values(), ids=HOSTILE_KEYS.keys())
async def test_E3_a_well_formed_id_with_a_hostile_key_finds_nothing(
    gql: Client, world: World, node_id: str
) -> None:
    assert await gql(TYPED_NODE, {"id": node_id}, as_member="cy") == {"data": {"node": None}}


FOLLOW = (
    "mutation($i: FollowInput!) { follow(input: $i) { user { username } userErrors { code } } }"
)


@pytest.mark.parametrize(
    ("node_id", "message"),
    [
        ("!!!", NOT_AN_ID),
        ("A" * 10_000, NOT_AN_ID),
        (raw_id("User:1' OR 1=1--"), "That is not a valid User ID."),
        (raw_id("User:\uff11"), "That is not a valid User ID."),
    ],
    ids=["not base64", "10 KB", "SQL in the key", "full-width digit"],
)
async def test_E3_a_malformed_member_id_in_a_mutation_is_bad_input(
    gql: Client, world: World, node_id: str, message: str
) -> None:
    response = await gql(FOLLOW, {"i": {"userId": node_id}}, as_member="cy")

    assert response == {
        "data": {"follow": None},
        "errors": [coded_error(FOLLOW, "follow", message, "BAD_USER_INPUT")],
    }


@pytest.mark.parametrize("node_id", ["!!!", "A" * 10_000], ids=["not base64", "10 KB"])
async def test_E3_a_malformed_id_in_a_staff_query_is_bad_input_and_not_audited(
    gql: Client, world: World, node_id: str
) -> None:
    response = await gql(PRIVILEGED, {"id": node_id}, as_member="mo")

    error = coded_error(PRIVILEGED, "privilegedProfile", NOT_AN_ID, "BAD_USER_INPUT")
    assert response == {"data": {"privilegedProfile": None}, "errors": [error]}
    assert await AuditEntry.all().count() == 0


# ------------------------------------------------------------------ E4: nested paths

THREAD_PATH = """query($id: ID!) { thread(id: $id) { messages { edges { node {
  body thread { title } conversation { title messages { edges { node { body } } } }
} } } } }"""


async def test_E4_public_messages_lead_to_no_conversation(gql: Client, world: World) -> None:
    response = await gql(THREAD_PATH, {"id": world.thread}, as_member="cy")

    def public(body: str) -> dict[str, Any]:
        """One public message, as it reads in the thread."""
        return {"node": {"body": body, "thread": {"title": "Open to all"}, "conversation": None}}

    assert response == {
        "data": {"thread": {"messages": {"edges": [public("Hello all"), public("Hello bob")]}}}
    }


PRIVATE_PATH = """query($id: ID!) { node(id: $id) { ... on Message {
  body conversation { participants { username email } messages { edges { node { body } } } }
} } }"""


@pytest.mark.parametrize("viewer", ["cy", "mo", "boss", None])
async def test_E4_a_private_message_reaches_nothing_for_anyone_outside(
    gql: Client, world: World, viewer: str | None
) -> None:
    # Staff included: they read private messages only through reports (audited).
    seen = [await gql(PRIVATE_PATH, {"id": m}, as_member=viewer) for m in world.private]

    assert seen == [{"data": {"node": None}}, {"data": {"node": None}}]


async def test_E4_a_participant_reaches_the_conversation_from_its_message(
    gql: Client, world: World
) -> None:
    response = await gql(PRIVATE_PATH, {"id": world.private[1]}, as_member="ada")

    assert response == {
        "data": {
            "node": {
                "body": "Secret reply",
                "conversation": {
                    "participants": [
                        {"username": "ada", "email": "ada@example.org"},  # her own
                        {"username": "bob", "email": None},  # bob's stays ONLY_ME
                    ],
                    "messages": {
                        "edges": [
                            {"node": {"body": "Secret plan"}},
                            {"node": {"body": "Secret reply"}},
                        ]
                    },
                },
            }
        }
    }


async def test_E4_a_member_who_left_reaches_the_conversation_no_more(
    gql: Client, world: World
) -> None:
    left = await gql(
        "mutation($i: ConversationInput!) { leaveConversation(input: $i) { userErrors { code } } }",
        {"i": {"conversationId": world.conversation}},
        as_member="bob",
    )
    assert left == {"data": {"leaveConversation": {"userErrors": []}}}

    seen = [
        await gql(NODE, {"id": node_id}, as_member="bob")
        for node_id in (world.conversation, *world.private)  # bob's own reply included
    ]

    assert seen == [{"data": {"node": None}}] * 3


REPORTS = """{ reports { edges { node {
  message { body conversation { title participants { username } } }
  context { body conversation { title } }
} } } }"""


async def test_E4_a_reported_private_message_leads_staff_to_no_conversation(
    gql: Client, world: World
) -> None:
    reported = await gql(
        "mutation($i: ReportMessageInput!) { reportMessage(input: $i) { userErrors { code } } }",
        {"i": {"messageId": world.private[0], "reason": "Threatening me"}},
        as_member="bob",
    )
    assert reported == {"data": {"reportMessage": {"userErrors": []}}}

    response = await gql(REPORTS, as_member="mo")

    # The report shows mo the messages (an audited read); the conversation stays closed.
    report = {
        "message": {"body": "Secret plan", "conversation": None},
        "context": [
            {"body": "Secret plan", "conversation": None},
            {"body": "Secret reply", "conversation": None},
        ],
    }
    assert response == {"data": {"reports": {"edges": [{"node": report}]}}}
    entries = await AuditEntry.all().values_list("action", "actor_id", "subject_id")
    assert sorted(entries, key=str) == [
        ("READ_REPORTED_CONVERSATION", world.mo.id, world.ada.id),
        ("READ_REPORTED_CONVERSATION", world.mo.id, world.bob.id),
        ("READ_REPORTS", world.mo.id, None),
    ]


CONVERSATION_TYPES = {"Conversation", "ConversationConnection", "ConversationEdge"}
SCHEMA_FIELDS = """{ __schema { types { name fields { name type { ...T } } } } }
fragment T on __Type { name kind ofType { name kind ofType { name kind ofType { name } } } }"""


def named_type(type_ref: dict[str, Any]) -> str:
    """The name inside NON_NULL / LIST wrappers."""
    while type_ref.get("ofType"):
        type_ref = type_ref["ofType"]
    return type_ref["name"]


async def test_E4_only_these_fields_lead_to_a_conversation(gql: Client) -> None:
    # Every path into a conversation; each is guarded by the participant check and
    # tested above or in tests/test_conversations.py (no field of User is among them).
    schema = (await gql(SCHEMA_FIELDS))["data"]["__schema"]["types"]

    paths = {
        f"{t['name']}.{f['name']}"
        for t in schema
        if not t["name"].startswith("__")
        for f in t["fields"] or []
        if named_type(f["type"]) in CONVERSATION_TYPES
    }

    assert paths == {
        "Query.conversations",
        "Query.conversation",
        "ConversationConnection.edges",
        "ConversationEdge.node",
        "Message.conversation",
        "StartConversationPayload.conversation",
        "MarkConversationReadPayload.conversation",
        # The recipient's own notifications; through the participants-only loader (a
        # conversation they left reads null: tests/test_notifications.py).
        "Notification.conversation",
    }


# ------------------------------------------------------------------ E5: mass assignment


def unknown_field(input_type: str, field: str, found: str, column: int) -> dict[str, Any]:
    """graphql-core's validation error for a field an input type does not have."""
    return {
        "message": f"Expected value of type '{input_type}' not to include unknown field "
        f"'{field}', found: {found}.",
        "locations": [{"line": 1, "column": column}],
        "extensions": {"code": "BAD_USER_INPUT"},
    }


async def test_E5_register_has_no_role_field(gql: Client, world: World) -> None:
    query = (
        'mutation { register(input: {username: "eve_x", email: "eve_x@example.org", '
        'password: "correct horse battery", dateOfBirth: "1990-01-01", '
        'acceptPolicyVersion: "2026-01", role: ADMIN}) { userErrors { code } } }'
    )

    response = await gql(query)

    found = (
        '{\n  username: "eve_x"\n  email: "eve_x@example.org"\n'
        '  password: "correct horse battery"\n  dateOfBirth: "1990-01-01"\n'
        '  acceptPolicyVersion: "2026-01"\n  role: ADMIN\n}'
    )
    column = query.index("role:") + 1
    assert response == {
        "data": None,
        "errors": [unknown_field("RegisterInput", "role", found, column)],
    }
    assert not await User.exists(username="eve_x")


async def test_E5_update_profile_has_no_role_or_member_field(gql: Client, world: World) -> None:
    bob_id = gid("User", world.bob.id)
    query = (
        f'mutation {{ updateProfile(input: {{bio: "pwned", role: MODERATOR, userId: "{bob_id}"}}) '
        "{ userErrors { code } } }"
    )

    response = await gql(query, as_member="cy")

    found = f'{{ bio: "pwned", role: MODERATOR, userId: "{bob_id}" }}'
    assert response == {
        "data": None,
        "errors": [
            unknown_field("UpdateProfileInput", "role", found, query.index("role:") + 1),
            unknown_field("UpdateProfileInput", "userId", found, query.index("userId:") + 1),
        ],
    }
    assert not await Profile.exists(bio="pwned")
    assert [u.role for u in await User.filter(id__in=[world.bob.id, world.cy.id])] == [
        Role.MEMBER,
        Role.MEMBER,
    ]


async def test_E5_update_privacy_settings_has_no_member_field(gql: Client, world: World) -> None:
    bob_id = gid("User", world.bob.id)
    query = (
        f'mutation {{ updatePrivacySettings(input: {{email: EVERYONE, userId: "{bob_id}"}}) '
        "{ userErrors { code } } }"
    )

    response = await gql(query, as_member="cy")

    found = f'{{ email: EVERYONE, userId: "{bob_id}" }}'
    column = query.index("userId:") + 1
    assert response == {
        "data": None,
        "errors": [unknown_field("UpdatePrivacySettingsInput", "userId", found, column)],
    }
    assert await PrivacySettings.all().count() == 0  # nobody's settings were written


async def test_E5_send_message_has_no_author_field(gql: Client, world: World) -> None:
    query = (
        f'mutation {{ sendMessage(input: {{conversationId: "{world.conversation}", '
        f'body: "forged", authorId: "{gid("User", world.bob.id)}"}}) {{ message {{ id }} }} }}'
    )

    response = await gql(query, as_member="ada")

    found = (
        f'{{ conversationId: "{world.conversation}", body: "forged", '
        f'authorId: "{gid("User", world.bob.id)}" }}'
    )
    column = query.index("authorId:") + 1
    assert response == {
        "data": None,
        "errors": [unknown_field("SendMessageInput", "authorId", found, column)],
    }
    assert not await Message.exists(body="forged")


async def test_E5_a_profile_update_changes_the_viewers_profile_only(
    gql: Client, world: World
) -> None:
    query = """mutation { updateProfile(input: {bio: "cy here"}) {
      user { username profile { bio } } userErrors { code } } }"""

    response = await gql(query, as_member="cy")

    assert response == {
        "data": {
            "updateProfile": {
                "user": {"username": "cy", "profile": {"bio": "cy here"}},
                "userErrors": [],
            }
        }
    }
    assert [p.user_id for p in await Profile.filter(bio="cy here")] == [world.cy.id]  # type: ignore[attr-defined]


# ------------------------------------------------------------------ E6: writing to others' objects

MISSING_CONVERSATION = gid("Conversation", 10_000)
MISSING_MESSAGE = gid("Message", 10_000)


async def test_E6_an_outsider_cannot_write_in_a_conversation(gql: Client, world: World) -> None:
    sent = {
        target: await gql(SEND, {"i": {"conversationId": target, "body": "Hi"}}, as_member="cy")
        for target in (world.conversation, MISSING_CONVERSATION)
    }

    forbidden = coded_error(SEND, "sendMessage", "You are not allowed to do this.", "FORBIDDEN")
    assert sent == {
        world.conversation: {"data": {"sendMessage": None}, "errors": [forbidden]},
        MISSING_CONVERSATION: {"data": {"sendMessage": None}, "errors": [forbidden]},
    }
    assert await Message.filter(conversation_id=pk(world.conversation)).count() == 2


EDIT = """mutation($i: EditMessageInput!) {
  editMessage(input: $i) { message { body } userErrors { field message code } }
}"""
DELETE = """mutation($i: DeleteMessageInput!) {
  deleteMessage(input: $i) { message { body } userErrors { field message code } }
}"""
NOT_YOURS = refused("MESSAGE_NOT_FOUND", "You have no such message.", "messageId")


@pytest.mark.parametrize(
    ("writer", "target"),
    [
        ("cy", "public"),  # bob's message in the public thread
        ("cy", "private"),  # bob's message in a conversation cy is not in
        ("ada", "private"),  # bob's message in ada's own conversation
    ],
)
async def test_E6_nobody_edits_another_members_message(
    gql: Client, world: World, writer: str, target: str
) -> None:
    bobs, body = {
        "public": (world.public[0], "Hello all"),
        "private": (world.private[1], "Secret reply"),
    }[target]

    seen = [
        await gql(EDIT, {"i": {"messageId": message_id, "body": "Mine now"}}, as_member=writer)
        for message_id in (bobs, MISSING_MESSAGE)
    ]

    refusal = {"data": {"editMessage": {"message": None, "userErrors": NOT_YOURS}}}
    assert seen == [refusal, refusal]
    assert (await Message.get(id=pk(bobs))).body == body


@pytest.mark.parametrize(
    ("deleter", "target"),
    [
        ("cy", "public"),
        ("cy", "private"),
        ("ada", "private"),
        ("mo", "private"),  # staff outside the conversation (Discourse CVE-2026-21865)
    ],
)
async def test_E6_nobody_deletes_another_members_message(
    gql: Client, world: World, deleter: str, target: str
) -> None:
    bobs = {"public": world.public[0], "private": world.private[1]}[target]

    seen = [
        await gql(DELETE, {"i": {"messageId": message_id}}, as_member=deleter)
        for message_id in (bobs, MISSING_MESSAGE)
    ]

    refusal = {"data": {"deleteMessage": {"message": None, "userErrors": NOT_YOURS}}}
    assert seen == [refusal, refusal]
    assert (await Message.get(id=pk(bobs))).deleted_at is None


async def test_E6_a_moderator_in_a_conversation_cannot_delete_the_others_private_message(
    gql: Client, world: World
) -> None:
    # deleteMessage: "moderators: any public one". Taking part in a conversation makes its
    # messages readable to mo, not mo's to remove.
    conversation, _ = await start_conversation(gql, "mo", [world.bob], "Mod and bob", "Hi bob")
    bobs = await send(gql, "bob", conversation, "A private word")

    response = await gql(DELETE, {"i": {"messageId": bobs}}, as_member="mo")

    assert response == {"data": {"deleteMessage": {"message": None, "userErrors": NOT_YOURS}}}
    assert (await Message.get(id=pk(bobs))).deleted_at is None


STARTED = """mutation($i: StartConversationInput!) {
  startConversation(input: $i) { conversation { title } userErrors { field message code } }
}"""
CAN_MESSAGE = "query($u: String!) { user(username: $u) { viewerCanMessage } }"


async def test_E6_who_can_message_refuses_like_a_missing_member(gql: Client, world: World) -> None:
    await set_audiences(world.ada, who_can_message="FOLLOWING")  # ada follows nobody

    seen = {
        target: await gql(
            STARTED,
            {"i": {"recipientIds": [target], "title": "Hello ada", "body": "Hi"}},
            as_member="cy",
        )
        for target in (gid("User", world.ada.id), gid("User", 10_000))
    }
    can = await gql(CAN_MESSAGE, {"u": "ada"}, as_member="cy")

    refusal = refused("CANNOT_MESSAGE", "You cannot message this member.", "recipientIds", "0")
    answer = {"data": {"startConversation": {"conversation": None, "userErrors": refusal}}}
    assert seen == {gid("User", world.ada.id): answer, gid("User", 10_000): answer}
    assert can == {"data": {"user": {"viewerCanMessage": False}}}
    assert await Conversation.all().count() == 1


async def test_E6_who_can_message_admits_whom_it_names(gql: Client, world: World) -> None:
    await set_audiences(world.ada, who_can_message="FOLLOWING")
    await follow(world.ada, world.cy)

    started = await gql(
        STARTED,
        {"i": {"recipientIds": [gid("User", world.ada.id)], "title": "Hello ada", "body": "Hi"}},
        as_member="cy",
    )
    can = await gql(CAN_MESSAGE, {"u": "ada"}, as_member="cy")

    assert started == {
        "data": {"startConversation": {"conversation": {"title": "Hello ada"}, "userErrors": []}}
    }
    assert can == {"data": {"user": {"viewerCanMessage": True}}}


@pytest.mark.parametrize("mutation", ["markConversationRead", "leaveConversation"])
async def test_E6_an_outsider_cannot_change_a_conversation(
    gql: Client, world: World, mutation: str
) -> None:
    query = (
        f"mutation($i: ConversationInput!) {{ {mutation}(input: $i) "
        "{ userErrors { field message code } } }"
    )

    seen = [
        await gql(query, {"i": {"conversationId": target}}, as_member="cy")
        for target in (world.conversation, MISSING_CONVERSATION)
    ]

    errors = refused("CONVERSATION_NOT_FOUND", "You have no such conversation.", "conversationId")
    assert seen == [{"data": {mutation: {"userErrors": errors}}}] * 2
    assert await Conversation.filter(participants__left_at__isnull=False).count() == 0


async def test_E6_nobody_revokes_another_members_session(gql: Client, world: World) -> None:
    (bobs,) = await Session.filter(user_id=world.bob.id)
    query = """mutation($i: RevokeSessionInput!) {
      revokeSession(input: $i) { userErrors { field message code } } }"""

    seen = [
        await gql(query, {"i": {"sessionId": gid("Session", key)}}, as_member="cy")
        for key in (bobs.id, 10_000)
    ]

    errors = refused("SESSION_NOT_FOUND", "You have no such session.", "sessionId")
    assert seen == [{"data": {"revokeSession": {"userErrors": errors}}}] * 2
    assert await gql("{ viewer { username } }", as_member="bob") == {
        "data": {"viewer": {"username": "bob"}}
    }


STAFF_WRITES = {
    "suspendMember": (
        """mutation($id: ID!) { suspendMember(input: {userId: $id,
          until: "2099-01-01T00:00:00Z", reason: "nope"}) { userErrors { code } } }""",
        "user",
    ),
    "hideMessage": (
        """mutation($id: ID!) { hideMessage(input: {messageId: $id, reason: "nope"})
          { userErrors { code } } }""",
        "message",
    ),
}


@pytest.mark.parametrize("mutation", STAFF_WRITES)
async def test_E6_a_member_cannot_use_moderator_writes(
    gql: Client, world: World, mutation: str
) -> None:
    query, target = STAFF_WRITES[mutation]
    target_id = gid("User", world.bob.id) if target == "user" else world.public[0]

    response = await gql(query, {"id": target_id}, as_member="cy")

    error = coded_error(query, mutation, "You are not allowed to do this.", "FORBIDDEN")
    assert response == {"data": {mutation: None}, "errors": [error]}
    bob = await User.get(id=world.bob.id)
    message = await Message.get(id=pk(world.public[0]))
    assert (bob.suspended_until, message.hidden_at) == (None, None)
    assert await AuditEntry.all().count() == 0


# ------------------------------------------------------------------ E7: audited privileged reads

PRIVILEGED_READ = """query($id: ID!) {
  privilegedProfile(userId: $id, reason: "Report #7: spam") { email }
}"""
AUDIT_LOG = """{ auditLog { edges { node {
  actor { username } action subject { username } fields reason
} } } }"""
READS = """{ viewer { privacyReads { edges { node {
  actor { username } action subject { username } fields reason
} } } } }"""
THE_READ = {
    "actor": {"username": "mo"},
    "action": "READ_PRIVATE_PROFILE",
    "subject": {"username": "ada"},
    "fields": ["email"],
    "reason": "Report #7: spam",
}


@pytest.fixture
async def recorded(gql: Client, world: World, settings: Settings) -> None:
    """Every row of the story carries the client address: ada's account, real sign-ins."""
    vault = AddressVault(settings.address_key)
    await User.filter(id=world.ada.id).update(**vault.columns(TEST_IP, "Firefox"))
    for name in ("ada", "mo", "boss"):
        await gql.sign_in(name)


async def test_E7_a_moderator_reads_a_private_email(
    gql: Client, world: World, recorded: None
) -> None:
    response = await gql(PRIVILEGED_READ, {"id": gid("User", world.ada.id)}, as_member="mo")

    assert response == {"data": {"privilegedProfile": {"email": "ada@example.org"}}}


async def test_E7_admins_read_the_audit_entry_without_an_ip(
    gql: Client, world: World, recorded: None
) -> None:
    await gql(PRIVILEGED_READ, {"id": gid("User", world.ada.id)}, as_member="mo")

    log = await gql.post(AUDIT_LOG, as_member="boss")

    # The client scanned the body and headers for every address the tests used.
    assert log.json() == {"data": {"auditLog": {"edges": [{"node": THE_READ}]}}}


async def test_E7_the_member_sees_the_read_in_her_data_export_without_an_ip(
    gql: Client, world: World, recorded: None
) -> None:
    await gql(PRIVILEGED_READ, {"id": gid("User", world.ada.id)}, as_member="mo")
    (entry,) = await AuditEntry.all()

    exported = await gql.post(EXPORT_CODE, as_member="ada")
    listed = await gql(READS, as_member="ada")

    payload = exported.json()["data"]["exportMyData"]
    assert payload["userErrors"] == []
    assert payload["export"]["privacyReads"] == [
        {
            "by": "mo",
            "action": "READ_PRIVATE_PROFILE",
            "fields": ["email"],
            "reason": "Report #7: spam",
            "at": entry.created_at.isoformat(),
        }
    ]
    assert_no_ip(json.dumps(payload["export"]), {TEST_IP, *LOOPBACK_IPS})
    assert listed == {"data": {"viewer": {"privacyReads": {"edges": [{"node": THE_READ}]}}}}


@pytest.mark.parametrize(
    ("viewer", "code", "message"),
    [
        ("cy", "FORBIDDEN", "You are not allowed to do this."),
        (None, "UNAUTHENTICATED", "Sign in to do this."),
    ],
)
async def test_E7_a_member_or_anonymous_caller_is_refused_and_nothing_is_audited(
    gql: Client, world: World, viewer: str | None, code: str, message: str
) -> None:
    response = await gql(PRIVILEGED_READ, {"id": gid("User", world.ada.id)}, as_member=viewer)

    error = coded_error(PRIVILEGED_READ, "privilegedProfile", message, code)
    assert response == {"data": {"privilegedProfile": None}, "errors": [error]}
    assert await AuditEntry.all().count() == 0


# ------------------------------------------------------------------ E8: stale roles

HIDE = """mutation($id: ID!) { hideMessage(input: {messageId: $id, reason: "spam"}) {
  message { hidden } userErrors { code } } }"""


async def demote(user: User) -> None:
    """Make a member of a staff member, as a database edit would (setRole does the same
    write): nothing about the session changes."""
    await User.filter(id=user.id).update(role=Role.MEMBER)


async def test_E8_a_demoted_moderator_is_forbidden_at_once(gql: Client, world: World) -> None:
    ada_id = gid("User", world.ada.id)
    before = await gql(PRIVILEGED_READ, {"id": ada_id}, as_member="mo")
    assert before == {"data": {"privilegedProfile": {"email": "ada@example.org"}}}

    await demote(world.mo)
    after = await gql(PRIVILEGED_READ, {"id": ada_id}, as_member="mo")
    still_signed_in = await gql("{ viewer { username role } }", as_member="mo")

    forbidden = coded_error(
        PRIVILEGED_READ, "privilegedProfile", "You are not allowed to do this.", "FORBIDDEN"
    )
    assert after == {"data": {"privilegedProfile": None}, "errors": [forbidden]}
    assert still_signed_in == {"data": {"viewer": {"username": "mo", "role": "MEMBER"}}}
    assert await AuditEntry.all().count() == 1  # the read made before the demotion


async def test_E8_a_demoted_moderator_cannot_act_at_once(gql: Client, world: World) -> None:
    await demote(world.mo)

    response = await gql(HIDE, {"id": world.public[0]}, as_member="mo")

    error = coded_error(HIDE, "hideMessage", "You are not allowed to do this.", "FORBIDDEN")
    assert response == {"data": {"hideMessage": None}, "errors": [error]}
    assert (await Message.get(id=pk(world.public[0]))).hidden_at is None


async def test_E8_a_demoted_admin_loses_the_audit_log_at_once(gql: Client, world: World) -> None:
    assert await gql(AUDIT_LOG, as_member="boss") == {"data": {"auditLog": {"edges": []}}}

    await demote(world.boss)
    response = await gql(AUDIT_LOG, as_member="boss")

    error = coded_error(AUDIT_LOG, "auditLog", "You are not allowed to do this.", "FORBIDDEN")
    assert response == {"data": {"auditLog": None}, "errors": [error]}


async def test_E8_a_promoted_member_is_a_moderator_at_once(gql: Client, world: World) -> None:
    await User.filter(id=world.cy.id).update(role=Role.MODERATOR)

    response = await gql(HIDE, {"id": world.public[0]}, as_member="cy")

    assert response == {"data": {"hideMessage": {"message": {"hidden": True}, "userErrors": []}}}
