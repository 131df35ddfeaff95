"""Members, registration, email confirmation and sessions."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.types import Info

from models import accounts as models
from models.base import Role as RoleValue
from resolvers import accounts, sessions
from resolvers.common import Refused
from schema import ids
from schema.context import Context
from schema.errors import UserError
from schema.node import Node


@strawberry.enum(description="What a member may do on the site.")
class Role(Enum):
    MEMBER = strawberry.enum_value(RoleValue.MEMBER.value, description="A member.")
    MODERATOR = strawberry.enum_value(
        RoleValue.MODERATOR.value, description="Moderates threads and reports."
    )
    ADMIN = strawberry.enum_value(RoleValue.ADMIN.value, description="Runs the site.")


@strawberry.type(description="A member of the forum. Personal fields follow their privacy.")
class User(Node):
    row: strawberry.Private[models.User]

    @strawberry.field(description="Opaque global ID of the member.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(ids.encode("User", self.row.id))

    @strawberry.field(description="Public, unique name (3-30 letters, digits, _ - .).")
    def username(self) -> str:
        return self.row.username

    @strawberry.field(description="What the member may do on the site.")
    def role(self) -> Role:
        return Role(self.row.role.value)

    @strawberry.field(description="When the member registered.")
    def joined_at(self) -> datetime:
        return self.row.joined_at

    @classmethod
    def from_row(cls, row: models.User) -> User:
        """The type for a database row."""
        return cls(row=row)


@strawberry.input(description="A newcomer's registration.")
class RegisterInput:
    username: str = strawberry.field(
        description="3-30 characters: letters A-Z, digits, _ - . ; unique, look-alikes refused."
    )
    email: str = strawberry.field(description="Where the confirmation link goes. Never shown.")
    password: str = strawberry.field(
        description="At least 10 characters, at most 256, not a common password."
    )
    date_of_birth: date = strawberry.field(description="In the past; minimum age applies.")
    accept_policy_version: str = strawberry.field(
        description="The `privacyPolicy.version` being accepted: must be the current one."
    )
    newsletter: bool | None = strawberry.field(
        default=False, description="Opt in to occasional newsletters (off unless true)."
    )


@strawberry.type(description="Result of register. A new member signs in with `login`.")
class RegisterPayload:
    user_errors: list[UserError] = strawberry.field(description="Why nothing was created.")


@strawberry.input(description="The token from a confirmation email.")
class ConfirmEmailInput:
    token: str = strawberry.field(description="The `token=` value of the emailed link.")


@strawberry.type(description="Result of confirmEmail.")
class ConfirmEmailPayload:
    user: User | None = strawberry.field(description="The confirmed member; null if refused.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing was confirmed.")


@strawberry.input(description="Where to send a fresh confirmation link.")
class ResendConfirmationInput:
    email: str = strawberry.field(description="The address the account registered with.")


@strawberry.type(description="Result of resendConfirmation: the same for every address.")
class ResendConfirmationPayload:
    user_errors: list[UserError] = strawberry.field(description="Always empty.")


@strawberry.input(description="Credentials to sign in with.")
class LoginInput:
    login: str = strawberry.field(description="Username or email address.")
    password: str = strawberry.field(description="The account's password.")


@strawberry.type(description="Result of login; on success the session cookie is set.")
class LoginPayload:
    user: User | None = strawberry.field(description="The signed-in member; null if refused.")
    user_errors: list[UserError] = strawberry.field(description="Why sign-in failed.")


@strawberry.type(description="Result of logout.")
class LogoutPayload:
    user_errors: list[UserError] = strawberry.field(description="Always empty.")


@strawberry.type
class AccountQuery:
    @strawberry.field(description="The signed-in member, or null.")
    async def viewer(self, info: Info[Context, None]) -> User | None:
        viewer = info.context.viewer
        return User.from_row(viewer) if viewer is not None else None

    @strawberry.field(description="A member by username (any case); null if there is none.")
    async def user(
        self,
        username: Annotated[str, strawberry.argument(description="The member's username.")],
    ) -> User | None:
        row = await accounts.user_by_username(username)
        return User.from_row(row) if row is not None else None


@strawberry.type
class AccountMutation:
    @strawberry.mutation(
        description="Register an account and mail a confirmation link. Says the same for "
        "an address that already has an account (whose owner is told by email)."
    )
    async def register(self, info: Info[Context, None], input: RegisterInput) -> RegisterPayload:
        data = accounts.Registration(
            username=input.username,
            email=input.email,
            password=input.password,
            date_of_birth=input.date_of_birth,
            accept_policy_version=input.accept_policy_version,
            newsletter=bool(input.newsletter),
        )
        try:
            await accounts.register(info.context.call, data)
        except Refused as refused:
            return RegisterPayload(user_errors=UserError.of(refused))
        return RegisterPayload(user_errors=[])

    @strawberry.mutation(description="Confirm an email address with the mailed token.")
    async def confirm_email(
        self, info: Info[Context, None], input: ConfirmEmailInput
    ) -> ConfirmEmailPayload:
        try:
            row = await accounts.confirm_email(info.context.call, input.token)
        except Refused as refused:
            return ConfirmEmailPayload(user=None, user_errors=UserError.of(refused))
        return ConfirmEmailPayload(user=User.from_row(row), user_errors=[])

    @strawberry.mutation(
        description="Mail a new confirmation link to an unconfirmed account's address. "
        "The answer is the same for every address."
    )
    async def resend_confirmation(
        self, info: Info[Context, None], input: ResendConfirmationInput
    ) -> ResendConfirmationPayload:
        await accounts.resend_confirmation(info.context.call, input.email)
        return ResendConfirmationPayload(user_errors=[])

    @strawberry.mutation(description="Sign in with username or email; sets the session cookie.")
    async def login(self, info: Info[Context, None], input: LoginInput) -> LoginPayload:
        try:
            row = await sessions.login(info.context.call, input.login, input.password)
        except Refused as refused:
            return LoginPayload(user=None, user_errors=UserError.of(refused))
        info.context.sync_cookie()
        return LoginPayload(user=User.from_row(row), user_errors=[])

    @strawberry.mutation(description="Sign out: the session ends on the server too.")
    async def logout(self, info: Info[Context, None]) -> LogoutPayload:
        await sessions.logout(info.context.call)
        info.context.sync_cookie()
        return LogoutPayload(user_errors=[])
