"""Query cost: a query whose pages multiply past the node budget is refused before any
SQL runs; connections are bounded 1-100; page sizes in variables count as 100."""

import pytest

from schema.limits import MAX_NODES
from tests.sqlcount import count_statements

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
    assert seen.count == 0


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
