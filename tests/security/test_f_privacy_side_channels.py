"""SECURITY.md section F: privacy side channels. A private field must be indistinguishable
from an empty one, whatever path, search, order, cursor, count or error reaches it.

The cast: alice hides every field (ONLY_ME) and fills each with a canary; bob follows
alice and alice follows bob; cy is unrelated; dora leaves every field empty and shows
everything (EVERYONE); newbie never confirmed an email; mo is a moderator, boss an admin.
No canary may appear in any byte of a response that alice's settings keep from its caller.

F12 (timing) is not a test here: docs/security.md accepts it (a hidden follower list
skips one batched query) and tests never assert timings.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from tortoise.expressions import Q

from models.accounts import User
from models.base import Role
from models.conversations import Conversation
from models.messages import Message
from models.privacy import PrivacySettings
from models.profiles import Follow
from resolvers.accounts import age_on
from tests.support.documents import EXPORT_CODE
from tests.support.forum import (
    coded_error,
    gid,
    new_forum,
    open_thread,
    pk,
    refused,
    send,
    start_conversation,
)
from tests.support.harness import LOOPBACK_IPS, PASSWORD, TEST_IP, Client, assert_no_ip
from tests.support.mail import Mailbox
from tests.support.members import follow, member, register, set_audiences, set_profile

# ------------------------------------------------------------------ canaries

EMAIL = "canary-a-7f3e@example.org"
BORN = date(1953, 11, 27)
SEEN = datetime(2023, 7, 19, 4, 52, 13, 123456, tzinfo=UTC)
PROFILE = {
    "bio": "bio-canary-a-51c",
    "location": "location-canary-a-8d2",
    "website": "https://website-canary-a-0b9.example/",
    "diet_plan": "diet-canary-a-3aa",
    "start_weight_kg": 181.7,
    "current_weight_kg": 163.9,
    "goal_weight_kg": 95.3,
}
# Substrings of alice's hidden values, as they would appear in JSON or in a mail.
CANARIES = [
    "canary-a-7f3e",
    "1953-11-27",
    "2023-07-19",
    "bio-canary-a-51c",
    "location-canary-a-8d2",
    "website-canary-a-0b9",
    "diet-canary-a-3aa",
    "181.7",
    "163.9",
    "95.3",
]
BOB_CANARIES = ["canary-b-44d1", "bio-canary-b-e07", "location-canary-b-9c6"]
SETTINGS = [
    "email",
    "date_of_birth",
    "age",
    "last_seen",
    "bio",
    "location",
    "website",
    "diet_plan",
    "weight_journey",
    "followers",
    "following",
    "who_can_message",
]


def every(audience: str) -> dict[str, str]:
    """Every audience setting at one value."""
    return dict.fromkeys(SETTINGS, audience)


def assert_no_canary(response: httpx.Response, canaries: list[str] = CANARIES) -> None:
    """Fail if any canary appears in the body or the headers, in any letter case."""
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    text = (headers + "\n" + response.text).casefold()
    leaked = [canary for canary in canaries if canary.casefold() in text]
    assert leaked == [], f"canaries {leaked} leaked: {response.text[:500]}"


@dataclass(frozen=True)
class Cast:
    """The members and the IDs the tests need."""

    alice: User
    bob: User
    cy: User
    dora: User
    newbie: User
    alice_thread: str
    dora_thread: str
    with_cy: str  # a conversation alice started with cy
    with_bob: str  # a conversation alice started with bob
    bobs_message: str  # in the conversation with bob


@pytest.fixture
async def cast(gql: Client) -> Cast:
    """Everyone signed in on gql; alice full of canaries and hidden, dora empty and open."""
    alice = await member(gql, "alice")
    bob = await member(gql, "bob")
    cy = await member(gql, "cy")
    dora = await member(gql, "dora")
    newbie = await member(gql, "newbie", confirmed=False)
    await member(gql, "mo", role=Role.MODERATOR)
    await member(gql, "boss", role=Role.ADMIN)
    await set_profile(alice, **PROFILE)
    await follow(bob, alice)
    await follow(alice, bob)
    await set_audiences(bob, followers="EVERYONE", following="EVERYONE")
    forum = await new_forum()
    alice_thread, _ = await open_thread(gql, "alice", forum, "Alice asks", "Anyone here?")
    dora_thread, _ = await open_thread(gql, "dora", forum, "Dora asks", "Anyone here?")
    with_cy, _ = await start_conversation(gql, "alice", [cy], "Hi cy", "Hello cy")
    with_bob, _ = await start_conversation(gql, "alice", [bob], "Hi bob", "Hello bob")
    bobs_message = await send(gql, "bob", with_bob, "Hello alice")
    # Writing as alice made her settings row; now hide everything. Dora shows everything.
    await set_audiences(alice, **every("ONLY_ME"))
    await set_audiences(dora, **every("EVERYONE"))
    await set_profile(dora, bio=None)  # a profile row holding nothing
    await User.filter(id=alice.id).update(
        email=EMAIL, email_key=EMAIL, date_of_birth=BORN, last_seen_at=SEEN
    )
    await User.filter(id=dora.id).update(last_seen_at=None)
    return Cast(
        await User.get(id=alice.id),
        bob,
        cy,
        await User.get(id=dora.id),
        newbie,
        alice_thread,
        dora_thread,
        with_cy,
        with_bob,
        bobs_message,
    )


# Every field of a member that anyone but the member may be denied.
PRIVATE = """username email dateOfBirth age lastSeenAt
  profile { bio location website dietPlan weightJourney { startKg currentKg goalKg } }
  followers(first: 10) { edges { cursor node { username } } pageInfo { endCursor } }
  following(first: 10) { edges { cursor node { username } } pageInfo { endCursor } }
  privacySettings { email dateOfBirth listedInMembers whoCanMessage }
  sessions { id } newsletter consents { kind } policyAccepted correctionRequests { field }
  privacyReads { edges { node { id } } } suspendedUntil"""
EMPTY_PROFILE = {
    "bio": None,
    "location": None,
    "website": None,
    "dietPlan": None,
    "weightJourney": None,
}


def hidden(username: str) -> dict[str, Any]:
    """`{PRIVATE}` of a member when every field is kept from the caller."""
    return {
        "username": username,
        "email": None,
        "dateOfBirth": None,
        "age": None,
        "lastSeenAt": None,
        "profile": EMPTY_PROFILE,
        "followers": None,
        "following": None,
        "privacySettings": None,
        "sessions": None,
        "newsletter": None,
        "consents": None,
        "policyAccepted": None,
        "correctionRequests": None,
        "privacyReads": None,
        "suspendedUntil": None,
    }


def edge_of(node: Any) -> dict[str, Any]:
    """A one-edge connection page around a node, without cursors."""
    return {"edges": [{"node": node}]}


# ------------------------------------------------------------------ F1: direct paths

# name: (query, the response around alice's fields)
PATHS: dict[str, tuple[str, Any]] = {
    "user(username:)": (
        f'{{ user(username: "alice") {{ {PRIVATE} }} }}',
        lambda a: {"user": a},
    ),
    "user(username:) in another case": (
        f'{{ user(username: "ALICE") {{ {PRIVATE} }} }}',
        lambda a: {"user": a},
    ),
    "node(id:)": (
        f"query($alice: ID!) {{ node(id: $alice) {{ ... on User {{ {PRIVATE} }} }} }}",
        lambda a: {"node": a},
    ),
    "users(search:)": (
        f'{{ users(search: "lic") {{ edges {{ node {{ {PRIVATE} }} }} }} }}',
        lambda a: {"users": edge_of(a)},
    ),
    "an alias": (
        f'{{ who: user(username: "alice") {{ {PRIVATE} }} }}',
        lambda a: {"who": a},
    ),
    "named fragments": (
        f'{{ user(username: "alice") {{ ...Person }} }}\nfragment Person on User {{ {PRIVATE} }}',
        lambda a: {"user": a},
    ),
    "a thread's author": (
        f"query($thread: ID!) {{ thread(id: $thread) {{ author {{ {PRIVATE} }} }} }}",
        lambda a: {"thread": {"author": a}},
    ),
    "a message's author": (
        f"query($thread: ID!) {{ thread(id: $thread) {{ messages {{ edges {{ node {{ "
        f"author {{ {PRIVATE} }} }} }} }} }} }}",
        lambda a: {"thread": {"messages": edge_of({"author": a})}},
    ),
    "a follower list": (
        f'{{ user(username: "bob") {{ followers {{ edges {{ node {{ {PRIVATE} }} }} }} }} }}',
        lambda a: {"user": {"followers": edge_of(a)}},
    ),
    "a following list": (
        f'{{ user(username: "bob") {{ following {{ edges {{ node {{ {PRIVATE} }} }} }} }} }}',
        lambda a: {"user": {"following": edge_of(a)}},
    ),
}
VIEWERS = {
    "anonymous": None,
    "unrelated member": "cy",
    "member alice follows and who follows her": "bob",
    "unconfirmed member": "newbie",
    "moderator, ordinary query": "mo",
}


LISTS = {"a follower list": "followers", "a following list": "following"}


@pytest.mark.parametrize("path", PATHS)
async def test_F1_every_path_shows_alice_hidden_to_every_viewer(
    gql: Client, cast: Cast, path: str
) -> None:
    query, around = PATHS[path]
    variables = {"alice": gid("User", cast.alice.id), "thread": cast.alice_thread}
    used = {name: value for name, value in variables.items() if f"${name}" in query}

    seen = {}
    for viewer, login in VIEWERS.items():
        response = await gql.post(query, used or None, as_member=login)
        assert_no_canary(response)
        seen[viewer] = response.json()

    def expected(login: str | None) -> dict[str, Any]:
        """alice hides both her lists, so bob's lists show her to bob alone (his own)."""
        if path in LISTS and login != "bob":
            return {"data": {"user": {LISTS[path]: {"edges": []}}}}
        return {"data": around(hidden("alice"))}

    assert seen == {viewer: expected(login) for viewer, login in VIEWERS.items()}


