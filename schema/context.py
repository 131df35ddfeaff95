"""The per-request context: the resolvers' Call, the request's DataLoaders and the cookies.

The schema knows nothing of HTTP: it reads the request through `Incoming` and records
cookie changes and the operation's name on the Context; web/graphql.py, which builds
the Context, applies them to the response and the request log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from strawberry.dataloader import DataLoader

from models.accounts import User
from models.audit import AuditEntry
from models.conversations import Conversation
from models.forums import Forum
from models.messages import Message, Thread
from models.moderation import Warning
from models.privacy import PrivacySettings
from models.profiles import Profile
from models.reports import Report
from models.rights import CorrectionRequest
from models.rows import MessageRow, ThreadRow
from resolvers import (
    accounts,
    audit,
    conversations,
    forums,
    members,
    messages,
    moderation,
    notifications,
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
    blocked_by: DataLoader[int, frozenset[int]]  # by viewer id: the members they blocked
    viewer_follows: DataLoader[int, bool]
    follow_page: DataLoader[profiles.FollowPageKey, Page[int]]
    forum_by_id: DataLoader[int, Forum | None]
    thread_by_id: DataLoader[int, Thread | ThreadRow | None]  # search primes it with models
    my_conversation: DataLoader[int, Conversation | None]
    participants_of: DataLoader[int, list[int]]
    unread_in: DataLoader[int, int]
    message_page: DataLoader[messages.MessagePageKey, Page[MessageRow]]
    readable_message: DataLoader[int, Message | None]
    audit_entry: DataLoader[int, AuditEntry | None]
    correction_request: DataLoader[int, CorrectionRequest | None]
    report: DataLoader[int, Report | None]
    message_count: DataLoader[messages.MessageCountKey, int]
    thread_count: DataLoader[int, int]
    follow_count: DataLoader[profiles.FollowCountKey, int]
    message_by_id: DataLoader[int, Message | None]
    viewer_watches: DataLoader[int, bool]
    author_page: DataLoader[messages.AuthorPageKey, Page[Message]]
    author_count: DataLoader[messages.AuthorCountKey, int]
    revisions: DataLoader[Message | MessageRow, list[messages.Revision]]
    warnings_of: DataLoader[int, list[Warning]]

    @classmethod
    def for_viewer(
        cls,
        viewer: User | None,
        followed_by: int | None = None,
        blocked: frozenset[int] | None = None,
    ) -> Loaders:
        """The loaders of one request; some depend on who is asking (`followed_by`: the
        member who follows a preview's stand-in viewer; `blocked`: the members the viewer
        blocked, when read already with the session)."""
        loaders = cls(
            user_by_id=DataLoader(load_fn=accounts.users_by_id),
            member_by_id=DataLoader(load_fn=members.members_loader(viewer, followed_by)),
            profile_by_user=DataLoader(load_fn=profiles.profiles_by_user),
            settings_by_user=DataLoader(load_fn=privacy.settings_by_user),
            owner_by_id=DataLoader(load_fn=privacy.owners_loader(viewer, followed_by)),
            blocked_by=DataLoader(load_fn=privacy.blocked_ids),
            viewer_follows=DataLoader(load_fn=profiles.follows_loader(viewer)),
            follow_page=DataLoader(load_fn=profiles.follow_pages_loader(viewer, followed_by)),
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
            follow_count=DataLoader(load_fn=profiles.follow_counts_loader(viewer, followed_by)),
            message_by_id=DataLoader(load_fn=messages.messages_by_id),
            viewer_watches=DataLoader(load_fn=notifications.watches_loader(viewer)),
            author_page=DataLoader(load_fn=messages.author_pages),
            author_count=DataLoader(load_fn=messages.author_message_counts),
            revisions=DataLoader(
                load_fn=messages.revisions_by_message, cache_key_fn=lambda row: row.id
            ),
            warnings_of=DataLoader(load_fn=moderation.warnings_by_user),
        )
        if viewer is not None and blocked is not None:
            loaders.blocked_by.prime(viewer.id, blocked)
        return loaders


@dataclass(frozen=True)
class View:
    """Whom an object is resolved for, with that reader's loaders: the request's viewer,
    or under `profilePreview` a stand-in (objects carry it down to what they nest)."""

    viewer: User | None
    loaders: Loaders


class Incoming(Protocol):
    """The request (or WebSocket handshake) a Context answers, as the schema reads it
    (Starlette's Request and WebSocket fit it as they are)."""

    @property
    def headers(self) -> Mapping[str, str]:
        """The request's headers, looked up by lower-case name."""
        ...

    @property
    def cookies(self) -> Mapping[str, str]:
        """The cookies the request carries."""
        ...


@dataclass(frozen=True)
class CookieChange:
    """A cookie for the response to set (for `max_age` seconds), or to delete (value None).
    Every cookie the site sets is HttpOnly, SameSite=Lax, for the whole site."""

    value: str | None
    max_age: int = 0


@dataclass
class Context:
    """Everything a field needs: who asks (`call`), batch loaders, the request it answers,
    and what the answer should carry besides its data (cookies, the operation's name)."""

    call: Call
    request: Incoming
    request_id: str
    loaders: Loaders
    cookies: dict[str, CookieChange] = field(default_factory=dict)
    operation_name: str | None = None
    over_socket: bool = False  # a WebSocket: no response, so no cookie can be set
    previews: dict[privacy.PreviewAudience, View] = field(default_factory=dict)

    @property
    def viewer(self) -> User | None:
        """The signed-in member, or None."""
        return self.call.viewer

    @property
    def view(self) -> View:
        """The request's own reader."""
        return View(self.call.viewer, self.loaders)

    def preview(self, owner_id: int, audience: privacy.PreviewAudience) -> View:
        """The stand-in reader of a preview of `owner_id`'s profile, with its own loaders
        (once per request and audience)."""
        if audience not in self.previews:
            reader = privacy.preview_reader(owner_id, audience)
            loaders = Loaders.for_viewer(reader.viewer, reader.followed_by)
            self.previews[audience] = View(reader.viewer, loaders)
        return self.previews[audience]

    async def viewer_blocked(self) -> frozenset[int]:
        """The members the viewer blocked (one query per request; none signed out)."""
        viewer = self.call.viewer
        if viewer is None:
            return frozenset()
        return await self.loaders.blocked_by.load(viewer.id)

    def blocks_changed(self) -> None:
        """After the viewer blocked or unblocked someone: the next read of their blocks
        asks the database again (the list read with the session is out of date)."""
        if self.call.viewer is not None:
            self.loaders.blocked_by.clear(self.call.viewer.id)

    def set_cookie(self, name: str, value: str, max_age: int) -> None:
        """Have the response set a cookie (a WebSocket has no response: nothing is set)."""
        self.cookies[name] = CookieChange(value, max_age)

    def delete_cookie(self, name: str) -> None:
        """Have the response delete a cookie."""
        self.cookies[name] = CookieChange(None)

    def sync_cookie(self) -> None:
        """After a sign-in or sign-out: new loaders for the new viewer, and the cookie."""
        self.loaders = Loaders.for_viewer(self.call.viewer)
        self.previews.clear()
        if self.call.new_session_token is not None:
            max_age = self.call.settings.session_days * 86400
            self.set_cookie(SESSION_COOKIE, self.call.new_session_token, max_age)
        elif self.call.end_session:
            self.delete_cookie(SESSION_COOKIE)
