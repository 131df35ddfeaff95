"""The audit log of privileged reads and moderator actions."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class AuditEntry(Model):
    """Who did what to whose data, and why. Append-only."""

    id = fields.IntField(primary_key=True)
    actor: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name="audit_actions", null=True, on_delete=fields.SET_NULL
    )
    action = fields.CharField(max_length=64)
    subject: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name="audit_subject_of", null=True, on_delete=fields.SET_NULL
    )
    fields_read = fields.JSONField(default=list)
    reason = fields.CharField(max_length=500, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "audit_log"
        indexes = (("subject_id", "id"),)
