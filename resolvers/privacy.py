"""The one place that decides who may see a member's personal field."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache

from models.accounts import User
from models.blocks import Block
from models.privacy import Audience, PrivacySettings
from models.rows import SettingsRow
from models.sql import fetch, placeholders
from resolvers.access import may_write, require_member
from resolvers.codes import PrivacyCode
from resolvers.common import Call, Problem, Refused
from services import cachekeys


class Setting(StrEnum):
    """A private-able field; the value names its column in `privacy_settings`."""

    EMAIL = "email"
    DATE_OF_BIRTH = "date_of_birth"
    AGE = "age"
    LAST_SEEN = "last_seen"
    BIO = "bio"
    LOCATION = "location"
    WEBSITE = "website"
    DIET_PLAN = "diet_plan"
    WEIGHT_JOURNEY = "weight_journey"
    FOLLOWERS = "followers"
    FOLLOWING = "following"
    WHO_CAN_MESSAGE = "who_can_message"
    WHO_CAN_MENTION = "who_can_mention"


# What a block changes for the blocked member: exactly what the blocker setting these
# to ONLY_ME would change, so the blocked member's view cannot tell the two apart.
BLOCK_CLOSES = frozenset({Setting.WHO_CAN_MESSAGE, Setting.WHO_CAN_MENTION})


DEFAULTS = PrivacySettings()  # an unsaved row holds every default
STAND_IN_ID = -1  # no member has it: nobody follows it, it follows and blocks nobody


class PreviewAudience(StrEnum):
    """Whom a member previews their profile as."""

    ANONYMOUS = "anonymous"  # a signed-out reader
    MEMBER = "member"  # a confirmed member the owner does not follow
    FOLLOWED_MEMBER = "followed_member"  # a confirmed member the owner follows


@dataclass(frozen=True)
class Reader:
    """Whom a read is decided for: a viewer (None signed out), and for a preview's
    stand-in the one member who follows it (the owner, for FOLLOWED_MEMBER)."""

    viewer: User | None
    followed_by: int | None = None


def preview_reader(owner_id: int, audience: PreviewAudience) -> Reader:
    """The stand-in reader of a preview: not a copy of the rules, a viewer that the same
    rules (`can_view`, `can_message`) then judge like any other."""
    if audience is PreviewAudience.ANONYMOUS:
        return Reader(None)
    stand_in = User(id=STAND_IN_ID, username="", email_confirmed_at=datetime.now(UTC))
    followed_by = owner_id if audience is PreviewAudience.FOLLOWED_MEMBER else None
    return Reader(stand_in, followed_by)


@dataclass(frozen=True)
class Owner:
    """What the policy needs to know about the member whose data is asked for."""

    id: int
    settings: PrivacySettings | SettingsRow  # every audience an Audience member
    follows_viewer: bool  # does the owner follow the viewer?
    blocks_viewer: bool = False  # has the owner blocked the viewer?
    blocked_by_viewer: bool = False  # has the viewer blocked the owner?

    def audience(self, setting: Setting) -> Audience:
        """The owner's audience for one field (as if ONLY_ME where a block closes it)."""
        if self.blocks_viewer and setting in BLOCK_CLOSES:
            return Audience.ONLY_ME
        # Both rows hold members already (converted once, when the row was read);
        # `_value_` is the column's name, without the `value` property's call.
        return getattr(self.settings, setting._value_)  # type: ignore[no-any-return]


def owner_of(
    user_id: int,
    settings: PrivacySettings | SettingsRow | None,
    follows_viewer: bool,
    blocks_viewer: bool = False,
    blocked_by_viewer: bool = False,
) -> Owner:
    """The Owner of a member from what a batch query fetched with them: their settings
    row (None for a member who never changed one: the defaults), whether they follow
    the viewer, and the blocks between the two (lists that only read FOLLOWERS and
    FOLLOWING may leave the blocks out: a block does not change those)."""
    row = settings if settings is not None else DEFAULTS
    return Owner(user_id, row, follows_viewer, blocks_viewer, blocked_by_viewer)


def can_view(viewer: User | None, owner: Owner, setting: Setting) -> bool:
    """May this viewer see this owner's field? The owner always may; staff never here."""
    if is_owner(viewer, owner.id):
        return True
    audience = owner.audience(setting)
    if audience is Audience.EVERYONE:
        return True
    if viewer is None or not viewer.confirmed:
        return False
    if audience is Audience.MEMBERS:
        return True
    if audience is Audience.FOLLOWING:
        return owner.follows_viewer
    return False


def is_owner(viewer: User | None, owner_id: int) -> bool:
    """Is the viewer the member `owner_id`?"""
    return viewer is not None and viewer.id == owner_id


def can_message(viewer: User | None, owner: Owner) -> bool:
    """May this viewer start a conversation with this owner? Their whoCanMessage must
    admit the viewer, the viewer must be able to write (confirmed, not suspended), and
    nobody messages themself."""
    if not may_write(viewer) or is_owner(viewer, owner.id) or owner.blocked_by_viewer:
        return False  # a member does not write to someone they blocked
    return can_view(viewer, owner, Setting.WHO_CAN_MESSAGE)


def can_mention(author: User | None, owner: Owner) -> bool:
    """Does a mention by this author notify this owner? Their whoCanMention must admit
    the author (a block closes it), and nobody is told of mentioning themself."""
    if author is None or is_owner(author, owner.id):
        return False
    return can_view(author, owner, Setting.WHO_CAN_MENTION)


