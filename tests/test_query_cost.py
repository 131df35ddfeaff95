"""Query cost: a query whose pages multiply past the node budget is refused before any
SQL runs; connections are bounded 1-100; page sizes in variables count as 100."""

import pytest

from schema.cost import MAX_NODES
from tests.support.harness import Server
from tests.support.harness import test_settings as make_settings
from tests.support.members import member
from tests.support.sqlcount import count_statements
from web.cache import counted_version_reads

TWO_LEVELS = (
    "{ users(first: 100) { edges { node { followers(first: 100) { edges { node { id } } } } } } }"
)
THREE_LEVELS = (
    "{ users(first: %d) { edges { node { followers(first: 100) { edges { node { "
    "following(first: 100) { edges { node { id } } } } } } } } } }"
)


async def test_a_query_over_the_node_budget_is_refused_before_any_sql(gql) -> None:
    with count_statements() as seen:
        response = await gql(THREE_LEVELS % 2)

    assert response == {
        "data": None,
        "errors": [
            {
                "message": f"This query could return 20202 items; the limit is {MAX_NODES}. "
                "Ask for smaller pages (`first`/`last`).",
                "locations": [{"line": 1, "column": 1}],
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
    }
    assert seen.sql == counted_version_reads()  # only the response cache's check, no data read


async def test_a_query_within_the_budget_runs(gql) -> None:
    response = await gql(TWO_LEVELS)

    assert response == {"data": {"users": {"edges": []}}}


async def test_a_page_size_given_by_variable_is_priced_at_the_largest_page(gql) -> None:
    query = THREE_LEVELS.replace("{ users(first: %d)", "query($n: Int) { users(first: $n)")

    response = await gql(query, {"n": 1})

    assert response["data"] is None
    assert "the limit is" in response["errors"][0]["message"]
    assert response["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}


@pytest.mark.parametrize("first", [0, -1, 101, 2147483648])
async def test_a_page_size_outside_1_to_100_is_bad_input(gql, first: int) -> None:
    response = await gql(
        "query($n: Int) { users(first: $n) { edges { node { id } } } }", {"n": first}
    )

    assert response["data"] is None
    assert response["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}


EXPENSIVE = "{ users(first: 100) { edges { node { followers(first: 20) { edges { cursor } } } } } }"
# ... priced 100 + 100 x 20 = 2,100 items, over EXPENSIVE_ITEMS (2,000)


@pytest.fixture
async def limited(tmp_path, database_url):
    """A server with rate limits on (and no response cache, which would answer a
    signed-out reader's repeats without running them)."""
    settings = make_settings(tmp_path, database_url, rate_limits="on", response_cache=False)
    async with Server(settings) as client:
        yield client


async def test_an_expensive_query_is_rate_limited_per_client_with_a_retry_after(limited) -> None:
    for _ in range(60):
        assert await limited(EXPENSIVE) == {"data": {"users": {"edges": []}}}

    refused = await limited(EXPENSIVE)

    (error,) = refused["errors"]
    assert refused["data"] is None
    assert error["message"] == "Too many attempts; try again later."
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert 0 < error["extensions"]["retryAfter"] <= 60


async def test_a_cheap_query_is_not_counted_as_expensive(limited) -> None:
    for _ in range(61):
        assert await limited("{ users(first: 100) { edges { cursor } } }") == {
            "data": {"users": {"edges": []}}
        }


async def test_an_expensive_query_counts_against_the_member_too(limited) -> None:
    await member(limited, "ada")
    listed = {"data": {"users": {"edges": [{"node": {"followers": {"edges": []}}}]}}}
    for _ in range(30):
        assert await limited(EXPENSIVE, as_member="ada") == listed

    refused = await limited(EXPENSIVE, as_member="ada")

    assert refused["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
