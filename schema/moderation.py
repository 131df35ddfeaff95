"""Staff powers in the API: privileged reads of private data, hiding and unhiding
messages, suspensions, warnings and roles."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry
from strawberry.types import Info
from strawberry.types.nodes import SelectedField, Selection

from models.base import Role as RoleValue
from resolvers import moderation
from resolvers.moderation import PrivateRecord
from schema import ids
from schema.accounts import Role, User
from schema.context import Context
from schema.errors import UserError
from schema.messages import Message
from schema.payloads import Payload, attempt
from schema.permissions import IsAdmin, IsStaff
from schema.privacy import PrivacySettings


@strawberry.type(
    description="A member's private profile as moderators see it. Reading it is audited."
)
class PrivilegedProfile:
    record: strawberry.Private[PrivateRecord]

    @strawberry.field(description="The member.")
    def user(self) -> User:
        return User.from_row(self.record.user)

    @strawberry.field(description="Email address, whatever its audience.")
    def email(self) -> str | None:
        return self.record.user.email

    @strawberry.field(description="Date of birth, whatever its audience.")
    def date_of_birth(self) -> date | None:
        return self.record.user.date_of_birth

    @strawberry.field(description="Profile location, whatever its audience.")
    def location(self) -> str | None:
        return self.record.profile.location

    @strawberry.field(description="Profile website, whatever its audience.")
    def website(self) -> str | None:
        return self.record.profile.website

    @strawberry.field(description="Profile bio, whatever its audience.")
    def bio(self) -> str | None:
        return self.record.profile.bio

    @strawberry.field(description="When the member was last active (exact).")
    def last_seen_at(self) -> datetime | None:
        return self.record.user.last_seen_at

    @strawberry.field(description="The member's privacy settings.")
    def privacy_settings(self) -> PrivacySettings:
        return PrivacySettings(row=self.record.settings)


def _selected(info: Info[Context, None]) -> list[str]:
    """The private fields a privileged query asks for: what the audit entry records."""
    return [name for field in info.selected_fields for name in _field_names(field.selections)]


def _field_names(selections: list[Selection]) -> list[str]:
    names: list[str] = []
    for child in selections:
        if isinstance(child, SelectedField):
            if child.name not in ("user", "__typename"):
                names.append(child.name)
        else:  # `... on PrivilegedProfile { }` or `...Named`: the fields inside count
            names += _field_names(child.selections)
    return names


@strawberry.type
class ModerationQuery:
    @strawberry.field(
        description="Moderators and admins: a member's private profile for moderation. "
        "Every read is written to the audit log, with the reason given.",
        permission_classes=[IsStaff],
    )
    async def privileged_profile(
        self,
        info: Info[Context, None],
        user_id: Annotated[strawberry.ID, strawberry.argument(description="The member's ID.")],
        reason: Annotated[
            str, strawberry.argument(description="Why you need it (3-500 characters).")
        ],
    ) -> PrivilegedProfile | None:
        record = await moderation.privileged_profile(
            info.context.call, ids.decode_pk(user_id, "User"), reason, _selected(info)
        )
        return PrivilegedProfile(record=record) if record is not None else None


@strawberry.input(description="A message to hide, and why.")
class HideMessageInput:
    message_id: strawberry.ID = strawberry.field(description="The message's global ID.")
    reason: str = strawberry.field(description="Why, 3 to 500 characters (audited).")


@strawberry.type(description="Result of hideMessage.")
class HideMessagePayload(Payload):
    message: Message | None = strawberry.field(description="The message; null if refused.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.input(description="Whom to suspend, until when, and why.")
class SuspendMemberInput:
    user_id: strawberry.ID = strawberry.field(description="The member's global ID.")
    until: datetime | None = strawberry.field(
        default=None,
        description="End of the suspension (with time zone); left out or null: until lifted.",
    )
    reason: str = strawberry.field(description="Told to the member; 3 to 500 characters.")


@strawberry.input(description="Whose suspension to lift.")
class UnsuspendMemberInput:
    user_id: strawberry.ID = strawberry.field(description="The member's global ID.")


@strawberry.type(description="Result of suspendMember.")
class SuspendMemberPayload(Payload):
    user: User | None = strawberry.field(description="The member; null if refused.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type(description="Result of unsuspendMember.")
class UnsuspendMemberPayload(Payload):
    user: User | None = strawberry.field(description="The member; null if refused.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type(description="A formal warning staff gave a member.")
class Warning:
    reason: str = strawberry.field(description="Why the member was warned.")
    created_at: datetime = strawberry.field(description="When.")


@strawberry.input(description="A hidden message to show again, and why.")
class UnhideMessageInput:
    message_id: strawberry.ID = strawberry.field(description="The message's global ID.")
    reason: str = strawberry.field(description="Why, 3 to 500 characters (audited).")


@strawberry.type(description="Result of unhideMessage.")
class UnhideMessagePayload(Payload):
    message: Message | None = strawberry.field(description="The message; null if refused.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.input(description="Whom to warn, and why.")
class WarnMemberInput:
    user_id: strawberry.ID = strawberry.field(description="The member's global ID.")
    reason: str = strawberry.field(
        description="Told to the member by mail; 3 to 500 characters (audited)."
    )


@strawberry.type(description="Result of warnMember.")
class WarnMemberPayload(Payload):
    warning: Warning | None = strawberry.field(description="The warning; null if refused.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.input(description="Whose role to change, to what, and why.")
class SetRoleInput:
    user_id: strawberry.ID = strawberry.field(description="The member's global ID.")
    role: Role = strawberry.field(description="The new role.")
    reason: str = strawberry.field(description="Why, 3 to 500 characters (audited).")


@strawberry.type(description="Result of setRole.")
class SetRolePayload(Payload):
    user: User | None = strawberry.field(description="The member; null if refused.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type
class ModerationMutation:
    @strawberry.mutation(
        description="Moderators: hide a message (audited).", permission_classes=[IsStaff]
    )
    async def hide_message(
        self, info: Info[Context, None], input: HideMessageInput
    ) -> HideMessagePayload | None:
        message_id = ids.decode_pk(input.message_id, "Message")
        return await attempt(
            HideMessagePayload,
            moderation.hide_message(info.context.call, message_id, input.reason),
            lambda row: HideMessagePayload(message=Message.of(row), user_errors=[]),
        )

    @strawberry.mutation(
        description="Moderators: stop a member writing until a time, or until lifted; they "
        "are told why.",
        permission_classes=[IsStaff],
    )
    async def suspend_member(
        self, info: Info[Context, None], input: SuspendMemberInput
    ) -> SuspendMemberPayload | None:
        user_id = ids.decode_pk(input.user_id, "User")
        return await attempt(
            SuspendMemberPayload,
            moderation.suspend(info.context.call, user_id, input.until, input.reason),
            lambda row: SuspendMemberPayload(user=User.from_row(row), user_errors=[]),
        )

    @strawberry.mutation(description="Moderators: lift a suspension.", permission_classes=[IsStaff])
    async def unsuspend_member(
        self, info: Info[Context, None], input: UnsuspendMemberInput
    ) -> UnsuspendMemberPayload | None:
        user_id = ids.decode_pk(input.user_id, "User")
        return await attempt(
            UnsuspendMemberPayload,
            moderation.unsuspend(info.context.call, user_id),
            lambda row: UnsuspendMemberPayload(user=User.from_row(row), user_errors=[]),
        )

    @strawberry.mutation(
        description="Staff: show a hidden message again (audited); a message its author "
        "deleted stays deleted. Null with an error when not allowed.",
        permission_classes=[IsStaff],
    )
    async def unhide_message(
        self, info: Info[Context, None], input: UnhideMessageInput
    ) -> UnhideMessagePayload | None:
        message_id = ids.decode_pk(input.message_id, "Message")
        return await attempt(
            UnhideMessagePayload,
            moderation.unhide_message(info.context.call, message_id, input.reason),
            lambda row: UnhideMessagePayload(message=Message.of(row), user_errors=[]),
        )

    @strawberry.mutation(
        description="Staff: give a member a formal warning; they are told by mail (audited). "
        "Null with an error when not allowed.",
        permission_classes=[IsStaff],
    )
    async def warn_member(
        self, info: Info[Context, None], input: WarnMemberInput
    ) -> WarnMemberPayload | None:
        user_id = ids.decode_pk(input.user_id, "User")
        return await attempt(
            WarnMemberPayload,
            moderation.warn(info.context.call, user_id, input.reason),
            lambda row: WarnMemberPayload(
                warning=Warning(reason=row.reason, created_at=row.created_at), user_errors=[]
            ),
        )

    @strawberry.mutation(
        description="Admins: make a member a member, moderator or admin (audited). The site "
        "always keeps one admin who can act (LAST_ADMIN). It applies from the member's next "
        "request. Null with an error when not allowed.",
        permission_classes=[IsAdmin],
    )
    async def set_role(
        self, info: Info[Context, None], input: SetRoleInput
    ) -> SetRolePayload | None:
        user_id = ids.decode_pk(input.user_id, "User")
        role = RoleValue(input.role.value)
        return await attempt(
            SetRolePayload,
            moderation.set_role(info.context.call, user_id, role, input.reason),
            lambda row: SetRolePayload(user=User.from_row(row), user_errors=[]),
        )
