"""One benchmark run: seed (or reuse) the databases, check every scenario's answer, then
time each scenario against the project's server and the raw baseline, and print a table.

    python bench/run.py                 # SQLite: 1,000 threads x 200 messages, 10,000 members
    python bench/run.py --big           # + the 10,000th page of a 1,000,000-message thread
    python bench/run.py --postgres      # + the same on PostgreSQL (under scripts/with-postgres)
    python bench/run.py --runs 3        # every row three times (in rounds), the median
    python bench/run.py --ladder        # + the raw baseline taken apart, rung by rung
    python bench/run.py --peers         # + limit, postgraphile, sb-5b-... by peers-perf

Each server runs alone, pinned to core 0 (`taskset -c 0`), restarted for each scenario
(so its peak RSS is that scenario's); the load generator (`wrk -t1 -c32`, pinned to
core 1) POSTs one JSON body for a bounded time. Every response is checked before
anything is timed, and wrk counts any non-200 or GraphQL error while timing. SQL
statements per request are counted in-process (Tortoise's `tortoise.db_client`
logger at DEBUG), one request of each scenario.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import peers  # noqa: E402
import queries  # noqa: E402
import raw_app  # noqa: E402
import reference  # noqa: E402
import report  # noqa: E402
import search  # noqa: E402  (the full-text search rows)
import seed as seeding  # noqa: E402

SIZES = {
    "standard": {"threads": 1000, "messages": 200, "members": 10_000},
    "big": {"threads": 1, "messages": 1_000_000, "members": 10_000},
}
START_TIMEOUT = 60.0  # seconds for a server to answer after launch
log = logging.getLogger("bench")


# ---------------------------------------------------------------- databases


@dataclass
class Target:
    """One seeded database."""

    engine: str  # "sqlite" | "postgres"
    size: str  # "standard" | "big"
    url: str
    info: dict[str, Any]

    @property
    def data_dir(self) -> Path:
        """The project server's DATA_DIR for this database (keys, mail files)."""
        return DATA / f"server-{self.engine}-{self.size}"


