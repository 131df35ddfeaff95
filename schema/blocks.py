"""Blocking: blockMember and unblockMember (the User fields are in schema/accounts.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from resolvers import blocks
from schema import ids
from schema.context import Context
from schema.errors import UserError
from schema.payloads import Payload, attempt

if TYPE_CHECKING:
    from schema.accounts import User

LazyUser = Annotated["User", strawberry.lazy("schema.accounts")]


@strawberry.input(description="The member to block.")
class BlockMemberInput:
    user_id: strawberry.ID = strawberry.field(description="The member's global ID.")


@strawberry.type(description="Result of blockMember.")
class BlockMemberPayload(Payload):
    user: LazyUser | None = strawberry.field(description="The blocked member; null if refused.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.input(description="The member to unblock.")
class UnblockMemberInput:
    user_id: strawberry.ID = strawberry.field(description="The member's global ID.")


@strawberry.type(description="Result of unblockMember.")
class UnblockMemberPayload(Payload):
    user: LazyUser | None = strawberry.field(description="The member; null if refused.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


def _user(row: Any) -> User:
    from schema.accounts import User

    return User.from_row(row)


@strawberry.type
class BlockMutation:
    @strawberry.mutation(
        description="Block a member, silently: they are not told, and what they read does not "
        "change except that they can no longer start a conversation with you or notify you "
        "by a mention (as if you let nobody do either). Follows between you end both ways. "
        "Their messages read empty for you. Blocking twice is harmless."
    )
    async def block_member(
        self, info: Info[Context, None], input: BlockMemberInput
    ) -> BlockMemberPayload | None:
        payload = await attempt(
            BlockMemberPayload,
            blocks.block_member(info.context.call, ids.decode_pk(input.user_id, "User")),
            lambda row: BlockMemberPayload(user=_user(row), user_errors=[]),
        )
        info.context.blocks_changed()
        return payload

    @strawberry.mutation(
        description="Lift a block. Unblocking a member you did not block is harmless; ended "
        "follows stay ended."
    )
    async def unblock_member(
        self, info: Info[Context, None], input: UnblockMemberInput
    ) -> UnblockMemberPayload | None:
        payload = await attempt(
            UnblockMemberPayload,
            blocks.unblock_member(info.context.call, ids.decode_pk(input.user_id, "User")),
            lambda row: UnblockMemberPayload(user=_user(row), user_errors=[]),
        )
        info.context.blocks_changed()
        return payload
