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
