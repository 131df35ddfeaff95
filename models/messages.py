"""Public threads, the messages written in threads and conversations, and their edits."""

from __future__ import annotations

from tortoise import fields

from models.base import IpRecord
from models.conversations import Conversation
from models.forums import Forum


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
    locked = fields.BooleanField(default=False)  # members may no longer write in it
    pinned = fields.BooleanField(default=False)  # listed before the others of its forum

    class Meta:
        table = "threads"
        # Keyset pages of a forum: pinned first, then by activity.
        indexes = (("forum_id", "pinned", "last_message_id"),)


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
