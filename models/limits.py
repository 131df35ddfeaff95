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


class CacheVersion(Model):
    """The version of everything a signed-out reader can see, in one row (id 1).

    Database triggers (migration 0006) add one to it in the same transaction as any
    write to members, profiles, privacy settings, follows, forums, threads, messages
    or policy versions, so every worker sees a change the moment it commits.
    """

    id = fields.IntField(primary_key=True)
    version = fields.BigIntField(default=0)

    class Meta:
        table = "cache_version"
