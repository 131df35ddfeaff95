"""Reports: members asking moderators to look at a message, and the queue."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.types import Info

from models.reports import Report as ReportRow
from models.reports import ReportStatus as ReportRowStatus
from resolvers import reports
from resolvers.access import has_staff_powers
from schema import ids
from schema.accounts import User, load_account
from schema.context import Context
from schema.errors import UserError
from schema.messages import Message
from schema.node import Node, register
from schema.pagination import CountedConnection, Edge, PageSize, StartAfter
from schema.payloads import Payload, attempt
from schema.permissions import IsStaff


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
        await reports.audit_private_reads(info.context.call, self.row, [row])
        return Message.of(row)

    @strawberry.field(description="Who reported it; null if their account is gone.")
    async def reporter(self, info: Info[Context, None]) -> User | None:
        return await load_account(info, self.row.reporter_id)  # type: ignore[attr-defined]

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
        description="The reported text as it was when reported, kept after the message is "
        "edited, hidden or deleted. Staff only (empty for anyone else); staff reading a "
        "private one is written to its author's privacyReads."
    )
    async def snapshot(self, info: Info[Context, None]) -> str:
        return await reports.snapshot_shown(info.context.call, self.row)

    @strawberry.field(description="When it was resolved or dismissed; null while open.")
    def resolved_at(self) -> datetime | None:
        return self.row.resolved_at

    @strawberry.field(
        description="Who resolved or dismissed it; null while open. Staff only (null for "
        "the reporter: moderators are not named to members)."
    )
    async def resolved_by(self, info: Info[Context, None]) -> User | None:
        if not has_staff_powers(info.context.call.viewer):
            return None
        return await load_account(info, self.row.resolved_by_id)  # type: ignore[attr-defined]

    @strawberry.field(
        description="The note left when it was resolved; null if none. Staff only (null "
        "for the reporter: it is written for the record, not to the member)."
    )
    def note(self, info: Info[Context, None]) -> str | None:
        return self.row.note if has_staff_powers(info.context.call.viewer) else None

    @strawberry.field(
        description="The message with up to two before and two after it. Staff reading "
        "private ones is written to each author's privacyReads."
    )
    async def context(self, info: Info[Context, None]) -> list[Message]:
        rows = await reports.report_context(await self.row.message)
        await reports.audit_private_reads(info.context.call, self.row, rows)
        return [Message.of(row) for row in rows]


@strawberry.type(description="One report in a list, with its cursor.")
class ReportEdge(Edge[Report]):
    pass


@strawberry.type(description="A page of reports, oldest first.")
class ReportConnection(CountedConnection[ReportEdge]):
    pass


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
    ) -> ReportConnection | None:
        wanted = ReportRowStatus(status.value) if status is not None else None
        call = info.context.call
        page = await reports.report_page(call, wanted, first, after)
        return ReportConnection.of(
            page,
            "Report",
            lambda row: Report(row=row),
            count=lambda: reports.report_count(call, wanted),
        )


@strawberry.input(description="A message to report, and why.")
class ReportMessageInput:
    message_id: strawberry.ID = strawberry.field(description="The message's global ID.")
    reason: str = strawberry.field(description="What is wrong, 3 to 1000 characters.")


@strawberry.type(description="Result of reportMessage.")
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


@strawberry.type
class ReportMutation:
    @strawberry.mutation(description="Report a message you can read to the moderators.")
    async def report_message(
        self, info: Info[Context, None], input: ReportMessageInput
    ) -> ReportMessagePayload | None:
        message_id = ids.decode_pk(input.message_id, "Message")
        return await attempt(
            ReportMessagePayload,
            reports.report_message(info.context.call, message_id, input.reason),
            lambda row: ReportMessagePayload(report=Report(row=row), user_errors=[]),
        )

    @strawberry.mutation(
        description="Moderators: close a report (audited).", permission_classes=[IsStaff]
    )
    async def resolve_report(
        self, info: Info[Context, None], input: ResolveReportInput
    ) -> ResolveReportPayload | None:
        report_id = ids.decode_pk(input.report_id, "Report")
        hide = input.action is ReportAction.HIDE_MESSAGE
        return await attempt(
            ResolveReportPayload,
            reports.resolve_report(info.context.call, report_id, hide, input.note),
            lambda row: ResolveReportPayload(report=Report(row=row), user_errors=[]),
        )


async def _report_node(info: Info[Context, None], key: int) -> Node | None:
    row = await info.context.loaders.report.load(key)
    return Report(row=row) if row is not None else None


register("Report", _report_node)
