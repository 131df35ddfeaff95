"""Forums, threads, conversations and the messages written in them."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from models.base import IpRecord


class Forum(Model):
    """A board of public threads on one topic."""

    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=60, unique=True)
    title = fields.CharField(max_length=120)
    description = fields.TextField(null=True)
    position = fields.IntField(default=0)

    class Meta:
        table = "forums"


class Thread(IpRecord):
    """A public discussion in a forum. The address columns record who opened it."""

    id = fields.IntField(primary_key=True)
    forum: fields.ForeignKeyRelation[Forum] = fields.ForeignKeyField(
        "models.Forum", related_name="threads", on_delete=fields.CASCADE
    )
    author: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name="threads", null=True, on_delete=fields.SET_NULL
    )
    title = fields.CharField(max_length=150)
    created_at = fields.DatetimeField(auto_now_add=True)
    # The newest message id doubles as the activity order: unique and always rising.
    last_message_id = fields.BigIntField(default=0)

    class Meta:
        table = "threads"
        indexes = (("forum_id", "last_message_id"),)


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


class Message(IpRecord):
    """A post in a public thread or a private conversation."""

    id = fields.BigIntField(primary_key=True)
    thread: fields.ForeignKeyNullableRelation[Thread] = fields.ForeignKeyField(
        "models.Thread", related_name="messages", null=True, on_delete=fields.CASCADE
    )
    conversation: fields.ForeignKeyNullableRelation[Conversation] = fields.ForeignKeyField(
        "models.Conversation", related_name="messages", null=True, on_delete=fields.CASCADE
    )
    author: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name="messages", null=True, on_delete=fields.SET_NULL
    )
    body = fields.TextField()
    body_html = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)
    edited_at = fields.DatetimeField(null=True)
    deleted_at = fields.DatetimeField(null=True)
    hidden_at = fields.DatetimeField(null=True)

    class Meta:
        table = "messages"
        indexes = (("thread_id", "id"), ("conversation_id", "id"), ("author_id", "id"))


class MessageEdit(IpRecord):
    """An earlier version of an edited message, and where the edit came from."""

    id = fields.BigIntField(primary_key=True)
    message: fields.ForeignKeyRelation[Message] = fields.ForeignKeyField(
        "models.Message", related_name="edits", on_delete=fields.CASCADE
    )
    previous_body = fields.TextField()
    edited_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "message_edits"


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
