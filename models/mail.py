"""The mail outbox: every email is stored before it is sent, so none is lost."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class OutboxMail(Model):
    """An email waiting for delivery, or the record that it was delivered."""

    id = fields.IntField(primary_key=True)
    to_address = fields.CharField(max_length=254)
    subject = fields.CharField(max_length=200)
    # Cleared once sent: bodies carry one-time links that must not outlive delivery.
    body = fields.TextField()
    headers = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(db_index=True)
    claimed_until = fields.DatetimeField(null=True)
    sent_at = fields.DatetimeField(null=True, db_index=True)
    last_error = fields.CharField(max_length=200, null=True)

    class Meta:
        table = "outbox"
        indexes = (("sent_at", "next_attempt_at"),)
