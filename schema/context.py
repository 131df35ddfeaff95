"""The per-request context: the resolvers' Call, the request's DataLoaders and the cookie."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.dataloader import DataLoader

from models.accounts import User
from resolvers import accounts
from resolvers.common import Call

SESSION_COOKIE = "session"


@dataclass
class Loaders:
    """One set per request, so no cached row outlives the request that read it."""

    user_by_id: DataLoader[int, User | None] = field(
        default_factory=lambda: DataLoader(load_fn=accounts.users_by_id)
    )


@dataclass
class Context:
    """Everything a field needs: who asks (`call`), batch loaders, and the HTTP exchange."""

    call: Call
    request: Request | WebSocket
    response: Response | None
    request_id: str
    loaders: Loaders = field(default_factory=Loaders)

    @property
    def viewer(self) -> User | None:
        """The signed-in member, or None."""
        return self.call.viewer

    def sync_cookie(self) -> None:
        """Set or clear the session cookie after a sign-in or sign-out."""
        if self.response is None:
            return
        settings = self.call.settings
        if self.call.new_session_token is not None:
            self.response.set_cookie(
                SESSION_COOKIE,
                self.call.new_session_token,
                max_age=settings.session_days * 86400,
                httponly=True,
                secure=settings.cookie_secure,
                samesite="lax",
                path="/",
            )
        elif self.call.end_session:
            self.response.delete_cookie(
                SESSION_COOKIE, httponly=True, secure=settings.cookie_secure, samesite="lax"
            )
