"""Profiles, the weight journey, follows and the follower lists."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import strawberry
from strawberry.types import Info

from models import profiles as models
from models.rows import ProfileRow
from resolvers import profiles
from resolvers.pagination import Page
from resolvers.privacy import Owner, Setting
from schema import ids
from schema.context import Context, View
from schema.errors import UserError
from schema.payloads import LazyUser, Payload, attempt, user_of
from schema.permissions import Private

if TYPE_CHECKING:
    from schema.accounts import UserConnection


@strawberry.type(description="A member's weight journey, in kilograms.")
class WeightJourney:
    start_kg: float | None = strawberry.field(description="Weight when the journey began.")
    current_kg: float | None = strawberry.field(description="Weight now.")
    goal_kg: float | None = strawberry.field(description="The weight aimed for.")


def _kg(value: Any) -> float | None:
    return float(value) if value is not None else None


@strawberry.type(description="What a member tells others; each field follows its own audience.")
class Profile:
    owner_id: strawberry.Private[int]
    row: strawberry.Private[models.Profile | ProfileRow]
    owner: strawberry.Private[Owner | None] = None
    view: strawberry.Private[View | None] = None  # whom it is resolved for (see User.view)

    @strawberry.field(description="About the member.", extensions=[Private(Setting.BIO)])
    def bio(self) -> str | None:
        return self.row.bio

    @strawberry.field(
        description="Where the member is, in their words.", extensions=[Private(Setting.LOCATION)]
    )
    def location(self) -> str | None:
        return self.row.location

    @strawberry.field(
        description="The member's website (http or https).", extensions=[Private(Setting.WEBSITE)]
    )
    def website(self) -> str | None:
        return self.row.website

    @strawberry.field(
        description="The diet plan the member follows.", extensions=[Private(Setting.DIET_PLAN)]
    )
    def diet_plan(self) -> str | None:
        return self.row.diet_plan

    @strawberry.field(
        description="Start, current and goal weight; by default only the member sees it.",
        extensions=[Private(Setting.WEIGHT_JOURNEY)],
    )
    def weight_journey(self) -> WeightJourney | None:
        weights = (self.row.start_weight_kg, self.row.current_weight_kg, self.row.goal_weight_kg)
        if all(weight is None for weight in weights):
            return None  # an empty journey reads as null, exactly like a hidden one
        start, current, goal = (_kg(weight) for weight in weights)
        return WeightJourney(start_kg=start, current_kg=current, goal_kg=goal)


_KEEP = "Leave out to keep; null or empty clears."


@strawberry.input(description="Profile fields to change; fields left out stay as they are.")
class UpdateProfileInput:
    bio: str | None = strawberry.field(
        default=strawberry.UNSET, description=f"At most 2000 characters. {_KEEP}"
    )
    location: str | None = strawberry.field(
        default=strawberry.UNSET, description=f"At most 100 characters. {_KEEP}"
    )
    website: str | None = strawberry.field(
        default=strawberry.UNSET,
        description=f"An http:// or https:// address, at most 200 characters. {_KEEP}",
    )
    diet_plan: str | None = strawberry.field(
        default=strawberry.UNSET, description=f"At most 100 characters. {_KEEP}"
    )
    start_weight_kg: float | None = strawberry.field(
        default=strawberry.UNSET, description=f"20 to 500 kg, to 0.1 kg. {_KEEP}"
    )
    current_weight_kg: float | None = strawberry.field(
        default=strawberry.UNSET, description=f"20 to 500 kg, to 0.1 kg. {_KEEP}"
    )
    goal_weight_kg: float | None = strawberry.field(
        default=strawberry.UNSET, description=f"20 to 500 kg, to 0.1 kg. {_KEEP}"
    )


@strawberry.type(description="Result of updateProfile.")
class UpdateProfilePayload(Payload):
    user: LazyUser | None = strawberry.field(description="You, updated; null if refused.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.input(description="The member to follow or unfollow.")
class FollowInput:
    user_id: strawberry.ID = strawberry.field(description="The member's global ID.")


@strawberry.type(description="Result of follow and unfollow.")
class FollowPayload(Payload):
    user: LazyUser | None = strawberry.field(description="The member; null when refused.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


def _followed(row: Any) -> FollowPayload:
    return FollowPayload(user=user_of(row), user_errors=[])


@strawberry.type
class ProfileMutation:
    @strawberry.mutation(
        description="Change your profile. Username and date of birth cannot change here. "
        "Like posting, it needs a confirmed address and no suspension."
    )
    async def update_profile(
        self, info: Info[Context, None], input: UpdateProfileInput
    ) -> UpdateProfilePayload | None:
        changes = {k: v for k, v in vars(input).items() if v is not strawberry.UNSET}
        return await attempt(
            UpdateProfilePayload,
            profiles.update_profile(info.context.call, changes),
            lambda row: UpdateProfilePayload(user=user_of(row), user_errors=[]),
        )

    @strawberry.mutation(description="Follow a member. Following twice is harmless.")
    async def follow(self, info: Info[Context, None], input: FollowInput) -> FollowPayload | None:
        return await attempt(
            FollowPayload,
            profiles.follow(info.context.call, ids.decode_pk(input.user_id, "User")),
            _followed,
        )

    @strawberry.mutation(description="Stop following a member. Unfollowing twice is harmless.")
    async def unfollow(self, info: Info[Context, None], input: FollowInput) -> FollowPayload | None:
        return await attempt(
            FollowPayload,
            profiles.unfollow(info.context.call, ids.decode_pk(input.user_id, "User")),
            _followed,
        )


async def follow_page(
    view: View, owner_id: int, direction: str, first: int | None, after: str | None
) -> UserConnection:
    """A page of a member's followers or following ("followers"/"following"), through the
    batched loaders of the reader it is resolved for: the follows, then the members with
    their profiles and privacy (each carrying that reader on)."""
    from schema.accounts import User, UserConnection

    key = profiles.FollowPageKey(owner_id, direction, first, after)
    page = await view.loaders.follow_page.load(key)
    found = await view.loaders.member_by_id.load_many(page.rows)
    present = [(k, m) for k, m in zip(page.keys, found, strict=True) if m is not None]
    loaded = Page(
        [m for _, m in present], [k for k, _ in present], page.has_next, page.has_previous
    )
    count_key = (owner_id, direction)
    return UserConnection.of(
        loaded,
        "Follow",
        lambda member: User.of_member(member, view),
        count=lambda: view.loaders.follow_count.load(count_key),
    )
