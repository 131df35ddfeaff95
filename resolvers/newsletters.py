"""Newsletters: opt-in only, sent through the outbox, one-click unsubscribe (RFC 8058)."""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models.accounts import User
from models.newsletters import Newsletter
from models.policy import ConsentKind
from resolvers.access import require_admin, require_member
from resolvers.codes import NewsletterCode, PolicyCode
from resolvers.common import Call, Refused
from resolvers.mails import link
from resolvers.policy import append_consent, set_consent
from services.mail import enqueue
from services.settings import Settings
from services.tokens import sign, signed_by_any

SUBJECT_MAX = 200
BODY_MAX = 50_000


async def set_subscription(call: Call, subscribed: bool) -> User:
    """Opt in to or out of newsletters (recorded in the consent ledger)."""
    await set_consent(call, ConsentKind.NEWSLETTER, subscribed)
    return require_member(call)


def unsubscribe_signature(settings: Settings, user_id: int) -> str:
    """The signature that lets an unsubscribe link work without signing in."""
    return sign(settings.key, f"unsubscribe:{user_id}")[:32]


def unsubscribe_link_ok(settings: Settings, user_id: int, signature: str) -> bool:
    """Does an unsubscribe link carry a signature of ours (an old key's counts until
    `rotate-keys --finish` and the key leaves SECRET_KEY)?"""
    return signed_by_any(settings.secret_keys, f"unsubscribe:{user_id}", signature, 32)


def unsubscribe_url(settings: Settings, user_id: int) -> str:
    """The one-click unsubscribe link for a member."""
    return link(
        settings, "/unsubscribe", u=str(user_id), sig=unsubscribe_signature(settings, user_id)
    )


async def unsubscribe(client: dict[str, str], user_id: int) -> None:
    """Stop a member's newsletters from a signed link (the caller checked the signature)."""
    user = await User.get_or_none(id=user_id, deleted_at__isnull=True)
    if user is None or not user.newsletter:
        return  # already off: unsubscribing twice is harmless
    async with in_transaction():
        user.newsletter = False
        await user.save(update_fields=["newsletter"])
        await append_consent(client, user, ConsentKind.NEWSLETTER, False, None)


async def send_newsletter(call: Call, subject: str, body: str) -> int:
    """Admins: mail a newsletter to every confirmed, active, opted-in member."""
    admin = require_admin(call)
    subject, body = " ".join(subject.split()), body.strip()
    if not 1 <= len(subject) <= SUBJECT_MAX:
        raise Refused(
            NewsletterCode.SUBJECT_LENGTH, f"Subjects are 1 to {SUBJECT_MAX} characters.", "subject"
        )
    if not body or len(body) > BODY_MAX:
        raise Refused(
            PolicyCode.BODY_LENGTH, f"Newsletters are 1 to {BODY_MAX} characters.", "body"
        )
    now = datetime.now(UTC)
    members = await User.filter(
        Q(newsletter=True),
        Q(email_confirmed_at__isnull=False),
        Q(deleted_at__isnull=True),
        Q(suspended_until__isnull=True) | Q(suspended_until__lte=now),
    ).order_by("id")
    async with in_transaction():
        for member in members:
            url = unsubscribe_url(call.settings, member.id)
            await enqueue(
                member.email,
                subject,
                f"{body}\n\n--\nYou get this because you chose to. Unsubscribe: {url}\n",
                {
                    "List-Unsubscribe": f"<{url}>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                },
            )
        await Newsletter.create(subject=subject, body=body, sent_by=admin, recipients=len(members))
    return len(members)
