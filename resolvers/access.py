"""Who may do what: the one home of the access rules every resolver applies."""

from __future__ import annotations

from datetime import UTC, datetime

from models.accounts import User
from models.base import Role
from models.rows import AccountRow
from resolvers.codes import AccessCode
from resolvers.common import Call, Forbidden, NotSignedIn, Refused

STAFF = frozenset({Role.MODERATOR, Role.ADMIN})
STAFF_DATA = "Only admins can read a staff member's private data."
# A suspension "until lifted" is stored as this end, so every check of the end (here
# and in SQL) holds it; the API shows it as no end.
UNTIL_LIFTED = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def suspended(user: User | AccountRow) -> bool:
    """Is the member suspended at this moment?"""
    until = user.suspended_until
    return until is not None and until > datetime.now(UTC)


def may_write(user: User | None) -> bool:
    """May this member write (post, message, edit a profile): confirmed and not suspended?"""
    return user is not None and user.confirmed and not suspended(user)


def has_staff_powers(user: User | None) -> bool:
    """A moderator or admin who is not suspended: a suspension takes every staff power."""
    return user is not None and user.role in STAFF and not suspended(user)


def is_admin(user: User | None) -> bool:
    """An admin who is not suspended."""
    return has_staff_powers(user) and user is not None and user.role is Role.ADMIN


def require_member(call: Call) -> User:
    """The viewer, or NotSignedIn."""
    if call.viewer is None:
        raise NotSignedIn()
    return call.viewer


def require_writer(call: Call) -> User:
    """The viewer if they may write: confirmed and not suspended (else a Refused)."""
    viewer = require_member(call)
    if not viewer.confirmed:
        raise Refused(AccessCode.EMAIL_NOT_CONFIRMED, "Confirm your email address first.")
    if suspended(viewer):
        reason = viewer.suspension_reason or "no reason given"
        until = viewer.suspended_until
        ends = (
            "until it is lifted" if until == UNTIL_LIFTED else f"until {until:%Y-%m-%d %H:%M} UTC"
        )
        raise Refused(AccessCode.SUSPENDED, f"Your account is suspended {ends}: {reason}")
    return viewer


def require_staff(call: Call) -> User:
    """The viewer if a moderator or admin who is not suspended; else NotSignedIn or
    Forbidden."""
    viewer = require_member(call)
    if not has_staff_powers(viewer):
        raise Forbidden()
    return viewer


def require_admin(call: Call) -> User:
    """The viewer if an admin who is not suspended; else NotSignedIn or Forbidden."""
    viewer = require_staff(call)
    if viewer.role is not Role.ADMIN:
        raise Forbidden()
    return viewer


def require_owner(call: Call, owner_id: int) -> User:
    """The viewer if they are the member `owner_id`; else NotSignedIn or Forbidden."""
    viewer = require_member(call)
    if viewer.id != owner_id:
        raise Forbidden()
    return viewer


def require_admin_for_staff(staff: User, member: User, message: str) -> None:
    """Forbidden (with `message`) when a moderator would act on or read staff: only
    admins do that. Roles are public, so the refusal reveals nothing."""
    if member.role in STAFF and staff.role is not Role.ADMIN:
        raise Forbidden(message)


def sees_suspension(viewer: User | None, member: User | AccountRow) -> bool:
    """May the viewer know about the member's suspension: the member themself and staff."""
    return viewer is not None and (viewer.id == member.id or has_staff_powers(viewer))


def sees_warnings(viewer: User | None, member_id: int) -> bool:
    """May the viewer read a member's warnings: the member themself and staff."""
    return viewer is not None and (viewer.id == member_id or has_staff_powers(viewer))


def suspension_shown(viewer: User | None, member: User | AccountRow) -> datetime | None:
    """Until when `member` is suspended, for the member themself and staff; None for
    anyone else, for a suspension that has ended and for one until lifted."""
    if not sees_suspension(viewer, member) or not suspended(member):
        return None
    return None if member.suspended_until == UNTIL_LIFTED else member.suspended_until


def suspension_state(viewer: User | None, member: User | AccountRow) -> bool | None:
    """Is `member` suspended now: for the member themself and staff; None for anyone else."""
    return suspended(member) if sees_suspension(viewer, member) else None
