"""Where a response-cache hit spends its time, layer by layer.

    python bench/profile_hit.py [--requests 3000] [--seconds 10]

1. In-process, no sockets (pinned to core 0): CPU microseconds (the process's, all its
   threads) per warm hit of the anonymous thread page through the whole ASGI app,
   through Starlette's router and the front without the middleware, through the front
   alone, and of the cache version read and the request log line alone. The layers are
   the differences.
2. On the wire (server on core 0, `wrk -t1 -c32` on core 1): a bare ASGI app that
   answers every request with the hit's bytes and headers, under uvicorn with h11 (as
   `server.py serve` runs) and with httptools, and with httptools plus one read of the
   cache version through aiosqlite; the project's server itself; and the raw
   baseline's page, the unit of "4 x raw". What uvicorn costs is what the bare app
   cannot go faster than. CPU microseconds a request are given beside req/s: on a busy
   machine they move much less.

`bench/profile_server.py --scenario anonymous` samples the same hits with py-spy.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import queries  # noqa: E402
import run  # noqa: E402

BARE_APP = """
import json, os, sys
answer = json.load(open(sys.argv[1]))
BODY = answer["body"].encode()
HEADERS = [(k.encode(), v.encode()) for k, v in answer["headers"]]
DB = os.environ.get("VERSION_DB")  # read the cache version through aiosqlite per request
conn = None

async def app(scope, receive, send):
    global conn
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if DB:
                    import aiosqlite
                    conn = await aiosqlite.connect(DB)
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    if conn is not None:
        await conn.execute_fetchall(
            "SELECT name, version FROM cache_versions "
            "WHERE name IN (SELECT value FROM json_each('[\"g\"]'))"
        )
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
"""


def scope_for(body: bytes) -> dict[str, Any]:
    """The scope uvicorn builds for wrk's POST (the headers wrk sends, nothing more)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": "POST",
        "root_path": "",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"application/json"),
        ],
        "state": {},
    }


async def per_call(app: Any, body: bytes, requests: int) -> tuple[float, list[Any]]:
    """CPU microseconds per request through an ASGI callable, and the last answer's
    messages."""
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    for _ in range(50):  # warm: the first request fills the cache
        await app(scope_for(body), receive, send)
    started = time.process_time()
    for _ in range(requests):
        sent.clear()
        await app(scope_for(body), receive, send)
    return (time.process_time() - started) / requests * 1e6, list(sent)


async def timed(work: Any, requests: int) -> float:
    """CPU microseconds per call of a coroutine function."""
    for _ in range(50):
        await work()
    started = time.process_time()
    for _ in range(requests):
        await work()
    return (time.process_time() - started) / requests * 1e6


async def in_process(target: run.Target, requests: int) -> tuple[list[tuple[str, float]], Any]:
    """The layers of a hit, in CPU microseconds (the fastest of five rounds); and the
    hit's status line and body."""
    from services.settings import Settings
    from web.app import create_app
    from web.requestlog import RequestLog

    settings = Settings(database_url=target.url, data_dir=target.data_dir, rate_limits="off")
    app = create_app(settings, migrate=False)
    body = json.dumps(queries.thread_page(target.info["thread_gid"])).encode()
    writer = RequestLog(app, with_addresses=False)
    scope = {**scope_for(body), "forum.request_id": "0" * 32}

    async def log_line() -> None:
        writer._write(scope, 200, 0.001)

    def keys() -> Any:
        # The keys a hit of this page checks: those of its one entry.
        (entry,) = front.cache._entries.values()
        return entry.versions

    best: dict[str, float] = {}
    async with app.router.lifespan_context(app):
        front = app.routes[0].app
        await per_call(app, body, 1)  # builds the middleware stack
        early = app.middleware_stack if app.outermost is not None else None
        stack = early.app if early is not None else app.middleware_stack
        # Five rounds, the fastest of each: other processes only ever add time.
        for _ in range(5):
            found = {
                "whole": (await per_call(app, body, requests))[0],
                "stack": (await per_call(stack, body, requests))[0],
                "routed": (await per_call(app.router, body, requests))[0],
                "alone": (await per_call(front, body, requests))[0],
                "version": await timed(lambda: front.cache.versions(keys()), requests),
                "orm": await timed(lambda: front.cache._read_versions(keys()), requests),
                "line": await timed(log_line, requests),
            }
            best = {k: min(v, best.get(k, v)) for k, v in found.items()}
        _, sent = await per_call(app, body, 1)
    layers = [
        ("whole app, a hit" + (" answered by EarlyHits" if early else " (EarlyHits off)"),
         best["whole"]),
        ("the stack behind EarlyHits answering it (middleware, router, front)", best["stack"]),
        ("middleware: Starlette's ServerError and Exception layers, RequestLog, SecurityHeaders, "
         "TrustedHost, ClientAddress, HeadLimit, BodyLimit, CORS, WriteGuard (incl. the log "
         "line)", best["stack"] - best["routed"]),
        ("  of which the request log line (json.dumps + logging)", best["line"]),
        ("Starlette's router", best["routed"] - best["alone"]),
        ("the front: body read, json.loads, persisted-query and subscription checks, key "
         "(json.dumps of variables + sha256), LRU get, send", best["alone"] - best["version"]),
        ("the cache version read (ResponseCache.versions; SQLite: its own connection)",
         best["version"]),
        ("  the same read through Tortoise (PostgreSQL's way; SQLite's before)", best["orm"]),
    ]  # fmt: skip
    return layers, sent


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def loaded(pid: int, url: str, body: dict[str, Any], args: argparse.Namespace, wrk: str) -> Any:
    """wrk's numbers, plus the server's CPU microseconds a request (steadier than req/s
    on a busy machine: other processes take turns on the core, not CPU time)."""
    run.warm_up(url, body, None, 1)
    before = cpu_seconds(pid)
    found = run.run_wrk(wrk, url, body, None, args.seconds, args.connections)
    found["cpu_us"] = (cpu_seconds(pid) - before) / max(1, found["requests"]) * 1e6
    return found


