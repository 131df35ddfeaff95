"""The raw baseline, as fast as raw Python gets here: a bare ASGI app under uvicorn with
httptools and uvloop, one hand-written statement per page, orjson. It answers with the
same JSON, byte for byte, as the project's server (the runner checks that before timing):

- the thread page (`queries.THREAD_PAGE`) for a signed-out reader: the thread, its
  opener, the page of messages, and each author with profile and privacy settings in
  one statement; a private field shows only when its owner's audience is EVERYONE
  (the settings' defaults when none were saved), as `resolvers/privacy.py: can_view`
  decides for nobody;
- the inbox (`queries.INBOX`) for the session's member: the session, the 20 most
  recently active conversations with unread counts, participants and last message
  (with its author) in one statement;
- a reply (`queries.POST_MESSAGE`): the rows `postMessage` writes (reference.py).

    BENCH_DATABASE_URL=sqlite://bench/data/standard.sqlite3 python bench/raw_app.py --port 8101

The options take it apart for bench/README.md's ladder: `--http h11`, `--statements 3`
(the reference's three statements), `--json std`, `--framework starlette`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent / "data" / "site"))  # requirements.txt
sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference
from queries import INBOX, POST_MESSAGE, THREAD_PAGE
from reference import DEFAULTS, as_date, as_datetime, gid, iso, kg, ungid

from services.addresses import AddressVault
from services.markdown import Renderer
from services.tokens import token_hash

STATEMENTS_PER_PAGE = 1
STATEMENTS_PER_INBOX = 1
STATEMENTS_PER_REPLY = reference.STATEMENTS_PER_REPLY
INBOX_SIZE = 20


def _shown(setting: str, column: str) -> str:
    """A column that only an audience of EVERYONE lets a signed-out reader see."""
    return f"CASE WHEN COALESCE(s.{setting}, '{DEFAULTS[setting]}') = 'everyone' THEN {column} END"


def page_sql(postgres: bool) -> str:
    """The thread page in one statement: one row per message (one row, message columns
    null, for a thread without messages after the cursor); none for no thread."""
    one, two, three = ("$1", "$2", "$3") if postgres else ("?1", "?2", "?3")
    shown = [
        _shown("last_seen", "u.last_seen_at"),
        _shown("age", "u.date_of_birth"),
        *(_shown(name, f"p.{name}") for name in ("bio", "location", "website", "diet_plan")),
        *(_shown("weight_journey", f"p.{name}_weight_kg") for name in ("start", "current", "goal")),
    ]
    return (
        "SELECT t.id, t.title, t.created_at, o.id, o.username, m.id, m.body_html, "
        "m.created_at, m.edited_at, m.deleted_at, m.hidden_at, u.id, u.username, "
        + ", ".join(shown)
        + " FROM threads t LEFT JOIN users o ON o.id = t.author_id "
        "LEFT JOIN (SELECT id, author_id, body_html, created_at, edited_at, deleted_at, "
        f"hidden_at FROM messages WHERE thread_id = {one} AND id > {two} ORDER BY id "
        f"LIMIT {three}) m ON {'true' if postgres else '1'} "
        "LEFT JOIN users u ON u.id = m.author_id "
        "LEFT JOIN profiles p ON p.user_id = u.id "
        "LEFT JOIN privacy_settings s ON s.user_id = u.id "
        f"WHERE t.id = {one} ORDER BY m.id"
    )


def inbox_sql(postgres: bool) -> str:
    """The inbox in one statement: the session's member (no row: signed out), then one row
    per participant of each of the member's most recently active conversations."""
    token, size = ("$1", "$2") if postgres else ("?1", "?2")
    alive = "expires_at > now()" if postgres else "julianday(expires_at) > julianday('now')"
    return (
        "WITH v AS (SELECT user_id AS id FROM sessions WHERE token_hash = "
        f"{token} AND revoked_at IS NULL AND {alive}), "
        "mine AS (SELECT p.conversation_id AS cid, p.last_message_id AS activity, "
        "p.last_read_message_id AS seen FROM participants p JOIN v ON p.user_id = v.id "
        f"WHERE p.left_at IS NULL ORDER BY p.last_message_id DESC LIMIT {size}) "
        "SELECT v.id, mine.activity, c.id, c.title, "
        "(SELECT COUNT(n.id) FROM messages n WHERE n.conversation_id = mine.cid "
        "AND n.id > mine.seen AND n.deleted_at IS NULL "
        "AND (n.author_id IS NULL OR n.author_id <> v.id)), "
        "m.id, m.body_html, m.created_at, m.deleted_at, m.hidden_at, a.id, a.username, "
        "u.id, u.username "
        "FROM v LEFT JOIN mine ON true LEFT JOIN conversations c ON c.id = mine.cid "
        "LEFT JOIN messages m ON m.id = "
        "(SELECT MAX(l.id) FROM messages l WHERE l.conversation_id = c.id) "
        "LEFT JOIN users a ON a.id = m.author_id "
        "LEFT JOIN participants pp ON pp.conversation_id = c.id AND pp.left_at IS NULL "
        "LEFT JOIN users u ON u.id = pp.user_id "
        "ORDER BY mine.activity DESC, pp.id"
    )


