"""The one statement behind a page of search hits, for SQLite (FTS5) and PostgreSQL.

Only placeholders carry the reader's input. On SQLite every word or phrase goes to FTS5
as a quoted string ("word", "two words"), joined with AND, NOT and OR that we write;
on PostgreSQL as quoted phrases to websearch_to_tsquery, which has no syntax errors.

Each grade is a union arm ordered by its key, newest first, with its own LIMIT:

- SQLite: FTS5 walks a match list in rowid order, so an arm reads its page and stops.
- PostgreSQL: a GIN index gives matches in no order. Each arm first walks the newest
  WINDOW keys with the index on the key (a common word fills the page at once); only if
  that found too few does its second part ask the GIN index for the older matches (a
  rare word: few rows). The split between the two is just a key value, so the two parts
  together are exactly the arm, and neither depends on the planner's row estimates.
"""

# Every statement here is assembled from our own fragments; values go in as placeholders.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from models.forums import Forum
from models.messages import Message, Thread
from models.sql import columns

TITLE, BODY = 2, 1  # grades: a higher grade comes first
GRADES = (TITLE, BODY)
NO_BOUND = 2**62  # above every id
WINDOW = 5000  # PostgreSQL: keys walked newest first before asking the GIN index
SNIPPET_TOKENS = 24


@dataclass(frozen=True)
class Query:
    """One page to fetch: terms (already parsed), page size + 1, filters, the cursor."""

    required: tuple[str, ...]
    excluded: tuple[str, ...]
    limit: int
    forum_id: int | None
    reader_id: int | None  # the reader: the members they blocked are left out
    after: tuple[int, int, int] | None  # (snapshot, grade, key) of the last hit shown


class _Params:
    """Numbered placeholders for models.sql.fetch: each call adds one value."""

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"{{{len(self.values) - 1}}}"

    def int(self, value: int) -> str:
        """An integer placeholder (PostgreSQL must not guess a 4-byte type)."""
        return self(value) + ("::bigint" if self.postgres else "")


@dataclass(frozen=True)
class _Bounds:
    """What a page may still show, from its cursor."""

    title: bool  # does the page still include title hits?
    title_upto: int  # highest thread id a title hit may have
    snapshot: int  # highest message id any hit may have
    body_upto: int  # highest message id a body hit may have


def _bounds(after: tuple[int, int, int] | None) -> _Bounds:
    if after is None:
        return _Bounds(True, NO_BOUND, NO_BOUND, NO_BOUND)
    snapshot, grade, key = after
    if grade == TITLE:
        return _Bounds(True, key - 1, snapshot, snapshot)
    return _Bounds(False, NO_BOUND, snapshot, min(key - 1, snapshot))


def statement(query: Query, dialect: str) -> tuple[str, list[Any]]:
    """The SQL and values for one page: columns grade, key, snippet, newest (the newest
    message id), and the columns of the message, its thread and forum as m__*, t__*, fo__*."""
    postgres = dialect == "postgres"
    params = _Params(postgres)
    build = _postgres if postgres else _sqlite
    return build(query, _bounds(query.after), params), params.values


@cache
def _selected() -> str:
    parts = [f'm."{c}" AS "m__{c}"' for c in columns(Message)]
    parts += [f't."{c}" AS "t__{c}"' for c in columns(Thread)]
    parts += [f'fo."{c}" AS "fo__{c}"' for c in columns(Forum)]
    return ", ".join(parts)


def rows_of(row: dict[str, Any]) -> tuple[Message, Thread, Forum]:
    """The message, thread and forum of one result row."""
    message = Message._init_from_db(**{c: row[f"m__{c}"] for c in columns(Message)})
    thread = Thread._init_from_db(**{c: row[f"t__{c}"] for c in columns(Thread)})
    forum = Forum._init_from_db(**{c: row[f"fo__{c}"] for c in columns(Forum)})
    return message, thread, forum


def _filters(query: Query, params: _Params, message: str) -> str:
    """Forum and the reader's blocked authors, for a message alias joined with threads as t."""
    sql = ""
    if query.forum_id is not None:
        sql += f" AND t.forum_id = {params(query.forum_id)}"
    if query.reader_id is not None:
        blocked = (
            f"SELECT 1 FROM blocks b WHERE b.blocker_id = {params(query.reader_id)} "
            f"AND b.blocked_id = {message}.author_id"
        )
        sql += f" AND NOT EXISTS ({blocked})"
    return sql


