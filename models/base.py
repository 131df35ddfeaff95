"""Shared model pieces: enums used across domains and the IP-address columns."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class Role(StrEnum):
    """What a member may do on the site."""

    MEMBER = "member"
    MODERATOR = "moderator"
    ADMIN = "admin"


class IpRecord(Model):
    """Columns for the client address of a write: encrypted, plus a keyed hash to match on.

    Abuse handling only. No GraphQL type maps these columns.
    """

    ip_cipher = fields.TextField(null=True)
    ip_hash = fields.CharField(max_length=64, null=True, db_index=True)
    user_agent = fields.CharField(max_length=512, default="")

    class Meta:
        abstract = True
