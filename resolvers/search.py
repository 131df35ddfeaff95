"""Full-text search of thread titles and public messages: the reader's words, the pages
of hits and their snippets. The SQL for each engine is in resolvers/search_sql.py.

A hit is a public message (never a conversation's, never a deleted or hidden one). The
order is a grade that depends only on the message and the query, then recency:

1. title hits: the thread's title holds every word, and the hit is its first message;
2. body hits: the message holds every word.

Neither grade needs the corpus statistics behind bm25 or a rank computed over every
match, so each page walks the index newest first and stops after one page, and a
cursor (snapshot, grade, key) stays exact while new messages arrive: later pages leave
out everything newer than the first page's newest message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import re
import unicodedata
from dataclasses import dataclass

from tortoise import connections

from models.forums import Forum
from models.messages import Message, Thread
from models.sql import fetch
from resolvers import search_sql
from resolvers.common import BadInput, Call
from resolvers.pagination import page_size
from services.ratelimits import RULES

QUERY_MAX = 200  # characters of search text
TERMS_MAX = 10  # words and phrases, excluded ones included
RATE_RULE = "search-client"
RATE = " times a ".join(RULES[RATE_RULE].split("/"))  # "60 times a minute", for the API
_WORD = re.compile(r"[^\W_]+")  # letters and digits: what both engines index
_CHUNK = re.compile(r'[^\s"]*')  # an unquoted term runs to a space or a quote
_MARKERS = re.compile("[\x02-\x05]")
_TAGS = {"\x02": "<mark>", "\x03": "</mark>", "\x04": "&lt;", "\x05": "&gt;"}
_TEXT = {"\x02": "", "\x03": "", "\x04": "<", "\x05": ">"}


@dataclass(frozen=True)
class Terms:
    """What the reader asked for: every `required` word or phrase, none `excluded`."""

    required: tuple[str, ...]
    excluded: tuple[str, ...]

    @property
    def fingerprint(self) -> str:
        """A short digest that ties a cursor to its search."""
        text = "\n".join((*self.required, "-", *self.excluded))
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def parse(text: str) -> Terms:
    """Words, "quoted phrases" and -excluded words or -"phrases", lower case. Anything
    else (operators, stars, brackets, a quote left open) is plain text: no input can
    reach an engine as syntax. BadInput when the text is too long or holds too much."""
    if len(text) > QUERY_MAX:
        raise BadInput(f"Search text has at most {QUERY_MAX} characters.")
    text = unicodedata.normalize("NFC", text)
    required: list[str] = []
    excluded: list[str] = []
    position = 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        negated = text[position] == "-"
        while position < len(text) and text[position] == "-":
            position += 1
        if position < len(text) and text[position] == '"':
            end = text.find('"', position + 1)
            end = len(text) if end < 0 else end  # an open quote runs to the end
            chunk, position = text[position + 1 : end], end + 1
        else:
            match = _CHUNK.match(text, position)
            assert match is not None  # the pattern matches the empty string
            chunk, position = match.group(), match.end()
        term = " ".join(_WORD.findall(chunk.lower()))
        target = excluded if negated else required
        if term and term not in target:
            target.append(term)
    if len(required) + len(excluded) > TERMS_MAX:
        raise BadInput(f"Search for at most {TERMS_MAX} words or phrases.")
    return Terms(tuple(required), tuple(excluded))


@dataclass(frozen=True)
class Position:
    """Where a page ends: the first page's newest message, then the grade and key."""

    snapshot: int
    grade: int  # search_sql.TITLE or search_sql.BODY
    key: int  # thread id for title hits, message id for body hits


