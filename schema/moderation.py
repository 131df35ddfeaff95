"""Staff queries: privileged reads of private data, and the audit log."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.types import Info
from strawberry.types.nodes import SelectedField, Selection

from models.audit import AuditEntry as AuditRow
from models.reports import Report as ReportRow
from models.reports import ReportStatus as ReportRowStatus
from resolvers import audit, moderation
from resolvers.moderation import PrivateRecord
from resolvers.pagination import Page
from schema import ids
from schema.accounts import User
from schema.context import Context
from schema.errors import UserError
from schema.messages import Message
from schema.node import Node
from schema.pagination import PageInfo, PageSize, StartAfter, edges, page_info
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

    @classmethod
    def of(cls, page: Page[AuditRow]) -> AuditEntryConnection:
        """The connection for a page of audit rows."""
        found = edges(page, "AuditEntry", lambda row: AuditEntry(row=row))
        return cls(
            edges=[AuditEntryEdge(cursor=c, node=n) for c, n in found],
            page_info=page_info(page, "AuditEntry"),
        )


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
class PrivilegedQuery:
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

    @strawberry.field(
        description="Admins: the audit log, newest first.", permission_classes=[IsAdmin]
    )
    async def audit_log(
        self,
        info: Info[Context, None],
        first: PageSize = None,
        after: StartAfter = None,
    ) -> AuditEntryConnection:
        return AuditEntryConnection.of(await audit.audit_page(info.context.call, first, after))


@strawberry.enum(description="Where a report stands.")
class ReportStatus(Enum):
    OPEN = strawberry.enum_value("open", description="Waiting for a moderator.")
    RESOLVED = strawberry.enum_value("resolved", description="Acted on: the message was hidden.")
    DISMISSED = strawberry.enum_value("dismissed", description="Looked at; nothing to do.")


@strawberry.enum(description="What a moderator does with a report.")
class ReportAction(Enum):
    DISMISS = strawberry.enum_value("dismiss", description="Close it; the message stays.")
    HIDE_MESSAGE = strawberry.enum_value("hide", description="Hide the reported message.")


@strawberry.type(
    description="A member's report of a message. A private message is visible to moderators "
    "only through a report, with the few messages around it."
)
class Report(Node):
    row: strawberry.Private[ReportRow]

    @strawberry.field(description="Opaque global ID of the report.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(ids.encode("Report", self.row.id))

    @strawberry.field(
        description="The reported message. Staff reading a private one is written to its "
        "author's privacyReads."
    )
    async def message(self, info: Info[Context, None]) -> Message:
        row = await self.row.message
        await moderation.audit_private_reads(info.context.call, self.row, [row])
        return Message.of(row)

    @strawberry.field(description="Who reported it; null if their account is gone.")
    async def reporter(self, info: Info[Context, None]) -> User | None:
        return await _user(info, self.row.reporter_id)  # type: ignore[attr-defined]

    @strawberry.field(description="What the reporter says is wrong.")
    def reason(self) -> str:
        return self.row.reason

    @strawberry.field(description="Where the report stands.")
    def status(self) -> ReportStatus:
        return ReportStatus(self.row.status.value)

    @strawberry.field(description="When it was made.")
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(
        description="The message with up to two before and two after it. Staff reading "
        "private ones is written to each author's privacyReads."
    )
    async def context(self, info: Info[Context, None]) -> list[Message]:
        rows = await moderation.report_context(await self.row.message)
        await moderation.audit_private_reads(info.context.call, self.row, rows)
        return [Message.of(row) for row in rows]


@strawberry.type(description="One report in a list, with its cursor.")
class ReportEdge:
    cursor: str = strawberry.field(description="Keyset cursor of this report.")
    node: Report = strawberry.field(description="The report.")


@strawberry.type(description="A page of reports, oldest first.")
class ReportConnection:
    edges: list[ReportEdge] = strawberry.field(description="The reports on this page.")
    page_info: PageInfo = strawberry.field(description="Cursors and whether more pages exist.")


@strawberry.type
class ReportQuery:
    @strawberry.field(
        description="Moderators and admins: reports, oldest first.", permission_classes=[IsStaff]
    )
    async def reports(
        self,
        info: Info[Context, None],
        first: PageSize = None,
        after: StartAfter = None,
        status: Annotated[
            ReportStatus | None, strawberry.argument(description="Only reports in this state.")
        ] = None,
    ) -> ReportConnection:
        wanted = ReportRowStatus(status.value) if status is not None else None
        page = await moderation.report_page(info.context.call, wanted, first, after)
        found = edges(page, "Report", lambda row: Report(row=row))
        return ReportConnection(
            edges=[ReportEdge(cursor=c, node=n) for c, n in found],
            page_info=page_info(page, "Report"),
        )


@strawberry.input(description="A message to report, and why.")
class ReportMessageInput:
    message_id: strawberry.ID = strawberry.field(description="The message's global ID.")
    reason: str = strawberry.field(description="What is wrong, 3 to 1000 characters.")


@strawberry.type(description="Result of reportMessage and resolveReport.")
class ReportMessagePayload(Payload):
    report: Report | None = strawberry.field(description="The report; null if refused.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.input(description="How a moderator closes a report.")
class ResolveReportInput:
    report_id: strawberry.ID = strawberry.field(description="The report's global ID.")
    action: ReportAction = strawberry.field(description="Dismiss it, or hide the message.")
    note: str | None = strawberry.field(default=None, description="For the record.")


@strawberry.type(description="Result of resolveReport.")
class ResolveReportPayload(Payload):
    report: Report | None = strawberry.field(description="The report; null if refused.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


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
    until: datetime = strawberry.field(description="End of the suspension (with time zone).")
    reason: str = strawberry.field(description="Told to the member; 3 to 500 characters.")


@strawberry.input(description="Whose suspension to lift.")
class UnsuspendMemberInput:
    user_id: strawberry.ID = strawberry.field(description="The member's global ID.")


@strawberry.type(description="Result of suspendMember and unsuspendMember.")
class SuspendMemberPayload(Payload):
    user: User | None = strawberry.field(description="The member; null if refused.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type(description="Result of unsuspendMember.")
class UnsuspendMemberPayload(Payload):
    user: User | None = strawberry.field(description="The member; null if refused.")
    user_errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type
class ModerationMutation:
    @strawberry.mutation(description="Report a message you can read to the moderators.")
    async def report_message(
        self, info: Info[Context, None], input: ReportMessageInput
    ) -> ReportMessagePayload:
        message_id = ids.decode_pk(input.message_id, "Message")
        return await attempt(
            ReportMessagePayload,
            moderation.report_message(info.context.call, message_id, input.reason),
            lambda row: ReportMessagePayload(report=Report(row=row), user_errors=[]),
        )

    @strawberry.mutation(
        description="Moderators: close a report (audited).", permission_classes=[IsStaff]
    )
    async def resolve_report(
        self, info: Info[Context, None], input: ResolveReportInput
    ) -> ResolveReportPayload:
        report_id = ids.decode_pk(input.report_id, "Report")
        hide = input.action is ReportAction.HIDE_MESSAGE
        return await attempt(
            ResolveReportPayload,
            moderation.resolve_report(info.context.call, report_id, hide, input.note),
            lambda row: ResolveReportPayload(report=Report(row=row), user_errors=[]),
        )

    @strawberry.mutation(
        description="Moderators: hide a message (audited).", permission_classes=[IsStaff]
    )
    async def hide_message(
        self, info: Info[Context, None], input: HideMessageInput
    ) -> HideMessagePayload:
        message_id = ids.decode_pk(input.message_id, "Message")
        return await attempt(
            HideMessagePayload,
            moderation.hide_message(info.context.call, message_id, input.reason),
            lambda row: HideMessagePayload(message=Message.of(row), user_errors=[]),
        )

    @strawberry.mutation(
        description="Moderators: stop a member writing until a time; they are told why.",
        permission_classes=[IsStaff],
    )
    async def suspend_member(
        self, info: Info[Context, None], input: SuspendMemberInput
    ) -> SuspendMemberPayload:
        user_id = ids.decode_pk(input.user_id, "User")
        return await attempt(
            SuspendMemberPayload,
            moderation.suspend(info.context.call, user_id, input.until, input.reason),
            lambda row: SuspendMemberPayload(user=User.from_row(row), user_errors=[]),
        )

    @strawberry.mutation(description="Moderators: lift a suspension.", permission_classes=[IsStaff])
    async def unsuspend_member(
        self, info: Info[Context, None], input: UnsuspendMemberInput
    ) -> UnsuspendMemberPayload:
        user_id = ids.decode_pk(input.user_id, "User")
        return await attempt(
            UnsuspendMemberPayload,
            moderation.unsuspend(info.context.call, user_id),
            lambda row: UnsuspendMemberPayload(user=User.from_row(row), user_errors=[]),
        )


@strawberry.type
class ModerationQuery(PrivilegedQuery, ReportQuery):
    pass
