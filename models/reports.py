"""Members' reports of messages to the moderators."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields

from models.base import IpRecord
from models.messages import Message


class ReportStatus(StrEnum):
    """Where a report stands."""

    OPEN = "open"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


class Report(IpRecord):
    """A member asking moderators to look at a message."""

    id = fields.IntField(primary_key=True)
    message: fields.ForeignKeyRelation[Message] = fields.ForeignKeyField(
        "models.Message", related_name="reports", on_delete=fields.CASCADE
    )
    reporter: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name="reports_made", null=True, on_delete=fields.SET_NULL
    )
    reason = fields.CharField(max_length=1000)
    # The reported text as it was when reported: evidence that outlives edits and removal.
    snapshot = fields.TextField(default="")
    status = fields.CharEnumField(ReportStatus, max_length=16, default=ReportStatus.OPEN)
    created_at = fields.DatetimeField(auto_now_add=True)
    resolved_at = fields.DatetimeField(null=True)
    resolved_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name="reports_resolved", null=True, on_delete=fields.SET_NULL
    )
    note = fields.CharField(max_length=1000, null=True)

    class Meta:
        table = "reports"
        indexes = (("status", "id"),)
