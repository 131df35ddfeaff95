"""Each member's privacy settings: who may see which personal field."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class Audience(StrEnum):
    """Who may see a value."""

    EVERYONE = "everyone"
    MEMBERS = "members"  # signed in with a confirmed email
    FOLLOWING = "following"  # members the owner follows
    ONLY_ME = "only_me"


def _audience(default: Audience) -> fields.CharEnumFieldInstance:
    return fields.CharEnumField(Audience, max_length=16, default=default)


class PrivacySettings(Model):
    """One row per member who changed a setting, with every default spelt out."""

    user: fields.OneToOneRelation = fields.OneToOneField(
        "models.User", related_name="privacy", on_delete=fields.CASCADE, primary_key=True
    )
    email = _audience(Audience.ONLY_ME)
    date_of_birth = _audience(Audience.ONLY_ME)
    age = _audience(Audience.MEMBERS)
    last_seen = _audience(Audience.EVERYONE)
    bio = _audience(Audience.EVERYONE)
    location = _audience(Audience.MEMBERS)
    website = _audience(Audience.EVERYONE)
    diet_plan = _audience(Audience.MEMBERS)
    weight_journey = _audience(Audience.ONLY_ME)
    followers = _audience(Audience.MEMBERS)
    following = _audience(Audience.MEMBERS)
    who_can_message = _audience(Audience.MEMBERS)
    who_can_mention = _audience(Audience.MEMBERS)
    listed_in_members = fields.BooleanField(default=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "privacy_settings"
