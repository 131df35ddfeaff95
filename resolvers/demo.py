"""Demo data for a new installation: a few members of each role."""

from __future__ import annotations

from datetime import date

from models.accounts import User
from models.base import Role
from resolvers.accounts import create_member

DEMO_PASSWORD = "forum-demo-2026"  # noqa: S105 - printed on purpose: demo accounts only

DEMO_MEMBERS: list[tuple[str, Role, date]] = [
    ("ada", Role.ADMIN, date(1985, 12, 10)),
    ("grace", Role.MODERATOR, date(1979, 6, 9)),
    ("alice", Role.MEMBER, date(1992, 3, 14)),
    ("bob", Role.MEMBER, date(1988, 7, 1)),
    ("carol", Role.MEMBER, date(2001, 11, 23)),
]


async def has_members() -> bool:
    """Does the database hold any account yet?"""
    return await User.exists()


async def seed() -> list[tuple[str, str, str]]:
    """Create the demo accounts; return (username, role, password) for each."""
    created = []
    for username, role, born in DEMO_MEMBERS:
        await create_member(username, f"{username}@example.org", DEMO_PASSWORD, role, born)
        created.append((username, role.value, DEMO_PASSWORD))
    return created
