"""Members as a page shows them: account, profile, privacy settings and both follow
directions with the viewer, for a whole batch in one statement."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from models.accounts import User
from models.privacy import PrivacySettings
from models.profiles import Profile
from models.rows import NO_PROFILE, AccountRow, ProfileRow, SettingsRow, Shape
from models.sql import fetch, placeholders
from resolvers.privacy import (
    Owner,
    blocked_by_viewer_sql,
    blocks_viewer_sql,
    follows_viewer_sql,
    owner_of,
)
from services import cachekeys

NO_VIEWER = 0  # no member has id 0, so nobody follows or is followed by it


@dataclass(frozen=True)
class Member:
    """One member with everything the privacy rule and a profile need."""

    row: AccountRow
    profile: ProfileRow
    owner: Owner
    viewer_follows: bool  # does the viewer follow this member?


# Plain rows, not models: a page builds three per author (models/rows.py).
_ACCOUNT = Shape(AccountRow, User, "u")
_PROFILE = Shape(ProfileRow, Profile, "p")
_SETTINGS = Shape(SettingsRow, PrivacySettings, "s")


@cache
def _select(count: int) -> str:
    """The statement for `count` ids ({0}: the viewer; {1}..: the ids)."""
    selected = ", ".join(shape.select_list() for shape in (_ACCOUNT, _PROFILE, _SETTINGS))
    ids = ", ".join(placeholders(1, count))
    follows = follows_viewer_sql("u.id", "{0}")
    blocks = blocks_viewer_sql("u.id", "{0}")
    blocked = blocked_by_viewer_sql("u.id", "{0}")
    return (
        f'SELECT {selected}, {follows} AS "follows_viewer", '  # noqa: S608 - our columns, placeholders
        f'{blocks} AS "blocks_viewer", {blocked} AS "blocked_by_viewer", '
        "EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = {0} AND f.followee_id = u.id) "
        'AS "viewer_follows" '
        "FROM users u LEFT JOIN profiles p ON p.user_id = u.id "
        "LEFT JOIN privacy_settings s ON s.user_id = u.id "
        # An account whose address was never confirmed is nobody's member yet.
        f"WHERE u.id IN ({ids}) AND u.email_confirmed_at IS NOT NULL"
    )


def _members(rows: list[dict[str, Any]], followed_by: int | None) -> list[Member]:
    account, profile, settings = _ACCOUNT.builder(), _PROFILE.builder(), _SETTINGS.builder()
    found = []
    for row in rows:
        user = account(row)
        owner = owner_of(
            user.id,
            settings(row) if row["s__user_id"] is not None else None,
            bool(row["follows_viewer"]) or user.id == followed_by,
            bool(row["blocks_viewer"]),
            bool(row["blocked_by_viewer"]),
        )
        # Members who never wrote a profile share one empty row.
        shown = profile(row) if row["p__user_id"] is not None else NO_PROFILE
        found.append(Member(user, shown, owner, bool(row["viewer_follows"])))
    return found


def members_loader(
    viewer: User | None, followed_by: int | None = None
) -> Callable[[Sequence[int]], Awaitable[list[Member | None]]]:
    """Batch for one request's viewer: each id's Member, or None for no such member
    (nor for an account whose address was never confirmed). `followed_by`: the member
    who follows a preview's stand-in viewer."""
    viewer_id = viewer.id if viewer is not None else NO_VIEWER

    async def members(ids: Sequence[int]) -> list[Member | None]:
        with cachekeys.attributed():
            rows = await fetch(_select(len(ids)), [viewer_id, *ids])
        # A member's row, profile, settings and follows all move the member's key.
        cachekeys.depends(map(cachekeys.member, ids))
        found = {member.row.id: member for member in _members(rows, followed_by)}
        return [found.get(id_) for id_ in ids]

    return members
