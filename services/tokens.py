"""Random one-time tokens, stored only as hashes, and keyed signatures."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence


def new_token() -> str:
    """A URL-safe random token with 256 bits of entropy."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """The SHA-256 of a token: what the database keeps instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def sign(key: bytes, value: str) -> str:
    """A keyed signature of a value (HMAC-SHA-256, hex)."""
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def signature_ok(key: bytes, value: str, signature: str) -> bool:
    """Constant-time check of a signature made by `sign`."""
    return hmac.compare_digest(sign(key, value), signature)


def signed_by_any(keys: Sequence[bytes], value: str, signature: str, length: int = 64) -> bool:
    """Constant-time check that one of the keys signed a value (`sign` cut to `length`
    hex digits): links made before a key rotation finished still verify."""
    found = False
    for key in keys:
        found |= hmac.compare_digest(sign(key, value)[:length], signature)
    return found
