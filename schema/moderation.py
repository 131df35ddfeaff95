"""Staff queries: privileged reads of private data, and the audit log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from models.moderation import AuditEntry as AuditRow
from resolvers import moderation
from resolvers.moderation import PrivateRecord
from schema import ids
from schema.accounts import User
from schema.context import Context
from schema.node import Node
from schema.pagination import PageInfo, edges, page_info
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


@strawberry.type(description="One privileged read or moderator action, for accountability.")
class AuditEntry(Node):
    row: strawberry.Private[AuditRow]

    @strawberry.field(description="Opaque global ID of the entry.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(ids.encode("AuditEntry", self.row.id))

    @strawberry.field(description="The staff member who acted; null if their account is gone.")
    async def actor(self, info: Info[Context, None]) -> User | None:
        return await _user(info, self.row.actor_id)  # type: ignore[attr-defined]

    @strawberry.field(description="What was done, e.g. READ_PRIVATE_PROFILE.")
    def action(self) -> str:
        return self.row.action

    @strawberry.field(description="Whose data it concerned; null if none or gone.")
    async def subject(self, info: Info[Context, None]) -> User | None:
        return await _user(info, self.row.subject_id)  # type: ignore[attr-defined]

    @strawberry.field(description="Which fields were read.")
    def fields(self) -> list[str]:
        return list(self.row.fields_read)

    @strawberry.field(description="The reason the staff member gave.")
    def reason(self) -> str | None:
        return self.row.reason

    @strawberry.field(description="When it happened.")
    def created_at(self) -> datetime:
        return self.row.created_at


async def _user(info: Info[Context, None], user_id: int | None) -> User | None:
    if user_id is None:
        return None
    row = await info.context.loaders.user_by_id.load(user_id)
    return User.from_row(row) if row is not None else None


@strawberry.type(description="One audit entry in a list, with its cursor.")
class AuditEntryEdge:
    cursor: str = strawberry.field(description="Pass as `after` to continue after this entry.")
    node: AuditEntry = strawberry.field(description="The entry.")


@strawberry.type(description="A page of audit entries, newest first.")
class AuditEntryConnection:
    edges: list[AuditEntryEdge] = strawberry.field(description="The entries on this page.")
    page_info: PageInfo = strawberry.field(description="Cursors and whether more pages exist.")


def _selected(info: Info[Context, None]) -> list[str]:
    """The private fields a privileged query asks for: what the audit entry records."""
    names: list[str] = []
    for field in info.selected_fields:
        for child in field.selections:
            name = getattr(child, "name", None)
            if name and name not in ("user", "__typename"):
                names.append(name)
    return names


@strawberry.type
class ModerationQuery:
    @strawberry.field(
        description="Moderators and admins: a member's private profile for moderation. "
        "Every read is written to the audit log, with the reason given."
    )
    async def privileged_profile(
        self,
        info: Info[Context, None],
        user_id: Annotated[strawberry.ID, strawberry.argument(description="The member's ID.")],
        reason: Annotated[
            str, strawberry.argument(description="Why you need it (3-500 characters).")
        ],
    ) -> PrivilegedProfile | None:
        moderation.require_staff(info.context.call)  # before looking at the arguments
        record = await moderation.privileged_profile(
            info.context.call, ids.decode_pk(user_id, "User"), reason, _selected(info)
        )
        return PrivilegedProfile(record=record) if record is not None else None

    @strawberry.field(description="Admins: the audit log, newest first.")
    async def audit_log(
        self,
        info: Info[Context, None],
        first: Annotated[int | None, strawberry.argument(description="Page size, 1-100.")] = None,
        after: Annotated[
            str | None, strawberry.argument(description="Cursor to start after.")
        ] = None,
    ) -> AuditEntryConnection:
        page = await moderation.audit_page(info.context.call, first, after)
        found = edges(page, "AuditEntry", lambda row: AuditEntry(row=row))
        return AuditEntryConnection(
            edges=[AuditEntryEdge(cursor=c, node=n) for c, n in found],
            page_info=page_info(page, "AuditEntry"),
        )
