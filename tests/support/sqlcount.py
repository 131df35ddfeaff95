"""Count the SQL statements the app runs during a block, on SQLite and PostgreSQL alike.

Tortoise logs every statement it executes at DEBUG on the `tortoise.db_client` logger
(the app keeps that logger at WARNING, since the records carry parameter values). For
the length of the block we lower it to DEBUG, listen, and put everything back after.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

LOGGER = "tortoise.db_client"
# Background loops whose polling is not part of any request.
BACKGROUND_TASKS = frozenset({"mail-sender", "notification-mail"})
# Connection housekeeping the client logs on the same logger; not statements.
_NOT_STATEMENTS = ("Created connection", "Closed connection")


@dataclass
class Statements:
    """The statements seen so far (SQL text only; parameter values are not kept)."""

    sql: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        """How many statements ran."""
        return len(self.sql)

    def __str__(self) -> str:
        return "\n".join(f"{i:3}: {sql}" for i, sql in enumerate(self.sql, 1))


class _Listener(logging.Handler):
    def __init__(self, seen: Statements) -> None:
        super().__init__(level=logging.DEBUG)
        self.seen = seen

    def emit(self, record: logging.LogRecord) -> None:
        if not isinstance(record.msg, str) or record.msg.startswith(_NOT_STATEMENTS):
            return
        try:
            task = asyncio.current_task()
        except RuntimeError:  # logged outside an event loop (a worker thread)
            task = None
        if task is not None and task.get_name() in BACKGROUND_TASKS:
            return
        # "%s: %s" % (query, values) for most calls; the bare query for scripts.
        query = record.args[0] if record.args else record.msg
        self.seen.sql.append(" ".join(str(query).split()))


@contextmanager
def count_statements() -> Iterator[Statements]:
    """Within the block, record each SQL statement the app executes."""
    logger = logging.getLogger(LOGGER)
    seen = Statements()
    listener = _Listener(seen)
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.DEBUG)
    # The records hold parameter values (addresses included): keep them out of
    # pytest's captured logs and any other handler.
    logger.propagate = False
    logger.addHandler(listener)
    try:
        yield seen
    finally:
        logger.removeHandler(listener)
        logger.setLevel(level)
        logger.propagate = propagate
