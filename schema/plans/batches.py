"""Fields a plan resolves for a whole level at once instead of one call per object: the
same rules as their resolvers in schema/messages.py (the differential test compares
the two), with one await a level instead of one task per object."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from resolvers import privacy
from schema.accounts import User
from schema.context import Context

Batch = Callable[[Sequence[Any], Context], Awaitable[list[Any]]]


async def authors(sources: Sequence[Any], context: Context) -> list[User | None]:
    """`author` of messages and threads: every writer of the level in one batch."""
    ids = [source.row.author_id for source in sources]
    wanted = [id_ for id_ in ids if id_ is not None]
    found = dict(zip(wanted, await context.loaders.member_by_id.load_many(wanted), strict=True))
    members = [found.get(id_) if id_ is not None else None for id_ in ids]
    return [User.of_member(member) if member is not None else None for member in members]


async def participants(sources: Sequence[Any], context: Context) -> list[list[User]]:
    """`participants` of conversations: the level's member lists in one batch, then their
    members in one (as Conversation.participants loads them, without a task each)."""
    loaders = context.loaders
    lists = await loaders.participants_of.load_many([source.row.id for source in sources])
    wanted = list(dict.fromkeys(id_ for ids in lists for id_ in ids))
    found = dict(zip(wanted, await loaders.member_by_id.load_many(wanted), strict=True))
    return [
        [User.of_member(member) for member in (found[id_] for id_ in ids) if member is not None]
        for ids in lists
    ]


async def unread_counts(sources: Sequence[Any], context: Context) -> list[int]:
    """`unreadCount` of conversations: the level's counts in one batch (the inbox primed
    them with its page)."""
    return await context.loaders.unread_in.load_many([source.row.id for source in sources])


def _shown(attribute: str) -> Batch:
    async def shown(sources: Sequence[Any], context: Context) -> list[str]:
        """A message's words as this viewer reads them: empty when they blocked its author."""
        checked = [source for source in sources if not source.author_unblocked]
        blocked = await context.viewer_blocked() if checked else frozenset()
        return [
            ""
            if not source.author_unblocked and privacy.has_blocked(blocked, source.row.author_id)
            else getattr(source, attribute)
            for source in sources
        ]

    return shown


BATCHES: dict[tuple[str, str], Batch] = {
    ("Message", "author"): authors,
    ("Thread", "author"): authors,
    ("Message", "body"): _shown("text"),
    ("Message", "bodyHtml"): _shown("html"),
    ("Conversation", "participants"): participants,
    ("Conversation", "unreadCount"): unread_counts,
}

# Batches worth waiting for when the same one runs deeper (see compile._postpone).
POSTPONABLE = frozenset({authors})
