"""The audit log: writing entries, staff reasons, and reading the log's pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from models.accounts import User
from models.audit import AuditEntry
from resolvers.access import is_admin, require_admin
from resolvers.codes import ModerationCode
from resolvers.common import BadInput, Call, Refused, in_key_order
from resolvers.pagination import Page, id_page

REASON_MIN, REASON_MAX = 3, 500
REASON_RULE = f"Give a reason of {REASON_MIN} to {REASON_MAX} characters."


async def audit(
    actor: User, action: str, subject_id: int | None, fields: Sequence[str], reason: str | None
) -> AuditEntry:
    """Append an entry to the audit log."""
    return await AuditEntry.create(
        actor_id=actor.id,
        action=action,
        subject_id=subject_id,
        fields_read=list(fields),
        reason=reason,
    )


async def audit_each(
    actor: User, action: str, subject_ids: Sequence[int], fields: Sequence[str], reason: str
) -> None:
    """Append one entry per subject, in one statement."""
    if subject_ids:
        await AuditEntry.bulk_create(
            [
                AuditEntry(
                    actor_id=actor.id,
                    action=action,
                    subject_id=subject_id,
                    fields_read=list(fields),
                    reason=reason,
                )
                for subject_id in subject_ids
            ]
        )


def _fit(reason: str) -> str | None:
    reason = reason.strip()
    return reason if REASON_MIN <= len(reason) <= REASON_MAX and "\x00" not in reason else None


def staff_reason(reason: str) -> str:
    """A staff member's stated reason for a privileged read, or BadInput when it is
    missing or too long (a query has no userErrors)."""
    fit = _fit(reason)
    if fit is None:
        raise BadInput(REASON_RULE)
    return fit


def action_reason(reason: str | None) -> str:
    """A staff member's stated reason for an action (a mutation), or a Refused
    REASON_INVALID on the `reason` field when it is missing or too long."""
    fit = _fit(reason or "")
    if fit is None:
        raise Refused(ModerationCode.REASON_INVALID, REASON_RULE, "reason")
    return fit


async def audit_page(call: Call, first: int | None, after: str | None) -> Page[AuditEntry]:
    """The audit log, newest first (admins only)."""
    require_admin(call)
    return await id_page(AuditEntry.all(), "AuditEntry", first, after, newest_first=True)


async def reads_of(user_id: int, first: int | None, after: str | None) -> Page[AuditEntry]:
    """Staff reads of and actions on one member's data, newest first (for that member)."""
    query = AuditEntry.filter(subject_id=user_id)
    return await id_page(query, "AuditEntry", first, after, newest_first=True)


def entries_loader(
    viewer: User | None,
) -> Callable[[Sequence[int]], Awaitable[list[AuditEntry | None]]]:
    """Batch for one request: each entry if the viewer may see it (admins every entry, a
    member the entries about them, as in their privacyReads), else None."""

    async def entries(ids: Sequence[int]) -> list[AuditEntry | None]:
        if viewer is None:
            return [None] * len(ids)
        query = AuditEntry.filter(id__in=ids)
        if not is_admin(viewer):
            query = query.filter(subject_id=viewer.id)
        return in_key_order(await query, ids)

    return entries
