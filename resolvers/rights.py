"""A member's rights over their data: corrections, a full export, and leaving."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from tortoise.transactions import in_transaction

from models.accounts import User
from models.audit import AuditEntry
from models.blocks import Block
from models.messages import Message, Thread
from models.moderation import Warning
from models.notifications import Notification, ThreadWatch
from models.policy import Consent
from models.privacy import PrivacySettings
from models.profiles import Follow, Profile
from models.rights import CorrectionRequest, CorrectionStatus
from models.sessions import Session
from resolvers import notifications, sessions
from resolvers.access import has_staff_powers, require_member, require_staff
from resolvers.accounts import birth_problems, username_problems, username_taken
from resolvers.addresses import erase
from resolvers.audit import audit
from resolvers.codes import AccountCode, ModerationCode, RightsCode
from resolvers.common import Call, Refused, in_key_order
from resolvers.pagination import Page, id_page
from resolvers.privacy import Setting, settings_by_user
from resolvers.profiles import profiles_by_user
from services.passwords import verify_password
from services.settings import Settings
from services.usernames import lookalike_key

CORRECTABLE = {"username", "dateOfBirth"}  # applied automatically when approved
FIELD_MAX, VALUE_MAX, REASON_MAX = 40, 500, 1000


async def request_correction(call: Call, field: str, value: str, reason: str) -> CorrectionRequest:
    """Ask moderators to correct data the member cannot change themselves."""
    viewer = require_member(call)
    field, value, reason = field.strip(), value.strip(), reason.strip()
    if not 1 <= len(field) <= FIELD_MAX:
        raise Refused(
            RightsCode.FIELD_INVALID, f"Name the field in 1 to {FIELD_MAX} characters.", "field"
        )
    if not 1 <= len(value) <= VALUE_MAX:
        message = f"Give the correct value in 1 to {VALUE_MAX} characters."
        raise Refused(RightsCode.VALUE_LENGTH, message, "proposedValue")
    if not 3 <= len(reason) <= REASON_MAX:
        raise Refused(
            ModerationCode.REASON_LENGTH, f"Explain in 3 to {REASON_MAX} characters.", "reason"
        )
    if field in CORRECTABLE:
        await _check(field, value, viewer, call.settings.min_age)
    return await CorrectionRequest.create(
        user=viewer, field=field, proposed_value=value, reason=reason, **call.ip_columns
    )


async def _check(field: str, value: str, user: User, min_age: int) -> Any:
    """Validate a correctable value as registration would; return it converted."""
    if field == "username":
        problems = username_problems(value)
        if problems:
            raise Refused(problems[0].code, problems[0].message, "proposedValue")
        if await username_taken(value, but=user):
            raise Refused(AccountCode.USERNAME_TAKEN, "That username is taken.", "proposedValue")
        return value
    try:
        born = date.fromisoformat(value)
    except ValueError as error:
        raise Refused(
            RightsCode.DATE_INVALID, "Write the date as YYYY-MM-DD.", "proposedValue"
        ) from error
    problems = birth_problems(born, min_age)
    if problems:
        raise Refused(problems[0].code, problems[0].message, "proposedValue")
    return born


async def correction_page(
    call: Call, status: CorrectionStatus | None, first: int | None, after: str | None
) -> Page[CorrectionRequest]:
    """Correction requests, oldest first (staff only)."""
    require_staff(call)
    query = _corrections(status)
    return await id_page(query, "CorrectionRequest", first, after, newest_first=False)


async def correction_count(call: Call, status: CorrectionStatus | None) -> int:
    """How many correction requests there are, of one status or all (staff only)."""
    require_staff(call)
    return await _corrections(status).count()


def _corrections(status: CorrectionStatus | None) -> Any:
    return CorrectionRequest.all() if status is None else CorrectionRequest.filter(status=status)


async def resolve_correction(
    call: Call, request_id: int, apply: bool, response: str | None
) -> CorrectionRequest:
    """Apply (with the usual validation) or reject a correction request. Audited."""
    staff = require_staff(call)
    row = await CorrectionRequest.get_or_none(id=request_id).select_related("user")
    if row is None or row.status is not CorrectionStatus.OPEN:
        raise Refused(RightsCode.REQUEST_NOT_OPEN, "There is no such open request.", "requestId")
    async with in_transaction():
        if apply and row.field in CORRECTABLE:
            value = await _check(row.field, row.proposed_value, row.user, call.settings.min_age)
            if row.field == "username":
                row.user.username, row.user.username_key = value, lookalike_key(value)
                await row.user.save(update_fields=["username", "username_key"])
            else:
                row.user.date_of_birth = value
                await row.user.save(update_fields=["date_of_birth"])
        row.status = CorrectionStatus.APPLIED if apply else CorrectionStatus.REJECTED
        row.response = (response or "").strip()[:1000] or None
        row.resolved_at, row.resolved_by = datetime.now(UTC), staff
        await row.save(update_fields=["status", "response", "resolved_at", "resolved_by_id"])
        action = "APPLY_CORRECTION" if apply else "REJECT_CORRECTION"
        await audit(staff, action, row.user.id, [row.field], row.response)
    return row


def corrections_loader(
    viewer: User | None,
) -> Callable[[Sequence[int]], Awaitable[list[CorrectionRequest | None]]]:
    """Batch for one request: each correction request if the viewer may see it (staff
    every request, a member their own), else None."""

    async def corrections(ids: Sequence[int]) -> list[CorrectionRequest | None]:
        if viewer is None:
            return [None] * len(ids)
        query = CorrectionRequest.filter(id__in=ids)
        if not has_staff_powers(viewer):
            query = query.filter(user_id=viewer.id)
        return in_key_order(await query, ids)

    return corrections


async def my_corrections(user: User) -> list[CorrectionRequest]:
    """A member's correction requests, newest first."""
    return await CorrectionRequest.filter(user_id=user.id).order_by("-id")


