"""Staff powers: privileged reads of private data, hiding messages and suspensions,
always written to the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from models.accounts import User
from models.messages import Message
from models.privacy import PrivacySettings
from models.profiles import Profile
from models.reports import Report
from resolvers import notifications
from resolvers.access import (
    STAFF_DATA,
    require_admin_for_staff,
    require_staff,
)
from resolvers.audit import audit, staff_reason
from resolvers.codes import MessageCode, ModerationCode, ProfileCode
from resolvers.common import Call, Forbidden, Refused
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


async def hide_message(call: Call, message_id: int, reason: str) -> Message:
    """Hide a public message (private ones only once reported)."""
    staff = require_staff(call)
    why = staff_reason(reason)
    message = await Message.get_or_none(id=message_id)
    reported = message is not None and await Report.exists(message_id=message.id)
    if message is None or (message.thread_id is None and not reported):  # type: ignore[attr-defined]
        raise Refused(MessageCode.MESSAGE_NOT_FOUND, "There is no such message.", "messageId")
    newly = message.hidden_at is None
    if newly:
        message.hidden_at = datetime.now(UTC)
        await message.save(update_fields=["hidden_at"])
    await audit(staff, "HIDE_MESSAGE", message.author_id, [f"message:{message.id}"], why)  # type: ignore[attr-defined]
    if newly:
        text = f"A moderator hid your message: {why}"
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


async def suspend(call: Call, user_id: int, until: datetime, reason: str) -> User:
    """Stop a member writing until a time; they can still sign in and read."""
    staff = require_staff(call)
    why = staff_reason(reason)
    member = await _suspendable(staff, user_id, "Only admins can suspend staff.")
    if until.tzinfo is None or until <= datetime.now(UTC):
        raise Refused(
            ModerationCode.UNTIL_IN_PAST, "Suspend until a time in the future (with zone).", "until"
        )
    member.suspended_until, member.suspension_reason = until, why
    await member.save(update_fields=["suspended_until", "suspension_reason"])
    await audit(staff, "SUSPEND_MEMBER", member.id, [until.isoformat()], why)
    await member_changed(call.broker, member.id)
    text = f"Your account is suspended until {until:%Y-%m-%d %H:%M} UTC: {why}"
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
