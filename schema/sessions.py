"""Sessions: signing in and out, and the browsers signed in to an account."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from models import sessions as session_models
from resolvers import sessions
from resolvers.common import Forbidden
from schema import ids
from schema.accounts import User
from schema.context import Context
from schema.errors import UserError
from schema.payloads import Payload, attempt, global_ids


@strawberry.type(description="A browser signed in to your account. Never shows an IP address.")
class Session:
    row: strawberry.Private[session_models.Session]
    current_id: strawberry.Private[int | None]

    @strawberry.field(description="Opaque ID, for revokeSession.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(ids.encode("Session", self.row.id))

    @strawberry.field(description="When you signed in.")
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="When it was last used (to within five minutes).")
    def last_used_at(self) -> datetime:
        return self.row.last_used_at

    @strawberry.field(description="Browser family, e.g. Firefox; null if unknown.")
    def browser(self) -> str | None:
        return self.row.browser

    @strawberry.field(description="Operating system, e.g. Android; null if unknown.")
    def operating_system(self) -> str | None:
        return self.row.operating_system

    @strawberry.field(description="Country (ISO code) it signed in from; null if unknown.")
    def country(self) -> str | None:
        return self.row.country

    @strawberry.field(description="Is this the session making this request?")
    def current(self) -> bool:
        return self.row.id == self.current_id


@strawberry.type(description="Result of revokeSession.")
class RevokeSessionPayload(Payload):
    session_id: strawberry.ID | None = strawberry.field(
        description="The session that ended, to drop from `User.sessions`; null if refused."
    )
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type(description="Result of revokeOtherSessions.")
class RevokeOtherSessionsPayload(Payload):
    session_ids: list[strawberry.ID] | None = strawberry.field(
        description="The sessions that ended, to drop from `User.sessions`; null if refused."
    )
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.input(description="One of your sessions.")
class RevokeSessionInput:
    session_id: strawberry.ID = strawberry.field(description="`Session.id`.")


@strawberry.input(description="Credentials to sign in with.")
class LoginInput:
    login: str = strawberry.field(description="Username or email address.")
    password: str = strawberry.field(description="The account's password.")


@strawberry.type(description="Result of login; on success the session cookie is set.")
class LoginPayload(Payload):
    user: User | None = strawberry.field(description="The signed-in member; null if refused.")
    user_errors: list[UserError] = strawberry.field(description="Why sign-in failed.")


@strawberry.type(description="Result of logout.")
class LogoutPayload(Payload):
    session_id: strawberry.ID | None = strawberry.field(
        description="The session that ended; null if you were not signed in."
    )
    user_errors: list[UserError] = strawberry.field(description="Always empty.")


@strawberry.type
class SessionMutation:
    @strawberry.mutation(
        description="Sign in with username or email; sets the session cookie. Over HTTP "
        "only: on a WebSocket, which cannot set the cookie, it is FORBIDDEN."
    )
    async def login(self, info: Info[Context, None], input: LoginInput) -> LoginPayload:
        if info.context.over_socket:
            # The session would live on a socket with no cookie to carry it, and would
            # replace the socket's own session behind its browser's back.
            raise Forbidden("Sign in over HTTP: a WebSocket cannot set the session cookie.")
        result = await attempt(
            LoginPayload,
            sessions.login(info.context.call, input.login, input.password),
            lambda row: LoginPayload(user=User.from_row(row), user_errors=[]),
        )
        info.context.sync_cookie()
        return result

    @strawberry.mutation(description="Sign out: the session ends on the server too.")
    async def logout(self, info: Info[Context, None]) -> LogoutPayload:
        result = await attempt(
            LogoutPayload,
            sessions.logout(info.context.call),
            lambda ended: LogoutPayload(
                session_id=_session_id(ended) if ended is not None else None, user_errors=[]
            ),
        )
        info.context.sync_cookie()
        return result

    @strawberry.mutation(description="Sign out one of your sessions.")
    async def revoke_session(
        self, info: Info[Context, None], input: RevokeSessionInput
    ) -> RevokeSessionPayload | None:
        work = sessions.revoke_session(
            info.context.call, ids.decode_pk(input.session_id, "Session")
        )
        result = await attempt(
            RevokeSessionPayload,
            work,
            lambda ended: RevokeSessionPayload(session_id=_session_id(ended), user_errors=[]),
        )
        info.context.sync_cookie()
        return result

    @strawberry.mutation(description="Sign out every session but this one.")
    async def revoke_other_sessions(
        self, info: Info[Context, None]
    ) -> RevokeOtherSessionsPayload | None:
        work = sessions.revoke_others(info.context.call)
        return await attempt(
            RevokeOtherSessionsPayload,
            work,
            lambda ended: RevokeOtherSessionsPayload(
                session_ids=global_ids("Session", ended), user_errors=[]
            ),
        )


def _session_id(key: int) -> strawberry.ID:
    return strawberry.ID(ids.encode("Session", key))
