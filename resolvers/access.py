"""Who may do what: the one home of the access rules every resolver applies."""

from __future__ import annotations

from datetime import UTC, datetime

from models.accounts import User
from models.base import Role
from resolvers.codes import AccessCode
from resolvers.common import Call, Forbidden, NotSignedIn, Refused

STAFF = frozenset({Role.MODERATOR, Role.ADMIN})
STAFF_DATA = "Only admins can read a staff member's private data."


def suspended(user: User) -> bool:
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
        message = f"Your account is suspended until {until:%Y-%m-%d %H:%M} UTC: {reason}"
        raise Refused(AccessCode.SUSPENDED, message)
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


def suspension_shown(viewer: User | None, member: User) -> datetime | None:
    """Until when `member` is suspended, for the member themself and staff; None for
    anyone else and for a suspension that has ended."""
    if viewer is None or (viewer.id != member.id and not has_staff_powers(viewer)):
        return None
    return member.suspended_until if suspended(member) else None
