"""Members, registrations waiting for their email link and one-time email tokens."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields

from models.base import IpRecord, Role


class User(IpRecord):
    """A member account. The address columns hold where it registered from."""

    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=30, unique=True)
    # Look-alike key: usernames whose keys match are the same name to a reader.
    username_key = fields.CharField(max_length=64, unique=True)
    email = fields.CharField(max_length=254)
    email_key = fields.CharField(max_length=254, unique=True)  # lower-cased for uniqueness
    password_hash = fields.CharField(max_length=255)
    date_of_birth = fields.DateField()
    role = fields.CharEnumField(Role, max_length=16, default=Role.MEMBER)
    joined_at = fields.DatetimeField(auto_now_add=True)
    email_confirmed_at = fields.DatetimeField(null=True)
    last_seen_at = fields.DatetimeField(null=True)
    suspended_until = fields.DatetimeField(null=True)
    suspension_reason = fields.CharField(max_length=500, null=True)
    newsletter = fields.BooleanField(default=False)
    analytics_opt_out = fields.BooleanField(default=False)
    password_changed_at = fields.DatetimeField(auto_now_add=True)
    deleted_at = fields.DatetimeField(null=True)  # erased: personal data gone, row kept for FKs

    class Meta:
        table = "users"
        indexes = (("joined_at", "id"),)

    @property
    def confirmed(self) -> bool:
        """Has the member confirmed their email address?"""
        return self.email_confirmed_at is not None


class PendingRegistration(IpRecord):
    """A registration whose email link has not been opened yet.

    It holds its username until it expires and is invisible otherwise: the member's
    row is only written when the link is opened. A registration with an address that
    already has an account carries no token, so it can never become one.
    """

    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=30)
    username_key = fields.CharField(max_length=64, unique=True)  # as User.username_key
    email = fields.CharField(max_length=254)
    # Not unique: two newcomers may give one address, and the first link opened wins.
    email_key = fields.CharField(max_length=254, db_index=True)
    password_hash = fields.CharField(max_length=255)
    date_of_birth = fields.DateField()
    newsletter = fields.BooleanField(default=False)
    policy_version = fields.CharField(max_length=32)  # the version accepted at registration
    token_hash = fields.CharField(max_length=64, unique=True, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "pending_registrations"


class TokenPurpose(StrEnum):
    """What a mailed one-time token is good for."""

    CONFIRM_EMAIL = "confirm_email"
    RESET_PASSWORD = "reset_password"  # noqa: S105 - a label, not a secret
    CHANGE_EMAIL = "change_email"


class EmailToken(IpRecord):
    """A one-time token mailed to an address, of which only the hash is kept."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="email_tokens", on_delete=fields.CASCADE
    )
    purpose = fields.CharEnumField(TokenPurpose, max_length=16)
    token_hash = fields.CharField(max_length=64, unique=True)
    email = fields.CharField(max_length=254)  # the address the token was sent to and binds
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "email_tokens"
        indexes = (("user_id", "purpose", "used_at"),)