def encode_cursor(terms: Terms, forum_id: int | None, position: Position) -> str:
    """An opaque cursor for the hit at `position` of this search."""
    raw = f"Search:{_owner(terms, forum_id)}:{position.snapshot}:{position.grade}:{position.key}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(terms: Terms, forum_id: int | None, cursor: str | None) -> Position | None:
    """The position inside a cursor of this very search, or BadInput."""
    if cursor is None:
        return None
    try:
        if len(cursor) > 120:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, owner, *numbers = raw.split(":")
        if len(numbers) != 3 or not all(n.isascii() and n.isdigit() for n in numbers):
            raise ValueError("not a search position")
        snapshot, grade, key = (int(n) for n in numbers)
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise BadInput("That cursor is not valid here.") from error
    if kind != "Search" or grade not in search_sql.GRADES or max(snapshot, key) >= 2**62:
        raise BadInput("That cursor is not valid here.")
    if owner != _owner(terms, forum_id):
        raise BadInput("That cursor belongs to another search.")
    return Position(snapshot, grade, key)


def _owner(terms: Terms, forum_id: int | None) -> str:
    return f"{terms.fingerprint}{forum_id or ''}"


@dataclass(frozen=True)
class Hit:
    """One search result: the message, its thread and forum, and an HTML snippet."""

    message: Message
    thread: Thread
    forum: Forum
    snippet: str


@dataclass(frozen=True)
class Hits:
    """A page of hits, best first, each with its cursor."""

    hits: list[Hit]
    cursors: list[str]
    has_next: bool
    has_previous: bool


async def search(
    call: Call,
    text: str,
    first: int | None,
    after: str | None,
    forum_id: int | None,
) -> Hits:
    """A page of hits for the reader's search text (see `parse`), in `forum_id` only when
    given, leaving out the messages of the members the reader blocked; empty when nothing
    searchable is left of the text. Counts against the client's search budget
    (RATE_LIMITED when spent)."""
    size = page_size(first)
    terms = parse(text)
    position = decode_cursor(terms, forum_id, after)
    if not terms.required:
        return Hits([], [], has_next=False, has_previous=position is not None)
    await call.limits.hit(RATE_RULE, call.client_key)
    reader_id = call.viewer.id if call.viewer is not None else None
    return await find(terms, size, position, forum_id, reader_id)


async def find(
    terms: Terms,
    size: int,
    position: Position | None,
    forum_id: int | None,
    reader_id: int | None,
) -> Hits:
    """The `size` hits after `position`, in one SQL statement, leaving out the messages
    of the members the reader (`reader_id`) blocked."""
    after = None if position is None else (position.snapshot, position.grade, position.key)
    query = search_sql.Query(terms.required, terms.excluded, size + 1, forum_id, reader_id, after)
    sql, values = search_sql.statement(query, connections.get("default").capabilities.dialect)
    rows = await fetch(sql, values)
    # Later pages keep the first page's newest message: nothing newer joins this search.
    snapshot = position.snapshot if position is not None else (rows[0]["newest"] if rows else 0)
    hits, cursors = [], []
    for row in rows[:size]:
        message, thread, forum = search_sql.rows_of(row)
        source = thread.title if row["grade"] == search_sql.TITLE else message.body
        hits.append(Hit(message, thread, forum, snippet(row["snippet"], source)))
        here = Position(snapshot, row["grade"], row["key"])
        cursors.append(encode_cursor(terms, forum_id, here))
    return Hits(hits, cursors, has_next=len(rows) > size, has_previous=position is not None)


def snippet(marked: str, source: str) -> str:
    """HTML for an engine's extract: escaped, matches in <mark>, … where text was cut.

    The engines read the text with the four marker characters blanked, so every marker
    in `marked` is theirs: 2 and 3 open and close a match, 4 and 5 stand for < and >
    (PostgreSQL's headline would otherwise drop anything that looks like a tag)."""
    escaped = html.escape(marked)
    for marker, tag in _TAGS.items():
        escaped = escaped.replace(marker, tag)
    plain = marked
    for marker, text in _TEXT.items():
        plain = plain.replace(marker, text)
    plain = " ".join(plain.split())
    whole = " ".join(_MARKERS.sub(" ", source).split())
    # One engine marks a phrase as a whole, the other word by word: mark it whole.
    text = " ".join(escaped.split()).replace("</mark> <mark>", " ")
    if plain and not whole.startswith(plain):
        text = "… " + text
    if plain and not whole.endswith(plain):
        text += " …"
    return text
