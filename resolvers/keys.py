"""Many hosts, one truth: every host must sign and encrypt with the same keys.

The database records a fingerprint of SECRET_KEY and of IP_KEY at first start (an
HMAC-SHA256 of a fixed label under the key, shortened: it identifies a key without
revealing it); a host whose keys have other fingerprints must not start, or it would
write links and addresses the other hosts cannot read."""

from __future__ import annotations

import contextlib
import hashlib
import hmac

from tortoise.exceptions import IntegrityError

from models.operations import KeyFingerprints

LABEL = b"minimins-forum key fingerprint v1"


class KeyMismatch(Exception):
    """A key's fingerprint is not among those the database recorded."""

    def __init__(self, setting: str, recorded: str) -> None:
        super().__init__(
            f"{setting} differs from the one this database was first used with "
            f"(fingerprint {recorded}): copy {setting} from a host that works"
        )
        self.setting = setting
        self.recorded = recorded


def fingerprint(key: bytes) -> str:
    """A short public name for a key: the first 16 hex digits of HMAC-SHA256(key, LABEL)."""
    return hmac.new(key, LABEL, hashlib.sha256).hexdigest()[:16]


async def check_keys(keys: dict[str, bytes]) -> None:
    """Record each setting's fingerprint on first use; raise KeyMismatch for a key whose
    fingerprint the database does not know."""
    for setting, key in keys.items():
        mine = fingerprint(key)
        # The primary key decides a race of two first starts: one row wins, the other
        # host then compares against it like any later start.
        with contextlib.suppress(IntegrityError):
            await KeyFingerprints.get_or_create(setting=setting, defaults={"fingerprints": [mine]})
        row = await KeyFingerprints.get(setting=setting)
        if mine not in row.fingerprints:
            raise KeyMismatch(setting, row.fingerprints[0])
