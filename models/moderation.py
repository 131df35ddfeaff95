"""What staff record about members: warnings."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Warning(Model):
    """A formal warning a staff member gave a member, with its reason."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.User", related_name="warnings", on_delete=fields.CASCADE
    )
    issued_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name="warnings_issued", null=True, on_delete=fields.SET_NULL
    )
    reason = fields.CharField(max_length=500)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "warnings"
        indexes = (("user_id", "id"),)
