"""Search benchmark: pages of `search(query:)` on a seeded database, and what the search
index adds to posting, measured in the same run on the same database.

    python bench/search.py --database-url sqlite://bench/data/standard.sqlite3
    make bench                       # bench/run.py adds these rows for every database

On first use it plants two rare terms (a word and a phrase) in 20 messages spread over
the whole history, since the seeded bodies repeat 31 texts and hold no rare word. Then,
in the project's own app (in process, through httpx's ASGI transport, signed in, so the
response cache stays out of it):

1. checks every kind of search (hits, snippets, pages that follow each other, the
   planted messages found exactly), then times each kind, one at a time: "search" is
   the resolver alone (its one statement, the rows made into hits), "request" the
   whole GraphQL request (authors included), "CPU" this process's CPU time per
   request (less hostage to other load than the clock; the PostgreSQL server's is not
   in it); and counts the SQL statements of one page;
2. times postMessage with the search index and without it (removed by the migration's
   own `uninstall`, built back by its `install`, timed: what migrating an existing
   database costs), in three alternating rounds.

Each database is measured in a child process: Tortoise keeps per-dialect state.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for folder in (str(ROOT), str(HERE)):
    if folder not in sys.path:
        sys.path.insert(0, folder)

RARE_WORD = "kohlrabi"
RARE_PHRASE = "purple sprouting broccoli"
PLANTED = 20
PLANT = f" PS: {RARE_WORD} and {RARE_PHRASE} from the allotment."
KINDS = [  # (kind, query); "page 2" continues the page before it
    ("common word", "week"),
    ("common word, page 2", "week"),
    ("rare word", RARE_WORD),
    ("common phrase", '"batch cooking"'),
    ("rare phrase", f'"{RARE_PHRASE}"'),
    ("two words", "porridge coffee"),
    ("word, minus word", "walk -park"),
    ("title and body word", "plateau"),
]
SEARCH = """query Search($q: String!, $after: String) {
  search(query: $q, first: 20, after: $after) {
    edges {
      cursor
      node { snippet message { id createdAt author { username } } thread { id title } }
    }
    pageInfo { hasNextPage endCursor }
  }
}"""
TARGET_P50_MS, TARGET_SQL, TARGET_POSTING = 20.0, 3, 1.5
ROUNDS = 3  # blocks of posts with and without the index, alternating


class CheckFailed(Exception):
    """An answer was wrong; nothing is reported as timed."""


def search_index() -> ModuleType:
    """The migration that creates the search index (its `install` and `uninstall`)."""
    path = next((ROOT / "migrations").glob("*_search.py"))
    return importlib.import_module(f"migrations.{path.stem}")


# ---------------------------------------------------------------- the database


async def plant(db: Any, renderer: Any) -> list[int]:
    """Ids of the messages holding the rare terms, planting them on first use."""
    visible = "thread_id IS NOT NULL AND deleted_at IS NULL AND hidden_at IS NULL"
    rows = await db.execute_query_dict(
        f"SELECT id FROM messages WHERE {visible} AND body LIKE '%{RARE_WORD}%' ORDER BY id"
    )
    if rows:
        return [int(r["id"]) for r in rows]
    newest = (await db.execute_query_dict("SELECT max(id) AS n FROM messages"))[0]["n"] or 0
    mark = "$" if db.capabilities.dialect == "postgres" else "?"
    planted = []
    for k in range(PLANTED):
        rows = await db.execute_query_dict(
            f"SELECT id, body FROM messages WHERE id >= {mark}1 AND {visible} ORDER BY id LIMIT 1",
            [1 + k * newest // PLANTED],
        )
        body = rows[0]["body"] + PLANT
        await db.execute_query(
            f"UPDATE messages SET body = {mark}1, body_html = {mark}2 WHERE id = {mark}3",
            [body, renderer.render(body), rows[0]["id"]],
        )
        planted.append(int(rows[0]["id"]))
    return planted


# ---------------------------------------------------------------- requests


class Counter(logging.Handler):
    """Counts the SQL statements Tortoise runs (its DEBUG log, like tests/support/sqlcount.py)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.sql: list[str] = []

    @property
    def count(self) -> int:
        """How many statements ran."""
        return len(self.sql)

    def emit(self, record: logging.LogRecord) -> None:
        """One statement (connection housekeeping is not one); its text, not its values."""
        text = str(record.msg)
        with contextlib.suppress(RuntimeError):
            task = asyncio.current_task()
            if task is not None and task.get_name() == "mail-sender":
                return  # the outbox's own polling, not part of any request
        if not text.startswith(("Created connection", "Closed connection")):
            query = record.args[0] if isinstance(record.args, tuple) and record.args else text
            self.sql.append(" ".join(str(query).split())[:100])


