"""Full-text search of thread titles and public messages."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers import search
from schema import ids
from schema.context import Context
from schema.messages import Message, Thread
from schema.pagination import After, Connection, Edge, First, PageInfo


@strawberry.type(description="One search result: a public message, its thread, the words found.")
class SearchHit:
    message: Message = strawberry.field(
        description="The message that matched; for a match in a thread's title, the "
        "thread's first message."
    )
    thread: Thread = strawberry.field(description="The thread the message is in.")
    snippet: str = strawberry.field(
        description="HTML-escaped text around the match (for a title match, the title) with "
        "each matched word in <mark>...</mark>, and … where text was left out."
    )


@strawberry.type(description="One search result in a list, with its cursor.")
class SearchHitEdge(Edge[SearchHit]):
    pass


@strawberry.type(description="A page of search results, best first.")
class SearchHitConnection(Connection[SearchHitEdge]):
    pass


@strawberry.type
class SearchQuery:
    @strawberry.field(
        description="Search thread titles and public messages (never conversations, deleted "
        "or hidden messages, or members' profiles). Every word must appear; words are "
        'stemmed (walk finds walking); "quoted words" must appear together, in order; '
        "-word leaves out results with that word. Title matches come first (as the "
        "thread's first message), then messages, newest first within each. Pages stay "
        "exact while new messages arrive: they join a new search, not its later pages. "
        f"Each client may search {search.RATE} (then RATE_LIMITED, with retryAfter)."
    )
    async def search(
        self,
        info: Info[Context, None],
        query: Annotated[
            str,
            strawberry.argument(
                description=f"What to look for: at most {search.QUERY_MAX} characters and "
                f"{search.TERMS_MAX} words or phrases (more is BAD_USER_INPUT); text with "
                "nothing searchable left (only punctuation, say) finds nothing."
            ),
        ],
        first: First = None,
        after: After = None,
        forum_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only this forum's threads (its global ID)."),
        ] = None,
    ) -> SearchHitConnection:
        forum = ids.decode_pk(forum_id, "Forum") if forum_id is not None else None
        found = await search.search(info.context.call, query, first, after, forum)
        loaders = info.context.loaders
        edges = []
        for hit, cursor in zip(found.hits, found.cursors, strict=True):
            # The hit's row came with its thread and forum: asking for them costs no query.
            loaders.thread_by_id.prime(hit.thread.id, hit.thread)
            loaders.forum_by_id.prime(hit.forum.id, hit.forum)
            message, thread = Message.of(hit.message), Thread(row=hit.thread)
            message.author_unblocked = True  # search's statement left the blocked out
            node = SearchHit(message=message, thread=thread, snippet=hit.snippet)
            edges.append(SearchHitEdge(cursor=cursor, node=node))
        page = PageInfo(
            has_next_page=found.has_next,
            has_previous_page=found.has_previous,
            start_cursor=found.cursors[0] if found.cursors else None,
            end_cursor=found.cursors[-1] if found.cursors else None,
        )
        return SearchHitConnection(edges=edges, page_info=page)
