"""Signed-in browsers."""

from __future__ import annotations

from tortoise import fields

from models.accounts import User
from models.base import IpRecord


class Session(IpRecord):
    """A signed-in browser, whose cookie token is stored only as a hash."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="sessions", on_delete=fields.CASCADE
    )
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    # Derived once at sign-in, so the member's list never needs the address again.
    browser = fields.CharField(max_length=60, null=True)
    operating_system = fields.CharField(max_length=60, null=True)
    country = fields.CharField(max_length=2, null=True)

    class Meta:
        table = "sessions"
        indexes = (("user_id", "revoked_at"),)
