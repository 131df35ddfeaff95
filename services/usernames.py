"""Username rules: the allowed characters, reserved names and look-alike keys."""

from __future__ import annotations

import re

MIN_LENGTH = 3
MAX_LENGTH = 30
_ALLOWED = re.compile(r"[A-Za-z0-9_.\-]+")

RESERVED = frozenset(
    [
        "admin",
        "administrator",
        "moderator",
        "mod",
        "mods",
        "staff",
        "support",
        "help",
        "system",
        "root",
        "null",
        "undefined",
        "anonymous",
        "deleted",
        "deletedmember",
        "member",
        "members",
        "everyone",
        "api",
        "graphql",
        "www",
        "mail",
        "postmaster",
        "abuse",
        "security",
        "privacy",
        "official",
        "minimins",
        "team",
        "owner",
        "webmaster",
        "hostmaster",
        "noreply",
        "no-reply",
    ]
)

# Confusable sequences inside our ASCII alphabet, after lower-casing (Unicode TR #39's
# ASCII classes plus the multi-letter look-alikes browsers also fold): "adrnin" reads as
# "admin", "m0d" as "mod", "a1ice" as "alice".
_FOLDS = (("rn", "m"), ("vv", "w"), ("cl", "d"), ("0", "o"), ("1", "l"), ("i", "l"), ("|", "l"))
_SEPARATORS = re.compile(r"[_.\-]+")


def shape_error(username: str) -> str | None:
    """Why the name cannot be a username (a short reason), or None if its shape is fine."""
    if not MIN_LENGTH <= len(username) <= MAX_LENGTH:
        return f"Usernames are {MIN_LENGTH} to {MAX_LENGTH} characters long."
    if not _ALLOWED.fullmatch(username):
        return "Usernames use only letters A-Z, digits and _ - . (no spaces)."
    if not username[0].isalnum():
        return "Usernames start with a letter or digit."
    return None


def lookalike_key(username: str) -> str:
    """The key two names share when a reader could mistake one for the other."""
    key = username.lower()
    key = _SEPARATORS.sub("", key)
    for source, target in _FOLDS:
        key = key.replace(source, target)
    return key


def is_reserved(username: str) -> bool:
    """Is the name, or a look-alike of it, kept for the site itself?"""
    return lookalike_key(username) in _RESERVED_KEYS


_RESERVED_KEYS = frozenset(lookalike_key(name) for name in RESERVED)