def sqlite_target(size: str, reseed: bool) -> Target:
    """The SQLite database of a size, seeded unless a matching one is there."""
    path = DATA / f"{size}.sqlite3"
    url = f"sqlite://{path}"
    info_file = path.with_suffix(".json")
    wanted = SIZES[size]
    if not reseed and path.exists() and info_file.exists():
        info = json.loads(info_file.read_text())
        if all(info.get(k) == v for k, v in _info_keys(wanted).items()):
            print(f"reusing {path.relative_to(ROOT)} (--reseed to rebuild)", flush=True)
            return Target("sqlite", size, url, info)
    for stale in (path, info_file, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    print(f"seeding {path.relative_to(ROOT)}: {wanted}", flush=True)
    info = _seed(url, wanted, info_file)
    return Target("sqlite", size, url, info)


def postgres_target(size: str, admin_url: str) -> Target:
    """A fresh PostgreSQL database of a size on the server of TEST_POSTGRES_URL."""
    import asyncpg

    name = f"forum_bench_{size}"
    url = admin_url.rsplit("/", 1)[0] + "/" + name

    async def create() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    wanted = SIZES[size]
    print(f"seeding PostgreSQL database {name}: {wanted}", flush=True)
    info = _seed(url, wanted, seeding.info_path(url))
    return Target("postgres", size, url, info)


def _info_keys(wanted: dict[str, int]) -> dict[str, int]:
    return {
        "threads": wanted["threads"],
        "messages_per_thread": wanted["messages"],
        "members": wanted["members"],
    }


def _seed(url: str, wanted: dict[str, int], info_file: Path) -> dict[str, Any]:
    info = asyncio.run(seeding.seed(url, **wanted))
    info_file.parent.mkdir(parents=True, exist_ok=True)
    info_file.write_text(json.dumps(info, indent=2) + "\n")
    print(f"  seeded in {info['seconds']} s", flush=True)
    return info


# ---------------------------------------------------------------- scenarios


@dataclass
class Scenario:
    """One kind of request against one server on one database."""

    key: str  # anonymous | signed_in | inbox | post | keyset
    title: str
    server: str  # "forum" | "raw"
    target: Target
    body: dict[str, Any]
    signed_in: bool = False
    workers: int = 1  # uvicorn workers of the project's server (PostgreSQL only above 1)
    cache: bool = True  # the project's response cache (RESPONSE_CACHE=false when off)
    variant: tuple[str, ...] = ()  # raw_app.py options of a ladder rung (README: the ladder)
    sql: int | None = None  # statements of one request (for signed-out pages: a cache miss)
    sql_hit: int | None = None  # ... and of a repeat served from the response cache
    statements: list[str] = field(default_factory=list)
    result: dict[str, Any] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The server column of the table."""
        if self.server == "raw":
            return f"raw: {LADDER_LABELS[self.variant]}" if self.variant else "raw"
        if self.server == "limit":
            return "peers-perf `limit`, its own page"
        label = "forum" + (
            "" if self.key in NEVER_CACHED else ", cache off" if not self.cache else ", cache warm"
        )
        return label + (f", {self.workers} workers" if self.workers > 1 else "")


NEVER_CACHED = ("signed_in", "inbox", "post")  # never served from the response cache

TITLES = {
    "anonymous": "thread page, anonymous",
    "signed_in": "thread page, signed in",
    "inbox": "inbox (20 conversations + last message)",
    "post": "post a message",
    "keyset": "page 10,001 by keyset, 1 M-message thread",
}


def scenarios_for(target: Target) -> list[Scenario]:
    """The scenarios a database supports, raw baseline first where there is one."""
    info = target.info
    if target.size == "big":
        body = queries.thread_page(info["thread_gid"], info["keyset_after"])
        return [
            Scenario("keyset", TITLES["keyset"], "raw", target, body),
            Scenario("keyset", TITLES["keyset"], "forum", target, body, cache=False),
            Scenario("keyset", TITLES["keyset"], "forum", target, body),
        ]
    page = queries.thread_page(info["thread_gid"])
    reply = queries.post_message(info["post_thread_gid"])
    inbox = queries.inbox()
    return [
        Scenario("anonymous", TITLES["anonymous"], "raw", target, page),
        Scenario("anonymous", TITLES["anonymous"], "forum", target, page, cache=False),
        Scenario("anonymous", TITLES["anonymous"], "forum", target, page),
        Scenario("signed_in", TITLES["signed_in"], "forum", target, page, signed_in=True),
        Scenario("inbox", TITLES["inbox"], "raw", target, inbox, signed_in=True),
        Scenario("inbox", TITLES["inbox"], "forum", target, inbox, signed_in=True),
        *(
            Scenario("post", TITLES["post"], server, target, reply, signed_in=True)
            for server in ("raw", "forum")
        ),
    ]


# The ladder from today's raw app to the baseline (README: what costs what).
LADDER_LABELS = {
    ("--framework", "starlette", "--http", "h11", "--statements", "3", "--json", "std"): (
        "Starlette, h11, 3 statements, json (the old baseline)"
    ),
    ("--framework", "starlette", "--http", "httptools", "--statements", "3", "--json", "std"): (
        "Starlette, httptools, 3 statements, json"
    ),
    ("--framework", "starlette", "--http", "httptools", "--statements", "1", "--json", "std"): (
        "Starlette, httptools, 1 statement, json"
    ),
    ("--framework", "starlette", "--http", "httptools", "--statements", "1", "--json", "orjson"): (
        "Starlette, httptools, 1 statement, orjson"
    ),
    ("--framework", "asgi", "--http", "h11", "--statements", "1", "--json", "orjson"): (
        "bare ASGI, h11, 1 statement, orjson"
    ),
}


def ladder_for(target: Target, limit_dir: Path | None) -> list[Scenario]:
    """The raw baseline taken apart on the anonymous page, and the peers' `limit` server
    serving its own (smaller) page under the same load, when its copy is there."""
    page = queries.thread_page(target.info["thread_gid"])
    rungs = [
        Scenario("anonymous", TITLES["anonymous"], "raw", target, page, variant=variant)
        for variant in LADDER_LABELS
    ]
    if limit_dir is not None:
        body = {"query": "query { thread }", "variables": {"id": target.info["thread_id"]}}
        rungs.append(Scenario("anonymous", TITLES["anonymous"], "limit", target, body))
    return rungs


# ---------------------------------------------------------------- servers


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """The project's server, the raw baseline (or a rung of its ladder) or the peers'
    `limit` server, pinned to core 0, as a child process."""

    def __init__(
        self,
        kind: str,
        target: Target,
        core: int = 0,
        workers: int = 1,
        cache: bool = True,
        variant: tuple[str, ...] = (),
    ) -> None:
        self.kind = kind
        self.target = target
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/graphql"
        logs = DATA / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.log_path = logs / f"{kind}-{target.engine}-{target.size}.log"
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATA_DIR")}
        cores = str(core) if workers == 1 else f"0-{min(workers, os.cpu_count() or 1) - 1}"
        pin = ["taskset", "-c", cores] if shutil.which("taskset") else []
        if kind == "forum":
            target.data_dir.mkdir(parents=True, exist_ok=True)
            env.update(
                DATABASE_URL=target.url,
                DATA_DIR=str(target.data_dir),
                RATE_LIMITS="off",
                ENVIRONMENT="development",
                RESPONSE_CACHE="true" if cache else "false",
            )
            command = [*pin, sys.executable, "server.py", "serve", "--port", str(self.port)]
            command += ["--workers", str(workers)]
        elif kind == "limit":
            folder = peers.copy_dir()
            env["PERF_SQLITE"] = str(folder / ".data" / "forum.sqlite3")
            command = [*pin, str(folder / ".venv" / "bin" / "python"), "-m", "uvicorn"]
            command += ["servers.limit_sqlite:app", "--port", str(self.port), *peers.UVICORN]
        else:
            env["BENCH_DATABASE_URL"] = target.url
            command = [*pin, sys.executable, str(HERE / "raw_app.py"), "--port", str(self.port)]
            command += list(variant)
        self.handle = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            command,
            cwd=peers.copy_dir() if kind == "limit" else ROOT,
            env=env,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, body: dict[str, Any]) -> None:
        """Block until the server answers a request (or fail after START_TIMEOUT)."""
        import httpx

        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.kind} server exited; see {self.log_path}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.post(self.url, json=body, timeout=5).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{self.kind} server did not answer in {START_TIMEOUT} s")

    def cpu_seconds(self) -> float | None:
        """User + system CPU time of the server process (all its threads) so far."""
        try:
            stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        except OSError:
            return None
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self) -> float | None:
        """VmHWM of the server process, in MB."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return None

    def stop(self) -> None:
        """End this child process (only it) and close its log."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.handle.close()


@contextlib.contextmanager
def running(
    kind: str,
    target: Target,
    ready_body: dict[str, Any],
    workers: int = 1,
    cache: bool = True,
    variant: tuple[str, ...] = (),
) -> Iterator[Server]:
    """A started, answering server, stopped afterwards whatever happens."""
    server = Server(kind, target, workers=workers, cache=cache, variant=variant)
    try:
        server.wait_ready(ready_body)
        yield server
    finally:
        server.stop()


# ---------------------------------------------------------------- checks


class CheckFailed(Exception):
    """A response was not what it must be; nothing gets timed."""


def post(url: str, body: dict[str, Any], cookie: str | None = None) -> Any:
    """One request; the httpx response."""
    import httpx

    headers = {"cookie": cookie} if cookie else {}
    response = httpx.post(url, json=body, headers=headers, timeout=60)
    if response.status_code != 200:
        raise CheckFailed(f"HTTP {response.status_code} from {url}: {response.text[:300]}")
    return response


def login(url: str, info: dict[str, Any]) -> str:
    """Sign in as the seeded viewer; the Cookie header value."""
    response = post(url, queries.login(info["viewer"], info["password"]))
    payload = response.json()["data"]["login"]
    if payload["userErrors"] or response.cookies.get("session") is None:
        raise CheckFailed(f"login failed: {payload}")
    return f"session={response.cookies['session']}"


async def expected_page(target: Target, body: dict[str, Any], viewer: int | None) -> bytes:
    """The thread page the runner computes itself (the raw baseline's SQL and rules,
    plus the viewer's follows for a signed-in page)."""
    variables = body["variables"]
    db = reference.Database(target.url)
    await db.open()
    try:
        after = variables.get("after")
        position = reference.ungid("Message", after) if after else 0
        thread_id = reference.ungid("Thread", variables["id"])
        first = variables["first"]
        thread, rows, authors, follows = await db.viewer_page(
            thread_id, position, first + 1, viewer
        )
    finally:
        await db.close()
    data = reference.thread_json(
        thread, rows, authors, first, after is not None, reference.Viewer(viewer, follows)
    )
    return json.dumps({"data": data}, separators=(",", ":")).encode()


async def query_rows(target: Target, sql: str, *values: Any) -> list[tuple[Any, ...]]:
    """Rows of one SQL statement (`?` placeholders) on the target database."""
    if target.engine == "postgres":
        import asyncpg

        count = iter(range(1, 100))
        text = "".join(f"${next(count)}" if ch == "?" else ch for ch in sql)
        conn = await asyncpg.connect(target.url)
        try:
            return [tuple(r) for r in await conn.fetch(text, *values)]
        finally:
            await conn.close()
    import aiosqlite

    async with (
        aiosqlite.connect(target.url.removeprefix("sqlite://")) as conn,
        conn.execute(sql, values) as cursor,
    ):
        return [tuple(r) for r in await cursor.fetchall()]


def ready_body(target: Target, scenario: Scenario) -> dict[str, Any]:
    """A request both servers answer without a session: the raw baseline knows only the
    thread page and a signed-in reply."""
    if target.size == "big" or scenario.server == "limit":
        return scenario.body
    return queries.thread_page(target.info["thread_gid"])


def check_target(target: Target, scenarios: list[Scenario]) -> str | None:
    """Check every scenario's answer on this database; return the session cookie."""
    info = target.info
    cookie = None
    ready = ready_body(target, scenarios[0])
    uncached = any(s.server == "forum" and not s.cache for s in scenarios)
    with contextlib.ExitStack() as stack:
        raw = stack.enter_context(running("raw", target, ready))
        forum = stack.enter_context(running("forum", target, ready))
        cold = (
            stack.enter_context(running("forum", target, ready, cache=False)) if uncached else None
        )
        for scenario in scenarios:
            if scenario.server != "forum" and scenario.key != "post":
                continue  # the raw pages are what the forum's are checked against
            if scenario.signed_in and cookie is None:
                cookie = login(forum.url, info)
            url = raw.url if scenario.server == "raw" else forum.url
            if scenario.server == "forum" and not scenario.cache and cold is not None:
                url = cold.url
            use = cookie if scenario.signed_in else None
            got = post(url, scenario.body, use)
            CHECKS[scenario.key](target, scenario, got.content, raw.url, use)
            print(f"  ok  {target.engine:8} {scenario.label:28} {scenario.title}", flush=True)
    return cookie


def _same(label: str, got: bytes, want: bytes) -> None:
    if got != want:
        detail = _first_difference(json.loads(got), json.loads(want))
        raise CheckFailed(f"{label}: responses differ ({detail})")


def _first_difference(a: Any, b: Any, path: str = "$") -> str:
    if type(a) is not type(b):
        return f"{path}: {a!r:.80} != {b!r:.80}"
    if isinstance(a, dict):
        if list(a) != list(b):
            return f"{path}: keys {list(a)} != {list(b)}"
        for key in a:
            if a[key] != b[key]:
                return _first_difference(a[key], b[key], f"{path}.{key}")
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_difference(x, y, f"{path}[{i}]")
    return f"{path}: {a!r:.80} != {b!r:.80}"


def check_anonymous(
    target: Target, scenario: Scenario, got: bytes, raw_url: str, cookie: str | None
) -> None:
    """Byte-for-byte the raw baseline's answer, which is a full page of the thread."""
    want = post(raw_url, scenario.body).content
    _same("forum vs raw", got, want)
    page = json.loads(got)["data"]["thread"]["messages"]
    if len(page["edges"]) != queries.PAGE_SIZE:
        raise CheckFailed(f"expected {queries.PAGE_SIZE} messages, got {len(page['edges'])}")
    if scenario.key == "keyset":
        position = target.info["keyset_position"]
        first_id = int(reference.ungid("Message", page["pageInfo"]["startCursor"]) or 0)
        threads = target.info["threads"]
        if first_id != position * threads + target.info["thread_id"]:
            raise CheckFailed(f"keyset page starts at message {first_id}")
        if not page["pageInfo"]["hasPreviousPage"]:
            raise CheckFailed("keyset page says nothing comes before it")


def check_signed_in(
    target: Target, scenario: Scenario, got: bytes, raw_url: str, cookie: str | None
) -> None:
    """Exactly the page the runner computes for the viewer (MEMBERS fields shown,
    FOLLOWING fields for authors who follow the viewer, viewerIsFollowing), and it
    shows more than the anonymous page."""
    want = asyncio.run(expected_page(target, scenario.body, target.info.get("viewer_id", 1)))
    _same("signed-in page vs expected", got, want)
    anonymous = post(raw_url, scenario.body).content
    edges = json.loads(got)["data"]["thread"]["messages"]["edges"]
    if got == anonymous or not any(
        e["node"]["author"] and e["node"]["author"]["viewerIsFollowing"] for e in edges
    ):
        raise CheckFailed("signed-in page is not personalised")


def check_inbox(
    target: Target, scenario: Scenario, got: bytes, raw_url: str, cookie: str | None
) -> None:
    """The viewer's 20 most recently active conversations, each with its last message,
    and byte-for-byte the raw inbox baseline's answer."""
    _same("forum inbox vs raw inbox", got, post(raw_url, scenario.body, cookie).content)
    viewer = target.info.get("viewer_id", 1)
    want = asyncio.run(
        query_rows(
            target,
            "SELECT p.conversation_id, c.last_message_id FROM participants p "
            "JOIN conversations c ON c.id = p.conversation_id "
            "WHERE p.user_id = ? AND p.left_at IS NULL ORDER BY p.last_message_id DESC LIMIT 20",
            viewer,
        )
    )
    data = json.loads(got)
    edges = data["data"]["conversations"]["edges"]
    seen = []
    for edge in edges:
        node = edge["node"]
        last = node["messages"]["edges"]
        if len(last) != 1 or not isinstance(node["unreadCount"], int):
            raise CheckFailed(f"inbox entry malformed: {node}")
        if viewer not in [reference.ungid("User", p["id"]) for p in node["participants"]]:
            raise CheckFailed("the viewer is not among the participants")
        seen.append(
            (
                reference.ungid("Conversation", node["id"]),
                reference.ungid("Message", last[0]["node"]["id"]),
            )
        )
    if seen != want or len(seen) != min(20, target.info["conversations"]):
        raise CheckFailed(f"inbox lists {seen[:3]}..., expected {want[:3]}...")


def check_post(
    target: Target, scenario: Scenario, got: bytes, raw_url: str, cookie: str | None
) -> None:
    """A reply by the viewer, rendered, with no user errors."""
    payload = json.loads(got)["data"]["postMessage"]
    message = payload["message"]
    if payload["userErrors"] or message is None:
        raise CheckFailed(f"postMessage refused: {payload['userErrors']}")
    if message["author"]["username"] != target.info["viewer"]:
        raise CheckFailed("postMessage wrote as someone else")
    if "<em>still</em>" not in message["bodyHtml"] or 'class="external"' not in message["bodyHtml"]:
        raise CheckFailed(f"postMessage body not rendered: {message['bodyHtml']}")
    datetime.fromisoformat(message["createdAt"])


CHECKS = {
    "anonymous": check_anonymous,
    "keyset": check_anonymous,
    "signed_in": check_signed_in,
    "inbox": check_inbox,
    "post": check_post,
}


# ---------------------------------------------------------------- SQL statements


async def _count(
    client: Any, logger: logging.Logger, scenario: Scenario, headers: dict[str, str]
) -> tuple[int, list[str]]:
    """The SQL statements one request of the scenario runs."""
    counter = _Counter()
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(counter)
    try:
        got = await client.post("/graphql", json=scenario.body, headers=headers)
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)
        logger.propagate = propagate
    if got.status_code != 200 or b'"errors"' in got.content:
        raise CheckFailed(f"in-process {scenario.title}: {got.text[:300]}")
    return counter.count, counter.sql


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.count = 0
        self.sql: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not isinstance(record.msg, str) or record.msg.startswith(
            ("Created connection", "Closed connection")
        ):
            return
        with contextlib.suppress(RuntimeError):
            task = asyncio.current_task()
            if task is not None and task.get_name() == "mail-sender":
                return
        self.count += 1
        query = record.args[0] if isinstance(record.args, tuple) and record.args else record.msg
        self.sql.append(" ".join(str(query).split()))


RAW_STATEMENTS = {
    "anonymous": raw_app.STATEMENTS_PER_PAGE,
    "keyset": raw_app.STATEMENTS_PER_PAGE,
    "inbox": raw_app.STATEMENTS_PER_INBOX,
    "post": raw_app.STATEMENTS_PER_REPLY,
}


async def count_statements(target: Target, scenarios: list[Scenario]) -> None:
    """Run one request of each forum scenario in-process and count its SQL statements
    (after one warm-up request, so start-up work is not counted)."""
    import httpx

    from services.settings import Settings
    from web.app import create_app

    settings = Settings(database_url=target.url, data_dir=target.data_dir, rate_limits="off")
    app = create_app(settings, migrate=False)
    logger = logging.getLogger("tortoise.db_client")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            response = await client.post("/graphql", json=queries.login(
                target.info["viewer"], target.info["password"]
            ))  # fmt: skip
            cookie = f"session={response.cookies['session']}"
            client.cookies.clear()  # signed-out scenarios must carry no cookie
            counted = set()
            for scenario in scenarios:
                if scenario.server != "forum" or scenario.key in counted:
                    continue  # the raw baseline's statements are fixed by its code
                counted.add(scenario.key)
                headers = {"cookie": cookie} if scenario.signed_in else {}
                # Warm up with other variables: a signed-out repeat would be a cache hit.
                variables = {**scenario.body.get("variables", {}), "first": 49}
                warm = (
                    {**scenario.body, "variables": variables}
                    if not scenario.signed_in
                    else scenario.body
                )
                await client.post("/graphql", json=warm, headers=headers)
                scenario.sql, scenario.statements = await _count(client, logger, scenario, headers)
                if not scenario.signed_in and scenario.key != "post":
                    scenario.sql_hit, _ = await _count(client, logger, scenario, headers)


def count_in_child(target: Target, scenarios: list[Scenario]) -> None:
    """`count_statements` in a fresh Python process: Tortoise keeps per-dialect state
    (cached SQL) that must not leak from one database kind to the next."""
    request = {"engine": target.engine, "size": target.size, "url": target.url}
    request["info"] = target.info
    done = subprocess.run(
        [sys.executable, __file__, "--count-sql-child"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise CheckFailed(f"counting SQL statements failed:\n{done.stdout}\n{done.stderr}")
    found = {r["key"]: r for r in json.loads(lines[-1]) if r["sql"] is not None}
    for scenario in scenarios:
        if scenario.server != "forum":
            scenario.sql = RAW_STATEMENTS[scenario.key]
            if scenario.server == "limit" or "3" in scenario.variant:
                scenario.sql = 1 if scenario.server == "limit" else reference.STATEMENTS_PER_PAGE
            continue
        row = found.get(scenario.key)
        if row is None:
            continue
        scenario.sql, scenario.statements = row["sql"], row["statements"]
        # Without the response cache every request is a miss.
        scenario.sql_hit = row.get("sql_hit") if scenario.cache else None


def count_child() -> int:
    """The child side of `count_in_child`: read the target, print the counts as JSON."""
    request = json.loads(sys.stdin.read())
    target = Target(request["engine"], request["size"], request["url"], request["info"])
    chosen = scenarios_for(target)
    asyncio.run(count_statements(target, chosen))
    print(
        json.dumps(
            [
                {
                    "key": s.key,
                    "server": s.server,
                    "sql": s.sql,
                    "sql_hit": s.sql_hit,
                    "statements": s.statements,
                }
                for s in chosen
            ]
        )
    )
    return 0


# ---------------------------------------------------------------- load


def ensure_wrk() -> str | None:
    """wrk's path, installing Debian's package when we are root and it is missing."""
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    print("installing wrk from Debian's packages", flush=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "wrk"],
        check=False,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    return shutil.which("wrk")


def run_wrk(
    wrk: str, url: str, body: dict[str, Any], cookie: str | None, seconds: float, conns: int
) -> dict[str, Any]:
    """Drive the URL with wrk from core 1 for `seconds`; its numbers."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(body, handle)
        body_file = handle.name
    env = {**os.environ, "BENCH_BODY_FILE": body_file, "BENCH_COOKIE": cookie or ""}
    pin = ["taskset", "-c", "1"] if shutil.which("taskset") else []
    command = [
        *pin, wrk, "-t1", f"-c{conns}", f"-d{max(1, round(seconds))}s", "--timeout", "30s",
        "--latency", "-s", str(HERE / "graphql.lua"), url,
    ]  # fmt: skip
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=seconds + 120, check=False
        )
    finally:
        os.unlink(body_file)
    values = {}
    for line in done.stdout.splitlines():
        if line.startswith("bench_"):
            name, value = line.split()
            values[name.removeprefix("bench_")] = int(value)
    if "requests" not in values:
        raise RuntimeError(f"wrk failed: {done.stdout}\n{done.stderr}")
    return {
        "requests": values["requests"],
        "rps": values["requests"] / (values["duration_us"] / 1e6),
        "p50": values["p50_us"] / 1000,
        "p99": values["p99_us"] / 1000,
        "bad": values["bad_responses"] + values["socket_errors"],
    }


async def _python_load(
    url: str, body: dict[str, Any], cookie: str | None, seconds: float, conns: int
) -> dict[str, Any]:
    """The fallback load generator: `conns` keep-alive HTTP/1.1 connections in asyncio."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    payload = json.dumps(body).encode()
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n" + (f"Cookie: {cookie}\r\n" if cookie else "") + "\r\n"
    ).encode()
    latencies: list[float] = []
    bad = 0
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal bad
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                writer.write(head + payload)
                status = int((await reader.readline()).split()[1])
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                answer = await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                bad += status != 200 or b'"errors"' in answer
        finally:
            writer.close()

    started = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(conns))), seconds + 60)
    elapsed = time.monotonic() - started
    latencies.sort()
    quantile = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50": quantile[49] * 1000,
        "p99": quantile[98] * 1000,
        "bad": bad,
    }


