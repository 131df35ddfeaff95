"""The reference pages: the thread page computed the plain way, with three hand-written
statements (the thread and its opener, the page of messages, the authors with their
profiles and privacy settings in one `IN`) and the privacy rule of
`resolvers/privacy.py: can_view` for any viewer (nobody, or a confirmed member and
their follows). The runner checks the signed-in page against it, and the raw baseline
(`raw_app.py --statements 3`) serves it as the slower rung of its ladder. Also the raw
reply: the same rows `postMessage` writes, with hand-written SQL in one transaction.

aiosqlite on SQLite (one connection, as Tortoise uses), an asyncpg pool on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from services.tokens import token_hash

STATEMENTS_PER_PAGE = 3
STATEMENTS_PER_REPLY = 5  # the member, the thread, the insert, the thread's update, commit
# Defaults of privacy_settings for members who never saved one (models/privacy.py).
DEFAULTS = {
    "age": "members",
    "last_seen": "everyone",
    "bio": "everyone",
    "location": "members",
    "website": "everyone",
    "diet_plan": "members",
    "weight_journey": "only_me",
}
AUTHOR_COLUMNS = (
    "u.id, u.username, u.date_of_birth, u.last_seen_at, p.user_id, p.bio, p.location, "
    "p.website, p.diet_plan, p.start_weight_kg, p.current_weight_kg, p.goal_weight_kg, "
    "s.user_id, s.age, s.last_seen, s.bio, s.location, s.website, s.diet_plan, s.weight_journey"
)


def gid(kind: str, key: int) -> str:
    """A global id or cursor: base64url of `Kind:key`, without padding."""
    return base64.urlsafe_b64encode(f"{kind}:{key}".encode()).decode().rstrip("=")


def ungid(kind: str, value: str) -> int | None:
    """The key inside a global id or cursor of `kind`, or None."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    found, _, key = raw.partition(":")
    return int(key) if found == kind and key.isdigit() and len(key) <= 18 else None


