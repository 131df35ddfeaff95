"""The response cache for signed-out readers: what it keeps, and that no change a reader
could see ever leaves a stale (or private) answer in it, while a write elsewhere leaves
it in place (the version keys of migration 0013, services/cachekeys.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tortoise import connections

from models.accounts import User
from models.blocks import Block
from models.forums import Forum
from models.messages import Message, Thread
from models.policy import PolicyVersion
from services.settings import Settings
from tests.support.forum import new_forum, open_thread, pk, reply, start_conversation
from tests.support.harness import Client, Server
from tests.support.harness import test_settings as make_settings
from tests.support.members import follow, member, set_audiences, set_profile, suspend

BIO = '{ user(username: "ada_l") { profile { bio } } }'
SHOWN = {"data": {"user": {"profile": {"bio": "Walks to work."}}}}
HIDDEN = {"data": {"user": {"profile": {"bio": None}}}}
SET_BIO_AUDIENCE = """
mutation($a: Audience!) { updatePrivacySettings(input: {bio: $a}) { userErrors { code } } }
"""


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """This module reads X-Cache, which only RESPONSE_CACHE_DEBUG sends."""
    return make_settings(tmp_path, database_url, response_cache_debug=True)


@pytest.fixture
async def ada(gql: Client) -> User:
    """A member whose bio everyone may read."""
    user = await member(gql, "ada_l")
    await set_profile(user, bio="Walks to work.")
    return user


async def cached(gql: Client, query: str, **kwargs: object) -> tuple[dict, str | None]:
    """The answer to a query and whether the cache served it (`hit`, `miss` or None)."""
    response = await gql.post(query, **kwargs)  # type: ignore[arg-type]
    return response.json(), response.headers.get("x-cache")


async def version(name: str) -> int:
    """The database's version of one cache key (0 until a write first moves it)."""
    rows = await connections.get("default").execute_query_dict(
        f"SELECT version FROM cache_versions WHERE name = '{name}'"  # noqa: S608 - our names
    )
    return int(rows[0]["version"]) if rows else 0


async def kept(gql: Client, query: str, **kwargs: object) -> dict:
    """Ask until the cache keeps the answer: the first computation learns the keys it
    reads (it is kept at once if it read the site-wide key alone), the second reads
    their versions first and keeps it; then it is a hit."""
    states = [await cached(gql, query, **kwargs)]
    while states[-1][1] != "hit" and len(states) < 3:
        states.append(await cached(gql, query, **kwargs))
    assert states[-1][1] == "hit", states
    assert all(answer == states[0][0] for answer, _ in states), states
    return states[-1][0]


async def refreshed(gql: Client, query: str, **kwargs: object) -> dict:
    """The next answer, which must have been computed afresh (a miss)."""
    answer, state = await cached(gql, query, **kwargs)
    assert state == "miss", answer
    return answer


async def test_a_signed_out_readers_repeated_query_is_a_hit_once_its_keys_are_known(
    gql: Client, ada: User
) -> None:
    assert await cached(gql, BIO) == (SHOWN, "miss")  # learns the keys it reads
    assert await cached(gql, BIO) == (SHOWN, "miss")  # reads them first, keeps the answer
    assert await cached(gql, BIO) == (SHOWN, "hit")
    assert await cached(gql, BIO) == (SHOWN, "hit")


async def test_a_refilled_entry_is_kept_at_its_first_computation(gql: Client, ada: User) -> None:
    await kept(gql, BIO)
    await set_profile(ada, bio="Runs.")
    assert await cached(gql, BIO) == ({"data": {"user": {"profile": {"bio": "Runs."}}}}, "miss")
    assert await cached(gql, BIO) == ({"data": {"user": {"profile": {"bio": "Runs."}}}}, "hit")


async def test_different_variables_are_different_entries(gql: Client, ada: User) -> None:
    query = "query($u: String!) { user(username: $u) { username } }"
    await kept(gql, query, variables={"u": "ada_l"})
    assert await cached(gql, query, variables={"u": "nobody"}) == (
        {"data": {"user": None}},
        "miss",
    )


async def test_a_signed_in_reader_is_never_served_from_or_stored_in_the_cache(
    gql: Client, ada: User
) -> None:
    await kept(gql, BIO)
    assert await cached(gql, BIO, as_member="ada_l") == (SHOWN, None)
    assert await cached(gql, BIO, as_member="ada_l") == (SHOWN, None)


async def test_a_request_with_an_unknown_session_cookie_bypasses_the_cache(
    gql: Client, ada: User
) -> None:
    await kept(gql, BIO)
    assert await cached(gql, BIO, cookie="not-a-session") == (SHOWN, None)


