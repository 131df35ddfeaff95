"""Relay global IDs: opaque to clients, `base64("Type:key")` underneath."""

from __future__ import annotations

import base64
import binascii

from resolvers.common import BadInput

MAX_ID_LENGTH = 100


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def encode(type_name: str, key: int | str) -> str:
    """The global ID of an object (base64.urlsafe_b64encode without its wrappers: a page
    encodes a hundred)."""
    raw = binascii.b2a_base64(f"{type_name}:{key}".encode(), newline=False)
    return raw.translate(_URLSAFE).rstrip(b"=").decode()


def decode(global_id: str) -> tuple[str, str]:
    """The type name and key inside a global ID, or BadInput when it is not one."""
    if len(global_id) > MAX_ID_LENGTH:
        raise BadInput("That is not a valid ID.")
    try:
        raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise BadInput("That is not a valid ID.") from error
    type_name, _, key = raw.partition(":")
    if not type_name or not key:
        raise BadInput("That is not a valid ID.")
    return type_name, key


def decode_pk(global_id: str, type_name: str) -> int:
    """The integer key of an ID of the given type, or BadInput."""
    found, key = decode(global_id)
    if found != type_name or not is_key(key):
        raise BadInput(f"That is not a valid {type_name} ID.")
    return int(key)


def is_key(key: str) -> bool:
    """A database key as we write it: ASCII digits only (no other script's digits)."""
    return key.isascii() and key.isdigit() and len(key) <= 18
