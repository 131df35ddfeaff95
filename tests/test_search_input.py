"""search never trusts its input: engine syntax is plain text, too much text is
BAD_USER_INPUT, and nothing a reader types gives a fault. Searches are rate limited per
client, priced like every connection, and a page costs a fixed number of statements."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.forums import Forum
from resolvers.search import QUERY_MAX, TERMS_MAX
from schema.cost import MAX_NODES
from tests.support.forum import coded_error, new_forum, open_thread, reply
from tests.support.harness import Client, Server
from tests.support.harness import test_settings as make_settings
from tests.support.members import member
from tests.support.sqlcount import count_statements
from web.cache import counted_version_reads

SEARCH = """
query($q: String!, $after: String) {
  search(query: $q, first: 5, after: $after) { edges { node { snippet } } }
}
"""
NOTHING = {"data": {"search": {"edges": []}}}


def bad_input(message: str) -> dict[str, Any]:
    """The answer to a search that is refused."""
    return {"data": None, "errors": [coded_error(SEARCH, "search", message, "BAD_USER_INPUT")]}


@pytest.fixture
async def forum(gql: Client) -> Forum:
    """A forum where ada wrote a few messages full of words engines treat as syntax."""
    await member(gql, "ada")
    forum = await new_forum()
    thread, _ = await open_thread(gql, "ada", forum, "Saturday", "Anyone about?")
    await reply(gql, "ada", thread, "We met near the park: an unbalanced diet.")
    return forum


@pytest.mark.parametrize(
    ("query", "snippets"),
    [
        ('"unbalanced', ["We met near the park: an <mark>unbalanced</mark> diet."]),
        ("NEAR(", ["We met <mark>near</mark> the park: an unbalanced diet."]),
        ("park: ^diet*", ["We met near the <mark>park</mark>: an unbalanced <mark>diet</mark>."]),
        ('park -"unbalanced diet"', []),
        ("{body}: park", []),  # every word must appear: there is no "body"
        ("*", []),
        ("-", []),
        ('"', []),
        ('""', []),
        ("-park", []),  # nothing to look for, only something to leave out
        ("AND OR NOT", []),
        ("( ) : ^ + & | ! <-> @@", []),
        ("🙂", []),
        ("x" * QUERY_MAX, []),
    ],
)
async def test_engine_syntax_is_read_as_plain_words(
    gql: Client, forum: Forum, query: str, snippets: list[str]
) -> None:
    response = await gql(SEARCH, {"q": query})

    edges = [{"node": {"snippet": snippet}} for snippet in snippets]
    assert response == {"data": {"search": {"edges": edges}}}


async def test_lone_surrogates_are_left_out(gql: Client, forum: Forum) -> None:
    # JSON can carry half a UTF-16 pair, which no database can store or compare.
    document = SEARCH.replace("\n", " ").replace('"', '\\"')
    body = f'{{"query": "{document}", "variables": {{"q": "\\ud800diet \\udfff"}}}}'

    response = await gql.request(
        "POST", "/graphql", content=body.encode(), headers={"content-type": "application/json"}
    )

    snippet = "We met near the park: an unbalanced <mark>diet</mark>."
    assert response.json() == {"data": {"search": {"edges": [{"node": {"snippet": snippet}}]}}}


async def test_a_search_text_over_the_limit_is_bad_input(gql: Client, forum: Forum) -> None:
    response = await gql(SEARCH, {"q": "park " * 2000})

    assert response == bad_input(f"Search text has at most {QUERY_MAX} characters.")


async def test_too_many_words_are_bad_input(gql: Client, forum: Forum) -> None:
    query = " ".join(f"w{n}" for n in range(TERMS_MAX + 1))

    response = await gql(SEARCH, {"q": query})

    assert response == bad_input(f"Search for at most {TERMS_MAX} words or phrases.")


async def test_a_nul_character_is_bad_input(gql: Client, forum: Forum) -> None:
    response = await gql(SEARCH, {"q": "park\x00"})

    error = {
        "message": "Text cannot contain NUL characters.",
        "extensions": {"code": "BAD_USER_INPUT"},
    }
    assert response == {"data": None, "errors": [error]}


@pytest.mark.parametrize(
    "cursor",
    ["nonsense", "U2VhcmNoOg", "VXNlcjox", "U2VhcmNoOmFiYzoxOjk6MQ", "x" * 500],
)
async def test_a_malformed_cursor_is_bad_input(gql: Client, forum: Forum, cursor: str) -> None:
    response = await gql(SEARCH, {"q": "park", "after": cursor})

    assert response == bad_input("That cursor is not valid here.")


@pytest.mark.parametrize("first", [0, 101])
async def test_a_page_size_outside_1_to_100_is_bad_input(
    gql: Client, forum: Forum, first: int
) -> None:
    query = 'query($n: Int) { search(query: "park", first: $n) { edges { cursor } } }'

    response = await gql(query, {"n": first})

    message = "`first` and `last` must be between 1 and 100."
    assert response == {
        "data": None,
        "errors": [coded_error(query, "search", message, "BAD_USER_INPUT")],
    }


async def test_search_is_priced_like_every_connection(gql: Client, forum: Forum) -> None:
    query = (
        '{ search(query: "park", first: 100) { edges { node { thread { '
        "messages(first: 100) { edges { node { thread { messages(first: 100) { "
        "edges { node { id } } } } } } } } } } } }"
    )

    with count_statements() as seen:
        response = await gql(query)

    assert response["data"] is None
    assert response["errors"][0]["message"] == (
        f"This query could return 1010100 items; the limit is {MAX_NODES}. "
        "Ask for smaller pages (`first`/`last`)."
    )
    assert seen.sql == counted_version_reads()  # refused before any search


# ---------------------------------------------------------------- statements


PAGE = """
query($q: String!) {
  search(query: $q, first: 20) {
    edges { cursor node { snippet
      message { id body createdAt author { username profile { bio } } thread { id } }
      thread { id title forum { slug } } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


@pytest.mark.parametrize("viewer", [None, "ada"])
async def test_a_page_of_hits_costs_three_statements(
    gql: Client, forum: Forum, viewer: str | None
) -> None:
    authors = [await member(gql, f"writer{n}") for n in range(5)]
    thread, _ = await open_thread(gql, "ada", forum, "Soup club", "Soup!")
    for n in range(25):
        await reply(gql, authors[n % 5].username, thread, f"Soup number {n}.")

    with count_statements() as seen:
        response = await gql(PAGE, {"q": "soup"}, as_member=viewer)

    assert len(response["data"]["search"]["edges"]) == 20
    # The session (or the cache version, read through Tortoise on PostgreSQL only); the
    # hits with their messages, threads and forums; the authors with their profiles and
    # settings.
    first = 1 if viewer else len(counted_version_reads())
    assert seen.count == first + 2, seen


# ---------------------------------------------------------------- rate limit


@pytest.fixture
async def limited(tmp_path, database_url):
    """A server with rate limits on and no response cache."""
    settings = make_settings(tmp_path, database_url, rate_limits="on", response_cache=False)
    async with Server(settings) as client:
        yield client


async def test_searches_are_rate_limited_per_client(limited: Client) -> None:
    for _ in range(60):
        assert await limited(SEARCH, {"q": "park"}) == NOTHING

    response = await limited(SEARCH, {"q": "park"})

    (error,) = response["errors"]
    assert response["data"] is None
    assert error["message"] == "Too many attempts; try again later."
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert 0 < error["extensions"]["retryAfter"] <= 60


# ---------------------------------------------------------------- fuzz

SYNTAX = [*"\"-*()^:{}+&|!<>@.,;'\\/ \t\n", "NEAR", "AND", "OR", "NOT", "park", "diet"]
texts = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(SYNTAX), max_size=30).map("".join),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=150, max_size=260),
)


@settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=texts)
async def test_random_search_text_never_faults(gql: Client, text: str) -> None:
    if "ada" not in gql.cookies:
        await member(gql, "ada")
        thread, _ = await open_thread(gql, "ada", await new_forum(), "Park diet", "Near!")
        await reply(gql, "ada", thread, "A park diet, near and far: AND OR NOT.")

    response = await gql.post(SEARCH, {"q": text}, as_member="ada")

    assert response.status_code == 200, response.text
    body = response.json()
    if "errors" in body:
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (text, body)
    else:
        assert isinstance(body["data"]["search"]["edges"], list)