async def test_a_mutation_is_never_cached(gql: Client) -> None:
    logout = "mutation { logout { userErrors { code } } }"
    assert await cached(gql, logout) == ({"data": {"logout": {"userErrors": []}}}, None)
    assert await cached(gql, logout) == ({"data": {"logout": {"userErrors": []}}}, None)


async def test_an_answer_with_errors_is_not_kept(gql: Client) -> None:
    query = "{ conversations(first: 1) { edges { cursor } } }"
    first, state = await cached(gql, query)
    assert (first["errors"][0]["extensions"], state) == ({"code": "UNAUTHENTICATED"}, "miss")
    assert (await cached(gql, query))[1] == "miss"
    assert (await cached(gql, query))[1] == "miss"


async def test_an_answer_with_a_read_that_names_no_key_is_not_kept(gql: Client, ada: User) -> None:
    query = '{ search(query: "work") { edges { node { body } } } }'
    states = [(await cached(gql, query))[1] for _ in range(3)]
    assert states == ["miss", "miss", "miss"]


# ------------------------------------------------- what a write invalidates, per key kind


async def test_a_field_made_private_is_not_served_from_the_cache(gql: Client, ada: User) -> None:
    assert await kept(gql, BIO) == SHOWN
    changed = await gql(SET_BIO_AUDIENCE, {"a": "MEMBERS"}, as_member="ada_l")
    assert changed == {"data": {"updatePrivacySettings": {"userErrors": []}}}
    assert await cached(gql, BIO) == (HIDDEN, "miss")


async def test_a_profile_change_refreshes_the_members_answers(gql: Client, ada: User) -> None:
    await kept(gql, BIO)
    await set_profile(ada, bio="Cycles.")
    assert await refreshed(gql, BIO) == {"data": {"user": {"profile": {"bio": "Cycles."}}}}


FOLLOWERS = '{ user(username: "ada_l") { followers(first: 5) { totalCount } } }'


async def test_a_follow_refreshes_both_members_answers(gql: Client, ada: User) -> None:
    bob = await member(None, "bob_b")
    for someone in (ada, bob):
        await set_audiences(someone, followers="EVERYONE", following="EVERYONE")
    following = '{ user(username: "bob_b") { following(first: 5) { totalCount } } }'
    await kept(gql, FOLLOWERS)
    await kept(gql, following)
    await follow(bob, ada)
    counted = {"totalCount": 1}
    assert await refreshed(gql, FOLLOWERS) == {"data": {"user": {"followers": counted}}}
    assert await refreshed(gql, following) == {"data": {"user": {"following": counted}}}


async def test_a_suspension_refreshes_the_members_answers(gql: Client, ada: User) -> None:
    query = '{ user(username: "ada_l") { username profile { bio } } }'
    await kept(gql, query)
    await suspend(ada, "spam")
    await refreshed(gql, query)


async def test_a_role_change_refreshes_the_members_answers(gql: Client, ada: User) -> None:
    query = '{ user(username: "ada_l") { role } }'
    assert await kept(gql, query) == {"data": {"user": {"role": "MEMBER"}}}
    await User.filter(id=ada.id).update(role="moderator")
    assert await refreshed(gql, query) == {"data": {"user": {"role": "MODERATOR"}}}


EDIT = "mutation($i: EditMessageInput!) { editMessage(input: $i) { userErrors { code } } }"
THREAD = "query($t: ID!) { thread(id: $t) { title locked forum { slug } } }"
PAGE = "query($t: ID!) { thread(id: $t) { messages(first: 5) { edges { node { body } } } } }"
THREADS = (
    "query($s: String!) { forum(slug: $s) { threads(first: 5) { edges { node { title } } } } }"
)


async def test_locking_a_thread_refreshes_it(gql: Client, ada: User) -> None:
    thread, _ = await open_thread(gql, "ada_l", await new_forum())
    await kept(gql, THREAD, variables={"t": thread})
    await Thread.filter(id=pk(thread)).update(locked=True)
    answer = await refreshed(gql, THREAD, variables={"t": thread})
    assert answer["data"]["thread"]["locked"] is True