@contextlib.contextmanager
def counting() -> Any:
    """Within the block, count statements."""
    logger, counter = logging.getLogger("tortoise.db_client"), Counter()
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.DEBUG)
    logger.propagate = False  # the records hold values
    logger.addHandler(counter)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)
        logger.propagate = propagate


async def ask(client: Any, cookie: str, body: dict[str, Any]) -> dict[str, Any]:
    """One GraphQL request; its data, or CheckFailed."""
    response = await client.post("/graphql", json=body, headers={"cookie": cookie})
    answer = response.json()
    if response.status_code != 200 or "errors" in answer:
        raise CheckFailed(f"{body.get('operationName')}: {response.text[:300]}")
    return answer["data"]


def search_body(query: str, after: str | None = None) -> dict[str, Any]:
    """The request body of one search page."""
    variables = {"q": query, "after": after}
    return {"query": SEARCH, "operationName": "Search", "variables": variables}


async def every_page(client: Any, cookie: str, query: str) -> list[int]:
    """The message ids of every page of a search, in order."""
    found, after = [], None
    while True:
        page = (await ask(client, cookie, search_body(query, after)))["search"]
        found += [_key(edge["node"]["message"]["id"]) for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


def _key(global_id: str) -> int:
    import base64

    return int(base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).split(b":")[1])


async def check(client: Any, cookie: str, planted: list[int]) -> dict[str, str | None]:
    """Check each kind's first answer; the cursor each kind starts from."""
    starts: dict[str, str | None] = {}
    previous: dict[str, Any] = {}
    for kind, query in KINDS:
        after = previous["search"]["pageInfo"]["endCursor"] if "page 2" in kind else None
        data = await ask(client, cookie, search_body(query, after))
        edges = data["search"]["edges"]
        if not edges or any("<mark>" not in e["node"]["snippet"] for e in edges):
            raise CheckFailed(f"{kind}: no hits, or a snippet without a match")
        if after is not None:
            earlier = {e["node"]["message"]["id"] for e in previous["search"]["edges"]}
            if earlier & {e["node"]["message"]["id"] for e in edges}:
                raise CheckFailed(f"{kind}: page 2 repeats a hit of page 1")
        starts[kind], previous = after, data
    for query in (RARE_WORD, f'"{RARE_PHRASE}"'):
        if await every_page(client, cookie, query) != sorted(planted, reverse=True):
            raise CheckFailed(f"{query}: not exactly the {PLANTED} planted messages")
    return starts


def quantiles(seconds: list[float]) -> dict[str, float]:
    """p50 and p99 in milliseconds."""
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return {"p50": cuts[49] * 1000, "p99": cuts[98] * 1000, "mean": statistics.mean(seconds) * 1000}


async def time_requests(client: Any, cookie: str, body: dict[str, Any], n: int) -> list[float]:
    """Send `body` n times, one at a time; each request's seconds."""
    spent = []
    for _ in range(n):
        started = time.perf_counter()
        response = await client.post("/graphql", json=body, headers={"cookie": cookie})
        spent.append(time.perf_counter() - started)
        if response.status_code != 200 or b'"errors"' in response.content:
            raise CheckFailed(f"while timing: {response.text[:300]}")
    return spent


