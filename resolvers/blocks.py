"""Blocking: a member stops another from reaching them, silently.

What a block changes is decided in resolvers/privacy.py (the Owner of a blocker, as
the blocked member sees them, has whoCanMessage and whoCanMention at ONLY_ME); this
module writes and lists the blocks.
"""

from __future__ import annotations

import contextlib

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models.accounts import User
from models.blocks import Block
from models.profiles import Follow
from resolvers.access import require_member
from resolvers.codes import BlockCode, ProfileCode
from resolvers.common import Call, Refused
from resolvers.pagination import Page, id_page


async def _target(call: Call, user_id: int) -> tuple[User, User]:
    viewer = require_member(call)
    target = await User.get_or_none(id=user_id, email_confirmed_at__isnull=False)
    if target is None:
        raise Refused(ProfileCode.USER_NOT_FOUND, "There is no such member.", "userId")
    if target.id == viewer.id:
        raise Refused(BlockCode.CANNOT_BLOCK_SELF, "You cannot block yourself.", "userId")
    return viewer, target


async def block_member(call: Call, user_id: int) -> User:
    """Block a member: follows end both ways; blocking twice changes nothing."""
    viewer, target = await _target(call, user_id)
    async with in_transaction():
        # A concurrent block of the same member may win the race: the result is the same.
        with contextlib.suppress(IntegrityError):
            await Block.get_or_create(blocker_id=viewer.id, blocked_id=target.id)
        await Follow.filter(
            Q(follower_id=viewer.id, followee_id=target.id)
            | Q(follower_id=target.id, followee_id=viewer.id)
        ).delete()
    return target


async def unblock_member(call: Call, user_id: int) -> User:
    """Lift a block; unblocking a member who is not blocked changes nothing. Ended follows
    stay ended."""
    viewer, target = await _target(call, user_id)
    await Block.filter(blocker_id=viewer.id, blocked_id=target.id).delete()
    return target


async def blocked_count(owner_id: int) -> int:
    """How many members `owner_id` blocked whose accounts still exist (the page's rule)."""
    return await Block.filter(blocker_id=owner_id, blocked__deleted_at__isnull=True).count()


async def blocked_page(owner_id: int, first: int | None, after: str | None) -> Page[int]:
    """The members `owner_id` blocked, most recent first (member ids, keyed by block)."""
    page = await id_page(
        Block.filter(blocker_id=owner_id), "Block", first, after, newest_first=True
    )
    return Page([row.blocked_id for row in page.rows], page.keys, page.has_next, page.has_previous)
