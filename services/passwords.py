"""Password hashing (Argon2id) and the common-password check."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn.frequency_lists import FREQUENCY_LISTS

_hasher = PasswordHasher()  # argon2-cffi defaults: Argon2id, RFC 9106 low-memory profile
# Hashing an unknown login's attempt against this keeps both paths equally slow.
_DUMMY_HASH = _hasher.hash("a password nobody has, used to even out timing")


def configure(time_cost: int, memory_kib: int) -> None:
    """Set the Argon2id cost (ARGON2_TIME_COST, ARGON2_MEMORY_KIB); older hashes still
    verify and are upgraded at the next sign-in."""
    global _hasher, _DUMMY_HASH
    if (_hasher.time_cost, _hasher.memory_cost) == (time_cost, memory_kib):
        return
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
    _DUMMY_HASH = _hasher.hash("a password nobody has, used to even out timing")


def hash_password(password: str) -> str:
    """An Argon2id hash of the password, with its own random salt."""
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Check a password; with no stored hash, spend the same time and say no."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(stored_hash)


@cache
def _common() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


def is_common(password: str) -> bool:
    """Is the password among the 30,000 most common ones (ignoring case)?"""
    return password.lower() in _common()
