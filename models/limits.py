"""Rate-limit counters, shared by every worker through the database."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class RateCounter(Model):
    """A fixed-window counter. Keys hold keyed hashes, never raw addresses."""

    key = fields.CharField(max_length=200, primary_key=True)
    count = fields.IntField(default=0)
    expires_at = fields.FloatField(db_index=True)  # epoch seconds, compared in SQL

    class Meta:
        table = "rate_counters"


class CacheKeyVersion(Model):
    """The version of one part of what signed-out readers see (services/cachekeys.py).

    Database triggers (migration 0013) add one to the keys a write can change, in the
    writer's own transaction: `g` (site-wide), `u<id>` (a member), `t<id>` (a thread),
    `f<id>` (a forum) and `f<id>.<n>` (a share of its threads). A missing row reads as 0.
    """

    name = fields.CharField(max_length=40, primary_key=True)
    version = fields.BigIntField(default=0)

    class Meta:
        table = "cache_versions"