async def test_moving_a_thread_refreshes_both_forums_and_the_thread(gql: Client, ada: User) -> None:
    thread, _ = await open_thread(gql, "ada_l", await new_forum("old", "Old"), title="Moving on")
    other = await new_forum("new", "New")
    await open_thread(gql, "ada_l", other, title="Staying put")
    await kept(gql, THREADS, variables={"s": "old"})
    await kept(gql, THREADS, variables={"s": "new"})
    await kept(gql, THREAD, variables={"t": thread})
    await Thread.filter(id=pk(thread)).update(forum_id=other.id)

    def titles(answer: dict) -> list[str]:
        return [e["node"]["title"] for e in answer["data"]["forum"]["threads"]["edges"]]

    assert titles(await refreshed(gql, THREADS, variables={"s": "old"})) == []
    assert titles(await refreshed(gql, THREADS, variables={"s": "new"})) == [
        "Staying put",
        "Moving on",
    ]
    moved = await refreshed(gql, THREAD, variables={"t": thread})
    assert moved["data"]["thread"]["forum"] == {"slug": "new"}


async def test_a_new_message_invalidates_the_thread_page(gql: Client, ada: User) -> None:
    thread, _ = await open_thread(gql, "ada_l", await new_forum(), body="First.")
    await kept(gql, PAGE, variables={"t": thread})
    await reply(gql, "ada_l", thread, "Second.")
    answer, state = await cached(gql, PAGE, variables={"t": thread})
    bodies = [edge["node"]["body"] for edge in answer["data"]["thread"]["messages"]["edges"]]
    assert (bodies, state) == (["First.", "Second."], "miss")


async def test_an_edited_message_refreshes_its_page(gql: Client, ada: User) -> None:
    thread, message = await open_thread(gql, "ada_l", await new_forum(), body="Frist.")
    await kept(gql, PAGE, variables={"t": thread})
    changed = await gql(EDIT, {"i": {"messageId": message, "body": "First."}}, as_member="ada_l")
    assert changed == {"data": {"editMessage": {"userErrors": []}}}
    answer = await refreshed(gql, PAGE, variables={"t": thread})
    assert answer["data"]["thread"]["messages"]["edges"] == [{"node": {"body": "First."}}]


async def test_a_hidden_message_leaves_the_cached_page(gql: Client, ada: User) -> None:
    thread, _ = await open_thread(gql, "ada_l", await new_forum(), body="Rude words.")
    await kept(gql, PAGE, variables={"t": thread})
    await Message.all().update(hidden_at=datetime(2026, 1, 1, tzinfo=UTC))
    answer = await refreshed(gql, PAGE, variables={"t": thread})
    assert answer["data"]["thread"]["messages"]["edges"] == [{"node": {"body": ""}}]


async def test_a_deleted_message_leaves_the_cached_page(gql: Client, ada: User) -> None:
    thread, message = await open_thread(gql, "ada_l", await new_forum(), body="Oops.")
    await kept(gql, PAGE, variables={"t": thread})
    await Message.filter(id=pk(message)).update(deleted_at=datetime(2026, 1, 1, tzinfo=UTC))
    answer = await refreshed(gql, PAGE, variables={"t": thread})
    assert answer["data"]["thread"]["messages"]["edges"] == [{"node": {"body": ""}}]


async def test_a_renamed_forum_refreshes_its_answers(gql: Client, ada: User) -> None:
    forum = await new_forum()
    query = '{ forum(slug: "general") { title } forums { title } }'
    await kept(gql, query)
    await Forum.filter(id=forum.id).update(title="Chat")
    assert await refreshed(gql, query) == {
        "data": {"forum": {"title": "Chat"}, "forums": [{"title": "Chat"}]}
    }


async def test_a_new_policy_version_refreshes_the_policy(gql: Client) -> None:
    query = "{ privacyPolicy { version } }"
    await kept(gql, query)
    await PolicyVersion.create(version="2027-01", body="New.", summary_of_changes="More.")
    assert await refreshed(gql, query) == {"data": {"privacyPolicy": {"version": "2027-01"}}}


async def test_a_block_changes_no_signed_out_answer_and_leaves_it_cached(
    gql: Client, ada: User
) -> None:
    bob = await member(None, "bob_b")
    await kept(gql, BIO)
    await Block.create(blocker_id=ada.id, blocked_id=bob.id)
    assert await cached(gql, BIO) == (SHOWN, "hit")


# ------------------------------------------------------ what a write leaves in place


async def test_a_post_in_another_thread_leaves_a_cached_page_a_hit(gql: Client, ada: User) -> None:
    forum = await new_forum()
    thread, _ = await open_thread(gql, "ada_l", forum, body="Here.")
    elsewhere, _ = await open_thread(gql, "ada_l", await new_forum("other", "Other"))
    await member(gql, "bob_b")
    await kept(gql, PAGE, variables={"t": thread})
    await reply(gql, "bob_b", elsewhere, "Somewhere else.")
    assert (await cached(gql, PAGE, variables={"t": thread}))[1] == "hit"


