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


class KeyFingerprints(Model):
    """Fingerprints of the keys every host must share (never the keys themselves)

    One row per setting (SECRET_KEY, IP_KEY): the first start records its key's
    fingerprint, and a host whose key has another one refuses to start."""

    setting = fields.CharField(max_length=20, primary_key=True)
    # Every fingerprint still valid, the current key's first (rotation adds new ones).
    fingerprints = fields.JSONField(default=list)
    recorded_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "key_fingerprints"
