"""Whole GraphQL answers for signed-out readers, kept until the database says otherwise.

Each worker keeps its own entries; the database keeps the versions. Triggers (migration
0013) move the version keys a write can change (a member, a thread, a forum, or the
site-wide `g`) in the writer's own transaction. An entry records the keys its answer
was computed from and their versions, read before the computation; one read of exactly
those keys tells every worker whether the entry is still true. None lives longer than
its time to live (which bounds what the clock changes: ages, last seen).

On SQLite the versions are read on a connection of the cache's own, read-only and
synchronous (no ORM, no hand-off to a driver thread): `PRAGMA data_version` moves
whenever any other connection (this process's or another's) commits, so the versions
read since it last moved are still the database's and only keys not read yet are
asked for. PostgreSQL reads them through Tortoise, one statement a request.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tortoise import connections

from models.sql import fetch

# One statement for any number of keys: the keys travel as one parameter.
VERSIONS_SQL = {
    "sqlite": "SELECT name, version FROM cache_versions "
    "WHERE name IN (SELECT value FROM json_each({0}))",
    "postgres": "SELECT name, version FROM cache_versions WHERE name = ANY({0}::text[])",
}
MAX_KEYS = 1000  # an answer that depends on more is not worth checking on every hit
MAX_KNOWN = 100_000  # versions remembered between two commits, at most


@dataclass(frozen=True)
class Entry:
    """One stored answer, and the versions of the keys it was computed from. Without a
    body it only remembers which keys the last computation read (see web/front.py)."""

    versions: Mapping[str, int]
    stored_at: float
    headers: list[tuple[bytes, bytes]]
    body: bytes | None


@dataclass(frozen=True)
class Wire:
    """A hit of one entry exactly as the whole stack sent it (security headers and all):
    what web/hits.py sends again for requests spelled the same way."""

    key: bytes
    entry: weakref.ref[Entry]  # a wire never keeps a dropped answer in memory
    headers: list[tuple[bytes, bytes]]
    operation: str | None


def versions_statement() -> str:
    """The statement `ResponseCache.versions` runs, as the database receives it."""
    dialect = connections.get("default").capabilities.dialect
    return VERSIONS_SQL[dialect].format("?1" if dialect == "sqlite" else "$1")


def counted_version_reads() -> list[str]:
    """The statements of a version read that Tortoise runs (and the SQL counters of the
    tests see): none on SQLite, whose versions are read on the cache's own connection."""
    if connections.get("default").capabilities.dialect == "sqlite":
        return []
    return [versions_statement()]


class SqliteVersions:
    """cache_versions read on a read-only connection of its own, synchronously: a few
    microseconds, and nothing at all while no other connection has committed."""

    def __init__(self, path: Path) -> None:
        # timeout=0: never wait for a lock on the event loop (the caller reads through
        # Tortoise instead); WAL readers do not wait for writers anyway.
        self._db = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=0, isolation_level=None
        )
        self._data_version: int | None = None
        self._known: dict[str, int] = {}

    def versions(self, names: Iterable[str]) -> dict[str, int]:
        """The current versions of some keys (a key never moved is 0)."""
        (data_version,) = self._db.execute("PRAGMA data_version").fetchone()
        if data_version != self._data_version or len(self._known) > MAX_KNOWN:
            # Another connection committed: every version remembered may be old.
            self._known = {}
            self._data_version = data_version
        known = self._known
        missing = [name for name in names if name not in known]
        if missing:
            sql = VERSIONS_SQL["sqlite"].format("?")
            found = dict(self._db.execute(sql, (json.dumps(missing),)).fetchall())
            for name in missing:
                known[name] = int(found.get(name, 0))
        return {name: known[name] for name in names}

    def close(self) -> None:
        """Close the connection."""
        self._db.close()


def sqlite_path(db_url: str) -> Path | None:
    """The file of a SQLite database URL (None for PostgreSQL or an in-memory database)."""
    if not db_url.startswith("sqlite://"):
        return None
    path = db_url.removeprefix("sqlite://").split("?")[0]
    return Path(path) if path and path != ":memory:" else None