class Database(reference.Database):
    """The reference's connection, plus the one-statement pages."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.page_sql = page_sql(self.postgres)
        self.inbox_sql = inbox_sql(self.postgres)

    async def rows(self, sql: str, *values: Any) -> Sequence[Sequence[Any]]:
        """All rows of one statement (one trip to aiosqlite's thread on SQLite)."""
        if self.postgres:
            async with self.pool.acquire() as conn:
                return await conn.fetch(sql, *values)
        return await self.conn.execute_fetchall(sql, values)


def author(row: Sequence[Any], today: Any) -> dict[str, Any]:
    """A message's author from the page statement's columns 11-22 (already filtered)."""
    seen, born, start, current, goal = row[13], row[14], row[19], row[20], row[21]
    last_seen = None
    if seen is not None:
        moment = as_datetime(seen)
        last_seen = moment.replace(
            minute=moment.minute - moment.minute % 15, second=0, microsecond=0
        ).isoformat()
    age = None
    if born is not None:
        born = as_date(born)
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    journey = None
    if not (start is None and current is None and goal is None):
        journey = {"startKg": kg(start), "currentKg": kg(current), "goalKg": kg(goal)}
    return {
        "id": gid("User", row[11]),
        "username": row[12],
        "lastSeenAt": last_seen,
        "age": age,
        "profile": {
            "bio": row[15],
            "location": row[16],
            "website": row[17],
            "dietPlan": row[18],
            "weightJourney": journey,
        },
        "viewerIsFollowing": False,
    }


def page_json(rows: Sequence[Sequence[Any]], first: int, after: bool) -> dict[str, Any]:
    """The `data` of a signed-out thread page from the page statement's rows."""
    if not rows:
        return {"thread": None}
    today = datetime.now(UTC).date()
    people: dict[int, dict[str, Any]] = {}
    edges = []
    for row in rows[:first]:
        if row[5] is None:
            break
        key = gid("Message", row[5])
        who = None
        if row[11] is not None:
            who = people.get(row[11])
            if who is None:
                who = people[row[11]] = author(row, today)
        removed = row[9] is not None or row[10] is not None
        node = {
            "id": key,
            "bodyHtml": "" if removed else row[6],
            "createdAt": iso(row[7]),
            "editedAt": iso(row[8]),
            "deleted": row[9] is not None,
            "hidden": row[10] is not None,
            "author": who,
        }
        edges.append({"cursor": key, "node": node})
    head = rows[0]
    return {
        "thread": {
            "id": gid("Thread", head[0]),
            "title": head[1],
            "createdAt": iso(head[2]),
            "author": None
            if head[3] is None
            else {"id": gid("User", head[3]), "username": head[4]},
            "messages": {
                "edges": edges,
                "pageInfo": {
                    "hasNextPage": len(rows) > first and rows[first][5] is not None,
                    "hasPreviousPage": after,
                    "startCursor": edges[0]["cursor"] if edges else None,
                    "endCursor": edges[-1]["cursor"] if edges else None,
                },
            },
        }
    }


def inbox_json(rows: Sequence[Sequence[Any]], size: int) -> dict[str, Any]:
    """The `data` of the inbox from the inbox statement's rows (the member's, at least one)."""
    conversations: list[dict[str, Any]] = []
    activity: list[int] = []
    last = None
    for row in rows:
        if row[2] is None:
            continue  # a member without conversations
        if row[2] != last:
            last = row[2]
            activity.append(row[1])
            message = None
            if row[5] is not None:
                removed = row[8] is not None or row[9] is not None
                writer = (
                    None if row[10] is None else {"id": gid("User", row[10]), "username": row[11]}
                )
                message = {
                    "node": {
                        "id": gid("Message", row[5]),
                        "bodyHtml": "" if removed else row[6],
                        "createdAt": iso(row[7]),
                        "author": writer,
                    }
                }
            node = {
                "id": gid("Conversation", row[2]),
                "title": row[3],
                "unreadCount": row[4],
                "participants": [],
                "messages": {"edges": [message] if message else []},
            }
            conversations.append({"cursor": gid("Activity", row[1]), "node": node})
        if row[12] is not None:
            conversations[-1]["node"]["participants"].append(
                {"id": gid("User", row[12]), "username": row[13]}
            )
    shown = conversations[:size]
    return {
        "conversations": {
            "edges": shown,
            "pageInfo": {
                "hasNextPage": len(conversations) > size,
                "endCursor": shown[-1]["cursor"] if shown else None,
            },
        }
    }


class Answers:
    """What the baseline answers, independent of the HTTP framing around it."""

    def __init__(
        self,
        url: str,
        statements: int,
        loads: Callable[[bytes], Any],
        dumps: Callable[[Any], bytes],
    ) -> None:
        self.db = Database(url)
        self.statements = statements
        self.loads = loads
        self.dumps = dumps
        self.vault = AddressVault(b"raw-baseline-ip-key-" + b"k" * 32)
        self.renderer = Renderer("http://localhost:8000", b"raw-baseline-secret-" + b"s" * 32)

    async def answer(
        self, body: bytes, cookie: str | None, client: str, agent: str
    ) -> tuple[int, bytes]:
        """The status and JSON body for one POST /graphql body."""
        try:
            payload = self.loads(body)
            query = payload["query"]
            variables = payload.get("variables") or {}
        except (ValueError, KeyError, TypeError):
            return 400, b'{"errors":[{"message":"bad request"}]}'
        if query == THREAD_PAGE:
            return await self.page(variables)
        if query == INBOX:
            return await self.inbox(cookie)
        if query == POST_MESSAGE:
            return await self.reply(variables, cookie, client, agent)
        return 400, b'{"errors":[{"message":"only the benchmark documents"}]}'

    async def page(self, variables: dict[str, Any]) -> tuple[int, bytes]:
        """The signed-out thread page."""
        thread_id = ungid("Thread", str(variables.get("id") or ""))
        first = variables.get("first")
        after = variables.get("after")
        position = ungid("Message", after) if isinstance(after, str) else 0
        if thread_id is None or position is None or not isinstance(first, int):
            return 400, b'{"errors":[{"message":"bad variables"}]}'
        if not 1 <= first <= 100:
            return 400, b'{"errors":[{"message":"bad variables"}]}'
        if self.statements == 3:
            thread, rows, authors = await self.db.page(thread_id, position, first + 1)
            data: dict[str, Any] = {"thread": None}
            if thread is not None:
                data = reference.thread_json(thread, rows, authors, first, after is not None)
        else:
            rows = await self.db.rows(self.db.page_sql, thread_id, position, first + 1)
            data = page_json(rows, first, after is not None)
        return 200, self.dumps({"data": data})

    async def inbox(self, cookie: str | None) -> tuple[int, bytes]:
        """The session's member's inbox, or UNAUTHENTICATED."""
        token = _session(cookie)
        rows = []
        if token:
            rows = await self.db.rows(self.db.inbox_sql, token_hash(token), INBOX_SIZE + 1)
        if not rows:
            return 200, self.dumps({"errors": [{"message": "Sign in first."}], "data": None})
        return 200, self.dumps({"data": inbox_json(rows, INBOX_SIZE)})

    async def reply(
        self, variables: dict[str, Any], cookie: str | None, client: str, agent: str
    ) -> tuple[int, bytes]:
        """A reply by the session's member, written as `postMessage` writes it."""
        given = variables.get("input") or {}
        thread_id = ungid("Thread", str(given.get("threadId") or ""))
        body = str(given.get("body") or "").strip()
        if thread_id is None or not body:
            return 400, b'{"errors":[{"message":"bad variables"}]}'
        ip = self.vault.columns(client, agent[:512])
        html = self.renderer.render(body)
        written = await self.db.post(_session(cookie) or "", thread_id, body, html, ip)
        if written is None:
            return 400, b'{"errors":[{"message":"not signed in or no thread"}]}'
        message_id, username, created = written
        message = {
            "id": gid("Message", message_id),
            "bodyHtml": html,
            "createdAt": created.isoformat(),
            "author": {"username": username},
        }
        return 200, self.dumps({"data": {"postMessage": {"message": message, "userErrors": []}}})


def _session(cookie: str | None) -> str | None:
    """The `session` cookie's value."""
    for part in (cookie or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == "session":
            return value
    return None


def codec(kind: str) -> tuple[Callable[[bytes], Any], Callable[[Any], bytes]]:
    """JSON decoding, and encoding as the project writes it (ASCII, no spaces), with
    orjson or the standard library's json."""

    def std(value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":")).encode()

    if kind == "std":
        return json.loads, std
    import orjson

    def fast(value: Any) -> bytes:
        out = orjson.dumps(value)
        # orjson writes UTF-8 where json escapes to \\uXXXX: keep the bytes identical.
        return out if out.isascii() else std(value)

    return orjson.loads, fast


JSON_HEADERS = [(b"content-type", b"application/json")]


class RawASGI:
    """The bare ASGI framing: no router, no request object, no middleware."""

    def __init__(self, answers: Answers) -> None:
        self.answers = answers

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Serve POST /graphql; run the lifespan."""
        if scope["type"] == "lifespan":
            await _lifespan(self.answers.db, receive, send)
            return
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        cookie = agent = None
        for name, value in scope["headers"]:
            if name == b"cookie":
                cookie = value.decode("latin-1")
            elif name == b"user-agent":
                agent = value.decode("latin-1")
        client = scope["client"][0] if scope.get("client") else "0.0.0.0"
        status, body = await self.answers.answer(b"".join(chunks), cookie, client, agent or "")
        headers = [*JSON_HEADERS, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _lifespan(db: Database, receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await db.open()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await db.close()
            await send({"type": "lifespan.shutdown.complete"})
            return


def starlette_app(answers: Answers) -> Any:
    """The same answers inside a Starlette route (the framing today's project uses)."""
    import contextlib

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def graphql(request: Request) -> Response:
        client = request.client.host if request.client else "0.0.0.0"
        status, body = await answers.answer(
            await request.body(),
            request.headers.get("cookie"),
            client,
            request.headers.get("user-agent") or "",
        )
        return Response(body, status, media_type="application/json")

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> Any:
        await answers.db.open()
        try:
            yield
        finally:
            await answers.db.close()

    return Starlette(routes=[Route("/graphql", graphql, methods=["POST"])], lifespan=lifespan)


def create_app(
    url: str, statements: int = 1, json_kind: str = "orjson", framework: str = "asgi"
) -> Any:
    """The baseline app for one database URL, in the chosen variant."""
    answers = Answers(url, statements, *codec(json_kind))
    return RawASGI(answers) if framework == "asgi" else starlette_app(answers)


def main() -> int:
    """Serve the baseline (uvicorn, uvloop; httptools unless --http h11)."""
    import uvicorn

    parser = argparse.ArgumentParser(description="The raw baseline.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8101)
    parser.add_argument("--http", choices=["httptools", "h11"], default="httptools")
    parser.add_argument("--statements", type=int, choices=[1, 3], default=1)
    parser.add_argument("--json", choices=["orjson", "std"], default="orjson")
    parser.add_argument("--framework", choices=["asgi", "starlette"], default="asgi")
    args = parser.parse_args()
    app = create_app(os.environ["BENCH_DATABASE_URL"], args.statements, args.json, args.framework)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        http=args.http,
        loop="uvloop",
        lifespan="on",
        access_log=False,
        server_header=False,
        timeout_keep_alive=5,
        log_level="warning",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
