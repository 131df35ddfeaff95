"""Privacy-policy versions and the append-only consent ledger."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from models.base import IpRecord


class PolicyVersion(Model):
    """One published version of the privacy policy."""

    id = fields.IntField(primary_key=True)
    version = fields.CharField(max_length=32, unique=True)
    body = fields.TextField()
    summary_of_changes = fields.TextField(null=True)
    published_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "policy_versions"


class ConsentKind(StrEnum):
    """What a member gave or withdrew permission for."""

    PRIVACY_POLICY = "privacy_policy"
    NEWSLETTER = "newsletter"
    THIRD_PARTY_SHARING = "third_party_sharing"
    ANALYTICS = "analytics"


class Consent(IpRecord):
    """A grant or withdrawal, never updated: the newest row per kind is in force."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.User", related_name="consents", on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(ConsentKind, max_length=32)
    granted = fields.BooleanField()
    policy_version = fields.CharField(max_length=32, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "consents"
        indexes = (("user_id", "kind", "created_at"),)