async def test_F1_a_conversations_participant_list_shows_alice_hidden(
    gql: Client, cast: Cast
) -> None:
    query = f"""query($id: ID!) {{ conversation(id: $id) {{ participants {{ {PRIVATE} }} }} }}"""

    response = await gql.post(query, {"id": cast.with_cy}, as_member="cy")

    cy_as_herself = await gql(f"{{ viewer {{ {PRIVATE} }} }}", as_member="cy")
    assert response.json() == {
        "data": {
            "conversation": {"participants": [hidden("alice"), cy_as_herself["data"]["viewer"]]}
        }
    }
    assert_no_canary(response)


async def test_F1_the_viewers_own_following_list_shows_alice_hidden(
    gql: Client, cast: Cast
) -> None:
    await follow(cast.cy, cast.alice)
    query = f"{{ viewer {{ following {{ edges {{ node {{ {PRIVATE} }} }} }} }} }}"

    response = await gql.post(query, as_member="cy")

    assert response.json() == {"data": {"viewer": {"following": edge_of(hidden("alice"))}}}
    assert_no_canary(response)


async def test_F1_following_alice_returns_her_hidden(gql: Client, cast: Cast) -> None:
    query = f"""mutation($id: ID!) {{ follow(input: {{userId: $id}}) {{
      user {{ {PRIVATE} }} userErrors {{ code }} }} }}"""

    response = await gql.post(query, {"id": gid("User", cast.alice.id)}, as_member="cy")

    assert response.json() == {"data": {"follow": {"user": hidden("alice"), "userErrors": []}}}
    assert_no_canary(response)