async def delete_account(call: Call, password: str) -> int:
    """Erase the viewer's personal data, address records and mail (the list is
    resolvers.addresses.ERASURES); public messages stay, signed by a deleted member, and
    private ones stay readable for the other participants. Returns the account's id."""
    viewer = require_member(call)
    if not await asyncio.to_thread(verify_password, viewer.password_hash, password[:1024]):
        raise Refused(AccountCode.WRONG_PASSWORD, "Your password is not right.", "password")
    async with in_transaction():
        await erase(viewer)
    call.viewer, call.session, call.end_session = None, None, True
    await sessions.member_changed(call.broker, viewer.id)
    return viewer.id


async def export_data(call: Call) -> dict[str, Any]:
    """Everything held about the viewer, as JSON-ready data: no IP address anywhere,
    locations at country level."""
    viewer = require_member(call)
    (profile,) = await profiles_by_user([viewer.id])
    (settings,) = await settings_by_user([viewer.id])
    return {
        "exportedAt": _iso(datetime.now(UTC)),
        "account": _account(viewer),
        "profile": _profile(profile),
        "privacySettings": _settings(settings),
        "consents": [_consent(c) for c in await Consent.filter(user_id=viewer.id).order_by("id")],
        "sessions": [_session(s) for s in await Session.filter(user_id=viewer.id).order_by("id")],
        "following": await _names(Follow.filter(follower_id=viewer.id), "followee__username"),
        "followers": await _names(Follow.filter(followee_id=viewer.id), "follower__username"),
        "threads": [
            {"id": t.id, "title": t.title, "createdAt": _iso(t.created_at)}
            for t in await Thread.filter(author_id=viewer.id).order_by("id")
        ],
        "messages": [_message(m) for m in await Message.filter(author_id=viewer.id).order_by("id")],
        "correctionRequests": [_correction(c) for c in await my_corrections(viewer)],
        "warnings": [
            {"reason": w.reason, "createdAt": _iso(w.created_at)}
            for w in await Warning.filter(user_id=viewer.id).order_by("id")
        ],
        "blocked": await _names(Block.filter(blocker_id=viewer.id), "blocked__username"),
        "watchedThreads": await _names(ThreadWatch.filter(user_id=viewer.id), "thread__title"),
        "notificationSettings": {
            kind.name: {"inApp": choice.in_app, "email": choice.email}
            for kind, choice in await notifications.settings_of(viewer.id)
        },
        "notifications": [
            {"kind": n.kind.name, "createdAt": _iso(n.created_at), "readAt": _iso(n.read_at)}
            for n in await Notification.filter(recipient_id=viewer.id).order_by("id")
        ],
        "privacyReads": [
            _audit(a)
            for a in await AuditEntry.filter(subject_id=viewer.id)
            .prefetch_related("actor")
            .order_by("id")
        ],
        "retention": _retention(call.settings),
    }


