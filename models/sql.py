"""Hand-written SQL for the few queries the ORM cannot say in one statement."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from tortoise import connections
from tortoise.models import Model


def placeholders(start: int, count: int) -> list[str]:
    """`count` numbered placeholders from `start` ({n} slots, filled in by `fetch`)."""
    return [f"{{{i}}}" for i in range(start, start + count)]


def on_postgres() -> bool:
    """Does the database speak PostgreSQL (else SQLite)? For the few statements whose
    SQL differs."""
    return connections.get("default").capabilities.dialect == "postgres"


async def fetch(template: str, values: Sequence[Any]) -> list[dict[str, Any]]:
    """Run a statement whose parameters are written {0}, {1}, ...; return its rows.

    Numbered placeholders ($1 in PostgreSQL, ?1 in SQLite) let a value repeat.
    """
    connection = connections.get("default")
    mark = "$" if connection.capabilities.dialect == "postgres" else "?"
    sql = template.format(*(f"{mark}{i + 1}" for i in range(len(values))))
    # execute_query_dict: asyncpg's execute_query returns no rows for INSERT ... RETURNING.
    return await connection.execute_query_dict(sql, list(values))


@cache
def columns(model: type[Model]) -> tuple[str, ...]:
    """A model's columns, sorted (known once Tortoise has started, so never at import)."""
    return tuple(sorted(model._meta.db_fields))


@cache
def aliased_columns(alias: str, model: type[Model]) -> tuple[tuple[str, str], ...]:
    """(result key, column) pairs of one model's columns selected under a table alias."""
    return tuple((f"{alias}__{column}", column) for column in columns(model))


@cache
def select_list(alias: str, model: type[Model]) -> str:
    """The select list of one model's columns under a table alias (`alias__column` keys)."""
    return ", ".join(
        f'{alias}."{column}" AS "{key}"' for key, column in aliased_columns(alias, model)
    )


def from_row(model: type[Model], alias: str, row: dict[str, Any]) -> Any:
    """The model instance whose columns a row holds under `alias` (see select_list)."""
    return model._init_from_db(
        **{column: row[key] for key, column in aliased_columns(alias, model)}
    )