async def test_F1_the_user_inside_a_privileged_read_is_an_ordinary_read(
    gql: Client, cast: Cast
) -> None:
    # The privileged record itself shows alice's data to mo (audited, section E7); the
    # User object inside it follows alice's settings like any other path.
    query = f"""query($id: ID!) {{ privilegedProfile(userId: $id, reason: "F1 check") {{
      user {{ {PRIVATE} }} }} }}"""

    response = await gql.post(query, {"id": gid("User", cast.alice.id)}, as_member="mo")

    assert response.json() == {"data": {"privilegedProfile": {"user": hidden("alice")}}}
    assert_no_canary(response)


async def test_F1_alice_herself_sees_every_canary(gql: Client, cast: Cast) -> None:
    # The control: the canaries are really there, so their absence above means something.
    response = await gql.post(f"{{ viewer {{ {PRIVATE} }} }}", as_member="alice")

    text = response.text
    assert [canary for canary in CANARIES if canary not in text] == []


# ------------------------------------------------------------------ F2: private vs absent

# Every field dora can leave empty, and the fields only an owner sees.
EMPTY_ABLE = """id username lastSeenAt
  profile { bio location website dietPlan weightJourney { startKg currentKg goalKg } }
  privacySettings { email } sessions { id } newsletter consents { kind } policyAccepted
  correctionRequests { field } privacyReads { edges { node { id } } } suspendedUntil"""
SHAPES = {
    "user(username:)": f"query($name: String!) {{ user(username: $name) {{ {EMPTY_ABLE} }} }}",
    "node(id:)": f"query($id: ID!) {{ node(id: $id) {{ ... on User {{ {EMPTY_ABLE} }} }} }}",
    "users(search:)": (
        "query($name: String!) { users(search: $name) { edges { node { "
        f"{EMPTY_ABLE} }} }} }} }}"
    ),
    "a thread's author": (
        f"query($thread: ID!) {{ thread(id: $thread) {{ author {{ {EMPTY_ABLE} }} }} }}"
    ),
}


@pytest.mark.parametrize("viewer", ["cy", None])
@pytest.mark.parametrize("path", SHAPES)
async def test_F2_hidden_alice_reads_byte_for_byte_like_empty_dora(
    gql: Client, cast: Cast, path: str, viewer: str | None
) -> None:
    query = SHAPES[path]

    def ask(user: User, thread: str) -> dict[str, str]:
        """The variables naming one member."""
        given = {"name": user.username, "id": gid("User", user.id), "thread": thread}
        return {name: value for name, value in given.items() if f"${name}" in query}

    alice = await gql.post(query, ask(cast.alice, cast.alice_thread), as_member=viewer)
    dora = await gql.post(query, ask(cast.dora, cast.dora_thread), as_member=viewer)

    # Only the public identity differs; both IDs have the same length.
    as_dora = alice.text.replace(gid("User", cast.alice.id), gid("User", cast.dora.id))
    as_dora = as_dora.replace('"alice"', '"dora"')
    assert (alice.status_code, as_dora) == (dora.status_code, dora.text)
    assert set(alice.json()) == {"data"}  # no errors, no extensions hinting at "hidden"
    assert_no_canary(alice)


async def test_F2_the_fields_that_differ_are_ones_dora_cannot_leave_empty(
    gql: Client, cast: Cast
) -> None:
    # email and dateOfBirth are required at registration (and age follows the date), and a
    # list kept from the caller is null while an empty shown list is empty (F8): these
    # are the only differences between hidden alice and open, empty dora.
    query = f"query($name: String!) {{ user(username: $name) {{ {PRIVATE} }} }}"

    alice = await gql(query, {"name": "alice"}, as_member="cy")
    dora = await gql(query, {"name": "dora"}, as_member="cy")

    no_page = {"edges": [], "pageInfo": {"endCursor": None}}
    shown = hidden("dora") | {
        "email": "dora@example.org",
        "dateOfBirth": "1990-05-17",
        "age": age_on(date(1990, 5, 17), datetime.now(UTC).date()),
        "followers": no_page,
        "following": no_page,
    }
    assert (alice, dora) == ({"data": {"user": hidden("alice")}}, {"data": {"user": shown}})


# ------------------------------------------------------------------ F3: search

