"""The per-request context: the resolvers' Call, the request's DataLoaders and the cookie."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.dataloader import DataLoader

from models.accounts import User
from models.audit import AuditEntry
from models.conversations import Conversation
from models.forums import Forum
from models.messages import Message, Thread
from models.privacy import PrivacySettings
from models.profiles import Profile
from models.reports import Report
from models.rights import CorrectionRequest
from resolvers import (
    accounts,
    audit,
    conversations,
    forums,
    members,
    messages,
    privacy,
    profiles,
    reports,
    rights,
)
from resolvers.common import Call
from resolvers.pagination import Page
from resolvers.privacy import Owner

SESSION_COOKIE = "session"


@dataclass
class Loaders:
    """One set per request, so no cached row outlives the request that read it."""

    user_by_id: DataLoader[int, User | None]
    member_by_id: DataLoader[int, members.Member | None]
    profile_by_user: DataLoader[int, Profile]
    settings_by_user: DataLoader[int, PrivacySettings]
    owner_by_id: DataLoader[int, Owner]
    viewer_follows: DataLoader[int, bool]
    follow_page: DataLoader[profiles.FollowPageKey, Page[int]]
    forum_by_id: DataLoader[int, Forum | None]
    thread_by_id: DataLoader[int, Thread | None]
    my_conversation: DataLoader[int, Conversation | None]
    participants_of: DataLoader[int, list[int]]
    unread_in: DataLoader[int, int]
    message_page: DataLoader[messages.MessagePageKey, Page[Message]]
    readable_message: DataLoader[int, Message | None]
    audit_entry: DataLoader[int, AuditEntry | None]
    correction_request: DataLoader[int, CorrectionRequest | None]
    report: DataLoader[int, Report | None]
    message_count: DataLoader[messages.MessageCountKey, int]
    thread_count: DataLoader[int, int]
    follow_count: DataLoader[profiles.FollowCountKey, int]

    @classmethod
    def for_viewer(cls, viewer: User | None) -> Loaders:
        """The loaders of one request; some depend on who is asking."""
        return cls(
            user_by_id=DataLoader(load_fn=accounts.users_by_id),
            member_by_id=DataLoader(load_fn=members.members_loader(viewer)),
            profile_by_user=DataLoader(load_fn=profiles.profiles_by_user),
            settings_by_user=DataLoader(load_fn=privacy.settings_by_user),
            owner_by_id=DataLoader(load_fn=privacy.owners_loader(viewer)),
            viewer_follows=DataLoader(load_fn=profiles.follows_loader(viewer)),
            follow_page=DataLoader(load_fn=profiles.follow_pages_loader(viewer)),
            forum_by_id=DataLoader(load_fn=forums.forums_by_id),
            thread_by_id=DataLoader(load_fn=forums.threads_by_id),
            my_conversation=DataLoader(load_fn=conversations.mine_loader(viewer)),
            participants_of=DataLoader(load_fn=conversations.participants_of),
            unread_in=DataLoader(load_fn=conversations.unread_loader(viewer)),
            message_page=DataLoader(load_fn=messages.message_pages),
            readable_message=DataLoader(load_fn=messages.readable_loader(viewer)),
            audit_entry=DataLoader(load_fn=audit.entries_loader(viewer)),
            correction_request=DataLoader(load_fn=rights.corrections_loader(viewer)),
            report=DataLoader(load_fn=reports.reports_loader(viewer)),
            message_count=DataLoader(load_fn=messages.message_counts),
            thread_count=DataLoader(load_fn=forums.thread_counts),
            follow_count=DataLoader(load_fn=profiles.follow_counts_loader(viewer)),
        )


@dataclass
class Context:
    """Everything a field needs: who asks (`call`), batch loaders, and the HTTP exchange."""

    call: Call
    request: Request | WebSocket
    response: Response | None
    request_id: str
    loaders: Loaders

    @property
    def viewer(self) -> User | None:
        """The signed-in member, or None."""
        return self.call.viewer

    def sync_cookie(self) -> None:
        """After a sign-in or sign-out: new loaders for the new viewer, and the cookie."""
        self.loaders = Loaders.for_viewer(self.call.viewer)
        if self.response is None:
            return
        settings = self.call.settings
        if self.call.new_session_token is not None:
            self.response.set_cookie(
                SESSION_COOKIE,
                self.call.new_session_token,
                max_age=settings.session_days * 86400,
                httponly=True,
                secure=settings.secure_cookies,
                samesite="lax",
                path="/",
            )
        elif self.call.end_session:
            self.response.delete_cookie(
                SESSION_COOKIE, httponly=True, secure=settings.secure_cookies, samesite="lax"
            )