def wire(
    answer: Path, http: str, args: argparse.Namespace, wrk: str, version_db: str = ""
) -> dict[str, Any]:
    """req/s of the bare app under uvicorn with the given HTTP parser (and, given a
    database, one read of its cache version a request through aiosqlite)."""
    import httpx

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "bare.py").write_text(BARE_APP)
        port = run.free_port()
        site = str(run.DATA / "site")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([tmp, site]), "VERSION_DB": version_db}
        command = ["taskset", "-c", "0", sys.executable, "-c"]
        command += [
            "import sys, uvicorn; sys.argv = ['bare', sys.argv[1]]; import bare; "
            f"uvicorn.run(bare.app, port={port}, http='{http}', loop='uvloop', "
            "access_log=False, server_header=False, log_level='warning', lifespan='on')",
            str(answer),
        ]
        process = subprocess.Popen(command, env=env)
        try:
            url = f"http://127.0.0.1:{port}/graphql"
            body = queries.thread_page("x")
            for _ in range(100):
                with contextlib.suppress(httpx.HTTPError):
                    run.post(url, body)
                    break
                time.sleep(0.1)
            return loaded(process.pid, url, body, args, wrk)
        finally:
            process.terminate()
            process.wait(timeout=10)


def server(kind: str, target: run.Target, args: argparse.Namespace, wrk: str) -> dict[str, Any]:
    """The project's server answering warm hits, or the raw baseline its page."""
    body = queries.thread_page(target.info["thread_gid"])
    with run.running(kind, target, body) as started:
        return loaded(started.process.pid, started.url, body, args, wrk)


def main() -> int:
    """Measure and print both tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--in-process", action="store_true", help="the first table only")
    args = parser.parse_args()
    run.ensure_site()
    wrk = run.ensure_wrk()
    if wrk is None:
        print("needs wrk", file=sys.stderr)
        return 1
    target = run.sqlite_target("standard", False)
    # As `serve` logs (INFO, one line a request), into nowhere instead of its log file.
    logging.basicConfig(level=logging.INFO, stream=open(os.devnull, "w"))  # noqa: SIM115
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {0})
    layers, sent = asyncio.run(in_process(target, args.requests))
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {1})
    start, answer = sent[0], sent[1]
    print(f"load average {os.getloadavg()[0]:.2f}; a hit answers {len(answer['body']):,} bytes")
    print("\n| in-process, one warm hit | CPU \u00b5s |\n|---|---:|")
    for name, micros in layers:
        print(f"| {name} | {micros:,.0f} |")
    if args.in_process:
        return 0
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        headers = [(k.decode(), v.decode()) for k, v in start["headers"]]
        json.dump({"body": answer["body"].decode(), "headers": headers}, handle)
    print(f"\n| on the wire, wrk -c{args.connections} | req/s | p50 ms | CPU \u00b5s a request |")
    print("|---|---:|---:|---:|")
    rows = [
        ("bare ASGI app answering the hit's bytes, uvicorn + h11", "h11"),
        ("bare ASGI app answering the hit's bytes, uvicorn + httptools", "httptools"),
        ("the same + the cache version read through aiosqlite, httptools", "version"),
        ("the project's server, warm hits (uvicorn + h11)", "forum"),
        ("the raw baseline, its thread page (uvicorn + httptools)", "raw"),
    ]
    try:
        for name, kind in rows:
            if kind in ("forum", "raw"):
                found = server(kind, target, args, wrk)
            elif kind == "version":
                path = target.url.removeprefix("sqlite://")
                found = wire(Path(handle.name), "httptools", args, wrk, path)
            else:
                found = wire(Path(handle.name), kind, args, wrk)
            print(f"| {name} | {found['rps']:,.0f} | {found['p50']:.1f} | {found['cpu_us']:,.0f} |")
    finally:
        os.unlink(handle.name)
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