SEARCH = "query($s: String!) { users(search: $s) { edges { node { username } } } }"
HIDDEN_TERMS = [
    "canary-a",  # the email's local part
    "7f3e",
    "@example.org",  # every member's domain, so no match at all says the most
    "example.org",
    "1953-",
    "1953",
    "11-27",
    "location-canary",
    "bio-canary",
    "diet-canary",
    "website-canary",
    "181.7",
]


@pytest.mark.parametrize("viewer", ["cy", None, "alice"])
async def test_F3_search_matches_no_private_field(
    gql: Client, cast: Cast, viewer: str | None
) -> None:
    # Even alice's own search: the directory searches usernames, nothing else.
    seen = {term: await gql(SEARCH, {"s": term}, as_member=viewer) for term in HIDDEN_TERMS}

    assert seen == {term: {"data": {"users": {"edges": []}}} for term in HIDDEN_TERMS}


async def test_F3_search_matches_the_public_username(gql: Client, cast: Cast) -> None:
    response = await gql(SEARCH, {"s": "ALI"}, as_member="cy")

    assert response == {"data": {"users": {"edges": [{"node": {"username": "alice"}}]}}}


# ------------------------------------------------------------------ F4: unlisted members

DIRECTORY = "{ users(first: 100) { edges { node { username } } } }"


async def unlist(user: User) -> None:
    """Leave the member directory, as updatePrivacySettings(listedInMembers: false) does."""
    await PrivacySettings.filter(user_id=user.id).update(listed_in_members=False)


async def test_F4_an_unlisted_member_is_not_found_by_search(gql: Client, cast: Cast) -> None:
    await unlist(cast.alice)

    response = await gql(SEARCH, {"s": "alice"}, as_member="cy")

    assert response == {"data": {"users": {"edges": []}}}


async def test_F4_an_unlisted_member_is_not_in_the_directory(gql: Client, cast: Cast) -> None:
    await unlist(cast.alice)

    response = await gql(DIRECTORY, as_member="cy")

    names = ["bob", "cy", "dora", "mo", "boss"]  # newbie never confirmed: no member yet
    assert response == {"data": {"users": {"edges": [{"node": {"username": n}} for n in names]}}}


async def test_F4_an_unlisted_member_is_found_by_exact_username_and_shows_nothing(
    gql: Client, cast: Cast
) -> None:
    # Decision (API.md, docs/security.md G4): usernames are public identifiers.
    await unlist(cast.alice)

    response = await gql.post(f'{{ user(username: "alice") {{ {PRIVATE} }} }}', as_member="cy")

    assert response.json() == {"data": {"user": hidden("alice")}}
    assert_no_canary(response)


# ------------------------------------------------------------------ F5, F6: order and filters

ARGUMENTS = """{ __schema { types { name fields { name args { name } } } } }"""
# Words of argument names that would sort or filter by a field a member can hide.
PRIVATE_WORDS = re.compile(
    r"^(order|sort|by|born|birth|age|min|max|location|seen|email|bio|website|diet|"
    r"weight|filter|where|near)$"
)


def words(name: str) -> list[str]:
    """The lower-case words of a camelCase name."""
    return [w.lower() for w in re.findall(r"[a-z]+|[A-Z][a-z]*", name)]


async def all_arguments(gql: Client) -> dict[str, list[str]]:
    """Every field of the schema that takes arguments: `Type.field` -> argument names."""
    types = (await gql(ARGUMENTS))["data"]["__schema"]["types"]
    return {
        f"{t['name']}.{f['name']}": [a["name"] for a in f["args"]]
        for t in types
        if not t["name"].startswith("__")
        for f in t["fields"] or []
        if f["args"]
    }


async def test_F5_no_argument_anywhere_orders_or_filters_by_a_private_field(
    gql: Client,
) -> None:
    arguments = await all_arguments(gql)

    suspicious = {
        f"{field}({name})"
        for field, names in arguments.items()
        for name in names
        if any(PRIVATE_WORDS.match(word) for word in words(name))
    }

    assert suspicious == set()


async def test_F5_alices_place_in_the_directory_ignores_her_hidden_values(
    gql: Client, cast: Cast
) -> None:
    before = await gql(DIRECTORY, as_member="cy")

    await User.filter(id=cast.alice.id).update(
        last_seen_at=datetime.now(UTC), date_of_birth=date(2004, 1, 1)
    )
    await set_profile(cast.alice, location="Aardvark", bio="Aaa")
    after = await gql(DIRECTORY, as_member="cy")

    names = ["alice", "bob", "cy", "dora", "mo", "boss"]  # join order, always
    expected = {"data": {"users": {"edges": [{"node": {"username": n}} for n in names]}}}
    assert before == after == expected


async def test_F6_member_lists_take_no_filter_but_a_username_search(gql: Client) -> None:
    arguments = await all_arguments(gql)

    lists = {name: arguments[name] for name in ("Query.users", "Query.user")}
    lists |= {name: arguments[name] for name in ("User.followers", "User.following")}
    assert lists == {
        "Query.users": ["first", "after", "search"],
        "Query.user": ["username"],
        "User.followers": ["first", "after"],
        "User.following": ["first", "after"],
    }


# ------------------------------------------------------------------ F7: cursors