def has_blocked(blocked: frozenset[int], author_id: int | None) -> bool:
    """Is `author_id` among the members a viewer blocked (`blocked`, from `blocked_ids`)?"""
    return author_id is not None and author_id in blocked


async def blocked_ids(viewer_ids: Sequence[int]) -> list[frozenset[int]]:
    """Batch: the members each viewer blocked (one query for all; the request's loader
    asks once per viewer)."""
    rows = await Block.filter(blocker_id__in=viewer_ids).values_list("blocker_id", "blocked_id")
    found: dict[int, set[int]] = {id_: set() for id_ in viewer_ids}
    for blocker, blocked in rows:
        found[blocker].add(blocked)
    return [frozenset(found[id_]) for id_ in viewer_ids]


def blocks_viewer_sql(member: str, viewer: str) -> str:
    """SQL truth value: has the member in column `member` blocked the viewer whose id is
    the placeholder `viewer`? As `owners` decides it."""
    return (
        f"EXISTS (SELECT 1 FROM blocks bv WHERE bv.blocker_id = {member} "  # noqa: S608
        f"AND bv.blocked_id = {viewer})"
    )


def blocked_by_viewer_sql(member: str, viewer: str) -> str:
    """SQL truth value: has the viewer (placeholder `viewer`) blocked the member in
    column `member`?"""
    return (
        f"EXISTS (SELECT 1 FROM blocks bb WHERE bb.blocker_id = {viewer} "  # noqa: S608
        f"AND bb.blocked_id = {member})"
    )


async def settings_by_user(ids: Sequence[int]) -> list[PrivacySettings]:
    """Batch: each member's settings (defaults for members who never changed one)."""
    with cachekeys.attributed():
        found = await PrivacySettings.filter(user_id__in=ids)
    cachekeys.depends(map(cachekeys.member, ids))
    rows = {row.user_id: row for row in found}  # type: ignore[attr-defined]
    return [rows.get(id_) or PrivacySettings(user_id=id_) for id_ in ids]


def follows_viewer_sql(member: str, viewer: str) -> str:
    """SQL truth value: does the member in column `member` follow the viewer whose id is
    the placeholder `viewer`? Batches written in SQL use this, `owners` the same rule."""
    return (
        f"EXISTS (SELECT 1 FROM follows fv WHERE fv.follower_id = {member} "  # noqa: S608
        f"AND fv.followee_id = {viewer})"
    )


async def owners(
    viewer: User | None, ids: Sequence[int], followed_by: int | None = None
) -> list[Owner]:
    """Batch: the Owner of each member for this viewer (settings, whether each follows
    the viewer, the blocks between them), in id order; `followed_by` follows a preview's
    stand-in viewer."""
    settings = await settings_by_user(ids)
    followers: set[int] = set()
    blockers: set[int] = set()
    blocked: set[int] = set()
    if viewer is not None:
        # One statement for both: who of them follows the viewer, and the blocks between.
        with cachekeys.attributed():
            ties = await fetch(_ties_sql(len(ids)), [viewer.id, *ids])
        cachekeys.depends_on_everything()  # blocks move no key: a viewer's answer only
        for row in ties:
            {"follows": followers, "blocks": blockers, "blocked": blocked}[row["tie"]].add(
                row["member"]
            )
    if followed_by is not None:
        followers.add(followed_by)
    return [
        owner_of(id_, row, id_ in followers, id_ in blockers, id_ in blocked)
        for id_, row in zip(ids, settings, strict=True)
    ]


@cache
def _ties_sql(count: int) -> str:
    """{0}: the viewer; {1}..: the members. Each row: a member and how they are tied to
    the viewer (follows the viewer, blocks the viewer, blocked by the viewer)."""
    marks = ", ".join(placeholders(1, count))  # placeholders only, never values
    return (
        "SELECT 'follows' AS tie, follower_id AS member FROM follows "  # noqa: S608
        f"WHERE followee_id = {{0}} AND follower_id IN ({marks}) "
        "UNION ALL SELECT 'blocks', blocker_id FROM blocks "
        f"WHERE blocked_id = {{0}} AND blocker_id IN ({marks}) "
        "UNION ALL SELECT 'blocked', blocked_id FROM blocks "
        f"WHERE blocker_id = {{0}} AND blocked_id IN ({marks})"
    )


def owners_loader(
    viewer: User | None, followed_by: int | None = None
) -> Callable[[Sequence[int]], Awaitable[list[Owner]]]:
    """Batch for the owner loader of one request's viewer (or a preview's stand-in)."""

    async def load(ids: Sequence[int]) -> list[Owner]:
        return await owners(viewer, ids, followed_by)

    return load


_AUDIENCE_FIELDS = {field.value for field in Setting}


async def update_settings(call: Call, changes: dict[str, Audience | bool]) -> PrivacySettings:
    """Change any subset of the viewer's settings; the next request already obeys them."""
    viewer = require_member(call)
    unknown = set(changes) - _AUDIENCE_FIELDS - {"listed_in_members"}
    if unknown:
        problems = [
            Problem(PrivacyCode.UNKNOWN_SETTING, "No such setting.", (name,)) for name in unknown
        ]
        raise Refused.of(problems)
    row, _ = await PrivacySettings.get_or_create(user_id=viewer.id)
    for name, value in changes.items():
        setattr(row, name, value)
    await row.save()
    return row
