"""Profiles, follows and the member directory."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Subquery

from models.accounts import User
from models.notifications import NotificationKind
from models.privacy import PrivacySettings
from models.profiles import Follow, Profile
from models.sql import fetch, from_row, placeholders, select_list
from resolvers import notifications
from resolvers.access import require_member, require_writer
from resolvers.codes import AccessCode, MessageCode, ProfileCode
from resolvers.common import BadInput, Call, Problem, Refused
from resolvers.pagination import Page, decode_cursor, make_page, page_size
from resolvers.privacy import Setting, can_view, follows_viewer_sql, owner_of
from services import cachekeys

TEXT_LIMITS = {"bio": 2000, "location": 100, "website": 200, "diet_plan": 100}
WEIGHTS = ("start_weight_kg", "current_weight_kg", "goal_weight_kg")
WEIGHT_RANGE = (Decimal(20), Decimal(500))
SEARCH_MAX = 30
NO_VIEWER = 0  # no member has id 0, so nobody follows it


async def profiles_by_user(ids: Sequence[int]) -> list[Profile]:
    """Batch: each member's profile (an empty one for members who never wrote one)."""
    with cachekeys.attributed():
        found = await Profile.filter(user_id__in=ids)
    cachekeys.depends(map(cachekeys.member, ids))
    rows = {row.user_id: row for row in found}  # type: ignore[attr-defined]
    return [rows.get(id_) or Profile(user_id=id_) for id_ in ids]


def follows_loader(viewer: User | None) -> Callable[[Sequence[int]], Awaitable[list[bool]]]:
    """Batch for one request: does the viewer follow each of these members?"""

    async def viewer_follows(ids: Sequence[int]) -> list[bool]:
        if viewer is None:
            return [False] * len(ids)
        with cachekeys.attributed():
            followed = set(
                await Follow.filter(follower_id=viewer.id, followee_id__in=ids).values_list(
                    "followee_id", flat=True
                )
            )
        cachekeys.depends(map(cachekeys.member, [viewer.id, *ids]))
        return [id_ in followed for id_ in ids]

    return viewer_follows


def _clean_text(name: str, value: str | None) -> tuple[str | None, list[Problem]]:
    if value is None or not value.strip():
        return None, []
    value = value.strip()
    field = (_camel(name),)
    if len(value) > TEXT_LIMITS[name]:
        message = f"At most {TEXT_LIMITS[name]} characters."
        return None, [Problem(ProfileCode.TOO_LONG, message, field)]
    if "\x00" in value:
        return None, [
            Problem(MessageCode.INVALID_TEXT, "Text cannot contain NUL characters.", field)
        ]
    if name == "website":
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or " " in value:
            message = "Enter a web address starting with http:// or https://."
            return None, [Problem(ProfileCode.INVALID_URL, message, field)]
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
        return None, [Problem(ProfileCode.WEIGHT_OUT_OF_RANGE, message, (_camel(name),))]
    return weight, []


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


async def update_profile(call: Call, changes: dict[str, Any]) -> User:
    """Change the viewer's profile fields named in `changes` (None clears one). A profile
    is public text, so the rule for posting holds: confirmed and not suspended."""
    viewer = require_writer(call)
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
    viewer = require_member(call)
    if not viewer.confirmed:
        raise Refused(AccessCode.EMAIL_NOT_CONFIRMED, "Confirm your email address first.", "userId")
    target = await User.get_or_none(id=user_id)
    if target is None:
        raise Refused(ProfileCode.USER_NOT_FOUND, "There is no such member.", "userId")
    if target.id == viewer.id:
        raise Refused(ProfileCode.CANNOT_FOLLOW_SELF, "You cannot follow yourself.", "userId")
    return viewer, target