CURSORS = """query($thread: ID!) {
  users(first: 100) { edges { cursor } pageInfo { startCursor endCursor } }
  bob: user(username: "bob") {
    followers { edges { cursor } pageInfo { startCursor endCursor } }
    following { edges { cursor } pageInfo { startCursor endCursor } }
  }
  thread(id: $thread) { messages { edges { cursor } pageInfo { startCursor endCursor } } }
  conversations { edges { cursor node { messages { edges { cursor } } } }
    pageInfo { startCursor endCursor } }
}"""
CURSOR_KEYS = {"cursor", "startCursor", "endCursor"}


def cursors_in(value: Any) -> list[str]:
    """Every cursor anywhere in a response."""
    if isinstance(value, dict):
        found = [v for k, v in value.items() if k in CURSOR_KEYS and isinstance(v, str)]
        return found + [c for k, v in value.items() for c in cursors_in(v)]
    if isinstance(value, list):
        return [c for v in value for c in cursors_in(v)]
    return []


def decoded(cursor: str) -> str:
    """What an opaque cursor holds."""
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()


async def test_F7_cursors_hold_only_a_list_name_and_a_row_key(gql: Client, cast: Cast) -> None:
    # alice hides both her lists, so bob's lists show cy only dora, who shows hers.
    await follow(cast.dora, cast.bob)
    await follow(cast.bob, cast.dora)
    response = await gql(CURSORS, {"thread": cast.alice_thread}, as_member="cy")

    inside = {decoded(cursor) for cursor in cursors_in(response["data"])}

    thread, with_cy = pk(cast.alice_thread), pk(cast.with_cy)
    (last_message,) = await Conversation.filter(id=with_cy).values_list(
        "last_message_id", flat=True
    )
    keys = {
        "User": await User.filter(email_confirmed_at__isnull=False).values_list("id", flat=True),
        "Follow": await Follow.filter(  # bob's two follows with dora
            Q(follower_id=cast.dora.id) | Q(followee_id=cast.dora.id)
        ).values_list("id", flat=True),
        "Message": await Message.filter(
            Q(thread_id=thread) | Q(conversation_id=with_cy)
        ).values_list("id", flat=True),
        "Activity": [last_message],  # cy's inbox is ordered by latest message
    }
    assert inside == {f"{kind}:{key}" for kind, found in keys.items() for key in found}


async def test_F7_directory_cursors_are_the_member_keys_in_join_order(
    gql: Client, cast: Cast
) -> None:
    response = await gql("{ users(first: 100) { edges { cursor } } }", as_member="cy")

    cursors = [decoded(e["cursor"]) for e in response["data"]["users"]["edges"]]

    members = User.filter(email_confirmed_at__isnull=False).order_by("id")
    assert cursors == [f"User:{user.id}" for user in await members]


