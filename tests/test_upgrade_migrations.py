"""Upgrading a database that has members: every migration after the last release
applies to tables that hold rows (a NOT NULL column needs a default the database
knows, not only the model)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate

import models
from tests.support.harness import drop_database, empty_database_url

RELEASED = "models.0008_search"  # the newest migration of the last release


@pytest.fixture
async def released_with_a_member(tmp_path: Path) -> AsyncIterator[str]:
    """A database at the last release's schema, holding a member with settings."""
    url = await empty_database_url(tmp_path)
    config = models.tortoise_config(url)
    await migrate(config=config, target=RELEASED)
    await Tortoise.init(config=config)
    client = connections.get("default")
    try:
        for statement in (
            "INSERT INTO users (id, username, username_key, email, email_key, password_hash, "
            "date_of_birth, role, joined_at, newsletter, analytics_opt_out, user_agent, "
            "password_changed_at) VALUES (1, 'ada', 'ada', 'ada@example.org', "
            "'ada@example.org', 'x', '1990-01-01', 'member', '2026-01-02 03:04:05+00:00', "
            "FALSE, FALSE, '', '2026-01-02 03:04:05+00:00')",
            "INSERT INTO privacy_settings (user_id, email, date_of_birth, age, last_seen, bio, "
            "location, website, diet_plan, weight_journey, followers, following, "
            "who_can_message, listed_in_members, updated_at) VALUES (1, 'only_me', "
            "'only_me', 'members', 'everyone', 'everyone', 'members', 'everyone', 'members', "
            "'only_me', 'members', 'members', 'members', TRUE, '2026-01-02 03:04:05+00:00')",
        ):
            await client.execute_script(statement)
    finally:
        await Tortoise.close_connections()
    yield url
    await drop_database(url)


async def test_a_released_database_with_members_upgrades_to_the_newest_schema(
    released_with_a_member: str,
) -> None:
    await models.init_db(released_with_a_member)
    try:
        rows = await connections.get("default").execute_query_dict(
            "SELECT who_can_mention FROM privacy_settings WHERE user_id = 1"
        )
    finally:
        await models.close_db()

    assert rows == [{"who_can_mention": "members"}]