class Database:
    """The three statements, on SQLite or PostgreSQL; values come back as Python types
    the JSON builder understands (SQLite's timestamps stay text, already ISO 8601)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.postgres = url.startswith(("postgres://", "postgresql://"))
        self.conn: Any = None
        self.pool: Any = None
        self.writing = asyncio.Lock()  # one SQLite connection: one write transaction at a time

    async def open(self) -> None:
        """Connect."""
        if self.postgres:
            import asyncpg

            self.pool = await asyncpg.create_pool(self.url, min_size=4, max_size=10)
        else:
            import aiosqlite

            path = self.url.removeprefix("sqlite://").split("?")[0]
            self.conn = await aiosqlite.connect(path)
            await self.conn.execute("PRAGMA journal_mode=WAL")

    async def close(self) -> None:
        """Disconnect."""
        if self.pool is not None:
            await self.pool.close()
        if self.conn is not None:
            await self.conn.close()

    async def page(
        self, thread_id: int, after: int, limit: int
    ) -> tuple[Any, list[Sequence[Any]], dict[int, Sequence[Any]]]:
        """The thread row, `limit` messages after `after`, and their authors by id."""
        thread, rows, authors, _ = await self.viewer_page(thread_id, after, limit, None)
        return thread, rows, authors

    async def viewer_page(
        self, thread_id: int, after: int, limit: int, viewer: int | None
    ) -> tuple[Any, list[Sequence[Any]], dict[int, Sequence[Any]], list[Sequence[Any]]]:
        """`page`, plus (for the runner's check of a signed-in page, never served here)
        the follows between the viewer and the authors."""
        thread_sql = "SELECT id, title, created_at, author_id FROM threads WHERE id = {0}"
        page_sql = (
            "SELECT id, author_id, body_html, created_at, edited_at, deleted_at, hidden_at "
            "FROM messages WHERE thread_id = {0} AND id > {1} ORDER BY id LIMIT {2}"
        )
        if self.postgres:
            async with self.pool.acquire() as conn:
                thread = await conn.fetchrow(thread_sql.format("$1"), thread_id)
                if thread is None:
                    return None, [], {}
                rows = await conn.fetch(page_sql.format("$1", "$2", "$3"), thread_id, after, limit)
                ids = _author_ids(thread, rows)
                authors = await conn.fetch(_authors_sql("$1::int[]", postgres=True), ids)
                follows = []
                if viewer is not None:
                    follows = await conn.fetch(
                        "SELECT follower_id, followee_id FROM follows WHERE "
                        "(follower_id = $1 AND followee_id = ANY($2::int[])) OR "
                        "(followee_id = $1 AND follower_id = ANY($2::int[]))",
                        viewer,
                        ids,
                    )
        else:
            async with self.conn.execute(thread_sql.format("?"), (thread_id,)) as cur:
                thread = await cur.fetchone()
            if thread is None:
                return None, [], {}
            async with self.conn.execute(
                page_sql.format("?", "?", "?"), (thread_id, after, limit)
            ) as cur:
                rows = await cur.fetchall()
            ids = _author_ids(thread, rows)
            marks = ", ".join("?" for _ in ids)
            async with self.conn.execute(_authors_sql(marks, postgres=False), ids) as cur:
                authors = await cur.fetchall()
            follows = []
            if viewer is not None:
                sql = (
                    "SELECT follower_id, followee_id FROM follows WHERE "
                    f"(follower_id = ? AND followee_id IN ({marks})) OR "
                    f"(followee_id = ? AND follower_id IN ({marks}))"
                )
                async with self.conn.execute(sql, [viewer, *ids, viewer, *ids]) as cur:
                    follows = await cur.fetchall()
        return thread, rows, {row[0]: row for row in authors}, follows

    async def post(
        self, token: str, thread_id: int, body: str, html: str, ip: dict[str, str]
    ) -> tuple[int, str, datetime] | None:
        """The raw reply: the session's member, the thread, the message row with its
        client record, the thread's last message; None when signed out or no thread."""
        now = datetime.now(UTC)
        who_sql = (
            "SELECT u.id, u.username, s.expires_at FROM sessions s JOIN users u "
            "ON u.id = s.user_id WHERE s.token_hash = {0} AND s.revoked_at IS NULL"
        )
        insert_sql = (
            "INSERT INTO messages (thread_id, author_id, body, body_html, created_at, "
            "ip_cipher, ip_hash, user_agent) VALUES ({0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}) "
            "RETURNING id"
        )
        update_sql = "UPDATE threads SET last_message_id = {0} WHERE id = {1}"
        if self.postgres:
            async with self.pool.acquire() as conn:
                who = await conn.fetchrow(who_sql.format("$1"), token_hash(token))
                if who is None or who[2] <= now:
                    return None
                if await conn.fetchval("SELECT id FROM threads WHERE id = $1", thread_id) is None:
                    return None
                async with conn.transaction():
                    values = [thread_id, who[0], body, html, now, *ip.values()]
                    marks = [f"${n}" for n in range(1, 9)]
                    message_id = await conn.fetchval(insert_sql.format(*marks), *values)
                    await conn.execute(update_sql.format("$1", "$2"), message_id, thread_id)
                return message_id, who[1], now
        async with self.conn.execute(who_sql.format("?"), (token_hash(token),)) as cur:
            who = await cur.fetchone()
        if who is None or as_datetime(who[2]) <= now:
            return None
        async with self.conn.execute("SELECT id FROM threads WHERE id = ?", (thread_id,)) as cur:
            if await cur.fetchone() is None:
                return None
        values = [thread_id, who[0], body, html, now.isoformat(" "), *ip.values()]
        async with self.writing:
            async with self.conn.execute(insert_sql.format(*["?"] * 8), values) as cur:
                message_id = (await cur.fetchone())[0]
            await self.conn.execute(update_sql.format("?", "?"), (message_id, thread_id))
            await self.conn.commit()
        return message_id, who[1], now


def _author_ids(thread: Sequence[Any], rows: Sequence[Sequence[Any]]) -> list[int]:
    ids = {row[1] for row in rows if row[1] is not None}
    if thread[3] is not None:
        ids.add(thread[3])
    return sorted(ids)


def _authors_sql(marks: str, *, postgres: bool) -> str:
    where = f"u.id = ANY({marks})" if postgres else f"u.id IN ({marks})"
    return (
        f"SELECT {AUTHOR_COLUMNS} FROM users u "
        "LEFT JOIN profiles p ON p.user_id = u.id "
        "LEFT JOIN privacy_settings s ON s.user_id = u.id "
        f"WHERE {where}"
    )


def iso(value: Any) -> str | None:
    """A timestamp as Strawberry writes it (datetime.isoformat)."""
    if value is None:
        return None
    if isinstance(value, str):  # SQLite: stored with isoformat(" ")
        return value.replace(" ", "T", 1)
    return value.isoformat()


def as_datetime(value: Any) -> datetime:
    """A stored timestamp as an aware datetime."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def as_date(value: Any) -> date:
    """A stored date."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def kg(value: Any) -> float | None:
    """A stored weight as the GraphQL Float."""
    if value is None:
        return None
    return float(Decimal(value)) if isinstance(value, str) else float(value)


class Viewer:
    """Who reads: nobody (the baseline), or a confirmed member and their follows."""

    def __init__(self, member: int | None = None, follows: Sequence[Sequence[Any]] = ()) -> None:
        self.member = member
        self.following = {b for a, b in follows if a == member}  # the viewer follows b
        self.followers = {a for a, b in follows if b == member}  # a follows the viewer

    def sees(self, owner: int, audience: str) -> bool:
        """resolvers/privacy.py: can_view, for a confirmed member or nobody."""
        if self.member is not None and owner == self.member:
            return True
        if audience == "everyone":
            return True
        if self.member is None:
            return False
        if audience == "members":
            return True
        return audience == "following" and owner in self.followers


NOBODY = Viewer()


def author_json(
    row: Sequence[Any] | None, today: date, viewer: Viewer = NOBODY
) -> dict[str, Any] | None:
    """An author as the project renders it (for a signed-out reader in the baseline)."""
    if row is None:
        return None
    (
        user_id, username, born, seen, _profile, bio, location, website, diet_plan,
        start, current, goal, has_settings, a_age, a_seen, a_bio, a_location, a_website,
        a_diet, a_weights,
    ) = row  # fmt: skip
    if has_settings is None:
        a_age, a_seen, a_bio = DEFAULTS["age"], DEFAULTS["last_seen"], DEFAULTS["bio"]
        a_location, a_website = DEFAULTS["location"], DEFAULTS["website"]
        a_diet, a_weights = DEFAULTS["diet_plan"], DEFAULTS["weight_journey"]
    last_seen = None
    if seen is not None and viewer.sees(user_id, a_seen):
        moment = as_datetime(seen)
        last_seen = moment.replace(
            minute=moment.minute - moment.minute % 15, second=0, microsecond=0
        ).isoformat()
    age = None
    if viewer.sees(user_id, a_age):
        born_on = as_date(born)
        age = today.year - born_on.year - ((today.month, today.day) < (born_on.month, born_on.day))
    journey = None
    if viewer.sees(user_id, a_weights) and not (start is None and current is None and goal is None):
        journey = {"startKg": kg(start), "currentKg": kg(current), "goalKg": kg(goal)}
    return {
        "id": gid("User", user_id),
        "username": username,
        "lastSeenAt": last_seen,
        "age": age,
        "profile": {
            "bio": bio if viewer.sees(user_id, a_bio) else None,
            "location": location if viewer.sees(user_id, a_location) else None,
            "website": website if viewer.sees(user_id, a_website) else None,
            "dietPlan": diet_plan if viewer.sees(user_id, a_diet) else None,
            "weightJourney": journey,
        },
        "viewerIsFollowing": user_id in viewer.following,
    }


def thread_json(
    thread: Sequence[Any], rows: Sequence[Sequence[Any]], authors: dict[int, Any], first: int,
    after: bool, viewer: Viewer = NOBODY,
) -> dict[str, Any]:  # fmt: skip
    """The `data` of a thread page."""
    today = datetime.now(UTC).date()
    people = {key: author_json(row, today, viewer) for key, row in authors.items()}
    more = len(rows) > first
    rows = rows[:first]
    edges = []
    for message_id, author_id, body_html, created, edited, deleted, hidden in rows:
        key = gid("Message", message_id)
        removed = deleted is not None or hidden is not None
        edges.append(
            {
                "cursor": key,
                "node": {
                    "id": key,
                    "bodyHtml": "" if removed else body_html,
                    "createdAt": iso(created),
                    "editedAt": iso(edited),
                    "deleted": deleted is not None,
                    "hidden": hidden is not None,
                    "author": people.get(author_id) if author_id is not None else None,
                },
            }
        )
    opener = people.get(thread[3]) if thread[3] is not None else None
    return {
        "thread": {
            "id": gid("Thread", thread[0]),
            "title": thread[1],
            "createdAt": iso(thread[2]),
            "author": {"id": opener["id"], "username": opener["username"]} if opener else None,
            "messages": {
                "edges": edges,
                "pageInfo": {
                    "hasNextPage": more,
                    "hasPreviousPage": after,
                    "startCursor": edges[0]["cursor"] if edges else None,
                    "endCursor": edges[-1]["cursor"] if edges else None,
                },
            },
        }
    }