def cursor(text: str) -> str:
    """A hand-made cursor."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


TAMPERED = {
    "SQL": cursor("User:1' OR '1'='1"),
    "JSON with extra keys": cursor('{"id": 1, "lastSeenAt": "2023-07-19"}'),
    "a private value": cursor("User:1:1953-11-27"),
    "huge number": cursor("User:99999999999999999999"),
    "another list's cursor": cursor("Message:1"),
    "not base64": "!!!",
}


@pytest.mark.parametrize("after", TAMPERED.values(), ids=TAMPERED.keys())
async def test_F7_a_tampered_cursor_is_bad_input(gql: Client, cast: Cast, after: str) -> None:
    query = "query($a: String!) { users(after: $a) { edges { node { username } } } }"

    response = await gql(query, {"a": after}, as_member="cy")

    error = coded_error(query, "users", "That cursor is not valid here.", "BAD_USER_INPUT")
    assert response == {"data": None, "errors": [error]}


# ------------------------------------------------------------------ F8: counts

COUNT_FIELDS = """{ __schema { types { name fields { name } } } }"""
PUBLIC_TYPES = {
    "User",
    "Profile",
    "UserConnection",
    "UserEdge",
    "Thread",
    "ThreadConnection",
    "Forum",
    "Message",
    "MessageConnection",
    "PageInfo",
}
# Counts of the reader's own things only, null for everyone else (API.md names it;
# tests/test_notifications.py holds that it is the owner's alone).
OWNER_ONLY_COUNTS = {"User.unreadNotificationCount"}


async def test_F8_a_hidden_follower_list_is_null_not_an_empty_page(gql: Client, cast: Cast) -> None:
    query = """query($name: String!) { user(username: $name) {
      followers { edges { node { username } } pageInfo { hasNextPage } } } }"""

    alice = await gql(query, {"name": "alice"}, as_member="cy")  # bob follows her
    dora = await gql(query, {"name": "dora"}, as_member="cy")  # nobody follows her

    assert alice == {"data": {"user": {"followers": None}}}
    assert dora == {
        "data": {"user": {"followers": {"edges": [], "pageInfo": {"hasNextPage": False}}}}
    }


async def test_F8_a_follower_count_includes_no_hidden_edge(gql: Client, cast: Cast) -> None:
    # alice follows bob, and hides her `following`: the edge shows (and counts) only for
    # those who may see her list too, as in every list that shows it.
    query = """{ user(username: "bob") {
      followers { totalCount edges { node { username } } } } }"""

    seen = {viewer: await gql(query, as_member=viewer) for viewer in ("cy", "alice", None)}

    hidden = {"data": {"user": {"followers": {"totalCount": 0, "edges": []}}}}
    shown = {"totalCount": 1, "edges": [{"node": {"username": "alice"}}]}
    assert seen == {
        "cy": hidden,
        "alice": {"data": {"user": {"followers": shown}}},
        None: hidden,
    }


# The counts the schema offers: each a list's totalCount, counted by the list's own rule.
LIST_COUNTS = {
    "UserConnection.totalCount",
    "ThreadConnection.totalCount",
    "MessageConnection.totalCount",
}


async def test_F8_no_public_type_carries_a_count_but_its_lists_totals(gql: Client) -> None:
    types = (await gql(COUNT_FIELDS))["data"]["__schema"]["types"]

    counts = {
        f"{t['name']}.{f['name']}"
        for t in types
        if t["name"] in PUBLIC_TYPES
        for f in t["fields"]
        if re.search(r"count|total|number", f["name"], re.IGNORECASE)
    }

    assert counts == LIST_COUNTS | OWNER_ONLY_COUNTS


async def test_F8_an_outsiders_inbox_counts_no_one_elses_conversation(
    gql: Client, cast: Cast
) -> None:
    query = "{ conversations { edges { node { title unreadCount } } } }"

    response = await gql(query, as_member="cy")

    # alice's conversation with bob (and bob's reply in it) count nowhere for cy.
    assert response == {
        "data": {"conversations": {"edges": [{"node": {"title": "Hi cy", "unreadCount": 1}}]}}
    }


# ------------------------------------------------------------------ F9: derived fields


async def test_F9_age_may_show_beside_a_hidden_date_of_birth(gql: Client, cast: Cast) -> None:
    # Accepted in docs/security.md: the two have separate audiences, the member chooses.
    await set_audiences(cast.alice, age="MEMBERS")
    query = '{ user(username: "alice") { age dateOfBirth } }'

    response = await gql.post(query, as_member="cy")

    age = age_on(BORN, datetime.now(UTC).date())
    assert response.json() == {"data": {"user": {"age": age, "dateOfBirth": None}}}
    assert_no_canary(response)


async def test_F9_last_seen_is_rounded_down_to_a_quarter_hour(gql: Client, cast: Cast) -> None:
    await set_audiences(cast.alice, last_seen="EVERYONE")
    query = '{ user(username: "alice") { lastSeenAt } }'

    seen = [await gql(query, as_member=viewer) for viewer in (None, "cy")]

    # 04:52:13.123456 reads as 04:45: activity cannot be tracked to the second.
    shown = {"data": {"user": {"lastSeenAt": "2023-07-19T04:45:00+00:00"}}}
    assert seen == [shown, shown]


# ------------------------------------------------------------------ F10: FOLLOWING


def shown(followers: list[str], following: list[str]) -> dict[str, Any]:
    """`{PRIVATE}` of alice as a member in her FOLLOWING audience sees it."""
    return hidden("alice") | {
        "email": EMAIL,
        "dateOfBirth": BORN.isoformat(),
        "age": age_on(BORN, datetime.now(UTC).date()),
        "lastSeenAt": "2023-07-19T04:45:00+00:00",
        "profile": {
            "bio": PROFILE["bio"],
            "location": PROFILE["location"],
            "website": PROFILE["website"],
            "dietPlan": PROFILE["diet_plan"],
            "weightJourney": {"startKg": 181.7, "currentKg": 163.9, "goalKg": 95.3},
        },
        "followers": names_page(followers),
        "following": names_page(following),
    }


def names_page(names: list[str]) -> dict[str, Any]:
    """A follow list as PRIVATE selects it, its cursors replaced by None (see `uncursored`)."""
    return {
        "edges": [{"cursor": None, "node": {"username": n}} for n in names],
        "pageInfo": {"endCursor": None},
    }


def uncursored(value: Any) -> Any:
    """A response with every cursor set to None (F7 covers what cursors hold)."""
    if isinstance(value, dict):
        return {k: None if k in CURSOR_KEYS else uncursored(v) for k, v in value.items()}
    if isinstance(value, list):
        return [uncursored(v) for v in value]
    return value


ALICE = f'{{ user(username: "alice") {{ {PRIVATE} }} }}'
FOLLOW_ALICE = """mutation($id: ID!) { follow(input: {userId: $id}) { userErrors { code } } }"""
UNFOLLOW_ALICE = """mutation($id: ID!) { unfollow(input: {userId: $id}) { userErrors { code } } }"""


async def test_F10_following_alice_shows_her_following_fields_to_nobody_new(
    gql: Client, cast: Cast
) -> None:
    await set_audiences(cast.alice, **every("FOLLOWING"))
    alice_id = {"id": gid("User", cast.alice.id)}
    followed = await gql(FOLLOW_ALICE, alice_id, as_member="cy")
    assert followed == {"data": {"follow": {"userErrors": []}}}

    response = await gql.post(ALICE, as_member="cy")

    assert response.json() == {"data": {"user": hidden("alice")}}
    assert_no_canary(response)


async def test_F10_whom_alice_follows_sees_her_following_fields(gql: Client, cast: Cast) -> None:
    await set_audiences(cast.alice, **every("FOLLOWING"))
    await gql(FOLLOW_ALICE, {"id": gid("User", cast.alice.id)}, as_member="cy")

    response = await gql(ALICE, as_member="bob")

    # bob is followed by alice; cy (a follower only) shows up in her list, nothing more.
    assert uncursored(response) == {"data": {"user": shown(["bob", "cy"], ["bob"])}}


async def test_F10_unfollowing_changes_nothing_for_the_unfollower(gql: Client, cast: Cast) -> None:
    await set_audiences(cast.alice, **every("FOLLOWING"))
    alice_id = {"id": gid("User", cast.alice.id)}
    await gql(FOLLOW_ALICE, alice_id, as_member="cy")
    unfollowed = await gql(UNFOLLOW_ALICE, alice_id, as_member="cy")
    assert unfollowed == {"data": {"unfollow": {"userErrors": []}}}

    response = await gql.post(ALICE, as_member="cy")

    assert response.json() == {"data": {"user": hidden("alice")}}
    assert_no_canary(response)


# ------------------------------------------------------------------ F11: unconfirmed members


@pytest.mark.parametrize("audience", ["MEMBERS", "FOLLOWING"])
async def test_F11_an_unconfirmed_member_sees_no_members_field(
    gql: Client, cast: Cast, audience: str
) -> None:
    await set_audiences(cast.alice, **every(audience))
    await follow(cast.alice, cast.newbie)  # FOLLOWING would admit newbie, were she confirmed

    response = await gql.post(ALICE, as_member="newbie")

    assert response.json() == {"data": {"user": hidden("alice")}}
    assert_no_canary(response)


async def test_F11_a_confirmed_member_sees_the_members_fields(gql: Client, cast: Cast) -> None:
    await set_audiences(cast.alice, **every("MEMBERS"))
    await follow(cast.alice, cast.newbie)

    response = await gql(ALICE, as_member="cy")

    # newbie, never confirmed, is no member yet: no list shows her.
    assert uncursored(response) == {"data": {"user": shown(["bob"], ["bob"])}}


# ------------------------------------------------------------------ F13: error messages

MISSING_USER = gid("User", 10_000)
MISSING_CONVERSATION = gid("Conversation", 10_000)
MISSING_MESSAGE = gid("Message", 10_000)


async def test_F13_a_hidden_conversation_reads_like_a_missing_one(gql: Client, cast: Cast) -> None:
    query = "query($id: ID!) { conversation(id: $id) { title } }"

    seen = [
        await gql.post(query, {"id": target}, as_member="cy")
        for target in (cast.with_bob, MISSING_CONVERSATION)
    ]

    assert [r.content for r in seen] == [b'{"data":{"conversation":null}}'] * 2


async def test_F13_writing_to_a_hidden_conversation_fails_like_a_missing_one(
    gql: Client, cast: Cast
) -> None:
    query = "mutation($i: SendMessageInput!) { sendMessage(input: $i) { message { id } } }"

    seen = [
        await gql(query, {"i": {"conversationId": target, "body": "hi"}}, as_member="cy")
        for target in (cast.with_bob, MISSING_CONVERSATION)
    ]

    error = coded_error(query, "sendMessage", "You are not allowed to do this.", "FORBIDDEN")
    assert seen == [{"data": {"sendMessage": None}, "errors": [error]}] * 2


async def test_F13_messaging_a_closed_member_fails_like_a_missing_one(
    gql: Client, cast: Cast
) -> None:
    query = """mutation($i: StartConversationInput!) { startConversation(input: $i) {
      conversation { id } userErrors { field message code } } }"""

    seen = [
        await gql(
            query, {"i": {"recipientIds": [target], "title": "Hey", "body": "hi"}}, as_member="cy"
        )
        for target in (gid("User", cast.alice.id), MISSING_USER)  # alice: whoCanMessage ONLY_ME
    ]

    errors = refused("CANNOT_MESSAGE", "You cannot message this member.", "recipientIds", "0")
    assert (
        seen == [{"data": {"startConversation": {"conversation": None, "userErrors": errors}}}] * 2
    )


@pytest.mark.parametrize(
    ("mutation", "extra", "message"),
    [
        ("reportMessage", {"reason": "spam spam"}, "There is no such message."),
        ("editMessage", {"body": "mine"}, "You have no such message."),
        ("deleteMessage", {}, "You have no such message."),
    ],
)
async def test_F13_acting_on_a_hidden_message_fails_like_on_a_missing_one(
    gql: Client, cast: Cast, mutation: str, extra: dict[str, str], message: str
) -> None:
    input_type = mutation[0].upper() + mutation[1:] + "Input"
    query = (
        f"mutation($i: {input_type}!) {{ {mutation}(input: $i) "
        "{ userErrors { field message code } } }"
    )

    seen = [
        await gql(query, {"i": {"messageId": target, **extra}}, as_member="cy")
        for target in (cast.bobs_message, MISSING_MESSAGE)
    ]

    errors = refused("MESSAGE_NOT_FOUND", message, "messageId")
    assert seen == [{"data": {mutation: {"userErrors": errors}}}] * 2


async def test_F13_a_staff_query_refuses_a_member_alike_for_any_target(
    gql: Client, cast: Cast
) -> None:
    query = 'query($id: ID!) { privilegedProfile(userId: $id, reason: "curious") { email } }'

    seen = [
        await gql(query, {"id": target}, as_member="cy")
        for target in (gid("User", cast.alice.id), MISSING_USER)
    ]

    error = coded_error(query, "privilegedProfile", "You are not allowed to do this.", "FORBIDDEN")
    assert seen == [{"data": {"privilegedProfile": None}, "errors": [error]}] * 2


async def test_F13_following_an_unlisted_member_answers_as_for_a_listed_one(
    gql: Client, cast: Cast
) -> None:
    # Unlisting only leaves the directory (usernames are public, API.md): following works
    # alike, and says nothing of the hidden fields.
    await unlist(cast.alice)
    query = """mutation($id: ID!) { follow(input: {userId: $id}) {
      user { username email profile { bio } } userErrors { code } } }"""

    unlisted = await gql.post(query, {"id": gid("User", cast.alice.id)}, as_member="cy")
    listed = await gql.post(query, {"id": gid("User", cast.bob.id)}, as_member="cy")

    def followed(name: str) -> dict[str, Any]:
        """The follow payload, the member's hidden fields null."""
        user = {"username": name, "email": None, "profile": {"bio": None}}
        return {"data": {"follow": {"user": user, "userErrors": []}}}

    assert (unlisted.json(), listed.json()) == (followed("alice"), followed("bob"))
    assert_no_canary(unlisted)


