"""Concurrent writers on PostgreSQL: messages per second and latency of `postMessage`.

    make bench-writers                                   # 8 and 32 writers, 1 and 2 workers
    make bench-writers WRITERS_ARGS="--before 81bd800"   # + another commit's code, first

Each writer is a member of its own, signed in once, posting replies as fast as the
server answers into a thread of its own; all threads are in one forum (the busiest
case for the forum's version keys). Every round (a number of writers on a number of
workers) gets a fresh database, migrated by `serve --workers N` of the code under
test; the members and the forum go in with SQL, the threads through the API.

`--before REV` runs each round on a copy of that commit's files too, just before this
checkout's (`git archive` into a temporary folder, nothing changed in the repository):
81bd800 is the single `cache_version` row before the version keys of migration 0013.

Without TEST_POSTGRES_URL the script restarts itself under scripts/with-postgres (a
throwaway cluster with fsync off: commit latency is not what is measured here, the
queueing of writers behind one another is). The machine is shared: the numbers are
indicative, and the load generator runs beside the server. `--sql` leaves the server
out of the timing: each writer commits postMessage's transaction (the message, then
its thread's activity) itself, so only the database and its triggers are measured.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
PASSWORD = "bench-password-2026"  # bench/seed.py's
USER_COLUMNS = [
    "id", "username", "username_key", "email", "email_key", "password_hash", "date_of_birth",
    "role", "joined_at", "email_confirmed_at", "last_seen_at", "newsletter",
    "analytics_opt_out", "password_changed_at", "ip_cipher", "ip_hash", "user_agent",
]  # fmt: skip
FIRST_NAMES = [
    "alice",
    "bob",
    "carol",
    "dave",
    "erin",
    "frank",
    "gina",
    "harry",
    "ivy",
    "jack",
    "kate",
    "liam",
    "maya",
    "noah",
    "olive",
    "pete",
    "quinn",
    "rosa",
    "sam",
    "tara",
]  # fmt: skip  (bench/seed.py's username_of)
LOGIN = """mutation Login($input: LoginInput!) {
  login(input: $input) { userErrors { code } }
}"""
CREATE_THREAD = """mutation Open($input: CreateThreadInput!) {
  createThread(input: $input) { thread { id } userErrors { code } }
}"""
POST = """mutation Post($input: PostMessageInput!) {
  postMessage(input: $input) { message { id } userErrors { code } }
}"""
SQL_MESSAGE = (
    "INSERT INTO messages (thread_id, author_id, body, body_html, created_at, user_agent) "
    "VALUES ($1, $2, 'Another lap.', '<p>Another lap.</p>', now(), 'bench') RETURNING id"
)
SQL_ACTIVITY = "UPDATE threads SET last_message_id = $1 WHERE id = $2"
START_TIMEOUT = 90


@dataclass
class Round:
    """What one round measured."""

    code: str
    workers: int
    writers: int
    posts: int
    seconds: float
    latencies: list[float]
    errors: int

    @property
    def rate(self) -> float:
        """Messages per second."""
        return self.posts / self.seconds

    def percentile(self, share: float) -> float:
        """A latency percentile, in milliseconds."""
        if len(self.latencies) < 2:
            return float("nan")
        return statistics.quantiles(self.latencies, n=100)[int(share) - 1] * 1000


def username_of(index: int) -> str:
    """The seeded member number `index` (bench/seed.py)."""
    return f"{FIRST_NAMES[index % len(FIRST_NAMES)]}{index:05d}"


def gid(type_name: str, pk: int) -> str:
    """A Relay ID."""
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def fresh_database(admin_url: str, name: str) -> str:
    """An empty database on the cluster; its URL."""
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return admin_url.rsplit("/", 1)[0] + "/" + name


async def seed(url: str, writers: int) -> None:
    """One forum and a member per writer, written as bench/seed.py writes them, into a
    database the server under test has just migrated (its threads come through the API)."""
    import asyncpg

    from services import passwords
    from services.usernames import lookalike_key

    password_hash = passwords.hash_password(PASSWORD)  # once: Argon2 is slow on purpose
    joined = datetime(2025, 1, 1, tzinfo=UTC)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "INSERT INTO forums (id, slug, title, description, position) "
            "VALUES (1, 'busy', 'Busy', 'Where every writer posts.', 0)"
        )
        rows = []
        for i in range(1, writers + 1):
            name = username_of(i)
            email = f"{name}@bench.example"
            rows.append(
                (i, name, lookalike_key(name), email, email, password_hash, date(1980, 1, 1),
                 "member", joined, joined, None, False, False, joined, None, None, "bench")
            )  # fmt: skip
        await conn.copy_records_to_table("users", records=rows, columns=USER_COLUMNS)
    finally:
        await conn.close()


async def open_threads(endpoint: str, clients: list[httpx.AsyncClient]) -> list[str]:
    """Each writer signs in and opens its own thread; their IDs."""
    threads = []
    for number, client in enumerate(clients, start=1):
        variables = {"input": {"login": username_of(number), "password": PASSWORD}}
        answer = await client.post(endpoint, json={"query": LOGIN, "variables": variables})
        if answer.json()["data"]["login"]["userErrors"]:
            raise RuntimeError(f"writer {number} could not sign in: {answer.text}")
        opened = {"input": {"forumId": gid("Forum", 1), "title": f"Lap {number}", "body": "Go."}}
        answer = await client.post(endpoint, json={"query": CREATE_THREAD, "variables": opened})
        payload = answer.json()["data"]["createThread"]
        if payload["userErrors"]:
            raise RuntimeError(f"writer {number} could not open a thread: {answer.text}")
        threads.append(payload["thread"]["id"])
    return threads


@contextlib.contextmanager
def serving(code: Path, url: str, workers: int, log: Path) -> Iterator[str]:
    """`serve --workers N` of the code under test; its /graphql URL, stopped afterwards."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATA_DIR")}
    data = Path(tempfile.mkdtemp(prefix="forum-writers-"))
    env.update(DATABASE_URL=url, DATA_DIR=str(data), RATE_LIMITS="off", ENVIRONMENT="development")
    command = [sys.executable, "server.py", "serve", "--port", str(port)]
    command += ["--workers", str(workers)]
    with open(log, "ab") as handle:
        process = subprocess.Popen(command, cwd=code, env=env, stdout=handle, stderr=handle)
        try:
            endpoint = f"http://127.0.0.1:{port}/graphql"
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"server exited; see {log}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.post(endpoint, json={"query": "{ forums { slug } }"}).is_success:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server did not answer; see {log}")
                time.sleep(0.3)
            yield endpoint
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
            shutil.rmtree(data, ignore_errors=True)


