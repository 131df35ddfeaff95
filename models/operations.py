"""Rows that keep the operation of several workers and hosts in step."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Lease(Model):
    """A periodic job's turn: whichever worker moves `until` forward runs it, the rest wait"""

    name = fields.CharField(max_length=40, primary_key=True)
    holder = fields.CharField(max_length=80, default="")  # host and pid, for operators
    until = fields.DatetimeField()

    class Meta:
        table = "leases"