def _is_first(message: str) -> str:
    return (
        f"NOT EXISTS (SELECT 1 FROM messages p WHERE p.thread_id = {message}.thread_id "
        f"AND p.id < {message}.id)"
    )


def _outer(hits: str, snippet: str, limit: str) -> str:
    newest = "(SELECT max(id) FROM messages)"
    return (
        f"{hits} SELECT h.grade AS grade, h.key AS key, {snippet} AS snippet, "
        f"{newest} AS newest, {_selected()} FROM hits h "
        "JOIN messages m ON m.id = h.message_id JOIN threads t ON t.id = m.thread_id "
        f"JOIN forums fo ON fo.id = t.forum_id ORDER BY h.grade DESC, h.key DESC LIMIT {limit}"
    )


# ---------------------------------------------------------------- SQLite


def _fts(terms: tuple[str, ...], joiner: str) -> str:
    return f" {joiner} ".join('"' + term.replace('"', '""') + '"' for term in terms)


def _sqlite(query: Query, bounds: _Bounds, params: _Params) -> str:
    required, excluded = _fts(query.required, "AND"), _fts(query.excluded, "OR")
    match = params(f"({required}) NOT ({excluded})" if excluded else required)
    limit = params.int(query.limit)
    arms = []
    if bounds.title:
        unwanted = ""
        if excluded:
            unwanted = (
                " AND NOT EXISTS (SELECT 1 FROM message_search WHERE message_search MATCH "
                f"{params(excluded)} AND message_search.rowid = f.id)"
            )
        arms.append(
            f"SELECT {TITLE} AS grade, thread_search.rowid AS key, f.id AS message_id, "
            "highlight(thread_search, 0, char(2), char(3)) AS snippet FROM thread_search "
            "JOIN threads t ON t.id = thread_search.rowid JOIN messages f ON f.id = "
            "(SELECT min(p.id) FROM messages p WHERE p.thread_id = t.id) "
            f"WHERE thread_search MATCH {match} "
            f"AND thread_search.rowid <= {params.int(bounds.title_upto)} "
            f"AND f.id <= {params.int(bounds.snapshot)} "
            f"AND f.deleted_at IS NULL AND f.hidden_at IS NULL{unwanted}"
            f"{_filters(query, params, 'f')} ORDER BY thread_search.rowid DESC LIMIT {limit}"
        )
    # A first message whose title matches is a title hit, or left out with its title.
    title = params(f"({required}) OR ({excluded})" if excluded else required)
    arms.append(
        f"SELECT {BODY} AS grade, message_search.rowid AS key, m.id AS message_id, "
        f"snippet(message_search, 0, char(2), char(3), '', {SNIPPET_TOKENS}) AS snippet "
        "FROM message_search JOIN messages m ON m.id = message_search.rowid "
        f"JOIN threads t ON t.id = m.thread_id WHERE message_search MATCH {match} "
        f"AND message_search.rowid <= {params.int(bounds.body_upto)} AND NOT ({_is_first('m')} "
        "AND EXISTS (SELECT 1 FROM thread_search WHERE thread_search MATCH "
        f"{title} AND thread_search.rowid = t.id)){_filters(query, params, 'm')} "
        f"ORDER BY message_search.rowid DESC LIMIT {limit}"
    )
    hits = "WITH hits AS (" + " UNION ALL ".join(f"SELECT * FROM ({arm})" for arm in arms) + ")"
    return _outer(hits, "h.snippet", limit)


# ---------------------------------------------------------------- PostgreSQL

# What PostgreSQL reads for a headline: markers blanked, < and > hidden from its parser.
_CLEAN = "translate({0}, chr(2) || chr(3) || chr(4) || chr(5) || '<>', '    ' || chr(4) || chr(5))"
_OPTIONS = "'StartSel=' || chr(2) || ', StopSel=' || chr(3) || ', ShortWord=0'"


def _websearch(terms: tuple[str, ...], joiner: str = " ") -> str:
    return joiner.join(f'"{term}"' for term in terms)


