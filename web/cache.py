"""Whole GraphQL answers for signed-out readers, kept until the database says otherwise.

Each worker keeps its own entries; the database keeps the versions. Triggers (migration
0013) move the version keys a write can change (a member, a thread, a forum, or the
site-wide `g`) in the writer's own transaction. An entry records the keys its answer
was computed from and their versions, read before the computation; one read of exactly
those keys tells every worker whether the entry is still true. None lives longer than
its time to live (which bounds what the clock changes: ages, last seen).
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tortoise import connections

from models.sql import fetch

# One statement for any number of keys: the keys travel as one parameter.
VERSIONS_SQL = {
    "sqlite": "SELECT name, version FROM cache_versions "
    "WHERE name IN (SELECT value FROM json_each({0}))",
    "postgres": "SELECT name, version FROM cache_versions WHERE name = ANY({0}::text[])",
}
MAX_KEYS = 1000  # an answer that depends on more is not worth checking on every hit


@dataclass(frozen=True)
class Entry:
    """One stored answer, and the versions of the keys it was computed from. Without a
    body it only remembers which keys the last computation read (see web/front.py)."""

    versions: Mapping[str, int]
    stored_at: float
    headers: list[tuple[bytes, bytes]]
    body: bytes | None


def versions_statement() -> str:
    """The statement `ResponseCache.versions` runs, as the database receives it."""
    dialect = connections.get("default").capabilities.dialect
    return VERSIONS_SQL[dialect].format("?1" if dialect == "sqlite" else "$1")


class ResponseCache:
    """A bounded least-recently-used map from request keys to answers."""

    def __init__(self, max_entries: int, max_bytes: int, ttl: float) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.ttl = ttl
        self._entries: OrderedDict[bytes, Entry] = OrderedDict()
        self._bytes = 0

    @staticmethod
    async def versions(keys: Iterable[str]) -> dict[str, int]:
        """The current versions of some keys, in one indexed read (a key never moved is 0)."""
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

    def __len__(self) -> int:
        return sum(1 for entry in self._entries.values() if entry.body is not None)

    def _drop(self, key: bytes) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(entry.body or b"")
