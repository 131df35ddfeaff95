"""Reports: members asking moderators to look at a message, the queue, and closing
a report; staff reads of reported private messages are told to their authors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from models.accounts import User
from models.messages import Message
from models.reports import Report, ReportStatus
from models.rows import MessageRow
from resolvers import notifications
from resolvers.access import STAFF, has_staff_powers, require_staff, require_writer
from resolvers.audit import REASON_MIN, audit
from resolvers.codes import MessageCode, ModerationCode
from resolvers.common import Call, Refused
from resolvers.messages import participant_conversations, readable
from resolvers.pagination import Page, id_page

REPORT_MAX = 1000
CONTEXT_AROUND = 2


async def report_message(call: Call, message_id: int, reason: str) -> Report:
    """Ask moderators to look at a message the viewer can read."""
    viewer = require_writer(call)
    reason = reason.strip()
    if not REASON_MIN <= len(reason) <= REPORT_MAX:
        message = f"Say what is wrong in {REASON_MIN} to {REPORT_MAX} characters."
        raise Refused(ModerationCode.REASON_LENGTH, message, "reason")
    message_row = await readable(viewer, await Message.get_or_none(id=message_id))
    if message_row is None:
        raise Refused(MessageCode.MESSAGE_NOT_FOUND, "There is no such message.", "messageId")
    await call.limits.hit("report-member", str(viewer.id))
    return await Report.create(
        message=message_row,
        reporter=viewer,
        reason=reason,
        snapshot=message_row.body,  # what was reported, whatever happens to the message
        **call.ip_columns,
    )


async def report_page(
    call: Call, status: ReportStatus | None, first: int | None, after: str | None
) -> Page[Report]:
    """Reports, oldest first, optionally of one status (staff only). Reading the queue
    shows reported private messages, so each listing is audited."""
    staff = require_staff(call)
    query = _queue(status)
    page: Page[Report] = await id_page(query, "Report", first, after, newest_first=False)
    if page.rows:
        await audit(staff, "READ_REPORTS", None, [f"report:{r.id}" for r in page.rows], None)
    return page


def reports_loader(
    viewer: User | None,
) -> Callable[[Sequence[int]], Awaitable[list[Report | None]]]:
    """Batch for one request: each report if the viewer may see it, else None. Staff see
    every report; the member who made one sees it while they can still read its message
    (a member who left the conversation no longer sees its messages through a report)."""

    async def reports(ids: Sequence[int]) -> list[Report | None]:
        if viewer is None:
            return [None] * len(ids)
        staff = has_staff_powers(viewer)
        query = (
            Report.filter(id__in=ids) if staff else Report.filter(id__in=ids, reporter_id=viewer.id)
        )
        rows = await query.select_related("message")
        if not staff:
            private = [r.message.conversation_id for r in rows if r.message.thread_id is None]  # type: ignore[attr-defined]
            mine = await participant_conversations(viewer, private)
            rows = [
                r
                for r in rows
                if r.message.thread_id is not None or r.message.conversation_id in mine  # type: ignore[attr-defined]
            ]
        found = {row.id: row for row in rows}
        return [found.get(id_) for id_ in ids]

    return reports


async def report_count(call: Call, status: ReportStatus | None) -> int:
    """How many reports the queue holds, of one status or all (staff only). A count shows
    no message, so it is not audited."""
    require_staff(call)
    return await _queue(status).count()


def _queue(status: ReportStatus | None) -> Any:
    return Report.all() if status is None else Report.filter(status=status)


READ_REPORTED = "READ_REPORTED_CONVERSATION"


async def audit_private_reads(
    call: Call, report: Report, shown: Sequence[Message | MessageRow]
) -> None:
    """Tell each member whose private (conversation) message staff are shown through a
    report: an entry in their privacyReads naming the messages and the report. Every
    staff path that shows a reported message calls this. One entry per author and
    report in a request: showing more of the same author's messages extends it before
    the answer leaves. The staff member's own messages need none."""
    staff = call.viewer
    if staff is None or staff.role not in STAFF:
        return  # the reporter, a participant, sees what the conversation shows them
    by_author: dict[int, set[int]] = {}
    for message in shown:
        author = message.author_id  # type: ignore[attr-defined]
        if message.conversation_id is not None and author not in (None, staff.id):  # type: ignore[attr-defined]
            by_author.setdefault(author, set()).add(message.id)
    async with call.audit_lock:  # sibling fields of one report resolve concurrently
        for author, ids in by_author.items():
            entry = call.private_reads.get((report.id, author))
            if entry is None:
                fields = _message_fields(ids)
                entry = await audit(staff, READ_REPORTED, author, fields, f"report:{report.id}")
                call.private_reads[(report.id, author)] = entry
            elif not set(_message_fields(ids)) <= set(entry.fields_read):
                known = {int(name.partition(":")[2]) for name in entry.fields_read}
                entry.fields_read = _message_fields(known | ids)
                await entry.save(update_fields=["fields_read"])


