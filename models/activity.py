"""Visits and page views: what the privacy policy says the site records."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.base import IpRecord


class Visit(IpRecord):
    """A visitor's run of page views with no gap longer than half an hour."""

    id = fields.BigIntField(primary_key=True)
    visitor_key = fields.CharField(max_length=64, db_index=True)  # keyed hash, not a cookie
    user: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name="visits", null=True, on_delete=fields.SET_NULL
    )
    started_at = fields.DatetimeField(db_index=True)
    ended_at = fields.DatetimeField()
    page_views = fields.IntField(default=0)
    country = fields.CharField(max_length=2, null=True)
    browser = fields.CharField(max_length=60, null=True)
    browser_version = fields.CharField(max_length=20, null=True)
    operating_system = fields.CharField(max_length=60, null=True)
    referrer_domain = fields.CharField(max_length=255, null=True)
    referrer_internal = fields.BooleanField(default=False)
    landing_path = fields.CharField(max_length=500)

    class Meta:
        table = "visits"
        indexes = (("visitor_key", "ended_at"),)


class PageView(Model):
    """One page shown, in order within its visit."""

    id = fields.BigIntField(primary_key=True)
    visit: fields.ForeignKeyRelation[Visit] = fields.ForeignKeyField(
        "models.Visit", related_name="views", on_delete=fields.CASCADE
    )
    path = fields.CharField(max_length=500)
    previous_path = fields.CharField(max_length=500, null=True)  # navigation: from -> to
    title = fields.CharField(max_length=200, null=True)
    referrer_domain = fields.CharField(max_length=255, null=True)
    referrer_internal = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "page_views"