async def time_search(query: str, after: str | None, n: int) -> list[float]:
    """The search alone, n times: the resolver's statement and its rows made into hits
    (no GraphQL, no authors)."""
    from resolvers import search as finder

    terms = finder.parse(query)
    position = finder.decode_cursor(terms, None, after)
    spent = []
    for _ in range(n):
        started = time.perf_counter()
        await finder.find(terms, 20, position, None, None)
        spent.append(time.perf_counter() - started)
    return spent


# ---------------------------------------------------------------- one database


async def measure(url: str, info: dict[str, Any], data_dir: Path, n: int) -> dict[str, Any]:
    """Every number of one database."""
    import httpx
    import queries
    from tortoise import connections

    from services.markdown import Renderer
    from services.settings import Settings
    from web.app import create_app

    settings = Settings(database_url=url, data_dir=data_dir, rate_limits="off")
    app = create_app(settings, migrate=False)
    result: dict[str, Any] = {
        "searches": [],
        "messages": info["threads"] * info["messages_per_thread"],
        "load": [os.getloadavg()[0]],
    }
    async with app.router.lifespan_context(app):
        db = connections.get("default")
        planted = await plant(db, Renderer(settings.public_url, settings.key))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            signed_in = await client.post(
                "/graphql", json=queries.login(info["viewer"], info["password"])
            )
            if "session" not in signed_in.cookies:
                raise CheckFailed(f"login failed: {signed_in.text[:300]}")
            cookie = f"session={signed_in.cookies['session']}"
            client.cookies.clear()
            starts = await check(client, cookie, planted)
            for kind, query in KINDS:
                body = search_body(query, starts[kind])
                await time_requests(client, cookie, body, 10)  # warm: plans, caches
                with counting() as counter:
                    data = await ask(client, cookie, body)
                if counter.count != TARGET_SQL:  # say what ran, on stderr
                    print(
                        f"    {kind}: {counter.count} statements",
                        *counter.sql,
                        sep="\n      ",
                        file=sys.stderr,
                    )
                cpu = time.process_time()
                request = quantiles(await time_requests(client, cookie, body, n))
                request["cpu"] = (time.process_time() - cpu) / n * 1000  # this process only
                found = quantiles(await time_search(query, starts[kind], n))
                row = {"kind": kind, "query": query, "sql": counter.count, "request": request}
                row |= {"search": found, "hits": len(data["search"]["edges"])}
                result["searches"].append(row)
                print(f"    {kind:22} {found['p50']:6.1f} / {request['p50']:6.1f} ms", flush=True)
            result["posting"] = await posting(
                client, cookie, db, queries.post_message(info["post_thread_gid"]), n
            )
    result["load"].append(os.getloadavg()[0])
    return result


