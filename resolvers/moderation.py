"""Staff powers: privileged reads of private data, always written to the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from models.accounts import User
from models.base import Role
from models.moderation import AuditEntry
from models.privacy import PrivacySettings
from models.profiles import Profile
from resolvers.common import BadInput, Call, Forbidden
from resolvers.pages import Page, decode_cursor, make_page, page_size
from resolvers.privacy import settings_by_user
from resolvers.profiles import profiles_by_user

STAFF = frozenset({Role.MODERATOR, Role.ADMIN})
REASON_MIN, REASON_MAX = 3, 500


def require_staff(call: Call) -> User:
    """The viewer if a moderator or admin; else NotSignedIn or Forbidden."""
    viewer = call.require_member()
    if viewer.role not in STAFF:
        raise Forbidden()
    return viewer


def require_admin(call: Call) -> User:
    """The viewer if an admin; else NotSignedIn or Forbidden."""
    viewer = call.require_member()
    if viewer.role is not Role.ADMIN:
        raise Forbidden()
    return viewer


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not REASON_MIN <= len(reason) <= REASON_MAX or "\x00" in reason:
        raise BadInput(f"Give a reason of {REASON_MIN} to {REASON_MAX} characters.")
    return reason


@dataclass(frozen=True)
class PrivateRecord:
    """A member's private data as staff see it."""

    user: User
    profile: Profile
    settings: PrivacySettings


async def privileged_profile(
    call: Call, user_id: int, reason: str, fields_read: Sequence[str]
) -> PrivateRecord | None:
    """A member's private fields for moderation; the read is audited (who, whom, what, why)."""
    staff = require_staff(call)
    why = _reason(reason)
    user = await User.get_or_none(id=user_id)
    if user is None:
        return None
    await AuditEntry.create(
        actor_id=staff.id,
        action="READ_PRIVATE_PROFILE",
        subject_id=user.id,
        fields_read=sorted(set(fields_read)),
        reason=why,
    )
    (profile,) = await profiles_by_user([user.id])
    (settings,) = await settings_by_user([user.id])
    return PrivateRecord(user, profile, settings)


async def audit_page(call: Call, first: int | None, after: str | None) -> Page[AuditEntry]:
    """The audit log, newest first (admins only)."""
    require_admin(call)
    size = page_size(first)
    position = decode_cursor("AuditEntry", after)
    query = AuditEntry.all()
    if position is not None:
        query = query.filter(id__lt=position)
    rows = await query.order_by("-id").limit(size + 1)
    return make_page(rows, [row.id for row in rows], size, after=position is not None)
