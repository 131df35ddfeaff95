"""The response cache for signed-out readers: what it keeps, and that no change a reader
could see ever leaves a stale (or private) answer in it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tortoise import connections

from models.accounts import User
from models.messages import Message
from services.settings import Settings
from tests.support.forum import new_forum, open_thread, reply
from tests.support.harness import Client, Server
from tests.support.harness import test_settings as make_settings
from tests.support.members import follow, member, set_audiences, set_profile

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


async def version() -> int:
    """The database's cache version."""
    rows = await connections.get("default").execute_query_dict(
        "SELECT version FROM cache_version WHERE id = 1"
    )
    return int(rows[0]["version"])


async def test_a_signed_out_readers_second_identical_query_is_a_hit(gql: Client, ada: User) -> None:
    assert await cached(gql, BIO) == (SHOWN, "miss")
    assert await cached(gql, BIO) == (SHOWN, "hit")


async def test_different_variables_are_different_entries(gql: Client, ada: User) -> None:
    query = "query($u: String!) { user(username: $u) { username } }"
    await cached(gql, query, variables={"u": "ada_l"})
    assert await cached(gql, query, variables={"u": "nobody"}) == (
        {"data": {"user": None}},
        "miss",
    )


async def test_a_signed_in_reader_is_never_served_from_or_stored_in_the_cache(
    gql: Client, ada: User
) -> None:
    await cached(gql, BIO)
    assert await cached(gql, BIO, as_member="ada_l") == (SHOWN, None)
    assert await cached(gql, BIO, as_member="ada_l") == (SHOWN, None)


async def test_a_request_with_an_unknown_session_cookie_bypasses_the_cache(
    gql: Client, ada: User
) -> None:
    await cached(gql, BIO)
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


async def test_a_field_made_private_is_not_served_from_the_cache(gql: Client, ada: User) -> None:
    await cached(gql, BIO)
    assert await cached(gql, BIO) == (SHOWN, "hit")
    changed = await gql(SET_BIO_AUDIENCE, {"a": "MEMBERS"}, as_member="ada_l")
    assert changed == {"data": {"updatePrivacySettings": {"userErrors": []}}}
    assert await cached(gql, BIO) == (HIDDEN, "miss")


async def test_a_write_outside_the_api_invalidates_too(gql: Client, ada: User) -> None:
    await cached(gql, BIO)
    await connections.get("default").execute_query("UPDATE profiles SET bio = 'Cycles.'")
    assert await cached(gql, BIO) == (
        {"data": {"user": {"profile": {"bio": "Cycles."}}}},
        "miss",
    )


async def test_a_new_message_invalidates_the_thread_page(gql: Client, ada: User) -> None:
    thread, _ = await open_thread(gql, "ada_l", await new_forum(), body="First.")
    page = "query($t: ID!) { thread(id: $t) { messages(first: 5) { edges { node { body } } } } }"
    await cached(gql, page, variables={"t": thread})
    await reply(gql, "ada_l", thread, "Second.")
    answer, state = await cached(gql, page, variables={"t": thread})
    bodies = [edge["node"]["body"] for edge in answer["data"]["thread"]["messages"]["edges"]]
    assert (bodies, state) == (["First.", "Second."], "miss")


async def test_a_suspension_or_role_change_moves_the_version(gql: Client, ada: User) -> None:
    before = await version()
    await User.filter(id=ada.id).update(role="moderator")
    await User.filter(id=ada.id).update(suspension_reason="spam")
    assert await version() == before + 2


async def test_every_member_column_but_last_seen_moves_the_version(gql: Client, ada: User) -> None:
    columns = await member_columns()
    moved = []
    for column in columns:
        before = await version()
        await connections.get("default").execute_query(
            f'UPDATE users SET "{column}" = "{column}" WHERE id = {ada.id}'  # noqa: S608 - our names
        )
        if await version() != before:
            moved.append(column)
    assert moved == [c for c in columns if c != "last_seen_at"]


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
    "statement",
    [
        "INSERT INTO forums (slug, title, description, position) VALUES ('x', 'X', '', 9)",
        "UPDATE privacy_settings SET bio = 'only_me'",
        "DELETE FROM follows",
        "UPDATE messages SET hidden_at = NULL",
        "UPDATE threads SET title = title",
        "UPDATE policy_versions SET version = version",
    ],
)
async def test_a_write_to_any_public_table_moves_the_version(
    gql: Client, ada: User, statement: str
) -> None:
    await set_audiences(ada, bio="EVERYONE")
    await follow(await member(None, "bob_b"), ada)
    await open_thread(gql, "ada_l", await new_forum())
    before = await version()
    await connections.get("default").execute_query(statement)
    assert await version() > before


async def test_signing_in_does_not_move_the_version(gql: Client, ada: User) -> None:
    before = await version()
    await User.filter(id=ada.id).update(last_seen_at=None)
    assert await version() == before


async def test_an_entry_older_than_its_time_to_live_is_not_served(
    tmp_path: Path, database_url: str
) -> None:
    settings = make_settings(
        tmp_path, database_url, response_cache_seconds=0.2, response_cache_debug=True
    )
    async with Server(settings) as gql:
        await member(gql, "ada_l")
        query = '{ user(username: "ada_l") { username } }'
        assert (await cached(gql, query))[1] == "miss"
        assert (await cached(gql, query))[1] == "hit"
        await asyncio.sleep(0.3)
        assert (await cached(gql, query))[1] == "miss"


async def test_the_cache_can_be_turned_off(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(
        tmp_path, database_url, response_cache=False, response_cache_debug=True
    )
    async with Server(settings) as gql:
        query = "{ forums { slug } }"
        assert await cached(gql, query) == ({"data": {"forums": []}}, None)
        assert await cached(gql, query) == ({"data": {"forums": []}}, None)


async def test_a_query_over_get_is_cached_too(gql: Client, ada: User) -> None:
    for state in ("miss", "hit"):
        response = await gql.request("GET", "/graphql", params={"query": BIO})
        assert (response.json(), response.headers.get("x-cache")) == (SHOWN, state)


async def test_a_hidden_message_leaves_the_cached_page(gql: Client, ada: User) -> None:
    thread, _ = await open_thread(gql, "ada_l", await new_forum(), body="Rude words.")
    page = "query($t: ID!) { thread(id: $t) { messages(first: 5) { edges { node { body } } } } }"
    await cached(gql, page, variables={"t": thread})
    await Message.all().update(hidden_at=datetime(2026, 1, 1, tzinfo=UTC))
    answer, _ = await cached(gql, page, variables={"t": thread})
    assert answer["data"]["thread"]["messages"]["edges"] == [{"node": {"body": ""}}]


def test_settings_default_to_a_cache_with_a_minute_to_live(settings: Settings) -> None:
    assert (settings.response_cache, settings.response_cache_seconds) == (True, 60)


async def test_a_request_with_malformed_extensions_is_refused_not_served_from_the_cache(
    gql: Client, ada: User
) -> None:
    await cached(gql, BIO)
    response = await gql.request("POST", "/graphql", json={"query": BIO, "extensions": "x"})
    assert (response.status_code, response.headers.get("x-cache")) == (400, None)
