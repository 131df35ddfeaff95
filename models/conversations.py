"""Private conversations and their participants."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.base import IpRecord


class Conversation(IpRecord):
    """A private exchange between a few members."""

    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=150)
    created_by: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name="started_conversations", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    last_message_id = fields.BigIntField(default=0)

    class Meta:
        table = "conversations"


class Participant(Model):
    """A member's place in a conversation, with how far they have read."""

    id = fields.IntField(primary_key=True)
    conversation: fields.ForeignKeyRelation[Conversation] = fields.ForeignKeyField(
        "models.Conversation", related_name="participants", on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.User", related_name="participations", on_delete=fields.CASCADE
    )
    joined_at = fields.DatetimeField(auto_now_add=True)
    left_at = fields.DatetimeField(null=True)
    last_read_message_id = fields.BigIntField(default=0)
    last_message_id = fields.BigIntField(default=0)  # copied for the inbox order

    class Meta:
        table = "participants"
        unique_together = (("conversation_id", "user_id"),)
        indexes = (("user_id", "left_at", "last_message_id"),)
