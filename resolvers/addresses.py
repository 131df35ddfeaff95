"""Every table that keeps a client address, and the things done with them: matching by
keyed hash, purging after the retention window, revealing to an operator, and erasing
a member's (with their user agent and email address) when they delete their account."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.expressions import Q, Subquery
from tortoise.models import Model

from models.accounts import EmailToken, PendingRegistration, User
from models.activity import Visit
from models.audit import AuditEntry
from models.conversations import Conversation
from models.mail import OutboxMail
from models.messages import Message, MessageEdit, Thread
from models.policy import Consent
from models.reports import Report
from models.rights import CorrectionRequest
from models.sessions import Session


@dataclass(frozen=True)
class Holder:
    """A table with address columns: which column names the member, which the time."""

    model: type[Model]
    user_column: str | None
    time_column: str


HOLDERS = [
    Holder(User, "id", "joined_at"),
    Holder(Session, "user_id", "created_at"),
    Holder(EmailToken, "user_id", "created_at"),
    Holder(Consent, "user_id", "created_at"),
    Holder(Thread, "author_id", "created_at"),
    Holder(Conversation, "created_by_id", "created_at"),
    Holder(Message, "author_id", "created_at"),
    Holder(MessageEdit, None, "edited_at"),
    Holder(Report, "reporter_id", "created_at"),
    Holder(CorrectionRequest, "user_id", "created_at"),
    Holder(Visit, "user_id", "started_at"),
    Holder(PendingRegistration, None, "created_at"),
]


@dataclass(frozen=True)
class Leaver:
    """A member deleting their account, and every address of theirs mail went to."""

    user: User
    addresses: frozenset[str]  # lower-cased: the account's, and the ones it asked to move to


@dataclass(frozen=True)
class Erasure:
    """A table holding a member's address, user agent or email: how deleting the account
    finds the member's rows, and whether they go or stay (for others) without them."""

    model: type[Model]
    rows: Callable[[Leaver], Q]
    keep: bool = False  # the rows stay, their address columns cleared
    unlink: str | None = None  # ... and this column no longer names the member


def _by(column: str) -> Callable[[Leaver], Q]:
    return lambda leaver: Q(**{column: leaver.user.id})


def _edits(leaver: Leaver) -> Q:
    theirs = Message.filter(author_id=leaver.user.id).values("id")
    return Q(message_id__in=Subquery(theirs))


def _to(column: str) -> Callable[[Leaver], Q]:
    def rows(leaver: Leaver) -> Q:
        return Q(*(Q(**{f"{column}__iexact": a}) for a in leaver.addresses), join_type="OR")

    return rows


# Applied in this order: edits are found through their message's author, so before the
# messages lose theirs. Every table with address, user-agent or email columns is here
# (tests/security/test_i_account_erasure.py reads the models to hold that true).
ERASURES = [
    Erasure(MessageEdit, _edits, keep=True),
    Erasure(Message, _by("author_id"), keep=True, unlink="author_id"),
    Erasure(Thread, _by("author_id"), keep=True, unlink="author_id"),
    Erasure(Conversation, _by("created_by_id"), keep=True, unlink="created_by_id"),
    Erasure(Report, _by("reporter_id"), keep=True, unlink="reporter_id"),
    Erasure(Visit, _by("user_id"), keep=True, unlink="user_id"),
    Erasure(PendingRegistration, _to("email_key")),
    Erasure(OutboxMail, _to("to_address")),
    Erasure(Session, _by("user_id")),
    Erasure(EmailToken, _by("user_id")),
    Erasure(Consent, _by("user_id")),
    Erasure(CorrectionRequest, _by("user_id")),
    Erasure(User, _by("id")),
]
ERASED = {"ip_cipher": None, "ip_hash": None, "user_agent": ""}


async def leaver(user: User) -> Leaver:
    """The member and their addresses: an address they asked to move to counts, unless
    it is another account's by now (its mail is that account's)."""
    mailed = await EmailToken.filter(user_id=user.id).values_list("email", flat=True)
    asked = {address.lower() for address in mailed}
    others = User.filter(email_key__in=list(asked)).exclude(id=user.id)
    taken = set(await others.values_list("email_key", flat=True))
    return Leaver(user, frozenset({user.email_key, *asked} - taken))


