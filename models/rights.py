"""Members' requests to correct data they cannot change themselves."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields

from models.accounts import User
from models.base import IpRecord


class CorrectionStatus(StrEnum):
    """Where a correction request stands."""

    OPEN = "open"
    APPLIED = "applied"
    REJECTED = "rejected"


class CorrectionRequest(IpRecord):
    """A member asking for a change to data they cannot change themselves."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="corrections", on_delete=fields.CASCADE
    )
    field = fields.CharField(max_length=40)
    proposed_value = fields.CharField(max_length=500)
    reason = fields.CharField(max_length=1000)
    status = fields.CharEnumField(CorrectionStatus, max_length=16, default=CorrectionStatus.OPEN)
    response = fields.CharField(max_length=1000, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    resolved_at = fields.DatetimeField(null=True)
    resolved_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="corrections_resolved", null=True, on_delete=fields.SET_NULL
    )

    class Meta:
        table = "correction_requests"
        indexes = (("status", "id"), ("user_id", "id"))