async def test_a_post_in_another_thread_of_the_same_forum_leaves_a_thread_a_hit(
    gql: Client, ada: User
) -> None:
    forum = await new_forum()
    thread, _ = await open_thread(gql, "ada_l", forum, body="Here.")
    sibling, _ = await open_thread(gql, "ada_l", forum, title="Sibling")
    await member(gql, "bob_b")
    await kept(gql, THREAD, variables={"t": thread})
    await kept(gql, THREADS, variables={"s": "general"})
    await reply(gql, "bob_b", sibling, "Next door.")
    assert (await cached(gql, THREAD, variables={"t": thread}))[1] == "hit"
    # The forum's list of threads, which that post reorders, is refreshed.
    assert (await cached(gql, THREADS, variables={"s": "general"}))[1] == "miss"


async def test_a_private_conversation_leaves_every_cached_answer_a_hit(
    gql: Client, ada: User
) -> None:
    await member(gql, "bob_b")
    await kept(gql, BIO)
    await start_conversation(gql, "bob_b", [ada], "Hello", "Just us.")
    assert await cached(gql, BIO) == (SHOWN, "hit")


async def test_a_write_outside_the_api_invalidates_too(gql: Client, ada: User) -> None:
    await kept(gql, BIO)
    await connections.get("default").execute_query("UPDATE profiles SET bio = 'Cycles.'")
    assert await cached(gql, BIO) == (
        {"data": {"user": {"profile": {"bio": "Cycles."}}}},
        "miss",
    )


# ------------------------------------------------------------- the triggers, one by one


async def test_every_member_column_but_last_seen_moves_the_members_key(
    gql: Client, ada: User
) -> None:
    columns = await member_columns()
    moved = []
    for column in columns:
        before = await version(f"u{ada.id}")
        await connections.get("default").execute_query(
            f'UPDATE users SET "{column}" = "{column}" WHERE id = {ada.id}'  # noqa: S608 - our names
        )
        if await version(f"u{ada.id}") != before:
            moved.append(column)
    assert moved == [c for c in columns if c != "last_seen_at"]


async def test_a_suspension_or_role_change_moves_the_site_wide_key(gql: Client, ada: User) -> None:
    before = await version("g")
    await User.filter(id=ada.id).update(role="moderator")
    await User.filter(id=ada.id).update(suspended_until=datetime(2030, 1, 1, tzinfo=UTC))
    assert await version("g") == before + 2


async def member_columns() -> list[str]:
    """Every column of the users table, as the database lists them."""
    connection = connections.get("default")
    if connection.capabilities.dialect == "sqlite":
        rows = await connection.execute_query_dict("PRAGMA table_info(users)")
        return [row["name"] for row in rows]
    rows = await connection.execute_query_dict(
        "SELECT column_name AS name FROM information_schema.columns "
        "WHERE table_name = 'users' ORDER BY ordinal_position"
    )
    return [row["name"] for row in rows]


@pytest.mark.parametrize(
    ("statement", "keys"),
    [
        ("INSERT INTO forums (slug, title, description, position) VALUES ('x', 'X', '', 9)",
         ["g"]),
        ("UPDATE forums SET title = 'Chat'", ["f{forum}", "g"]),
        ("UPDATE privacy_settings SET bio = 'only_me'", ["u{ada}", "g"]),
        ("UPDATE profiles SET bio = 'Hi'", ["u{ada}"]),
        ("DELETE FROM follows", ["u{ada}", "u{bob}"]),
        ("UPDATE messages SET hidden_at = NULL", ["t{thread}", "u{ada}"]),
        ("UPDATE threads SET title = 'New'", ["t{thread}", "f{forum}.{shard}"]),
        ("DELETE FROM threads", ["t{thread}", "u{ada}", "f{forum}.{shard}"]),
        ("UPDATE message_edits SET previous_body = 'x'", ["t{thread}"]),
        ("UPDATE policy_versions SET version = version", ["g"]),
    ],
)  # fmt: skip
async def test_a_write_to_a_public_table_moves_its_keys(
    gql: Client, ada: User, statement: str, keys: list[str]
) -> None:
    await set_audiences(ada, bio="EVERYONE")
    await set_profile(ada, bio="Hello.")
    bob = await member(None, "bob_b")
    await follow(bob, ada)
    forum = await new_forum()
    thread, message = await open_thread(gql, "ada_l", forum)
    changed = await gql(EDIT, {"i": {"messageId": message, "body": "Edited."}}, as_member="ada_l")
    assert changed == {"data": {"editMessage": {"userErrors": []}}}
    names = [
        key.format(ada=ada.id, bob=bob.id, forum=forum.id, thread=pk(thread), shard=pk(thread) % 8)
        for key in keys
    ]
    before = {name: await version(name) for name in names}
    await connections.get("default").execute_query(statement)
    assert {name: await version(name) > before[name] for name in names} == dict.fromkeys(
        names, True
    )


