"""Profiles and follows."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Profile(Model):
    """What a member tells others about themselves, each field with its own audience."""

    user: fields.OneToOneRelation = fields.OneToOneField(
        "models.User", related_name="profile", on_delete=fields.CASCADE, primary_key=True
    )
    bio = fields.TextField(null=True)
    location = fields.CharField(max_length=100, null=True)
    website = fields.CharField(max_length=200, null=True)
    diet_plan = fields.CharField(max_length=100, null=True)
    start_weight_kg = fields.DecimalField(max_digits=5, decimal_places=1, null=True)
    current_weight_kg = fields.DecimalField(max_digits=5, decimal_places=1, null=True)
    goal_weight_kg = fields.DecimalField(max_digits=5, decimal_places=1, null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "profiles"


class Follow(Model):
    """Follower follows followee."""

    id = fields.IntField(primary_key=True)
    follower: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.User", related_name="following_rows", on_delete=fields.CASCADE
    )
    followee: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.User", related_name="follower_rows", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "follows"
        unique_together = (("follower_id", "followee_id"),)
        indexes = (("followee_id", "id"), ("follower_id", "id"))  # keyset pages both ways