async def write(endpoint: str, writers: int, duration: float) -> tuple[list[float], int, float]:
    """Every writer signs in and opens a thread, then all post in their own threads until
    the time is up: the latencies, the errors, and the seconds of posting."""
    limits = httpx.Limits(max_connections=writers + 4)
    clients = [httpx.AsyncClient(timeout=60, limits=limits) for _ in range(writers)]
    try:
        threads = await open_threads(endpoint, clients)
        latencies: list[float] = []
        errors = 0
        start = time.monotonic()
        stop = start + duration

        async def writer(thread: str, client: httpx.AsyncClient) -> None:
            nonlocal errors
            variables = {"input": {"threadId": thread, "body": "Another lap."}}
            while time.monotonic() < stop:
                began = time.monotonic()
                answer = await client.post(endpoint, json={"query": POST, "variables": variables})
                took = time.monotonic() - began
                payload = answer.json().get("data") or {}
                if answer.is_success and (payload.get("postMessage") or {}).get("message"):
                    latencies.append(took)
                else:
                    errors += 1

        await asyncio.gather(*(writer(t, c) for t, c in zip(threads, clients, strict=True)))
        return latencies, errors, time.monotonic() - start
    finally:
        for client in clients:
            await client.aclose()


async def write_sql(
    url: str, threads: list[int], duration: float
) -> tuple[list[float], int, float]:
    """`--sql`: the transaction postMessage commits (a message, then its thread's
    activity), straight from one connection per writer, no server in between."""
    import asyncpg

    connections = [await asyncpg.connect(url) for _ in threads]
    latencies: list[float] = []
    start = time.monotonic()
    stop = start + duration

    async def writer(thread: int, number: int, conn: asyncpg.Connection) -> None:
        while time.monotonic() < stop:
            began = time.monotonic()
            async with conn.transaction():
                message = await conn.fetchval(SQL_MESSAGE, thread, number)
                await conn.execute(SQL_ACTIVITY, message, thread)
            latencies.append(time.monotonic() - began)

    try:
        # Writer n is member n, who opened threads[n - 1].
        pairs = zip(threads, connections, strict=True)
        await asyncio.gather(*(writer(t, n, c) for n, (t, c) in enumerate(pairs, start=1)))
    finally:
        for conn in connections:
            await conn.close()
    return latencies, 0, time.monotonic() - start


