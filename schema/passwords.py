"""Passwords: changing one, and resetting a forgotten one by mail."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import passwords
from schema.context import Context
from schema.errors import UserError
from schema.payloads import Payload, attempt, global_ids


@strawberry.type(description="Result of changePassword.")
class ChangePasswordPayload(Payload):
    session_ids: list[strawberry.ID] | None = strawberry.field(
        description="Your other sessions, signed out by the change, to drop from "
        "`User.sessions`; null if refused."
    )
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type(description="Result of requestPasswordReset (the same for every address).")
class RequestPasswordResetPayload(Payload):
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type(description="Result of resetPassword.")
class ResetPasswordPayload(Payload):
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.input(description="Your current password and the new one.")
class ChangePasswordInput:
    current_password: str = strawberry.field(description="Your password now.")
    new_password: str = strawberry.field(description="10-256 characters, not a common one.")


@strawberry.input(description="Where to send a reset link.")
class RequestPasswordResetInput:
    email: str = strawberry.field(description="Your account's address.")


@strawberry.input(description="A mailed reset token and the new password.")
class ResetPasswordInput:
    token: str = strawberry.field(description="The `token=` value of the mailed link.")
    new_password: str = strawberry.field(description="10-256 characters, not a common one.")


@strawberry.type
class PasswordMutation:
    @strawberry.mutation(description="Change your password; every other session is signed out.")
    async def change_password(
        self, info: Info[Context, None], input: ChangePasswordInput
    ) -> ChangePasswordPayload | None:
        work = passwords.change_password(
            info.context.call, input.current_password, input.new_password
        )
        return await attempt(
            ChangePasswordPayload,
            work,
            lambda ended: ChangePasswordPayload(
                session_ids=global_ids("Session", ended), user_errors=[]
            ),
        )

    @strawberry.mutation(
        description="Mail a password-reset link (valid one hour). The answer is the same "
        "for every address."
    )
    async def request_password_reset(
        self, info: Info[Context, None], input: RequestPasswordResetInput
    ) -> RequestPasswordResetPayload:
        work = passwords.request_reset(info.context.call, input.email)
        return await attempt(RequestPasswordResetPayload, work)

    @strawberry.mutation(
        description="Set a new password with a mailed token; signs out everywhere."
    )
    async def reset_password(
        self, info: Info[Context, None], input: ResetPasswordInput
    ) -> ResetPasswordPayload:
        work = passwords.reset_password(info.context.call, input.token, input.new_password)
        result = await attempt(ResetPasswordPayload, work)
        info.context.sync_cookie()
        return result