class ResponseCache:
    """A bounded least-recently-used map from request keys to answers."""

    def __init__(self, max_entries: int, max_bytes: int, ttl: float) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.ttl = ttl
        self._entries: OrderedDict[bytes, Entry] = OrderedDict()
        self._bytes = 0
        self._wires: OrderedDict[bytes, Wire] = OrderedDict()
        self._reader: SqliteVersions | None = None

    def open(self, db_url: str) -> None:
        """Read versions on a connection of the cache's own when the database is a
        SQLite file (after the migrations: the connection is read-only)."""
        path = sqlite_path(db_url)
        if path is not None:
            self._reader = SqliteVersions(path)

    def close(self) -> None:
        """Close the cache's own connection, if it has one."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    async def versions(self, keys: Iterable[str]) -> dict[str, int]:
        """The current versions of some keys (a key never moved is 0)."""
        if self._reader is not None:
            try:
                return self._reader.versions(set(keys))
            except sqlite3.Error:
                pass  # locked, say: the same read through Tortoise waits its turn
        return await self._read_versions(keys)

    @staticmethod
    async def _read_versions(keys: Iterable[str]) -> dict[str, int]:
        """The current versions of some keys, in one indexed read through Tortoise."""
        names = sorted(set(keys))
        dialect = connections.get("default").capabilities.dialect
        value: object = json.dumps(names) if dialect == "sqlite" else names
        rows = await fetch(VERSIONS_SQL[dialect], [value])
        found = {row["name"]: int(row["version"]) for row in rows}
        return {name: found.get(name, 0) for name in names}

    def peek(self, key: bytes) -> Entry | None:
        """What is stored under the key, current or not, expired or not: its keys say
        what to read before the answer is computed again."""
        return self._entries.get(key)

    def get(self, key: bytes, versions: Mapping[str, int]) -> Entry | None:
        """The answer stored under the key, if every key it was computed from still has
        the version it had then (`versions` holds the current ones) and it is fresh."""
        entry = self._entries.get(key)
        if entry is None or entry.body is None:
            return None
        if time.monotonic() - entry.stored_at > self.ttl:
            return None  # kept as a list of keys until the answer is computed again
        if any(versions.get(name) != version for name, version in entry.versions.items()):
            return None  # kept: its keys tell the next computation what to read first
        self._entries.move_to_end(key)
        return entry

    def put(self, key: bytes, entry: Entry) -> None:
        """Store an answer, evicting the least recently used beyond the bounds."""
        size = len(entry.body or b"")
        if size > self.max_bytes // 8 or len(entry.versions) > MAX_KEYS:
            self._drop(key)
            return  # one huge answer should not push out everything else
        self._drop(key)
        self._entries[key] = entry
        self._bytes += size
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            oldest = next(iter(self._entries))
            self._drop(oldest)

    def remember(self, raw: bytes, wire: Wire) -> None:
        """Keep how a hit was sent, under the hash of its request's bytes."""
        self._wires[raw] = wire
        self._wires.move_to_end(raw)
        while len(self._wires) > self.max_entries:
            self._wires.popitem(last=False)

    def wire(self, raw: bytes) -> tuple[Wire, Entry] | None:
        """How a hit for a request spelled this way was sent, and its entry, while that
        entry is the one stored (a recomputed answer is first sent by the whole stack)."""
        wire = self._wires.get(raw)
        if wire is None:
            return None
        entry = wire.entry()
        if entry is None or self._entries.get(wire.key) is not entry:
            return None
        return wire, entry

    def __len__(self) -> int:
        return sum(1 for entry in self._entries.values() if entry.body is not None)

    def _drop(self, key: bytes) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(entry.body or b"")


class Flight:
    """One computation of a key under way; the requests for the same key wait for it."""

    def __init__(self) -> None:
        self.done = asyncio.Event()
        self.kept = False  # did it keep an answer, or the keys to read for one?


class Flights:
    """At most one computation of each key at a time (single flight): a cold or stale
    popular answer costs one computation, not one per reader waiting for it."""

    MAX_UNKEPT = 1024

    def __init__(self) -> None:
        self._under_way: dict[bytes, Flight] = {}
        # Keys whose last computation kept nothing (errors, a read that names no key):
        # their readers compute at once rather than wait for nothing.
        self._unkept: OrderedDict[bytes, None] = OrderedDict()

    async def wait(self, key: bytes) -> bool:
        """Wait for the computation of the key under way, if any; True when one ended
        having kept something (look in the cache again), False when there is nothing
        to wait for."""
        flight = self._under_way.get(key)
        if flight is None or key in self._unkept:
            return False
        await flight.done.wait()
        return flight.kept

    def start(self, key: bytes) -> Flight | None:
        """Claim the key's computation (None: another request has it already)."""
        if key in self._under_way:
            return None
        flight = self._under_way[key] = Flight()
        return flight

    def finish(self, key: bytes, flight: Flight, kept: bool) -> None:
        """End the computation (also when it failed) and wake whoever waits for it."""
        del self._under_way[key]
        flight.kept = kept
        flight.done.set()
        if kept:
            self._unkept.pop(key, None)
        else:
            self._unkept[key] = None
            self._unkept.move_to_end(key)
            while len(self._unkept) > self.MAX_UNKEPT:
                self._unkept.popitem(last=False)
