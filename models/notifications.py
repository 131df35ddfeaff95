"""Notifications, their per-kind settings, and watched threads."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class NotificationKind(StrEnum):
    """Why a member is told something."""

    REPLY = "reply"
    MENTION = "mention"
    CONVERSATION_MESSAGE = "conversation_message"
    NEW_FOLLOWER = "new_follower"
    MODERATION = "moderation"


class Notification(Model):
    """Something that happened for a member, shown through the usual read rules."""

    id = fields.BigIntField(primary_key=True)
    recipient: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.User", related_name="notifications", on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(NotificationKind, max_length=24)
    actor: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name="caused_notifications", null=True, on_delete=fields.SET_NULL
    )
    thread: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Thread", related_name="notifications", null=True, on_delete=fields.CASCADE
    )
    message: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Message", related_name="notifications", null=True, on_delete=fields.CASCADE
    )
    conversation: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Conversation", related_name="notifications", null=True, on_delete=fields.CASCADE
    )
    text = fields.CharField(max_length=500, null=True)  # MODERATION: what staff did and why
    in_app = fields.BooleanField(default=True)  # shown in the list (the setting when created)
    created_at = fields.DatetimeField(auto_now_add=True)
    read_at = fields.DatetimeField(null=True)
    # Waiting for the batched mail: set when the member wants this kind by email.
    mail_pending = fields.BooleanField(default=False, db_index=True)

    class Meta:
        table = "notifications"
        indexes = (("recipient_id", "id"), ("recipient_id", "read_at"))


class NotificationSetting(Model):
    """A member's choice for one kind (members who never chose have no row: defaults)."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.User", related_name="notification_settings", on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(NotificationKind, max_length=24)
    in_app = fields.BooleanField(default=True)
    email = fields.BooleanField(default=False)

    class Meta:
        table = "notification_settings"
        unique_together = (("user_id", "kind"),)


class ThreadWatch(Model):
    """A member watches a thread: its replies notify them."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.User", related_name="watches", on_delete=fields.CASCADE
    )
    thread: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Thread", related_name="watches", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "thread_watches"
        unique_together = (("user_id", "thread_id"),)
        indexes = (("thread_id",),)