async def erase(user: User) -> None:
    """Delete a member's rows, or keep them for others with nothing of the member left:
    no address, user agent or email. Run it inside the deletion's transaction."""
    who = await leaver(user)
    for erasure in ERASURES:
        rows = erasure.model.filter(erasure.rows(who))
        if erasure.keep:
            unlinked = {erasure.unlink: None} if erasure.unlink is not None else {}
            await rows.update(**ERASED, **unlinked)
        else:
            await rows.delete()


@dataclass(frozen=True)
class Sighting:
    """A member seen at an address (known only by its keyed hash) at a time."""

    user_id: int
    ip_hash: str
    at: datetime


async def sightings(
    *, user_ids: Iterable[int] | None = None, hashes: Iterable[str] | None = None
) -> list[Sighting]:
    """Every record of the given members, or at the given address hashes."""
    found: list[Sighting] = []
    for holder in HOLDERS:
        if holder.user_column is None:
            continue
        query = holder.model.filter(
            ip_hash__isnull=False, **{f"{holder.user_column}__isnull": False}
        )
        if user_ids is not None:
            query = query.filter(**{f"{holder.user_column}__in": list(user_ids)})
        if hashes is not None:
            query = query.filter(ip_hash__in=list(hashes))
        rows = await query.values_list(holder.user_column, "ip_hash", holder.time_column)
        found += [Sighting(user, digest, at) for user, digest, at in rows]
    return found


async def purge(
    raw_days: int, hash_days: int, progress: Callable[[str, int], None] | None = None
) -> dict[str, int]:
    """Drop encrypted addresses older than `raw_days` and hashes older than `hash_days`.

    Aggregates (visit counts, countries, browsers) stay. Returns rows changed per table.
    """
    now = datetime.now(UTC)
    raw_cut, hash_cut = now - timedelta(days=raw_days), now - timedelta(days=hash_days)
    changed: dict[str, int] = {}
    for holder in HOLDERS:
        table, before = holder.model._meta.db_table, f"{holder.time_column}__lt"
        old_raw = Q(ip_cipher__isnull=False, **{before: raw_cut})
        old_hash = Q(ip_hash__isnull=False, **{before: hash_cut})
        # Rows, not values: a row losing both its cipher and its hash counts once.
        changed[table] = count = await holder.model.filter(old_raw | old_hash).count()
        await holder.model.filter(old_raw).update(ip_cipher=None)
        await holder.model.filter(old_hash).update(ip_hash=None)
        if progress is not None:
            progress(table, count)
    return changed


async def ciphers_of(user_id: int) -> list[str]:
    """Every stored (encrypted) address of a member."""
    found: list[str] = []
    for holder in HOLDERS:
        if holder.user_column is not None:
            found += await holder.model.filter(
                ip_cipher__isnull=False, **{holder.user_column: user_id}
            ).values_list("ip_cipher", flat=True)
    return found


@dataclass(frozen=True)
class Revealed:
    """One stored address of a member, for an operator with the key."""

    table: str
    at: datetime
    address: str


async def reveal(user: User, reason: str, opener: Callable[[str], str]) -> list[Revealed]:
    """Decrypt every stored address of a member; the reading itself is audited."""
    found: list[Revealed] = []
    for holder in HOLDERS:
        if holder.user_column is None:
            continue
        rows = await holder.model.filter(
            ip_cipher__isnull=False, **{holder.user_column: user.id}
        ).values_list(holder.time_column, "ip_cipher")
        table = holder.model._meta.db_table
        found += [Revealed(table, at, opener(cipher)) for at, cipher in rows]
    await AuditEntry.create(
        actor_id=None, action="REVEAL_IP_ADDRESSES", subject_id=user.id,
        fields_read=["ip_address"], reason=reason,
    )  # fmt: skip
    return sorted(found, key=lambda r: r.at)
