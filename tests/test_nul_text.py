"""Text with NUL characters is refused before any resolver runs, wherever it comes in:
PostgreSQL can neither store nor compare it, and no field of the API needs it."""

import pytest

from models.accounts import User
from tests.support.members import register

REFUSED = {
    "data": None,
    "errors": [
        {"message": "Text cannot contain NUL characters.", "extensions": {"code": "BAD_USER_INPUT"}}
    ],
}


async def test_a_nul_in_a_variable_is_refused_and_nothing_is_written(gql) -> None:
    response = await register(gql, "nul_user", password="correct\x00horse battery")

    assert response == REFUSED
    assert await User.exists(username="nul_user") is False


async def test_a_nul_escape_in_the_document_is_refused(gql) -> None:
    assert await gql('{ user(username: "a\\u0000b") { id } }') == REFUSED


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("query($s: String) { users(search: $s) { edges { node { id } } } }", {"s": "\x00"}),
        (
            "mutation($i: RecordPageViewInput!) "
            "{ recordPageView(input: $i) { userErrors { code } } }",
            {"i": {"path": "/a\x00b"}},
        ),
        (
            "mutation($i: LoginInput!) { login(input: $i) { userErrors { code } } }",
            {"i": {"login": "a\x00", "password": "x"}},
        ),
    ],
)
async def test_nul_is_refused_in_any_field(gql, query: str, variables: dict) -> None:
    assert await gql(query, variables) == REFUSED