# ------------------------------------------------------------------ F14: mail and exports

ADDRESSES = {TEST_IP, *LOOPBACK_IPS}
BOB_EMAIL = "canary-b-44d1@example.org"


async def give_bob_canaries(bob: User) -> None:
    """Bob's own hidden values, which alice's export and everyone's mail must not hold."""
    await User.filter(id=bob.id).update(email=BOB_EMAIL, email_key=BOB_EMAIL)
    await set_profile(bob, bio="bio-canary-b-e07", location="location-canary-b-9c6")
    await set_audiences(bob, email="ONLY_ME", bio="ONLY_ME", location="ONLY_ME")


async def test_F14_the_export_holds_no_other_members_private_fields_and_no_ip(
    gql: Client, cast: Cast
) -> None:
    await give_bob_canaries(cast.bob)
    await gql.sign_in("alice")  # a real sign-in: a session row with the client's address

    response = await gql.post(EXPORT_CODE, as_member="alice")

    payload = response.json()["data"]["exportMyData"]
    document = payload["export"]
    assert payload["userErrors"] == []
    assert (document["followers"], document["following"]) == (["bob"], ["bob"])
    assert [m["body"] for m in document["messages"]] == ["Anyone here?", "Hello cy", "Hello bob"]
    assert_no_canary(response, BOB_CANARIES)
    assert_no_ip(json.dumps(document), ADDRESSES)