def drive(
    wrk: str | None, url: str, body: dict[str, Any], cookie: str | None, seconds: float, conns: int
) -> dict[str, Any]:
    """Load the server for `seconds` with wrk, or with the Python client without it."""
    if wrk:
        return run_wrk(wrk, url, body, cookie, seconds, conns)
    return asyncio.run(_python_load(url, body, cookie, seconds, conns))


def warm_up(url: str, body: dict[str, Any], cookie: str | None, seconds: float) -> None:
    """Requests one at a time for `seconds` (at least three): the timed run then starts
    from an idle, warm server, with no abandoned requests still being worked on. They
    carry the headers wrk sends and no others: the response cache's key includes
    Accept, so a warm-up with httpx's `Accept: */*` would leave wrk's key cold (and its
    first 32 requests would all miss at once)."""
    import httpx

    headers = {"cookie": cookie} if cookie else {}
    deadline = time.monotonic() + seconds
    with httpx.Client(timeout=60) as client:
        for name in ("accept", "accept-encoding", "user-agent"):
            client.headers.pop(name, None)
        sent = 0
        while sent < 3 or (time.monotonic() < deadline and sent < 1000):
            client.post(url, json=body, headers=headers)
            sent += 1


def time_scenario(
    scenario: Scenario, cookie: str | None, wrk: str | None, args: argparse.Namespace
) -> None:
    """Start the scenario's server, warm it up, time it once, note its peak RSS; the
    scenario's result is the median run so far."""
    ready = ready_body(scenario.target, scenario)
    with running(
        scenario.server,
        scenario.target,
        ready,
        scenario.workers,
        cache=scenario.cache,
        variant=scenario.variant,
    ) as server:
        use = cookie if scenario.signed_in else None
        warm_up(server.url, scenario.body, use, args.warmup)
        before = server.cpu_seconds()
        result = drive(wrk, server.url, scenario.body, use, args.duration, args.connections)
        spent = server.cpu_seconds()
        result["rss"] = server.peak_rss_mb()
        if before is not None and spent is not None and scenario.workers == 1:
            result["cpu_us"] = (spent - before) / max(1, result["requests"]) * 1e6
    scenario.runs.append(result)
    scenario.result = median_run(scenario.runs)
    print(
        f"  {scenario.target.engine:8} {scenario.label[:40]:40} {scenario.title[:32]:32} "
        f"{result['rps']:9.1f} req/s  p50 {result['p50']:8.1f} ms  p99 {result['p99']:8.1f} ms"
        + (f"  BAD {result['bad']}" if result["bad"] else ""),
        flush=True,
    )


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The runs of one row as one: median req/s and latencies, every bad answer, the
    highest RSS, and the spread of req/s."""
    rates = [r["rps"] for r in runs]
    rss = [r["rss"] for r in runs if r.get("rss")]
    cpu = [r["cpu_us"] for r in runs if r.get("cpu_us")]
    return {
        "requests": sum(r["requests"] for r in runs),
        "rps": statistics.median(rates),
        "low": min(rates),
        "high": max(rates),
        "p50": statistics.median(r["p50"] for r in runs),
        "p99": statistics.median(r["p99"] for r in runs),
        "bad": sum(r["bad"] for r in runs),
        "rss": max(rss) if rss else None,
        "cpu_us": statistics.median(cpu) if cpu else None,
        "runs": len(runs),
    }


# ---------------------------------------------------------------- report


# ---------------------------------------------------------------- main


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--big", action="store_true", help="add the 1 M-message keyset page")
    parser.add_argument(
        "--postgres", action="store_true", help="also on PostgreSQL (TEST_POSTGRES_URL)"
    )
    parser.add_argument(
        "--only-postgres", action="store_true", help="PostgreSQL only, no SQLite runs"
    )
    parser.add_argument("--duration", type=float, default=10, help="seconds timed per row")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="on PostgreSQL, also time the forum with this many workers (on cores 0-1)",
    )
    parser.add_argument(
        "--warmup", type=float, default=3, help="seconds of one-at-a-time warm-up per row"
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--reseed", action="store_true", help="rebuild the SQLite databases")
    parser.add_argument(
        "--scenarios",
        default="anonymous,signed_in,inbox,post,keyset,search",
        help="comma-separated subset of: anonymous,signed_in,inbox,post,keyset,search",
    )
    parser.add_argument(
        "--check-only", action="store_true", help="seed and check answers, time nothing"
    )
    parser.add_argument("--show-sql", action="store_true", help="print each counted SQL statement")
    parser.add_argument(
        "--runs", type=int, default=1, help="time every row this many times; report the median"
    )
    parser.add_argument(
        "--ladder",
        action="store_true",
        help="also time the raw baseline taken apart (README: what costs what)",
    )
    parser.add_argument(
        "--peers",
        action="store_true",
        help="then time limit, postgraphile, sb-5b-doc-cache-ext and the project's rows "
        "with the shared peers-perf tool (a copy in bench/data/peers-perf)",
    )
    parser.add_argument("--output", type=Path, default=DATA / "last-run.md")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every answer was right."""
    if (argv or sys.argv[1:]) == ["--count-sql-child"]:
        return count_child()
    args = parse(argv)
    args.postgres = args.postgres or args.only_postgres
    if args.postgres and not os.environ.get("TEST_POSTGRES_URL"):
        # Start a throwaway PostgreSQL server around ourselves.
        wrapper = str(ROOT / "scripts" / "with-postgres")
        os.execv(wrapper, [wrapper, sys.executable, __file__, *(argv or sys.argv[1:])])
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {1})  # the runner stays off the servers' core
    DATA.mkdir(parents=True, exist_ok=True)
    ensure_site()
    wanted = set(args.scenarios.split(","))

    targets: list[Target] = []
    if not args.only_postgres:
        targets.append(sqlite_target("standard", args.reseed))
        if args.big:
            targets.append(sqlite_target("big", args.reseed))
    if args.postgres:
        admin = os.environ["TEST_POSTGRES_URL"]
        targets.append(postgres_target("standard", admin))
        if args.big:
            targets.append(postgres_target("big", admin))

    plan: list[tuple[Target, list[Scenario]]] = []
    for target in targets:
        chosen = [s for s in scenarios_for(target) if s.key in wanted]
        if target.engine == "postgres" and args.workers > 1:
            chosen += [
                dataclasses.replace(s, workers=args.workers, result={}, runs=[])
                for s in chosen
                if s.server == "forum" and s.key in ("anonymous", "signed_in", "post") and s.cache
            ]
        if args.ladder and target.engine == "sqlite" and target.size == "standard":
            chosen += ladder_for(target, peers.copy_dir() if args.peers else None)
        if chosen:
            plan.append((target, chosen))

    print("checking every answer before timing anything", flush=True)
    cookies: dict[str, str | None] = {}
    try:
        for target, chosen in plan:
            cookies[target.url] = check_target(target, chosen)
            count_in_child(target, chosen)
            for scenario in chosen:
                if scenario.server == "forum":
                    print(f"  sql {target.engine:8} {scenario.title}: {scenario.sql}", flush=True)
                    if args.show_sql:
                        for n, sql in enumerate(scenario.statements, 1):
                            print(f"      {n:3}. {sql[:160]}")
    except CheckFailed as failed:
        print(f"CHECK FAILED: {failed}", file=sys.stderr)
        return 1
    if args.check_only:
        print("all answers correct; --check-only, so nothing timed")
        return 0

    if args.peers:
        peers.prepare()
    wrk = ensure_wrk()
    if wrk is None:
        print("wrk not found: using the Python asyncio load generator", flush=True)
    print(
        f"timing: {args.duration:g} s per row after {args.warmup:g} s warm-up, "
        f"{args.connections} connections, server on core 0, load on core 1",
        flush=True,
    )
    everything = [scenario for _, chosen in plan for scenario in chosen]
    load_at_start = report.load_average()
    # Round after round (not row after row): a change in the machine's load then
    # touches every row of a round alike, and the median sees it once per row.
    for round_ in range(args.runs):
        if args.runs > 1:
            print(f"round {round_ + 1} of {args.runs}", flush=True)
        for target, chosen in plan:
            for scenario in chosen:
                time_scenario(scenario, cookies[target.url], wrk, args)
    load_after_rows = report.load_average()
    found = [
        report.table(everything),
        "Issue 20's targets (ratios within this run):\n\n" + report.targets(everything),
    ]
    if args.peers:
        raws = report.baselines(everything)
        rows = peers.run(args.runs, args.duration, 5, args.connections)
        found.append(
            "The peers, timed by peers-perf right after (its page, server on core 1, "
            "wrk on core 0; the project rows start this checkout):\n\n"
            + peers.table(rows, raws.get(("sqlite", "anonymous")))
        )
    if "search" in wanted:
        found.append(search.report(targets))
    footer = (
        f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; {report.machine(load_at_start)} "
        f"(after the rows: {load_after_rows:.2f}); load: {'wrk' if wrk else 'Python client'} "
        f"-t1 -c{args.connections}, {args.duration:g} s per row"
        + (f", median of {args.runs} runs (min\u2013max in brackets)." if args.runs > 1 else ".")
    )
    text = "\n\n".join([*found, footer])
    print()
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n")
    return 1 if any(s.result.get("bad") for s in everything) else 0


def ensure_site() -> None:
    """httptools, orjson and py-spy for the raw baseline and the profiler, installed into
    bench/data/site (never into the project's environment: Tortoise would pick up orjson)."""
    site = DATA / "site"
    if all((site / name).exists() for name in ("httptools", "orjson", "bin")):
        return
    print("installing bench/requirements.txt into bench/data/site", flush=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--target",
            str(site),
            "-r",
            str(HERE / "requirements.txt"),
        ],
        check=True,
    )


if __name__ == "__main__":
    sys.exit(main())
