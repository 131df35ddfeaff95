"""The plan executor against graphql-core's, in-process (no sockets, cache off): CPU µs a
request of each read page on each executor, which documents ran as plans and which fell
back (and why), and optionally a cProfile of one page.

    .venv/bin/python bench/profile_plans.py [--requests 200] [--profile signed_in]

Run `make bench BENCH_ARGS=--check-only` once first: it seeds bench/data/standard.sqlite3.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

import queries  # noqa: E402

MESSAGES = "messages(first: 50) {{ edges {{ node {{ id bodyHtml createdAt {} }} }} }}"
PAGES = ["anonymous", "signed_in", "inbox", "typename", "thread_only", "messages_bare"]


def _thread(selection: str) -> dict[str, object]:
    info = json.loads((HERE / "data" / "standard.json").read_text())
    query = "query($id: ID!) { thread(id: $id) { " + selection + " } }"
    return {"query": query, "variables": {"id": info["thread_gid"]}}


async def measure(executor: str, requests: int, profile: str | None) -> dict[str, float]:
    """CPU µs a request of each page with PLAN_EXECUTOR=executor."""
    import httpx

    from services.settings import Settings
    from web.app import create_app

    info = json.loads((HERE / "data" / "standard.json").read_text())
    settings = Settings(
        database_url=f"sqlite://{HERE / 'data' / 'standard.sqlite3'}",
        data_dir=HERE / "data" / "server-sqlite-standard",
        rate_limits="off",
        response_cache=False,
        plan_executor=executor,
        log_level="WARNING",
    )
    app = create_app(settings, migrate=False)
    pages = {
        "anonymous": (queries.thread_page(info["thread_gid"]), False),
        "signed_in": (queries.thread_page(info["thread_gid"]), True),
        "inbox": (queries.inbox(), True),
        "typename": ({"query": "{ __typename }"}, False),
        "thread_only": (_thread("id title"), False),
        "messages_bare": (_thread(MESSAGES.format("")), False),
        "messages_authors": (_thread(MESSAGES.format("author { id username }")), False),
    }
    found: dict[str, float] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            login = queries.login(info["viewer"], info["password"])
            cookie = f"session={(await client.post('/graphql', json=login)).cookies['session']}"
            client.cookies.clear()
            for name, (body, signed_in) in pages.items():
                headers = {"cookie": cookie} if signed_in else {}
                for _ in range(10):
                    got = await client.post("/graphql", json=body, headers=headers)
                    assert got.status_code == 200 and b'"errors"' not in got.content, got.text
                profiler = cProfile.Profile() if profile == name else None
                if profiler is not None:
                    profiler.enable()
                start = time.process_time()
                for _ in range(requests):
                    await client.post("/graphql", json=body, headers=headers)
                found[name] = (time.process_time() - start) / requests * 1e6
                if profiler is not None:
                    profiler.disable()
                    pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    return found


def main() -> int:
    """Print the table and the plan counters."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--profile", choices=[*PAGES, "messages_authors"])
    parser.add_argument("--only", choices=["on", "off"])
    args = parser.parse_args()
    from schema.plans import STATS

    rows = {}
    for executor in [args.only] if args.only else ["off", "on"]:
        rows[executor] = asyncio.run(measure(executor, args.requests, args.profile))
    print("| page | " + " | ".join(f"PLAN_EXECUTOR={e} CPU µs" for e in rows) + " |")
    for page in next(iter(rows.values())):
        print(f"| {page} | " + " | ".join(f"{rows[e][page]:,.0f}" for e in rows) + " |")
    print(f"planned requests: {STATS.planned}; fell back: {dict(STATS.fallback)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