async def follow(call: Call, user_id: int) -> User:
    """Follow a member; following twice changes nothing."""
    viewer, target = await _target(call, user_id)
    created = False
    # A concurrent follow of the same member may win the race: the result is the same.
    with contextlib.suppress(IntegrityError):
        _, created = await Follow.get_or_create(follower_id=viewer.id, followee_id=target.id)
    if created:
        await notifications.notify(
            call, notifications.members([target.id]), NotificationKind.NEW_FOLLOWER, viewer
        )
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


# The other member's list that shows the same edge: F is in Carol's followers and, by
# the same follow, Carol is in F's following.
_SAME_EDGE = {"followers": Setting.FOLLOWING, "following": Setting.FOLLOWERS}


def follow_pages_loader(
    viewer: User | None, followed_by: int | None = None
) -> Callable[[Sequence[FollowPageKey]], Awaitable[list[Page[int]]]]:
    """Batch for one request's viewer: pages of followers/following for many members.

    An edge shows in a list only if the viewer may also see the other member's list
    that shows it (follower F in Carol's followers needs F's `following`), so a member
    who hides both lists is in nobody's but the lists' owners'. A window function
    numbers each member's follows, so a list of 50 members with their followers costs
    one statement, not fifty; hidden rows that leave a page short cost one more round
    for all short pages.
    """

    async def follow_pages(keys: Sequence[FollowPageKey]) -> list[Page[int]]:
        groups: dict[tuple[str, int, int | None], list[int]] = {}
        for key in keys:
            shape = (key.direction, page_size(key.first), decode_cursor("Follow", key.after))
            groups.setdefault(shape, []).append(key.owner_id)
        pages: dict[tuple[str, int, int | None, int], Page[int]] = {}
        for (direction, size, position), owners in groups.items():
            found = await _visible_pages(
                viewer, direction, sorted(set(owners)), size, position, followed_by
            )
            for owner, page in found.items():
                pages[(direction, size, position, owner)] = page
        return [
            pages[(k.direction, page_size(k.first), decode_cursor("Follow", k.after), k.owner_id)]
            for k in keys
        ]

    return follow_pages


async def _visible_pages(
    viewer: User | None,
    direction: str,
    owners: list[int],
    size: int,
    position: int | None,
    followed_by: int | None,
) -> dict[int, Page[int]]:
    """Each owner's page of `size` visible rows after `position`. A round fetches the
    first `window` rows of every owner still short; an owner is done once it has one
    visible row more than the page (so there is a next page) or fewer rows than the
    window (so the list ended). The window doubles each round."""
    pages: dict[int, Page[int]] = {}
    window, short = size + 1, owners
    while short:
        rows = await _follow_rows(viewer, direction, short, window, position)
        still_short = []
        for owner in short:
            mine = [row for row in rows if row["owner"] == owner]
            shown = [row for row in mine if _shown(viewer, owner, direction, row, followed_by)]
            if len(shown) > size or len(mine) < window:
                pages[owner] = make_page(
                    [row["member"] for row in shown],
                    [row["id"] for row in shown],
                    size,
                    after=position is not None,
                )
            else:
                still_short.append(owner)
        window, short = window * 2, still_short
    return pages


FollowCountKey = tuple[int, str]  # (owner, "followers" or "following")
EVERY_ROW = 2**62  # a window no member's list reaches


def follow_counts_loader(
    viewer: User | None, followed_by: int | None = None
) -> Callable[[Sequence[FollowCountKey]], Awaitable[list[int]]]:
    """Batch for one request's viewer: how many edges of each member's followers or
    following the viewer sees, decided row by row by `_shown`, the rule the pages use,
    so a count never includes an edge the list hides. One statement per direction
    for any number of members."""

    async def follow_counts(keys: Sequence[FollowCountKey]) -> list[int]:
        counts: dict[FollowCountKey, int] = {}
        for direction in ("followers", "following"):
            owners = sorted({owner for owner, wanted in keys if wanted == direction})
            if owners:
                for row in await _follow_rows(viewer, direction, owners, EVERY_ROW, None):
                    if _shown(viewer, row["owner"], direction, row, followed_by):
                        key = (row["owner"], direction)
                        counts[key] = counts.get(key, 0) + 1
        return [counts.get(key, 0) for key in keys]

    return follow_counts


