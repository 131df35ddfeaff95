"""Blocks: a member who stops another from reaching them."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Block(Model):
    """Blocker blocks blocked. Silent: nothing the blocked member reads tells them."""

    id = fields.IntField(primary_key=True)
    blocker: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.User", related_name="block_rows", on_delete=fields.CASCADE
    )
    blocked: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.User", related_name="blocked_by_rows", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "blocks"
        unique_together = (("blocker_id", "blocked_id"),)
        # The owner's keyset page, and the look-up from the blocked side.
        indexes = (("blocker_id", "id"), ("blocked_id",))
