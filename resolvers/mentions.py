"""Mentions: which @names in a body are members (one query per message), and telling
the members a public message mentions, as their whoCanMention allows."""

from __future__ import annotations

from functools import reduce
from operator import or_

from tortoise.expressions import Q

from models.accounts import User
from models.messages import Message
from models.notifications import Notification, NotificationKind
from resolvers import privacy
from resolvers.common import Call
from resolvers.notifications import members as members_of
from resolvers.notifications import notify
from services.markdown import mention_candidates, mentioned_in

NOTIFY_MAX = 10  # members one message notifies by mention; later names are only linked
CANDIDATES_MAX = 50  # names looked up per message; later ones stay text


async def mentioned_members(body: str) -> dict[str, User]:
    """The members a body names with @, by lower-cased name (confirmed, not erased), in
    order of first mention; one query."""
    names = mention_candidates(body)[:CANDIDATES_MAX]
    if not names:
        return {}
    query = reduce(or_, (Q(username__iexact=name) for name in names))
    rows = await User.filter(
        query, email_confirmed_at__isnull=False, deleted_at__isnull=True
    ).order_by("id")
    found = {row.username.lower(): row for row in rows}
    return {name: found[name] for name in names if name in found}


def linkable(members: dict[str, User]) -> dict[str, str]:
    """What the renderer needs: lower-cased name to username."""
    return {name: user.username for name, user in members.items()}


async def notify_mentions(
    call: Call, author: User, message: Message, members: dict[str, User]
) -> set[int]:
    """Tell the first NOTIFY_MAX members a public message mentions, unless their
    whoCanMention leaves the author out (a block does) or they were told of this message
    already (an edit notifies only the mentions it adds). Returns who was told now."""
    if message.thread_id is None:  # type: ignore[attr-defined]
        return set()  # in a conversation everyone is told of the message anyway
    linked = mentioned_in(message.body_html)  # what the reader sees as a mention
    named = [user for user in members.values() if user.username in linked]
    ids = [user.id for user in named if user.id != author.id][:NOTIFY_MAX]
    if not ids:
        return set()
    told: set[int] = set()
    if message.edited_at is not None:
        # Only an edit can meet earlier mentions: a message just posted has told nobody.
        told = set(
            await Notification.filter(
                message_id=message.id, kind=NotificationKind.MENTION, recipient_id__in=ids
            ).values_list("recipient_id", flat=True)
        )
    owners = await privacy.owners(author, ids)
    wanted = {o.id for o in owners if o.id not in told and privacy.can_mention(author, o)}
    thread = message.thread_id  # type: ignore[attr-defined]
    await notify(
        call,
        members_of(wanted),
        NotificationKind.MENTION,
        author,
        thread=thread,
        message=message.id,
    )
    return wanted | (set(ids) & told)
