"""Database setup: the Tortoise configuration, start-up and migrations."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate as run_migrations
from tortoise.migrations.executor import MigrationExecutor

MODEL_MODULES = [
    "models.accounts",
    "models.sessions",
    "models.policy",
    "models.mail",
    "models.newsletters",
    "models.limits",
    "models.privacy",
    "models.profiles",
    "models.audit",
    "models.forums",
    "models.messages",
    "models.conversations",
    "models.reports",
    "models.moderation",
    "models.rights",
    "models.activity",
    "models.operations",
    "models.blocks",
    "models.notifications",
]


def tortoise_config(db_url: str) -> dict[str, Any]:
    """The Tortoise configuration for one database URL."""
    return {
        "connections": {"default": _with_options(db_url)},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _with_options(db_url: str) -> str:
    if db_url.startswith("sqlite"):
        # WAL lets readers run beside the single writer; the busy timeout makes a
        # second writer wait its turn instead of failing with "database is locked".
        extra = "journal_mode=WAL&busy_timeout=10000&synchronous=NORMAL&foreign_keys=ON"
        return f"{db_url}{'&' if '?' in db_url else '?'}{extra}"
    return db_url


def quiet_sql_logs() -> None:
    """Keep the driver's query log (which prints parameter values, IPs included) off."""
    for name in ("tortoise", "tortoise.db_client", "aiosqlite", "asyncpg"):
        logging.getLogger(name).setLevel(logging.WARNING)


async def init_db(db_url: str, *, migrate: bool = True) -> list[str]:
    """Connect Tortoise and bring the schema up to date; the migrations applied now."""
    quiet_sql_logs()
    _make_sqlite_folder(db_url)
    config = tortoise_config(db_url)
    applied: list[str] = []

    def note(event: str, _app: str, name: str) -> None:
        if event == "apply_done":
            applied.append(name)

    if migrate:
        await run_migrations(config=config, progress=note)
    # The ASGI lifespan runs in its own task; requests must see the same connections.
    await Tortoise.init(config=config, _enable_global_fallback=True)
    return applied


async def pending_migrations(db_url: str) -> list[str]:
    """The migrations the connected database has not applied yet (empty when current)."""
    apps = tortoise_config(db_url)["apps"]
    executor = MigrationExecutor(connections.get("default"), apps)
    return [step.migration.name for step in await executor.plan() if not step.backward]


def _make_sqlite_folder(db_url: str) -> None:
    if db_url.startswith("sqlite://"):
        path = db_url.removeprefix("sqlite://").split("?")[0]
        if path and path != ":memory:":
            Path(path).resolve().parent.mkdir(parents=True, exist_ok=True)


async def close_db() -> None:
    """Close every connection Tortoise holds."""
    await Tortoise.close_connections()


# For `tortoise --config models.TORTOISE_ORM makemigrations` during development.
TORTOISE_ORM = tortoise_config(os.environ.get("DATABASE_URL") or "sqlite://data/forum.sqlite3")
