"""Fixtures: a fresh database and app per test, a signed-in client, the mailbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from resolvers.policy import current_policy
from services.settings import Settings
from tests.harness import (
    PASSWORD,
    Client,
    Mailbox,
    Server,
    drop_database,
    fresh_database_url,
    test_settings,
    token_in,
)


@pytest.fixture
async def database_url(tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of the kind this run tests (SQLite, or PostgreSQL if configured)."""
    url = await fresh_database_url(tmp_path)
    yield url
    await drop_database(url)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """This test's settings."""
    return test_settings(tmp_path, database_url)


@pytest.fixture
async def gql(settings: Settings) -> AsyncIterator[Client]:
    """A GraphQL client on a running app."""
    async with Server(settings) as client:
        yield client


@pytest.fixture
def mailbox(settings: Settings) -> Mailbox:
    """What the server mailed."""
    return Mailbox(Path(settings.mail_target.removeprefix("file://")))


REGISTER = """
mutation Register($input: RegisterInput!) {
  register(input: $input) { userErrors { field message code } }
}
"""


async def register(gql: Client, username: str, **fields: object) -> dict:
    """Register a member with sensible defaults; return the response."""
    policy = await current_policy()
    variables = {
        "username": username,
        "email": f"{username.lower()}@example.org",
        "password": PASSWORD,
        "dateOfBirth": "1990-05-17",
        "acceptPolicyVersion": policy.version,
        **fields,
    }
    return await gql(REGISTER, {"input": variables})


CONFIRM = """
mutation($t: String!) {
  confirmEmail(input: {token: $t}) { user { username } userErrors { code } }
}
"""


async def confirmed_member(gql: Client, mailbox: Mailbox, username: str, **fields: object) -> str:
    """Register (with any other `fields`), open the mailed link and sign in a member;
    return their session token."""
    assert await register(gql, username, **fields) == {"data": {"register": {"userErrors": []}}}
    (mail,) = await mailbox.wait_for(f"{username.lower()}@example.org")
    result = await gql(CONFIRM, {"t": token_in(mail)})
    assert result["data"]["confirmEmail"]["userErrors"] == []
    return await gql.sign_in(username)


@pytest.fixture
def birthday() -> date:
    """A date of birth well past the minimum age."""
    return date(1990, 5, 17)
