"""Profiles, follows and the member directory."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Subquery

from models.accounts import User
from models.privacy import PrivacySettings
from models.profiles import Follow, Profile
from models.sql import fetch, placeholders
from resolvers.common import BadInput, Call, Problem, Refused
from resolvers.pages import Page, decode_cursor, make_page, page_size

TEXT_LIMITS = {"bio": 2000, "location": 100, "website": 200, "diet_plan": 100}
WEIGHTS = ("start_weight_kg", "current_weight_kg", "goal_weight_kg")
WEIGHT_RANGE = (Decimal(20), Decimal(500))
SEARCH_MAX = 30


async def profiles_by_user(ids: Sequence[int]) -> list[Profile]:
    """Batch: each member's profile (an empty one for members who never wrote one)."""
    rows = {row.user_id: row for row in await Profile.filter(user_id__in=ids)}  # type: ignore[attr-defined]
    return [rows.get(id_) or Profile(user_id=id_) for id_ in ids]


def follows_loader(viewer: User | None) -> Callable[[Sequence[int]], Awaitable[list[bool]]]:
    """Batch for one request: does the viewer follow each of these members?"""

    async def viewer_follows(ids: Sequence[int]) -> list[bool]:
        if viewer is None:
            return [False] * len(ids)
        followed = set(
            await Follow.filter(follower_id=viewer.id, followee_id__in=ids).values_list(
                "followee_id", flat=True
            )
        )
        return [id_ in followed for id_ in ids]

    return viewer_follows


def _clean_text(name: str, value: str | None) -> tuple[str | None, list[Problem]]:
    if value is None or not value.strip():
        return None, []
    value = value.strip()
    field = (_camel(name),)
    if len(value) > TEXT_LIMITS[name]:
        message = f"At most {TEXT_LIMITS[name]} characters."
        return None, [Problem("TOO_LONG", message, field)]
    if "\x00" in value:
        return None, [Problem("INVALID_TEXT", "Text cannot contain NUL characters.", field)]
    if name == "website":
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or " " in value:
            message = "Enter a web address starting with http:// or https://."
            return None, [Problem("INVALID_URL", message, field)]
    return value, []


def _clean_weight(name: str, value: float | None) -> tuple[Decimal | None, list[Problem]]:
    if value is None:
        return None, []
    try:
        weight = Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        weight = Decimal(-1)
    low, high = WEIGHT_RANGE
    if not low <= weight <= high:
        message = f"Weights are between {low} and {high} kg."
        return None, [Problem("WEIGHT_OUT_OF_RANGE", message, (_camel(name),))]
    return weight, []


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


async def update_profile(call: Call, changes: dict[str, Any]) -> User:
    """Change the viewer's profile fields named in `changes` (None clears one). A profile
    is public text, so the rule for posting holds: confirmed and not suspended."""
    viewer = call.require_writer()
    cleaned: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, value in changes.items():
        if name in TEXT_LIMITS:
            cleaned[name], found = _clean_text(name, value)
        else:
            cleaned[name], found = _clean_weight(name, value)
        problems += found
    if problems:
        raise Refused.of(problems)
    profile, _ = await Profile.get_or_create(user_id=viewer.id)
    for name, value in cleaned.items():
        setattr(profile, name, value)
    await profile.save()
    return viewer


async def _target(call: Call, user_id: int) -> tuple[User, User]:
    viewer = call.require_member()
    if not viewer.confirmed:
        raise Refused("EMAIL_NOT_CONFIRMED", "Confirm your email address first.", "userId")
    target = await User.get_or_none(id=user_id)
    if target is None:
        raise Refused("USER_NOT_FOUND", "There is no such member.", "userId")
    if target.id == viewer.id:
        raise Refused("CANNOT_FOLLOW_SELF", "You cannot follow yourself.", "userId")
    return viewer, target


async def follow(call: Call, user_id: int) -> User:
    """Follow a member; following twice changes nothing."""
    viewer, target = await _target(call, user_id)
    # A concurrent follow of the same member may win the race: the result is the same.
    with contextlib.suppress(IntegrityError):
        await Follow.get_or_create(follower_id=viewer.id, followee_id=target.id)
    return target


async def unfollow(call: Call, user_id: int) -> User:
    """Stop following a member; unfollowing twice changes nothing."""
    viewer, target = await _target(call, user_id)
    await Follow.filter(follower_id=viewer.id, followee_id=target.id).delete()
    return target


@dataclass(frozen=True)
class FollowPageKey:
    """One requested page of a member's followers or following."""

    owner_id: int
    direction: str  # "followers" or "following"
    first: int | None
    after: str | None

    def __post_init__(self) -> None:
        # Refuse bad arguments here, for this field alone, not inside the shared batch.
        page_size(self.first)
        decode_cursor("Follow", self.after)


async def follow_pages(keys: Sequence[FollowPageKey]) -> list[Page[int]]:
    """Batch: pages of followers/following for many members, one statement per shape.

    A window function numbers each member's follows, so a list of 50 members with
    their followers costs one query rather than fifty.
    """
    groups: dict[tuple[str, int, int | None], list[int]] = {}
    for key in keys:
        shape = (key.direction, page_size(key.first), decode_cursor("Follow", key.after))
        groups.setdefault(shape, []).append(key.owner_id)
    pages: dict[tuple[str, int, int | None, int], Page[int]] = {}
    for (direction, size, position), owners in groups.items():
        rows = await _follow_rows(direction, sorted(set(owners)), size, position)
        for owner in set(owners):
            mine = [(r["id"], r["member"]) for r in rows if r["owner"] == owner]
            pages[(direction, size, position, owner)] = make_page(
                [m for _, m in mine], [i for i, _ in mine], size, after=position is not None
            )
    return [
        pages[(k.direction, page_size(k.first), decode_cursor("Follow", k.after), k.owner_id)]
        for k in keys
    ]


async def _follow_rows(
    direction: str, owners: list[int], size: int, position: int | None
) -> list[dict[str, Any]]:
    owner, member = (
        ("followee_id", "follower_id")
        if direction == "followers"
        else ("follower_id", "followee_id")
    )
    marks = ", ".join(placeholders(2, len(owners)))  # placeholders only, never values
    sql = (
        f"SELECT id, owner, member FROM (SELECT id, {owner} AS owner, {member} AS member, "  # noqa: S608
        f"ROW_NUMBER() OVER (PARTITION BY {owner} ORDER BY id) AS rn FROM follows "
        f"WHERE {owner} IN ({marks}) AND id > {{1}}) AS numbered "
        "WHERE rn <= {0} ORDER BY id"
    )
    return await fetch(sql, [size + 1, position or 0, *owners])


async def users_page(search: str | None, first: int | None, after: str | None) -> Page[User]:
    """Members listed in the directory, by join order, optionally by part of their username.
    Accounts whose address was never confirmed are not members yet, and not listed."""
    size = page_size(first)
    position = decode_cursor("User", after)
    unlisted = PrivacySettings.filter(listed_in_members=False).values("user_id")
    query = User.filter(id__not_in=Subquery(unlisted), email_confirmed_at__isnull=False)
    if search:
        term = search.strip()
        if len(term) > SEARCH_MAX or "\x00" in term:
            raise BadInput(f"Search for part of a username (at most {SEARCH_MAX} characters).")
        query = query.filter(username__icontains=term)
    if position is not None:
        query = query.filter(id__gt=position)
    rows = await query.order_by("id").limit(size + 1)
    return make_page(rows, [r.id for r in rows], size, after=position is not None)