async def posting(
    client: Any, cookie: str, db: Any, body: dict[str, Any], n: int
) -> dict[str, Any]:
    """postMessage timed with the index and without it, in ROUNDS alternating blocks
    (so a change in the machine's load falls on both alike), and the index built back
    after each block without it."""
    index = search_index()
    with_index: list[float] = []
    without: list[float] = []
    builds = []
    for _ in range(ROUNDS):
        await time_requests(client, cookie, body, 10)  # statements prepared again
        block = await time_requests(client, cookie, body, n // ROUNDS)
        await index.uninstall(db)
        try:
            await time_requests(client, cookie, body, 10)
            bare = await time_requests(client, cookie, body, n // ROUNDS)
        finally:
            started = time.perf_counter()
            await index.install(db)  # indexes the messages posted meanwhile too
            builds.append(time.perf_counter() - started)
        with_index, without = with_index + block, without + bare
        p50s = f"{statistics.median(block) * 1000:.1f} / {statistics.median(bare) * 1000:.1f}"
        print(f"    posting p50 with / without the index: {p50s} ms", file=sys.stderr)
    return {
        "with": quantiles(with_index),
        "without": quantiles(without),
        "build_s": statistics.median(builds),
    }


# ---------------------------------------------------------------- report


def run_child(
    engine: str, size: str, url: str, info: dict[str, Any], n: int, data_dir: Path | None = None
) -> dict[str, Any]:
    """`measure` in a fresh Python process; its result. `data_dir` is the server's DATA_DIR
    for that database (its keys must be the ones the database was first used with)."""
    request = {"engine": engine, "size": size, "url": url, "info": info, "n": n}
    if data_dir is not None:
        request["data_dir"] = str(data_dir)
    done = subprocess.run(
        [sys.executable, __file__, "--child"],
        input=json.dumps(request),
        stdout=subprocess.PIPE,
        text=True,
        timeout=3600,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise CheckFailed(f"search benchmark on {engine} {size} failed:\n{done.stdout[-2000:]}")
    return json.loads(lines[-1])


def report(targets: list[Any], n: int = 200) -> str:
    """Measure every target (anything with engine, size, url and info) and return the
    Markdown tables of the search rows."""
    measured = []
    for target in targets:
        print(f"search: {target.engine} {target.size}", flush=True)
        found = run_child(target.engine, target.size, target.url, target.info, n, target.data_dir)
        measured.append((target, found))
    return tables(measured)


def tables(measured: list[tuple[Any, dict[str, Any]]]) -> str:
    """The search table and the posting table."""
    names = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
    lines = [
        "| search (first: 20) | database | messages | search p50 ms | search p99 ms "
        "| request p50 ms | request p99 ms | request CPU ms | SQL/page | hits |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    posts = [
        "| posting | database | messages | p50 ms with index | p50 ms without "
        "| p50, with / without | mean, with / without | index build s |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for target, result in measured:
        database, count = names[target.engine], f"{result['messages']:,}"
        for row in result["searches"]:
            found, request = row["search"], row["request"]
            lines.append(
                f"| {row['kind']} `{row['query']}` | {database} | {count} | {found['p50']:.1f} "
                f"| {found['p99']:.1f} | {request['p50']:.1f} | {request['p99']:.1f} "
                f"| {request['cpu']:.1f} | {row['sql']} | {row['hits']} |"
            )
        post = result["posting"]
        median = post["with"]["p50"] / post["without"]["p50"]
        mean = post["with"]["mean"] / post["without"]["mean"]
        posts.append(
            f"| postMessage | {database} | {count} | {post['with']['p50']:.1f} | "
            f"{post['without']['p50']:.1f} | {median:.2f} | {mean:.2f} | {post['build_s']:.1f} |"
        )
    loads = ", ".join(
        f"{names[t.engine]} {r['messages']:,}: {r['load'][0]:.1f} to {r['load'][1]:.1f}"
        for t, r in measured
    )
    targets = (
        f"Load average during each ({loads}), on {os.cpu_count()} cores. "
        f"Targets at 1 M messages: p50 under {TARGET_P50_MS:g} ms, at most {TARGET_SQL} SQL "
        f"statements a page, posting at most {TARGET_POSTING:g} times as long with the index."
    )
    return "\n".join([*lines, "", *posts, "", targets])


# ---------------------------------------------------------------- command line


def child() -> int:
    """The child side of `run_child`: read the request, print the result as JSON."""
    request = json.loads(sys.stdin.read())
    own = HERE / "data" / f"search-{request['engine']}-{request['size']}"
    data_dir = Path(request.get("data_dir") or own)
    data_dir.mkdir(parents=True, exist_ok=True)
    result = asyncio.run(measure(request["url"], request["info"], data_dir, request["n"]))
    print(json.dumps(result))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Measure one seeded database and print the tables."""
    if (argv or sys.argv[1:]) == ["--child"]:
        return child()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a database seeded by seed.py")
    parser.add_argument("--info", type=Path, help="its JSON file (default: beside it)")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per row")
    args = parser.parse_args(argv)
    import seed

    info_file = args.info or seed.info_path(args.database_url)
    info = json.loads(info_file.read_text())
    engine = "postgres" if args.database_url.startswith("postgres") else "sqlite"
    size = "big" if info["threads"] == 1 else "standard"
    result = run_child(engine, size, args.database_url, info, args.requests)
    target = argparse.Namespace(engine=engine, size=size)
    print(tables([(target, result)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
