"""What a signed-out answer depends on: the cache version keys of the rows it read.

The database keeps one version per key in `cache_versions` (migration 0013): `g` for
rare, site-wide changes (forum list, policy, roles, suspensions, who is listed),
`u<id>` per member, `t<id>` per thread, `f<id>` per forum row and `f<id>.<n>` for the
forum's threads (spread over FORUM_SHARDS rows by thread id, so that posts in different
threads of one forum do not queue behind one row). Triggers move the keys a write can
change in the writer's own transaction.

While the response cache computes an answer it collects keys here: the batch functions
of the loaders name the members, threads and forums of the rows they already hold
(`depends`), inside `attributed`. Every other statement the request runs is counted as
unattributed, and an answer with one is not kept (fail closed: a new read path is
simply not cached until it names its keys).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

GLOBAL = "g"
FORUM_SHARDS = 8
# Client methods that run a statement (Tortoise's SQLite and asyncpg clients).
_RUNNERS = (
    "execute_query",
    "execute_query_dict",
    "execute_insert",
    "execute_many",
    "execute_script",
)


@dataclass
class Reading:
    """The keys one answer's computation depends on, and whether all of them are known."""

    keys: set[str] = field(default_factory=lambda: {GLOBAL})
    unattributed: int = 0  # statements run outside `attributed`

    @property
    def complete(self) -> bool:
        """Did every statement of the computation name its keys?"""
        return self.unattributed == 0


_reading: ContextVar[Reading | None] = ContextVar("cache_reading", default=None)
_attributed: ContextVar[bool] = ContextVar("cache_attributed", default=False)


def member(user_id: int) -> str:
    """The key of one member: account row, profile, privacy settings, follows, posts."""
    return f"u{user_id}"


def thread(thread_id: int) -> str:
    """The key of one thread: its row and its messages (edits, hiding, removal)."""
    return f"t{thread_id}"


def forum(forum_id: int) -> str:
    """The key of one forum's own row (slug, title, description)."""
    return f"f{forum_id}"


def forum_threads(forum_id: int) -> list[str]:
    """The keys of a forum and of every thread in it (its listing and counts)."""
    return [forum(forum_id), *(f"f{forum_id}.{n}" for n in range(FORUM_SHARDS))]


@contextmanager
def collecting() -> Iterator[Reading]:
    """Within the block (and the tasks it starts), collect what the computation reads."""
    reading = Reading()
    token = _reading.set(reading)
    try:
        yield reading
    finally:
        _reading.reset(token)


def depends(keys: Iterable[str]) -> None:
    """Record keys the current answer depends on (nothing when no answer is collected)."""
    reading = _reading.get()
    if reading is not None:
        reading.keys.update(keys)


def depends_on_everything() -> None:
    """The answer reads something no key covers: it must not be kept."""
    reading = _reading.get()
    if reading is not None:
        reading.unattributed += 1


@contextmanager
def attributed() -> Iterator[None]:
    """Statements in the block are accounted for: the caller names their keys."""
    token = _attributed.set(True)
    try:
        yield
    finally:
        _attributed.reset(token)


def _note_statement() -> None:
    reading = _reading.get()
    if reading is not None and not _attributed.get():
        reading.unattributed += 1


def _counted(run: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(run)
    async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        _note_statement()
        return await run(self, *args, **kwargs)

    counted.__cache_counted__ = True  # type: ignore[attr-defined]
    return counted


def install() -> None:
    """Count the statements of the database clients (once per process): only while an
    answer is being collected does a count cost more than a context variable read."""
    from tortoise.backends.sqlite.client import SqliteClient, SqliteTransactionWrapper

    classes: list[type] = [SqliteClient, SqliteTransactionWrapper]
    try:
        from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
        from tortoise.backends.base_postgres.client import BasePostgresClient
    except ImportError:  # asyncpg is not installed: SQLite only
        pass
    else:
        classes += [BasePostgresClient, AsyncpgDBClient, TransactionWrapper]
    for cls in classes:
        for name in _RUNNERS:
            run = cls.__dict__.get(name)
            if run is not None and not getattr(run, "__cache_counted__", False):
                setattr(cls, name, _counted(run))