def _shown(
    viewer: User | None, owner: int, direction: str, row: dict[str, Any], followed_by: int | None
) -> bool:
    """May the viewer see the other member's list that shows this edge too? Members see
    every edge of their own lists: whoever follows them could tell anyway, since their
    FOLLOWING audiences answer to the member they follow (an accepted risk)."""
    if viewer is not None and viewer.id == owner:
        return True
    settings = from_row(PrivacySettings, "s", row) if row["s__user_id"] is not None else None
    follows = bool(row["follows_viewer"]) or row["member"] == followed_by
    member = owner_of(row["member"], settings, follows)
    return can_view(viewer, member, _SAME_EDGE[direction])


@cache
def _follow_select(direction: str, count: int) -> str:
    """{0}: rows per owner; {1}: the position; {2}: the viewer; {3}..: the owners."""
    owner, member = (
        ("followee_id", "follower_id")
        if direction == "followers"
        else ("follower_id", "followee_id")
    )
    marks = ", ".join(placeholders(3, count))  # placeholders only, never values
    follows = follows_viewer_sql("n.member", "{2}")
    return (
        f"SELECT n.id, n.owner, n.member, {select_list('s', PrivacySettings)}, "  # noqa: S608
        f"{follows} AS follows_viewer "
        f"FROM (SELECT id, {owner} AS owner, {member} AS member, "
        f"ROW_NUMBER() OVER (PARTITION BY {owner} ORDER BY id) AS rn FROM follows "
        f"WHERE {owner} IN ({marks}) AND id > {{1}}) AS n "
        "LEFT JOIN privacy_settings s ON s.user_id = n.member "
        "WHERE n.rn <= {0} ORDER BY n.id"
    )


async def _follow_rows(
    viewer: User | None, direction: str, owners: list[int], window: int, position: int | None
) -> list[dict[str, Any]]:
    viewer_id = viewer.id if viewer is not None else NO_VIEWER
    values = [window, position or 0, viewer_id, *owners]
    with cachekeys.attributed():
        rows = await fetch(_follow_select(direction, len(owners)), values)
    # A follow moves both members' keys; each listed member's settings decide the edge.
    cachekeys.depends(map(cachekeys.member, [*owners, *(row["member"] for row in rows)]))
    if viewer is not None:
        cachekeys.depends([cachekeys.member(viewer.id)])
    return rows


async def users_page(search: str | None, first: int | None, after: str | None) -> Page[User]:
    """Members listed in the directory, by join order, optionally by part of their username.
    Accounts whose address was never confirmed are not members yet, and not listed."""
    size = page_size(first)
    position = decode_cursor("User", after)
    query = _directory(search)
    if position is not None:
        query = query.filter(id__gt=position)
    # Who is listed moves the site-wide key (migration 0013); what is shown, each member's.
    with cachekeys.attributed():
        rows = await query.order_by("id").limit(size + 1)
    cachekeys.depends(cachekeys.member(row.id) for row in rows)
    return make_page(rows, [r.id for r in rows], size, after=position is not None)


async def users_count(search: str | None) -> int:
    """How many members `users_page` pages through for the same search."""
    with cachekeys.attributed():  # the site-wide key
        return await _directory(search).count()


def _directory(search: str | None) -> Any:
    """The members the directory lists: confirmed, listed, and matching the search."""
    unlisted = PrivacySettings.filter(listed_in_members=False).values("user_id")
    query = User.filter(id__not_in=Subquery(unlisted), email_confirmed_at__isnull=False)
    if search:
        term = search.strip()
        if len(term) > SEARCH_MAX or "\x00" in term:
            raise BadInput(f"Search for part of a username (at most {SEARCH_MAX} characters).")
        query = query.filter(username__icontains=term)
    return query
