"""Rate limits (the `limits` library) counted in the database, so every worker shares them."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import FixedWindowRateLimiter

from models.sql import fetch
from services import metrics

RULES: dict[str, str] = {
    # Failed sign-ins, counted per account and per client address.
    "login-account": "10/15minutes",
    "login-address": "50/15minutes",
    "register-address": "20/hour",
    "mail-address": "3/hour",  # mails to one address (confirmation, reset): no mail bombing
    "mail-client": "20/hour",
    "token-address": "30/15minutes",  # attempts at one-time tokens from one client
    "post-member": "20/minute",
    "post-client": "120/minute",
    "thread-member": "5/10minutes",
    "conversation-member": "10/hour",
    "report-member": "20/hour",
    # Queries priced over 2,000 items (schema/cost.py): cheap to ask, dear to answer.
    "expensive-client": "60/minute",
    "expensive-member": "30/minute",
    # Full-text searches per client: each one reads the search index.
    "search-client": "60/minute",
}


class RateLimitExceeded(Exception):
    """Too many attempts; `retry_after` is how many seconds until the next may pass."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("rate limited")
        self.retry_after = retry_after


class DatabaseStorage(Storage):
    """Fixed-window counters in the `rate_counters` table (SQLite or PostgreSQL)."""

    STORAGE_SCHEME = ["forum-db"]

    @property
    def base_exceptions(self) -> type[Exception]:
        """Errors that mean the storage itself failed."""
        return OSError

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add to a counter, starting a new window when the old one has ended."""
        now = time.time()
        sql = (
            'INSERT INTO rate_counters ("key", "count", expires_at) VALUES ({0}, {1}, {2}) '
            'ON CONFLICT ("key") DO UPDATE SET '
            '"count" = CASE WHEN rate_counters.expires_at <= {3} THEN excluded."count" '
            'ELSE rate_counters."count" + excluded."count" END, '
            "expires_at = CASE WHEN rate_counters.expires_at <= {3} THEN excluded.expires_at "
            'ELSE rate_counters.expires_at END RETURNING "count"'
        )
        rows = await fetch(sql, [key, amount, now + expiry, now])
        return int(rows[0]["count"])

    async def get(self, key: str) -> int:
        """The counter's value in its current window (0 when none)."""
        rows = await fetch(
            'SELECT "count" FROM rate_counters WHERE "key" = {0} AND expires_at > {1}',
            [key, time.time()],
        )
        return int(rows[0]["count"]) if rows else 0

    async def get_expiry(self, key: str) -> float:
        """When the counter's window ends (epoch seconds)."""
        rows = await fetch('SELECT expires_at FROM rate_counters WHERE "key" = {0}', [key])
        return float(rows[0]["expires_at"]) if rows else time.time()

    async def check(self) -> bool:
        """Is the database answering?"""
        await fetch("SELECT 1 AS ok", [])
        return True

    async def reset(self) -> int | None:
        """Forget every counter."""
        await fetch("DELETE FROM rate_counters", [])
        return None

    async def clear(self, key: str) -> None:
        """Forget one counter."""
        await fetch('DELETE FROM rate_counters WHERE "key" = {0}', [key])


@dataclass
class RateLimits:
    """The site's named limits; `enabled=False` (RATE_LIMITS=off) lets everything pass."""

    enabled: bool = True

    def __post_init__(self) -> None:
        self._limiter = FixedWindowRateLimiter(DatabaseStorage())
        self._items: dict[str, RateLimitItem] = {name: parse(rule) for name, rule in RULES.items()}

    async def hit(self, rule: str, *keys: str) -> None:
        """Count one attempt against each key; raise when any is over its limit."""
        if not self.enabled:
            return
        item = self._items[rule]
        for key in keys:
            if not await self._limiter.hit(item, rule, key):
                await self._refuse(item, rule, key)

    async def check(self, rule: str, *keys: str) -> None:
        """Raise if any key has no attempts left, without counting this one."""
        if not self.enabled:
            return
        item = self._items[rule]
        for key in keys:
            if not await self._limiter.test(item, rule, key):
                await self._refuse(item, rule, key)

    async def clear(self, rule: str, key: str) -> None:
        """Forget a key's attempts (after a successful sign-in, say)."""
        if self.enabled:
            await self._limiter.clear(self._items[rule], rule, key)

    async def _refuse(self, item: RateLimitItem, rule: str, key: str) -> None:
        metrics.REFUSALS.labels(rule).inc()
        stats = await self._limiter.get_window_stats(item, rule, key)
        raise RateLimitExceeded(max(1, math.ceil(stats.reset_time - time.time())))