def thread_pk(relay_id: str) -> int:
    """The row id inside a Relay ID."""
    padded = relay_id + "=" * (-len(relay_id) % 4)
    return int(base64.b64decode(padded).decode().split(":", 1)[1])


def run_round(
    code: Path,
    label: str,
    admin_url: str,
    workers: int,
    writers: int,
    duration: float,
    sql: bool = False,
) -> Round:
    """Seed, serve, write, measure."""
    url = asyncio.run(fresh_database(admin_url, "forum_bench_writers"))
    slug = "".join(c if c.isalnum() else "-" for c in label)
    log = HERE / "data" / "logs" / f"writers-{slug}-{workers}w-{writers}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with serving(code, url, workers, log) as endpoint:
        asyncio.run(seed(url, writers))
        if sql:
            threads = asyncio.run(opened(endpoint, writers))
        else:
            latencies, errors, seconds = asyncio.run(write(endpoint, writers, duration))
    if sql:
        latencies, errors, seconds = asyncio.run(write_sql(url, threads, duration))
        workers = 0
    return Round(label, workers, writers, len(latencies), seconds, latencies, errors)


async def opened(endpoint: str, writers: int) -> list[int]:
    """The writers' threads, opened through the API (for `--sql`)."""
    clients = [httpx.AsyncClient(timeout=60) for _ in range(writers)]
    try:
        return [thread_pk(thread) for thread in await open_threads(endpoint, clients)]
    finally:
        for client in clients:
            await client.aclose()


@contextlib.contextmanager
def checkout(revision: str) -> Iterator[Path]:
    """The files of a commit in a temporary folder (the repository is left as it is)."""
    folder = Path(tempfile.mkdtemp(prefix="forum-before-"))
    try:
        archive = subprocess.run(
            ["git", "archive", revision], cwd=ROOT, check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
        # migrations/ is a namespace package, which the editable install of this
        # checkout would fill with this checkout's migrations: make the copy's regular.
        (folder / "migrations" / "__init__.py").touch()
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def table(rounds: list[Round]) -> str:
    """The rounds as a Markdown table."""
    lines = [
        "| code | workers | writers | messages/s | p50 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rounds:
        lines.append(
            f"| {r.code} | {r.workers} | {r.writers} | {r.rate:.0f} | "
            f"{r.percentile(50):.0f} | {r.percentile(99):.0f} | {r.errors} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the rounds and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writers", default="8,32", help="comma-separated writer counts")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--duration", type=float, default=10, help="seconds of posting a round")
    parser.add_argument("--before", help="a commit to measure too (e.g. main)")
    parser.add_argument(
        "--sql", action="store_true", help="post in SQL from the writers, no server (workers: 0)"
    )
    args = parser.parse_args(argv)
    admin_url = os.environ.get("TEST_POSTGRES_URL")
    if not admin_url:
        script = [str(ROOT / "scripts" / "with-postgres"), sys.executable, __file__]
        return subprocess.call([*script, *(argv if argv is not None else sys.argv[1:])])
    writer_counts = [int(n) for n in args.writers.split(",")]
    worker_counts = [int(n) for n in args.workers.split(",")]
    load = os.getloadavg()
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)
    rounds: list[Round] = []
    with contextlib.ExitStack() as stack:
        codes = [(args.before, stack.enter_context(checkout(args.before)))] if args.before else []
        codes.append(("this checkout", ROOT))
        # Codes alternate round by round, so that the machine's load drifts over both.
        for workers in worker_counts:
            for writers in writer_counts:
                for label, code in codes:
                    done = run_round(
                        code, label, admin_url, workers, writers, args.duration, args.sql
                    )
                    rounds.append(done)
                    print(table([done]).splitlines()[-1], flush=True)
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(table(rounds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