def _split(name: str, arm: Callable[[str], str], key: str, upto: str, limit: str) -> list[str]:
    """Two CTEs that together are one arm, newest `key` first. `arm(vector)` is its
    SELECT ... WHERE with the match written for `vector`, the arm's tsvector column.

    The first walks the newest WINDOW keys down the key's index, matching row by row
    (coalesce() keeps the GIN index out of that plan); only when it found too few does
    the second ask the GIN index for the older rest (`key + 0` keeps the key's index
    out of that one)."""
    split = f"{upto} - {WINDOW}"
    scanned = arm(f"coalesce({VECTOR[name]}, '')")
    return [
        f"{name}_new AS ({scanned} AND {key} <= {upto} AND {key} > {split} "
        f"ORDER BY {key} DESC LIMIT {limit})",
        f"{name}_old AS ({arm(VECTOR[name])} AND {key} + 0 <= {split} AND "
        f"(SELECT count(*) FROM {name}_new) < {limit} ORDER BY {key} + 0 DESC LIMIT {limit})",
    ]


VECTOR = {"title": "t.search_vector", "body": "m.search_vector"}


def _postgres(query: Query, bounds: _Bounds, params: _Params) -> str:
    limit = params.int(query.limit)
    excluded = _websearch(query.excluded, " or ")
    unwanted_query = f"websearch_to_tsquery('english', {params(excluded)})" if excluded else "NULL"
    ctes = [
        f"q AS (SELECT websearch_to_tsquery('english', {params(_websearch(query.required))})"
        f" AS wanted, {unwanted_query}::tsquery AS unwanted)",
        f"bounds AS (SELECT LEAST({params.int(bounds.title_upto)}, (SELECT max(id) FROM "
        f"threads)) AS title, LEAST({params.int(bounds.body_upto)}, (SELECT max(id) FROM "
        "messages)) AS body)",
    ]
    wanted, unwanted = "(SELECT wanted FROM q)", "(SELECT unwanted FROM q)"
    filters = {alias: _filters(query, params, alias) for alias in ("f", "m")}
    arms = []
    if bounds.title:
        snapshot = params.int(bounds.snapshot)
        first = (
            "CROSS JOIN LATERAL (SELECT p.id, p.author_id, p.deleted_at, p.hidden_at, "
            "p.search_vector FROM messages p WHERE p.thread_id = t.id ORDER BY p.id LIMIT 1) f"
        )
        title_unwanted = ""
        if excluded:
            title_unwanted = (
                f" AND NOT t.search_vector @@ {unwanted} AND NOT f.search_vector @@ {unwanted}"
            )

        def title_arm(vector: str) -> str:
            return (
                f"SELECT {TITLE} AS grade, t.id AS key, f.id AS message_id FROM threads t "
                f"{first} WHERE {vector} @@ {wanted} AND f.id <= {snapshot} "
                f"AND f.deleted_at IS NULL AND f.hidden_at IS NULL{title_unwanted}{filters['f']}"
            )

        ctes += _split("title", title_arm, "t.id", "(SELECT title FROM bounds)", limit)
        arms += ["title_new", "title_old"]
    # A first message whose title matches is a title hit, or left out with its title.
    title_match = f"t.search_vector @@ {wanted}"
    body_unwanted = ""
    if excluded:
        title_match = f"({title_match} OR t.search_vector @@ {unwanted})"
        body_unwanted = f" AND NOT m.search_vector @@ {unwanted}"

    def body_arm(vector: str) -> str:
        return (
            f"SELECT {BODY} AS grade, m.id AS key, m.id AS message_id FROM messages m "
            f"JOIN threads t ON t.id = m.thread_id WHERE {vector} @@ {wanted}{body_unwanted} "
            f"AND NOT ({title_match} AND {_is_first('m')}){filters['m']}"
        )

    ctes += _split("body", body_arm, "m.id", "(SELECT body FROM bounds)", limit)
    arms += ["body_new", "body_old"]
    union = " UNION ALL ".join(f"SELECT * FROM {arm}" for arm in arms)
    ctes.append(f"hits AS ({union} ORDER BY grade DESC, key DESC LIMIT {limit})")
    title_text, body_text = _CLEAN.format("t.title"), _CLEAN.format("m.body")
    snippet = (
        f"CASE WHEN h.grade = {TITLE} THEN ts_headline('english', {title_text}, {wanted}, "
        f"{_OPTIONS} || ', HighlightAll=true') ELSE ts_headline('english', {body_text}, "
        f"{wanted}, {_OPTIONS} || ', MaxWords={SNIPPET_TOKENS}, MinWords=12') END"
    )
    return _outer("WITH " + ", ".join(ctes), snippet, limit)