def _retention(settings: Settings) -> dict[str, Any]:
    """How long what is not in the export is kept (the purge deletes it afterwards)."""
    return {
        "visitsAndPageViewsDays": settings.activity_keep_days,
        "sentMailDays": settings.mail_keep_days,
        "readNotificationsDays": settings.notification_keep_days,
        "ipAddressesDays": settings.ip_retention_days,
        "ipAddressHashesDays": settings.ip_hash_retention_days,
        "sessions": "until they expire or you sign out",
        "emailLinks": "until they are used or expire",
    }


def _iso(moment: datetime | date | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _account(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "email": user.email,
        "dateOfBirth": _iso(user.date_of_birth),
        "role": user.role.value,
        "joinedAt": _iso(user.joined_at),
        "emailConfirmedAt": _iso(user.email_confirmed_at),
        "lastSeenAt": _iso(user.last_seen_at),
        "newsletter": user.newsletter,
        "analyticsOptOut": user.analytics_opt_out,
        "suspendedUntil": _iso(user.suspended_until),
        "suspensionReason": user.suspension_reason,
    }


def _profile(profile: Profile) -> dict[str, Any]:
    def kg(value: Any) -> float | None:
        return float(value) if value is not None else None

    return {
        "bio": profile.bio,
        "location": profile.location,
        "website": profile.website,
        "dietPlan": profile.diet_plan,
        "startWeightKg": kg(profile.start_weight_kg),
        "currentWeightKg": kg(profile.current_weight_kg),
        "goalWeightKg": kg(profile.goal_weight_kg),
    }


def _settings(settings: PrivacySettings) -> dict[str, Any]:
    found: dict[str, Any] = {s.value: getattr(settings, s.value).name for s in Setting}
    found["listed_in_members"] = settings.listed_in_members
    return found


def _consent(row: Consent) -> dict[str, Any]:
    return {
        "kind": row.kind.name,
        "granted": row.granted,
        "policyVersion": row.policy_version,
        "createdAt": _iso(row.created_at),
    }


def _session(row: Session) -> dict[str, Any]:
    return {
        "createdAt": _iso(row.created_at),
        "lastUsedAt": _iso(row.last_used_at),
        "browser": row.browser,
        "operatingSystem": row.operating_system,
        "country": row.country,
        "revokedAt": _iso(row.revoked_at),
    }


def _message(row: Message) -> dict[str, Any]:
    return {
        "id": row.id,
        "threadId": row.thread_id,  # type: ignore[attr-defined]
        "conversationId": row.conversation_id,  # type: ignore[attr-defined]
        "body": row.body,
        "createdAt": _iso(row.created_at),
        "editedAt": _iso(row.edited_at),
        "deleted": row.deleted_at is not None,
        "hidden": row.hidden_at is not None,
    }


def _correction(row: CorrectionRequest) -> dict[str, Any]:
    return {
        "field": row.field,
        "proposedValue": row.proposed_value,
        "reason": row.reason,
        "status": row.status.name,
        "response": row.response,
        "createdAt": _iso(row.created_at),
        "resolvedAt": _iso(row.resolved_at),
    }


def _audit(row: AuditEntry) -> dict[str, Any]:
    return {
        "by": row.actor.username if row.actor else None,
        "action": row.action,
        "fields": list(row.fields_read),
        "reason": row.reason,
        "at": _iso(row.created_at),
    }


async def _names(query: Any, field: str) -> list[str]:
    return list(await query.order_by("id").values_list(field, flat=True))
