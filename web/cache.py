"""Whole GraphQL answers for signed-out readers, kept until the database says otherwise.

Each worker keeps its own entries; the database keeps the version. Triggers (migration
0006) move `cache_version` on in the same transaction as any write a signed-out reader
could see, so one read of that row per request tells every worker whether an entry is
still true. An entry stored under an older version is never served, and none lives
longer than its time to live (which bounds what the clock changes: ages, last seen).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from models.sql import fetch

VERSION_SQL = "SELECT version FROM cache_version WHERE id = 1"


@dataclass(frozen=True)
class Entry:
    """One stored answer, and the version of the data it was computed from."""

    version: int
    stored_at: float
    headers: list[tuple[bytes, bytes]]
    body: bytes


class ResponseCache:
    """A bounded least-recently-used map from request keys to answers."""

    def __init__(self, max_entries: int, max_bytes: int, ttl: float) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.ttl = ttl
        self._entries: OrderedDict[bytes, Entry] = OrderedDict()
        self._bytes = 0

    @staticmethod
    async def version() -> int:
        """The current version of what signed-out readers see (one indexed read)."""
        rows = await fetch(VERSION_SQL, [])
        return int(rows[0]["version"])

    def get(self, key: bytes, version: int) -> Entry | None:
        """The answer stored under the key, if it was computed at this version and is fresh."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.version != version or time.monotonic() - entry.stored_at > self.ttl:
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry

    def put(self, key: bytes, entry: Entry) -> None:
        """Store an answer, evicting the least recently used beyond the bounds."""
        if len(entry.body) > self.max_bytes // 8:
            return  # one huge answer should not push out everything else
        self._drop(key)
        self._entries[key] = entry
        self._bytes += len(entry.body)
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            oldest = next(iter(self._entries))
            self._drop(oldest)

    def __len__(self) -> int:
        return len(self._entries)

    def _drop(self, key: bytes) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(entry.body)
