"""Many hosts, one truth: every host must sign and encrypt with the same keys.

The database records a fingerprint of SECRET_KEY and of IP_KEY at first start (an
HMAC-SHA256 of a fixed label under the key, shortened: it identifies a key without
revealing it); a host whose keys have other fingerprints must not start, or it would
write links and addresses the other hosts cannot read.

Rotation: a setting may list several keys, the current one first and old ones after it
(still accepted for reading). `rotate-keys` records a list whose first key is new;
`rotate-keys --finish` (resolvers/rotation.py) moves what is stored onto the current key
and then records the current key alone. Every host runs with exactly the recorded list."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from collections.abc import Sequence

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.operations import KeyFingerprints

LABEL = b"minimins-forum key fingerprint v1"


class KeyMismatch(Exception):
    """A setting's keys are not the list of fingerprints the database recorded."""

    def __init__(self, setting: str, recorded: Sequence[str], mine: Sequence[str]) -> None:
        super().__init__(_mismatch(setting, list(recorded), list(mine)))
        self.setting = setting
        self.recorded = list(recorded)


def _mismatch(setting: str, recorded: list[str], mine: list[str]) -> str:
    if len(recorded) == 1:
        if mine[0] == recorded[0]:
            # The old keys of a finished rotation are still listed.
            return (
                f"{setting} lists keys this database no longer uses (rotate-keys --finish "
                f"ran): keep only its first key (fingerprint {recorded[0]})"
            )
        return (
            f"{setting} differs from the one this database was first used with "
            f"(fingerprint {recorded[0]}): copy {setting} from a host that works"
        )
    return (
        f"{setting} differs from the keys this database uses while a rotation runs "
        f"(fingerprints {', '.join(recorded)}): copy {setting} from a host that works"
    )


class RotationRefused(Exception):
    """`rotate-keys` cannot record these keys (the message says what to change)."""


def fingerprint(key: bytes) -> str:
    """A short public name for a key: the first 16 hex digits of HMAC-SHA256(key, LABEL)."""
    return hmac.new(key, LABEL, hashlib.sha256).hexdigest()[:16]


def fingerprints(keys: Sequence[bytes]) -> list[str]:
    """The fingerprints of a setting's keys, in their order."""
    return [fingerprint(key) for key in keys]


async def check_keys(keys: dict[str, Sequence[bytes]]) -> None:
    """Record each setting's fingerprints on first use; raise KeyMismatch for a setting
    whose keys (all of them, in order) are not those the database recorded."""
    for setting, listed in keys.items():
        mine = fingerprints(listed)
        # The primary key decides a race of two first starts: one row wins, the other
        # host then compares against it like any later start.
        with contextlib.suppress(IntegrityError):
            await KeyFingerprints.get_or_create(setting=setting, defaults={"fingerprints": mine})
        row = await KeyFingerprints.get(setting=setting)
        if mine != row.fingerprints:
            raise KeyMismatch(setting, row.fingerprints, mine)


async def recorded_keys() -> dict[str, list[str]]:
    """The fingerprints the database accepts, per setting, current first."""
    rows = await KeyFingerprints.all().values_list("setting", "fingerprints")
    return {setting: list(prints) for setting, prints in rows}


async def start_rotation(keys: dict[str, Sequence[bytes]]) -> dict[str, list[str]]:
    """Record the settings' lists whose first key is new (the rest must be the keys the
    database accepts now, in order); the settings rotated, with their new lists.

    A setting whose list is the recorded one stays as it is; raises RotationRefused when
    no setting has a new key or one's list is neither."""
    rotated: dict[str, list[str]] = {}
    async with in_transaction():
        for setting, listed in keys.items():
            mine = fingerprints(listed)
            row = await KeyFingerprints.select_for_update().get_or_none(setting=setting)
            if row is None:
                raise RotationRefused(f"{setting}: start the server once before rotating keys")
            if mine == row.fingerprints:
                continue
            if mine[1:] != row.fingerprints:
                raise RotationRefused(
                    f"{setting}: list the new key first, then the keys this database uses "
                    f"now, in order (fingerprints {', '.join(row.fingerprints)})"
                )
            row.fingerprints = mine
            await row.save(update_fields=["fingerprints"])
            rotated[setting] = mine
    if not rotated:
        raise RotationRefused(
            "no new key: put the new key first in SECRET_KEY or IP_KEY, followed by the "
            "current one (comma-separated)"
        )
    return rotated


async def keep_current_keys(keys: dict[str, Sequence[bytes]]) -> dict[str, str]:
    """After a finished rotation: each setting's current key alone is recorded (old
    fingerprints dropped); the current fingerprints, by setting."""
    current: dict[str, str] = {}
    async with in_transaction():
        for setting, listed in keys.items():
            mine = fingerprint(listed[0])
            await KeyFingerprints.filter(setting=setting).update(fingerprints=[mine])
            current[setting] = mine
    return current