def _message_fields(ids: set[int]) -> list[str]:
    return [f"message:{id_}" for id_ in sorted(ids)]


async def report_context(message: Message) -> list[Message]:
    """The reported message with the few around it in its thread or conversation."""
    where = (
        {"thread_id": message.thread_id}  # type: ignore[attr-defined]
        if message.thread_id is not None  # type: ignore[attr-defined]
        else {"conversation_id": message.conversation_id}  # type: ignore[attr-defined]
    )
    before = await Message.filter(**where, id__lt=message.id).order_by("-id").limit(CONTEXT_AROUND)
    after = await Message.filter(**where, id__gt=message.id).order_by("id").limit(CONTEXT_AROUND)
    return [*reversed(before), message, *after]


async def resolve_report(call: Call, report_id: int, hide: bool, note: str | None) -> Report:
    """Close a report: dismiss it, or hide the message it is about."""
    staff = require_staff(call)
    report = await Report.get_or_none(id=report_id).select_related("message")
    if report is None:
        raise Refused(ModerationCode.REPORT_NOT_FOUND, "There is no such report.", "reportId")
    now = datetime.now(UTC)
    report.status = ReportStatus.RESOLVED if hide else ReportStatus.DISMISSED
    report.resolved_at, report.resolved_by, report.note = now, staff, (note or "")[:1000] or None
    await report.save(update_fields=["status", "resolved_at", "resolved_by_id", "note"])
    newly_hidden = hide and report.message.hidden_at is None
    if newly_hidden:
        report.message.hidden_at = now  # the payload shows the message as it is now
        await Message.filter(id=report.message.id).update(hidden_at=now)
    action = "HIDE_REPORTED_MESSAGE" if hide else "DISMISS_REPORT"
    await audit(staff, action, report.message.author_id, [f"report:{report.id}"], note)  # type: ignore[attr-defined]
    await _tell_of_resolution(call, report, hide, newly_hidden)
    return report


async def _tell_of_resolution(call: Call, report: Report, hide: bool, newly_hidden: bool) -> None:
    """MODERATION for the reporter (their report was resolved) and, when the message was
    hidden now, for its author (the reporter is never named to them)."""
    outcome = "the message was hidden" if hide else "no action was needed"
    reporter_text = f"Your report was resolved: {outcome}."
    await notifications.moderated(call, report.reporter_id, reporter_text, report.message)  # type: ignore[attr-defined]
    if newly_hidden:
        author_text = "A moderator hid your message after a report."
        await notifications.moderated(call, report.message.author_id, author_text, report.message)  # type: ignore[attr-defined]


async def snapshot_shown(call: Call, report: Report) -> str:
    """The reported text as it was when reported: for staff (audited for a private
    message, like every staff read of one); empty for anyone else."""
    if not has_staff_powers(call.viewer):
        return ""
    await audit_private_reads(call, report, [await report.message])
    return report.snapshot


async def may_read_revisions(call: Call, message: Message | MessageRow) -> bool:
    """May the viewer read a message's earlier texts? Its author always; staff for a
    public message, and for a private one only once it was reported (the read is then
    audited for its author). Nobody else."""
    viewer = call.viewer
    if viewer is None:
        return False
    if message.author_id == viewer.id:  # type: ignore[attr-defined]
        return True
    if not has_staff_powers(viewer):
        return False
    if message.conversation_id is None:  # type: ignore[attr-defined]
        return True
    report = await Report.filter(message_id=message.id).order_by("id").first()
    if report is None:
        return False
    await audit_private_reads(call, report, [message])
    return True
