"""Fixtures: a fresh database and app per test, a signed-in client, the mailbox."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path

import pytest

from services.settings import Settings
from tests.support.harness import (
    Client,
    Server,
    drop_database,
    fresh_database_url,
    test_settings,
)
from tests.support.mail import Mailbox


@pytest.fixture
async def database_url(tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of the kind this run tests (SQLite, or PostgreSQL if configured)."""
    url = await fresh_database_url(tmp_path)
    yield url
    await drop_database(url)


# The privacy matrix and path tests run on both executors (issue 20): the compiled
# plans and graphql-core must keep every private value private alike.
BOTH_EXECUTORS = ("test_privacy_", "test_f_")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run the privacy modules' tests once with PLAN_EXECUTOR=on and once with off."""
    module = metafunc.module.__name__.rpartition(".")[2]
    if "plan_executor" in metafunc.fixturenames and module.startswith(BOTH_EXECUTORS):
        metafunc.parametrize("plan_executor", ["on", "off"], ids=["plans", "graphql-core"])


@pytest.fixture
def plan_executor() -> str:
    """PLAN_EXECUTOR for this test: on (the default) unless the module runs both."""
    return "on"


@pytest.fixture
def settings(tmp_path: Path, database_url: str, plan_executor: str) -> Settings:
    """This test's settings."""
    return test_settings(tmp_path, database_url, plan_executor=plan_executor)


@pytest.fixture
def mailbox(settings: Settings) -> Iterator[Mailbox]:
    """What the server mailed. As the test ends, every mail written during it is scanned:
    the test fails if one names an IP address a test client used."""
    box = Mailbox(Path(settings.mail_target.removeprefix("file://")))
    yield box
    box.assert_no_ip()


@pytest.fixture
async def gql(settings: Settings, mailbox: Mailbox) -> AsyncIterator[Client]:
    """A GraphQL client on a running app. It holds the mailbox so the mail scan runs
    after the app has stopped (and any mail it wrote while stopping is scanned too)."""
    async with Server(settings) as client:
        yield client


@pytest.fixture
def birthday() -> date:
    """A date of birth well past the minimum age."""
    return date(1990, 5, 17)
