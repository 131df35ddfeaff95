"""Privacy settings: the audiences a member chooses for each personal field."""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from models import privacy as models
from resolvers import privacy
from schema.context import Context
from schema.errors import UserError
from schema.payloads import LazyUser, Payload, attempt, user_of


@strawberry.enum(description="Who may see a personal field.")
class Audience(Enum):
    EVERYONE = strawberry.enum_value("everyone", description="Anyone, signed in or not.")
    MEMBERS = strawberry.enum_value(
        "members", description="Signed-in members with a confirmed email address."
    )
    FOLLOWING = strawberry.enum_value(
        "following", description="Members the owner follows (not the owner's followers)."
    )
    ONLY_ME = strawberry.enum_value("only_me", description="Nobody but the owner.")


def _audience(row: models.PrivacySettings, name: str) -> Audience:
    return Audience(getattr(row, name).value)


@strawberry.type(description="Who may see each of a member's personal fields.")
class PrivacySettings:
    row: strawberry.Private[models.PrivacySettings]

    @strawberry.field(description="Email address. Default ONLY_ME.")
    def email(self) -> Audience:
        return _audience(self.row, "email")

    @strawberry.field(description="Date of birth. Default ONLY_ME.")
    def date_of_birth(self) -> Audience:
        return _audience(self.row, "date_of_birth")

    @strawberry.field(description="Age in years. Default MEMBERS.")
    def age(self) -> Audience:
        return _audience(self.row, "age")

    @strawberry.field(description="When last seen. Default EVERYONE.")
    def last_seen(self) -> Audience:
        return _audience(self.row, "last_seen")

    @strawberry.field(description="Profile bio. Default EVERYONE.")
    def bio(self) -> Audience:
        return _audience(self.row, "bio")

    @strawberry.field(description="Profile location. Default MEMBERS.")
    def location(self) -> Audience:
        return _audience(self.row, "location")

    @strawberry.field(description="Profile website. Default EVERYONE.")
    def website(self) -> Audience:
        return _audience(self.row, "website")

    @strawberry.field(description="Diet plan followed. Default MEMBERS.")
    def diet_plan(self) -> Audience:
        return _audience(self.row, "diet_plan")

    @strawberry.field(description="Weight journey (start, current, goal). Default ONLY_ME.")
    def weight_journey(self) -> Audience:
        return _audience(self.row, "weight_journey")

    @strawberry.field(description="The list of followers. Default MEMBERS.")
    def followers(self) -> Audience:
        return _audience(self.row, "followers")

    @strawberry.field(description="The list of members followed. Default MEMBERS.")
    def following(self) -> Audience:
        return _audience(self.row, "following")

    @strawberry.field(description="Who may start a conversation with the member. Default MEMBERS.")
    def who_can_message(self) -> Audience:
        return _audience(self.row, "who_can_message")

    @strawberry.field(
        description="Whose @mentions of the member notify them (a mention of anyone else "
        "is a plain link). Default MEMBERS."
    )
    def who_can_mention(self) -> Audience:
        return _audience(self.row, "who_can_mention")

    @strawberry.field(description="Listed in the member directory (`users`). Default true.")
    def listed_in_members(self) -> bool:
        return self.row.listed_in_members


_SETTING_HELP = "Leave out to keep the current value."


@strawberry.input(description="Any subset of the privacy settings to change.")
class UpdatePrivacySettingsInput:
    email: Audience | None = strawberry.field(default=strawberry.UNSET, description=_SETTING_HELP)
    date_of_birth: Audience | None = strawberry.field(
        default=strawberry.UNSET, description=_SETTING_HELP
    )
    age: Audience | None = strawberry.field(default=strawberry.UNSET, description=_SETTING_HELP)
    last_seen: Audience | None = strawberry.field(
        default=strawberry.UNSET, description=_SETTING_HELP
    )
    bio: Audience | None = strawberry.field(default=strawberry.UNSET, description=_SETTING_HELP)
    location: Audience | None = strawberry.field(
        default=strawberry.UNSET, description=_SETTING_HELP
    )
    website: Audience | None = strawberry.field(default=strawberry.UNSET, description=_SETTING_HELP)
    diet_plan: Audience | None = strawberry.field(
        default=strawberry.UNSET, description=_SETTING_HELP
    )
    weight_journey: Audience | None = strawberry.field(
        default=strawberry.UNSET, description=_SETTING_HELP
    )
    followers: Audience | None = strawberry.field(
        default=strawberry.UNSET, description=_SETTING_HELP
    )
    following: Audience | None = strawberry.field(
        default=strawberry.UNSET, description=_SETTING_HELP
    )
    who_can_message: Audience | None = strawberry.field(
        default=strawberry.UNSET, description=_SETTING_HELP
    )
    who_can_mention: Audience | None = strawberry.field(
        default=strawberry.UNSET, description=_SETTING_HELP
    )
    listed_in_members: bool | None = strawberry.field(
        default=strawberry.UNSET, description=_SETTING_HELP
    )


@strawberry.type(description="Result of updatePrivacySettings.")
class UpdatePrivacySettingsPayload(Payload):
    privacy_settings: PrivacySettings | None = strawberry.field(
        description="The settings now in force; null if refused."
    )
    user: LazyUser | None = strawberry.field(
        description="You, whose `privacySettings` these are (a cache updates them there); "
        "null if refused."
    )
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


def _changes(data: UpdatePrivacySettingsInput) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name, value in vars(data).items():
        if value is strawberry.UNSET or value is None:
            continue  # null means "keep", like leaving the field out
        changes[name] = models.Audience(value.value) if isinstance(value, Audience) else value
    return changes


@strawberry.type
class PrivacyMutation:
    @strawberry.mutation(
        description="Change who may see your personal fields. Takes effect on the next request."
    )
    async def update_privacy_settings(
        self, info: Info[Context, None], input: UpdatePrivacySettingsInput
    ) -> UpdatePrivacySettingsPayload | None:
        return await attempt(
            UpdatePrivacySettingsPayload,
            privacy.update_settings(info.context.call, _changes(input)),
            lambda row: UpdatePrivacySettingsPayload(
                privacy_settings=PrivacySettings(row=row),
                user=user_of(info.context.viewer),
                user_errors=[],
            ),
        )