async def test_F14_the_export_holds_the_moderators_reads_of_alice(gql: Client, cast: Cast) -> None:
    query = 'query($id: ID!) { privilegedProfile(userId: $id, reason: "Report #9") { bio } }'
    read = await gql(query, {"id": gid("User", cast.alice.id)}, as_member="mo")
    assert read == {"data": {"privilegedProfile": {"bio": PROFILE["bio"]}}}

    response = await gql(EXPORT_CODE, as_member="alice")

    (entry,) = response["data"]["exportMyData"]["export"]["privacyReads"]
    assert {k: v for k, v in entry.items() if k != "at"} == {
        "by": "mo",
        "action": "READ_PRIVATE_PROFILE",
        "fields": ["bio"],
        "reason": "Report #9",
    }


async def test_F14_no_mail_holds_another_members_private_fields_or_an_ip(
    gql: Client, cast: Cast, mailbox: Mailbox
) -> None:
    await give_bob_canaries(cast.bob)
    await User.filter(id__in=[cast.alice.id, cast.bob.id]).update(newsletter=True)
    reset = """mutation($i: RequestPasswordResetInput!) {
      requestPasswordReset(input: $i) { userErrors { code } } }"""
    change = """mutation($i: ChangeEmailInput!) {
      changeEmail(input: $i) { userErrors { code } } }"""
    newsletter = """mutation { sendNewsletter(input: {subject: "News", body: "Hello members"}) {
      userErrors { code } } }"""
    new_address = {"password": PASSWORD, "newEmail": "alice.new@example.org"}
    answers = [
        await register(gql, "newcomer"),  # a confirmation mail
        await register(gql, "copycat", email=EMAIL),  # a notice to alice instead
        await gql(reset, {"i": {"email": EMAIL}}),
        await gql(change, {"i": new_address}, as_member="alice"),  # two mails
        await gql(newsletter, as_member="boss"),  # to alice and bob
    ]
    assert [payload["userErrors"] for a in answers for payload in a["data"].values()] == [[]] * 5
    await mailbox.wait_for(EMAIL, count=4)
    for address in ("newcomer@example.org", "alice.new@example.org", BOB_EMAIL):
        await mailbox.wait_for(address)

    delivered = mailbox.messages()

    assert sorted((m["To"], m["Subject"]) for m in delivered) == sorted(
        [
            ("newcomer@example.org", "Confirm your email address"),
            (EMAIL, "Someone tried to register with your email address"),
            (EMAIL, "Reset your password"),
            ("alice.new@example.org", "Confirm your new email address"),
            (EMAIL, "Your email address is being changed"),
            (EMAIL, "News"),
            (BOB_EMAIL, "News"),
        ]
    )
    for mail in delivered:
        assert_no_ip(mail.as_string(), ADDRESSES)
        # The Message-ID is the clock and the process id: its digits may spell "95.3".
        del mail["Message-ID"]
        text = mail.as_string()
        others = BOB_CANARIES if mail["To"] != BOB_EMAIL else []
        others = others + (CANARIES if EMAIL not in mail["To"] else [])
        assert [c for c in others if c.casefold() in text.casefold()] == [], mail["To"]