async def test_signing_in_moves_no_key(gql: Client, ada: User) -> None:
    before = await every_version()
    await User.filter(id=ada.id).update(last_seen_at=None)
    assert await every_version() == before


async def every_version() -> list[dict]:
    """Every key's version."""
    return await connections.get("default").execute_query_dict(
        "SELECT name, version FROM cache_versions ORDER BY name"
    )


async def test_an_entry_older_than_its_time_to_live_is_not_served(
    tmp_path: Path, database_url: str
) -> None:
    settings = make_settings(
        tmp_path, database_url, response_cache_seconds=0.5, response_cache_debug=True
    )
    async with Server(settings) as gql:
        await member(gql, "ada_l")
        query = '{ user(username: "ada_l") { username } }'
        assert [(await cached(gql, query))[1] for _ in range(3)] == ["miss", "miss", "hit"]
        await asyncio.sleep(0.6)
        assert (await cached(gql, query))[1] == "miss"
        assert (await cached(gql, query))[1] == "hit"  # its keys were still known


async def test_the_cache_can_be_turned_off(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(
        tmp_path, database_url, response_cache=False, response_cache_debug=True
    )
    async with Server(settings) as gql:
        query = "{ forums { slug } }"
        assert await cached(gql, query) == ({"data": {"forums": []}}, None)
        assert await cached(gql, query) == ({"data": {"forums": []}}, None)


async def test_a_query_over_get_is_cached_too(gql: Client, ada: User) -> None:
    for state in ("miss", "miss", "hit"):
        response = await gql.request("GET", "/graphql", params={"query": BIO})
        assert (response.json(), response.headers.get("x-cache")) == (SHOWN, state)


def test_settings_default_to_a_cache_with_a_minute_to_live(settings: Settings) -> None:
    assert (settings.response_cache, settings.response_cache_seconds) == (True, 60)


async def test_a_request_with_malformed_extensions_is_refused_not_served_from_the_cache(
    gql: Client, ada: User
) -> None:
    await kept(gql, BIO)
    response = await gql.request("POST", "/graphql", json={"query": BIO, "extensions": "x"})
    assert (response.status_code, response.headers.get("x-cache")) == (400, None)


# ------------------------------------------------------- one computation of a key at a time


async def at_once(gql: Client, query: str, readers: int) -> list[tuple[dict, str | None]]:
    """The answers of several signed-out readers asking the same query at the same time."""
    return await asyncio.gather(*(cached(gql, query) for _ in range(readers)))


async def test_readers_of_a_stale_answer_at_the_same_time_compute_it_once(
    gql: Client, ada: User
) -> None:
    await kept(gql, BIO)
    await set_profile(ada, bio="Cycles.")

    answers = await at_once(gql, BIO, 8)

    cycles = {"data": {"user": {"profile": {"bio": "Cycles."}}}}
    assert sorted(answers, key=lambda answer: str(answer[1])) == [(cycles, "hit")] * 7 + [
        (cycles, "miss")
    ]


async def test_readers_of_a_new_query_at_the_same_time_all_get_its_answer_and_it_is_kept(
    gql: Client, ada: User
) -> None:
    # How many of them compute depends on timing: the first computation only learns the
    # keys to read and keeps nothing, and a key whose last computation kept nothing makes
    # nobody wait (so a failing query never holds its readers in line).
    answers = await at_once(gql, BIO, 8)

    assert [answer for answer, _ in answers] == [SHOWN] * 8
    assert await cached(gql, BIO) == (SHOWN, "hit")


async def test_a_computation_that_fails_leaves_the_next_one_free_to_keep_its_answer(
    gql: Client,
) -> None:
    query = "{ privacyPolicy { version } }"
    connection = connections.get("default")
    await connection.execute_script("ALTER TABLE policy_versions RENAME TO policy_away")

    failed = await at_once(gql, query, 4)

    await connection.execute_script("ALTER TABLE policy_away RENAME TO policy_versions")
    assert [answer["errors"][0]["extensions"]["code"] for answer, _ in failed] == [
        "INTERNAL_SERVER_ERROR"
    ] * 4
    assert [state for _, state in failed] == ["miss"] * 4  # each computed, none kept
    answers = [await cached(gql, query) for _ in range(2)]
    assert [state for _, state in answers] == ["miss", "hit"]
    assert answers[0][0] == answers[1][0]
    assert isinstance(answers[0][0]["data"]["privacyPolicy"]["version"], str)
