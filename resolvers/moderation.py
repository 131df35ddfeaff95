"""Staff powers: privileged reads of private data, hiding and unhiding messages,
suspensions, warnings and roles, always written to the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models.accounts import User
from models.base import Role
from models.messages import Message
from models.moderation import Warning
from models.privacy import PrivacySettings
from models.profiles import Profile
from models.reports import Report
from resolvers import notifications
from resolvers.access import (
    STAFF_DATA,
    UNTIL_LIFTED,
    require_admin,
    require_admin_for_staff,
    require_staff,
)
from resolvers.audit import action_reason, audit, staff_reason
from resolvers.codes import MessageCode, ModerationCode, ProfileCode
from resolvers.common import Call, Forbidden, Refused
from resolvers.mails import send_warning
from resolvers.privacy import settings_by_user
from resolvers.profiles import profiles_by_user
from resolvers.sessions import member_changed

OWN_SUSPENSION = "Nobody can suspend themselves or lift their own suspension."


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
    why = staff_reason(reason)
    user = await User.get_or_none(id=user_id)
    if user is None:
        return None
    require_admin_for_staff(staff, user, STAFF_DATA)
    await audit(staff, "READ_PRIVATE_PROFILE", user.id, sorted(set(fields_read)), why)
    (profile,) = await profiles_by_user([user.id])
    (settings,) = await settings_by_user([user.id])
    return PrivateRecord(user, profile, settings)


async def _moderatable(message_id: int) -> Message:
    """A message staff may hide or unhide: any public one, a private one only once
    reported (else it reads as missing)."""
    message = await Message.get_or_none(id=message_id)
    reported = message is not None and await Report.exists(message_id=message.id)
    if message is None or (message.thread_id is None and not reported):  # type: ignore[attr-defined]
        raise Refused(MessageCode.MESSAGE_NOT_FOUND, "There is no such message.", "messageId")
    return message


async def hide_message(call: Call, message_id: int, reason: str) -> Message:
    """Hide a public message (private ones only once reported)."""
    staff = require_staff(call)
    why = action_reason(reason)
    message = await _moderatable(message_id)
    newly = message.hidden_at is None
    if newly:
        message.hidden_at = datetime.now(UTC)
        await message.save(update_fields=["hidden_at"])
    await audit(staff, "HIDE_MESSAGE", message.author_id, [f"message:{message.id}"], why)  # type: ignore[attr-defined]
    if newly:
        text = f"A moderator hid your message: {why}"
        await notifications.moderated(call, message.author_id, text, message)  # type: ignore[attr-defined]
    return message


async def unhide_message(call: Call, message_id: int, reason: str) -> Message:
    """Show a hidden message again (an author's own deletion stays)."""
    staff = require_staff(call)
    why = action_reason(reason)
    message = await _moderatable(message_id)
    shown = message.hidden_at is not None
    if shown:
        message.hidden_at = None
        await message.save(update_fields=["hidden_at"])
    await audit(staff, "UNHIDE_MESSAGE", message.author_id, [f"message:{message.id}"], why)  # type: ignore[attr-defined]
    if shown:  # the author was told of the hiding, so is told of its end
        text = f"A moderator showed your message again: {why}"
        await notifications.moderated(call, message.author_id, text, message)  # type: ignore[attr-defined]
    return message


async def _suspendable(staff: User, user_id: int, staff_message: str) -> User:
    """The member whose suspension `staff` sets or lifts: nobody their own, and only
    admins a staff member's (else Forbidden with `staff_message`)."""
    member = await User.get_or_none(id=user_id)
    if member is None:
        raise Refused(ProfileCode.USER_NOT_FOUND, "There is no such member.", "userId")
    if member.id == staff.id:
        raise Forbidden(OWN_SUSPENSION)
    require_admin_for_staff(staff, member, staff_message)
    return member


async def suspend(call: Call, user_id: int, until: datetime | None, reason: str) -> User:
    """Stop a member writing until a time, or until lifted (`until` None); they can
    still sign in and read."""
    staff = require_staff(call)
    why = action_reason(reason)
    if until is not None and (until.tzinfo is None or until <= datetime.now(UTC)):
        raise Refused(
            ModerationCode.UNTIL_IN_PAST, "Suspend until a time in the future (with zone).", "until"
        )
    member = await _suspendable(staff, user_id, "Only admins can suspend staff.")
    member.suspended_until, member.suspension_reason = until or UNTIL_LIFTED, why
    await member.save(update_fields=["suspended_until", "suspension_reason"])
    ends = until.isoformat() if until is not None else "until lifted"
    await audit(staff, "SUSPEND_MEMBER", member.id, [ends], why)
    await member_changed(call.broker, member.id)
    ends_at = "until it is lifted" if until is None else f"until {until:%Y-%m-%d %H:%M} UTC"
    text = f"Your account is suspended {ends_at}: {why}"
    await notifications.moderated(call, member.id, text, None)
    return member


async def unsuspend(call: Call, user_id: int) -> User:
    """Lift a suspension: only admins lift a staff member's, and nobody their own."""
    staff = require_staff(call)
    member = await _suspendable(staff, user_id, "Only admins can lift a staff member's suspension.")
    member.suspended_until, member.suspension_reason = None, None
    await member.save(update_fields=["suspended_until", "suspension_reason"])
    await audit(staff, "UNSUSPEND_MEMBER", member.id, [], None)
    await member_changed(call.broker, member.id)
    return member


async def warn(call: Call, user_id: int, reason: str) -> Warning:
    """Record a formal warning to a member and tell them."""
    staff = require_staff(call)
    why = action_reason(reason)
    member = await User.get_or_none(id=user_id, deleted_at__isnull=True)
    if member is None:
        raise Refused(ProfileCode.USER_NOT_FOUND, "There is no such member.", "userId")
    warning = await Warning.create(user=member, issued_by=staff, reason=why)
    await audit(staff, "WARN_MEMBER", member.id, [f"warning:{warning.id}"], why)
    await warned(call, member, warning)
    return warning


async def warned(call: Call, member: User, warning: Warning) -> None:
    """Tell a member about a warning: by mail through the outbox, and in-app as a
    MODERATION notification (naming no staff member, like every MODERATION one)."""
    await send_warning(call.settings, member.email, member.username, warning.reason)
    text = f"A moderator warned you: {warning.reason}"
    await notifications.moderated(call, member.id, text, None)


async def warnings_by_user(ids: Sequence[int]) -> list[list[Warning]]:
    """Batch: each member's warnings, oldest first."""
    found: dict[int, list[Warning]] = {id_: [] for id_ in ids}
    for row in await Warning.filter(user_id__in=ids).order_by("id"):
        found[row.user_id].append(row)  # type: ignore[attr-defined]
    return [found[id_] for id_ in ids]


async def _acting_admins() -> list[int]:
    """Ids of the admins who can act, locked until the transaction ends (PostgreSQL) so
    two demotions at once cannot both pass. A suspended admin has no admin power, so is
    no admin for the last-admin rule."""
    now = datetime.now(UTC)
    free = Q(suspended_until__isnull=True) | Q(suspended_until__lte=now)
    query = User.filter(free, role=Role.ADMIN, deleted_at__isnull=True)
    return [row.id for row in await query.select_for_update().only("id")]


async def set_role(call: Call, user_id: int, role: Role, reason: str) -> User:
    """Make a member a member, moderator or admin, never leaving the site without an
    admin who can act. Takes effect on the member's next request and socket operation."""
    admin = require_admin(call)
    why = action_reason(reason)
    async with in_transaction():
        member = await User.get_or_none(id=user_id, deleted_at__isnull=True)
        if member is None:
            raise Refused(ProfileCode.USER_NOT_FOUND, "There is no such member.", "userId")
        old = member.role
        demoted = old is Role.ADMIN and role is not Role.ADMIN
        if demoted and not set(await _acting_admins()) - {member.id}:
            message = "The site needs at least one admin who can act: make another first."
            raise Refused(ModerationCode.LAST_ADMIN, message, "role")
        member.role = role
        await member.save(update_fields=["role"])
        fields = ["role", f"from:{old.value}", f"to:{role.value}"]
        await audit(admin, "SET_ROLE", member.id, fields, why)
    await member_changed(call.broker, member.id)
    return member
