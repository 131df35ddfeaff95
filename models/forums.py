"""Forums: boards of public threads."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Forum(Model):
    """A board of public threads on one topic."""

    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=60, unique=True)
    title = fields.CharField(max_length=120)
    description = fields.TextField(null=True)
    position = fields.IntField(default=0)

    class Meta:
        table = "forums"
