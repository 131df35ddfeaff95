"""Members: the User type, the directory, registration, email confirmation and
changing the address."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from models import accounts as models
from models.base import Role as RoleValue
from models.rows import AccountRow
from resolvers import (
    access,
    accounts,
    audit,
    blocks,
    messages,
    notifications,
    policy,
    privacy,
    profiles,
    rights,
    sessions,
)
from resolvers.members import Member
from resolvers.pagination import Page
from resolvers.privacy import Owner, Setting
from schema import ids
from schema.context import Context, View
from schema.errors import UserError
from schema.node import Node, register
from schema.pagination import Count, CountedConnection, Edge, PageSize, StartAfter
from schema.payloads import Payload, attempt
from schema.permissions import OwnerOnly, Private
from schema.privacy import PrivacySettings
from schema.profiles import Profile, follow_page

if TYPE_CHECKING:
    from schema.audit import AuditEntryConnection
    from schema.messages import MessageConnection
    from schema.moderation import Warning
    from schema.notifications import NotificationSetting
    from schema.policy import Consent
    from schema.rights import CorrectionRequest
    from schema.sessions import Session

LAST_SEEN_MINUTES = 15
LazySession = Annotated["Session", strawberry.lazy("schema.sessions")]
LazyConsent = Annotated["Consent", strawberry.lazy("schema.policy")]
LazyCorrection = Annotated["CorrectionRequest", strawberry.lazy("schema.rights")]
LazyAuditConnection = Annotated["AuditEntryConnection", strawberry.lazy("schema.audit")]
LazySetting = Annotated["NotificationSetting", strawberry.lazy("schema.notifications")]
LazyWarning = Annotated["Warning", strawberry.lazy("schema.moderation")]
LazyMessageConnection = Annotated["MessageConnection", strawberry.lazy("schema.messages")]


@strawberry.enum(description="What a member may do on the site.")
class Role(Enum):
    MEMBER = strawberry.enum_value(RoleValue.MEMBER.value, description="A member.")
    MODERATOR = strawberry.enum_value(
        RoleValue.MODERATOR.value, description="Moderates threads and reports."
    )
    ADMIN = strawberry.enum_value(RoleValue.ADMIN.value, description="Runs the site.")


@strawberry.enum(description="Whom `profilePreview` shows your profile as.")
class PreviewAudience(Enum):
    ANONYMOUS = strawberry.enum_value(
        privacy.PreviewAudience.ANONYMOUS.value, description="A signed-out reader."
    )
    MEMBER = strawberry.enum_value(
        privacy.PreviewAudience.MEMBER.value,
        description="A confirmed member you do not follow.",
    )
    FOLLOWED_MEMBER = strawberry.enum_value(
        privacy.PreviewAudience.FOLLOWED_MEMBER.value,
        description="A confirmed member you follow.",
    )


@strawberry.type(description="A member of the forum. Personal fields follow their privacy.")
class User(Node):
    id: strawberry.ID = strawberry.field(description="Opaque global ID of the member.")
    username: str = strawberry.field(
        description="Public, unique name (3-30 letters, digits, _ - .)."
    )
    # The account: a model, or on pages the plain row the members batch read.
    row: strawberry.Private[models.User | AccountRow]
    # Loaded with the row on pages (one statement for a batch): the privacy decision,
    # the profile and the follow then need no further query or await.
    member: strawberry.Private[Member | None] = None
    # Whom every field is resolved for: None for the request's viewer; a preview's
    # stand-in under profilePreview, carried on to the members and profile it nests.
    view: strawberry.Private[View | None] = None

    def _view(self, info: Info[Context, None]) -> View:
        return self.view if self.view is not None else info.context.view

    def _me(self, info: Info[Context, None]) -> models.User:
        """For owner-only fields: the member as their session loaded them (the owner is
        the reader there, and `row` may be a page's plain row)."""
        viewer = self._view(info).viewer
        assert viewer is not None and viewer.id == self.row.id  # OwnerOnly let it through
        return viewer

    @property
    def owner_id(self) -> int:
        """Whose data this is, for the Private and OwnerOnly extensions."""
        return self.row.id

    @property
    def owner(self) -> Owner | None:
        """The owner's privacy, when it came with the row."""
        return self.member.owner if self.member is not None else None

    @strawberry.field(description="What the member may do on the site.")
    def role(self) -> Role:
        return Role(self.row.role.value)

    @strawberry.field(description="When the member registered.")
    def joined_at(self) -> datetime:
        return self.row.joined_at

    @strawberry.field(
        description="Email address; null unless its owner shares it with you.",
        extensions=[Private(Setting.EMAIL)],
    )
    def email(self) -> str | None:
        return self.row.email

    @strawberry.field(
        description="Date of birth; null unless shared with you.",
        extensions=[Private(Setting.DATE_OF_BIRTH)],
    )
    def date_of_birth(self) -> date | None:
        return self.row.date_of_birth

    @strawberry.field(
        description="Age in whole years; null unless shared with you.",
        extensions=[Private(Setting.AGE)],
    )
    def age(self) -> int | None:
        return accounts.age_on(self.row.date_of_birth, datetime.now(UTC).date())

    @strawberry.field(
        description=f"When the member was last active, to the {LAST_SEEN_MINUTES} minutes; "
        "null unless shared with you or never seen.",
        extensions=[Private(Setting.LAST_SEEN)],
    )
    def last_seen_at(self) -> datetime | None:
        seen = self.row.last_seen_at
        if seen is None:
            return None
        # Coarse on purpose: a precise stamp would let anyone track a member's activity.
        return seen.replace(
            minute=seen.minute - seen.minute % LAST_SEEN_MINUTES, second=0, microsecond=0
        )

    @strawberry.field(description="What the member tells others; each field has its own audience.")
    def profile(self, info: Info[Context, None]) -> Profile:
        if self.member is not None:
            profile, owner = self.member.profile, self.member.owner
            return Profile(owner_id=self.row.id, row=profile, owner=owner, view=self.view)
        return self._load_profile(info)  # type: ignore[return-value]  # awaited by the executor

    async def _load_profile(self, info: Info[Context, None]) -> Profile:
        row = await self._view(info).loaders.profile_by_user.load(self.row.id)
        return Profile(owner_id=self.row.id, row=row, view=self.view)

    @strawberry.field(
        description="Members following this member, in follow order; null unless shared with you.",
        extensions=[Private(Setting.FOLLOWERS)],
    )
    async def followers(
        self, info: Info[Context, None], first: PageSize = None, after: StartAfter = None
    ) -> UserConnection | None:
        return await follow_page(self._view(info), self.row.id, "followers", first, after)

    @strawberry.field(
        description="Members this member follows, in follow order; null unless shared with you.",
        extensions=[Private(Setting.FOLLOWING)],
    )
    async def following(
        self, info: Info[Context, None], first: PageSize = None, after: StartAfter = None
    ) -> UserConnection | None:
        return await follow_page(self._view(info), self.row.id, "following", first, after)

    @strawberry.field(
        description="The member's privacy settings; null for everyone but the member.",
        extensions=[OwnerOnly()],
    )
    async def privacy_settings(self, info: Info[Context, None]) -> PrivacySettings | None:
        return PrivacySettings(row=await info.context.loaders.settings_by_user.load(self.row.id))

    @strawberry.field(description="Do you follow this member? False when signed out.")
    def viewer_is_following(self, info: Info[Context, None]) -> bool:
        if self.member is not None:
            return self.member.viewer_follows
        return self._view(info).loaders.viewer_follows.load(self.row.id)  # type: ignore[return-value]

    @strawberry.field(
        description="May you start a conversation with this member (their whoCanMessage)?"
    )
    async def viewer_can_message(self, info: Info[Context, None]) -> bool:
        view = self._view(info)
        if view.viewer is None or privacy.is_owner(view.viewer, self.row.id):
            return False  # no query for a question with a known answer
        owner = self.owner or await view.loaders.owner_by_id.load(self.row.id)
        return privacy.can_message(view.viewer, owner)

    @strawberry.field(
        description="Have you blocked this member? False when signed out and for yourself."
    )
    async def viewer_has_blocked(self, info: Info[Context, None]) -> bool:
        if self.member is not None:
            return self.member.owner.blocked_by_viewer
        view = self._view(info)
        if view.viewer is None:
            return False
        return self.row.id in await view.loaders.blocked_by.load(view.viewer.id)

    @strawberry.field(
        description="The members you blocked, most recent first; owner only.",
        extensions=[OwnerOnly()],
    )
    async def blocked_members(
        self, info: Info[Context, None], first: PageSize = None, after: StartAfter = None
    ) -> UserConnection | None:
        page = await blocks.blocked_page(self.row.id, first, after)
        found = await info.context.loaders.member_by_id.load_many(page.rows)
        present = [(k, m) for k, m in zip(page.keys, found, strict=True) if m is not None]
        loaded = Page(
            [m for _, m in present], [k for k, _ in present], page.has_next, page.has_previous
        )
        owner_id = self.row.id
        return UserConnection.of(
            loaded, "Block", User.of_member, lambda: blocks.blocked_count(owner_id)
        )

    @strawberry.field(
        description="Your unread notifications (those `notifications` lists); owner only.",
        extensions=[OwnerOnly()],
    )
    async def unread_notification_count(self, info: Info[Context, None]) -> int | None:
        return await notifications.unread_count(self._me(info), await info.context.viewer_blocked())

    @strawberry.field(
        description="How you hear of each kind of notification; owner only.",
        extensions=[OwnerOnly()],
    )
    async def notification_settings(self) -> list[LazySetting] | None:
        from schema.notifications import NotificationSetting

        found = await notifications.settings_of(self.row.id)
        return [NotificationSetting.of(kind, choice) for kind, choice in found]

    @strawberry.field(
        description="Until when the member may not write; for the member and moderators only."
    )
    def suspended_until(self, info: Info[Context, None]) -> datetime | None:
        return access.suspension_shown(self._view(info).viewer, self.row)

    @strawberry.field(
        description="Your signed-in browsers, newest first; owner only.", extensions=[OwnerOnly()]
    )
    async def sessions(self, info: Info[Context, None]) -> list[LazySession] | None:
        from schema.sessions import Session

        current = info.context.call.session
        rows = await sessions.my_sessions(info.context.call)
        return [Session(row=row, current_id=current.id if current else None) for row in rows]

    @strawberry.field(
        description="Do you receive newsletters? Owner only.", extensions=[OwnerOnly()]
    )
    def newsletter(self) -> bool | None:
        return self.row.newsletter

    @strawberry.field(
        description="Your consent history, newest first; owner only.", extensions=[OwnerOnly()]
    )
    async def consents(self, info: Info[Context, None]) -> list[LazyConsent] | None:
        from schema.policy import Consent

        return [Consent(row=row) for row in await policy.my_consents(info.context.call)]

    @strawberry.field(
        description="Have you accepted the privacy policy in force? Owner only; when false, "
        "read `privacyPolicy` and call acceptPrivacyPolicy.",
        extensions=[OwnerOnly()],
    )
    async def policy_accepted(self, info: Info[Context, None]) -> bool | None:
        return await policy.policy_accepted(self._me(info))

    @strawberry.field(
        description="Your correction requests, newest first; owner only.",
        extensions=[OwnerOnly()],
    )
    async def correction_requests(self, info: Info[Context, None]) -> list[LazyCorrection] | None:
        from schema.rights import CorrectionRequest

        found = await rights.my_corrections(self._me(info))
        return [CorrectionRequest(row=row) for row in found]

    @strawberry.field(
        description="Staff reads of your private data, newest first; owner only.",
        extensions=[OwnerOnly()],
    )
    async def privacy_reads(
        self,
        first: PageSize = None,
        after: Annotated[str | None, strawberry.argument(description="Cursor.")] = None,
    ) -> LazyAuditConnection | None:
        from schema.audit import AuditEntryConnection

        page = await audit.reads_of(self.row.id, first, after)
        return AuditEntryConnection.of_entries(page)

    @strawberry.field(
        description="Your own profile exactly as that audience sees it: every field "
        "(nested members and lists too) decided by the same privacy rules as any read, "
        "for a stand-in reader of that audience. Owner only: null for anyone else.",
        extensions=[OwnerOnly()],
    )
    async def profile_preview(
        self,
        info: Info[Context, None],
        audience: Annotated[
            PreviewAudience, strawberry.argument(name="as", description="The audience.")
        ],
    ) -> User | None:
        view = info.context.preview(self.row.id, privacy.PreviewAudience(audience.value))
        member = await view.loaders.member_by_id.load(self.row.id)
        if member is None:  # an account never confirmed: the row as it is
            return User.from_row(self.row, view)
        return User.of_member(member, view)

    @strawberry.field(
        description="Is the member suspended now? For the member and staff only (null for "
        "others); suspendedUntil is null for a suspension until lifted."
    )
    def suspended(self, info: Info[Context, None]) -> bool | None:
        return access.suspension_state(self._view(info).viewer, self.row)

    @strawberry.field(
        description="Formal warnings staff gave the member, oldest first; the member and "
        "staff only (null for others)."
    )
    async def warnings(self, info: Info[Context, None]) -> list[LazyWarning] | None:
        from schema.moderation import Warning

        if not access.sees_warnings(self._view(info).viewer, self.row.id):
            return None
        rows = await self._view(info).loaders.warnings_of.load(self.row.id)
        return [Warning(reason=row.reason, created_at=row.created_at) for row in rows]

    @strawberry.field(
        description="The member's messages in public threads, newest first: never deleted "
        "ones, hidden ones for staff only."
    )
    async def messages(
        self,
        info: Info[Context, None],
        first: PageSize = None,
        after: Annotated[str | None, strawberry.argument(description="Cursor.")] = None,
    ) -> LazyMessageConnection:
        from schema.messages import MessageConnection

        view = self._view(info)
        staff = access.has_staff_powers(view.viewer)
        key = messages.AuthorPageKey(self.row.id, first, after, with_hidden=staff)
        page = await view.loaders.author_page.load(key)
        count_key = (self.row.id, staff)
        return MessageConnection.of_messages(
            page, lambda: view.loaders.author_count.load(count_key)
        )

    @classmethod
    def from_row(cls, row: models.User | AccountRow, view: View | None = None) -> User:
        """The type for a database row (resolved for `view`, default the request's)."""
        user_id = strawberry.ID(ids.encode("User", row.id))
        return cls(id=user_id, username=row.username, row=row, view=view)

    @classmethod
    def of_member(cls, member: Member, view: View | None = None) -> User:
        """The type for a member loaded with their profile and privacy (by `view`'s
        loaders when given)."""
        row = member.row
        user_id = strawberry.ID(ids.encode("User", row.id))
        return cls(id=user_id, username=row.username, row=row, member=member, view=view)


async def load_account(info: Info[Context, None], user_id: int | None) -> User | None:
    """An account by database id through the request's loader (any account, unlike the
    members loader: staff pages name unconfirmed and deleted accounts too)."""
    if user_id is None:
        return None
    row = await info.context.loaders.user_by_id.load(user_id)
    return User.from_row(row) if row is not None else None


@strawberry.type(description="One member in a list, with its cursor.")
class UserEdge(Edge[User]):
    pass


@strawberry.type(description="A page of members.")
class UserConnection(CountedConnection[UserEdge]):
    @classmethod
    def of_rows(cls, page: Page[models.User], kind: str, count: Count) -> UserConnection:
        """A connection of loaded member rows."""
        return cls.of(page, kind, User.from_row, count)


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


@strawberry.type(
    description="Result of register. A new member opens the mailed link, then signs in "
    "with `login`."
)
class RegisterPayload(Payload):
    user_errors: list[UserError] = strawberry.field(description="Why nothing was created.")


@strawberry.input(description="The token from a confirmation email.")
class ConfirmEmailInput:
    token: str = strawberry.field(description="The `token=` value of the emailed link.")


@strawberry.type(description="Result of confirmEmail.")
class ConfirmEmailPayload(Payload):
    user: User | None = strawberry.field(description="The confirmed member; null if refused.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing was confirmed.")


@strawberry.input(description="Where to send a fresh confirmation link.")
class ResendConfirmationInput:
    email: str = strawberry.field(description="The address the account registered with.")


@strawberry.type(description="Result of resendConfirmation: the same for every address.")
class ResendConfirmationPayload(Payload):
    user_errors: list[UserError] = strawberry.field(description="Always empty.")


@strawberry.type(description="Result of changeEmail.")
class ChangeEmailPayload(Payload):
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.input(description="Move your account to another address.")
class ChangeEmailInput:
    password: str = strawberry.field(description="Your password, to prove it is you.")
    new_email: str = strawberry.field(description="The new address; it must confirm by email.")


@strawberry.type
class AccountQuery:
    @strawberry.field(description="The signed-in member, or null.")
    async def viewer(self, info: Info[Context, None]) -> User | None:
        viewer = info.context.viewer
        return User.from_row(viewer) if viewer is not None else None

    @strawberry.field(
        description="Members listed in the directory, in join order; `search` matches part "
        "of a username (nothing else)."
    )
    async def users(
        self,
        first: PageSize = None,
        after: StartAfter = None,
        search: Annotated[
            str | None, strawberry.argument(description="Part of a username, any case.")
        ] = None,
    ) -> UserConnection:
        page = await profiles.users_page(search, first, after)
        return UserConnection.of_rows(page, "User", lambda: profiles.users_count(search))

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
        description="Register: the username is held and a confirmation link is mailed; the "
        "account exists once the link is opened (until then nothing about it shows). Says "
        "the same for an address that already has an account (whose owner is told by email)."
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
        return await attempt(RegisterPayload, accounts.register(info.context.call, data))

    @strawberry.mutation(
        description="Confirm an email address with the mailed token; a registration's "
        "token creates the account."
    )
    async def confirm_email(
        self, info: Info[Context, None], input: ConfirmEmailInput
    ) -> ConfirmEmailPayload:
        return await attempt(
            ConfirmEmailPayload,
            accounts.confirm_email(info.context.call, input.token),
            lambda row: ConfirmEmailPayload(user=User.from_row(row), user_errors=[]),
        )

    @strawberry.mutation(
        description="Mail a new confirmation link to an address whose registration waits "
        "for one (the earlier link stops working). The answer is the same for every address."
    )
    async def resend_confirmation(
        self, info: Info[Context, None], input: ResendConfirmationInput
    ) -> ResendConfirmationPayload:
        work = accounts.resend_confirmation(info.context.call, input.email)
        return await attempt(ResendConfirmationPayload, work)

    @strawberry.mutation(
        description="Move your account to a new address, once a link mailed there is opened. "
        "The old address is told."
    )
    async def change_email(
        self, info: Info[Context, None], input: ChangeEmailInput
    ) -> ChangeEmailPayload | None:
        work = accounts.change_email(info.context.call, input.password, input.new_email)
        return await attempt(ChangeEmailPayload, work)


async def _user_node(info: Info[Context, None], key: int) -> Node | None:
    member = await info.context.loaders.member_by_id.load(key)
    return User.of_member(member) if member is not None else None


register("User", _user_node)
