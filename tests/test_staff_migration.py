"""Migration 0010 (staff tools) on a database that already has reports: each gets the
reported message's current body as its snapshot, the best evidence left."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate

import models
from tests.support.harness import drop_database, empty_database_url


@pytest.fixture
async def before_staff_tools(tmp_path: Path) -> AsyncIterator[str]:
    """A database migrated up to the step before 0010, holding one reported message."""
    url = await empty_database_url(tmp_path)
    config = models.tortoise_config(url)
    await migrate(config=config, target="models.0008_search")
    await Tortoise.init(config=config)
    client = connections.get("default")
    for statement in (
        "INSERT INTO forums (id, slug, title, position) VALUES (1, 'general', 'General', 0)",
        "INSERT INTO threads (id, forum_id, title, created_at, last_message_id, user_agent) "
        "VALUES (1, 1, 'Soup', '2026-01-02 03:04:05+00:00', 1, '')",
        "INSERT INTO messages (id, thread_id, body, body_html, created_at, user_agent) "
        "VALUES (1, 1, 'What was reported', '<p>x</p>', '2026-01-02 03:04:05+00:00', '')",
        "INSERT INTO reports (id, message_id, reason, status, created_at, user_agent) "
        "VALUES (1, 1, 'Rude', 'open', '2026-01-02 03:04:05+00:00', '')",
    ):
        await client.execute_script(statement)
    await Tortoise.close_connections()
    yield url
    await drop_database(url)


async def test_reports_made_before_the_migration_get_the_current_body_as_snapshot(
    before_staff_tools: str,
) -> None:
    await models.init_db(before_staff_tools)
    try:
        rows = await connections.get("default").execute_query_dict(
            "SELECT snapshot FROM reports WHERE id = 1"
        )
    finally:
        await models.close_db()

    assert rows == [{"snapshot": "What was reported"}]
