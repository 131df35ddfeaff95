"""Newsletters admins have sent."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Newsletter(Model):
    """A newsletter an admin sent, and to how many members."""

    id = fields.IntField(primary_key=True)
    subject = fields.CharField(max_length=200)
    body = fields.TextField()
    sent_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name="newsletters", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    recipients = fields.IntField(default=0)

    class Meta:
        table = "newsletters"
