"""Posting in-process (no sockets): CPU µs and SQL statements a request for a reply, a
reply that notifies watchers, a reply with mentions and a conversation message; best of
several rounds, optionally a cProfile of one of them.

    .venv/bin/python bench/profile_posting.py [--requests 200] [--rounds 3] [--profile reply]

Works on a copy of bench/data/standard.sqlite3 (seed it first with `make bench
BENCH_ARGS=--check-only`), so the bench's own database is left as it was.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

import queries  # noqa: E402

SEND = """mutation Send($input: SendMessageInput!) {
  sendMessage(input: $input) {
    message { id bodyHtml createdAt author { username } }
    userErrors { field code message }
  }
}"""
FIRST_CONVERSATION = "{ conversations(first: 1) { edges { node { id } } } }"
WATCHERS = 10  # members watching the fan-out thread; one of them blocked the viewer
SCENARIOS = ["reply", "reply_watched", "reply_mentions", "conversation"]


def _reply(thread_gid: str, body: str) -> dict[str, object]:
    request = queries.post_message(thread_gid)
    request["variables"] = {"input": {"threadId": thread_gid, "body": body}}
    return request


async def _prepare(info: dict[str, Any]) -> list[str]:
    """Watchers on thread 999 (one blocks the viewer, two want mail); the usernames to
    mention."""
    from models.blocks import Block
    from models.notifications import NotificationKind, NotificationSetting, ThreadWatch

    watchers = list(range(2, 2 + WATCHERS))
    await ThreadWatch.bulk_create(
        [ThreadWatch(user_id=user, thread_id=999) for user in watchers], ignore_conflicts=True
    )
    await Block.get_or_create(blocker_id=watchers[0], blocked_id=info["viewer_id"])
    for user in watchers[1:3]:
        await NotificationSetting.get_or_create(
            user_id=user, kind=NotificationKind.REPLY, defaults={"email": True}
        )
    return [f"bob{n:05d}" for n in range(20, 23)]


async def measure(
    database: Path, requests: int, profile: str | None
) -> dict[str, tuple[float, int]]:
    """CPU µs and statements a request of each scenario."""
    import httpx

    from services.settings import Settings
    from tests.support.sqlcount import count_statements
    from web.app import create_app

    info = json.loads((HERE / "data" / "standard.json").read_text())
    settings = Settings(
        database_url=f"sqlite://{database}",
        data_dir=HERE / "data" / "server-sqlite-standard",
        rate_limits="off",
        response_cache=False,
        log_level="WARNING",
    )
    app = create_app(settings, migrate=False)
    found: dict[str, tuple[float, int]] = {}
    async with app.router.lifespan_context(app):
        names = await _prepare(info)
        mentions = " ".join(f"@{name}" for name in names)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            login = queries.login(info["viewer"], info["password"])
            cookie = f"session={(await client.post('/graphql', json=login)).cookies['session']}"
            client.cookies.clear()
            headers = {"cookie": cookie}
            inbox = await client.post(
                "/graphql", json={"query": FIRST_CONVERSATION}, headers=headers
            )
            conversation = inbox.json()["data"]["conversations"]["edges"][0]["node"]["id"]
            bodies = {
                "reply": queries.post_message(info["post_thread_gid"]),
                "reply_watched": _reply("VGhyZWFkOjk5OQ", queries.POST_BODY),
                "reply_mentions": _reply(info["post_thread_gid"], f"Well done {mentions}!"),
                "conversation": {
                    "query": SEND,
                    "variables": {"input": {"conversationId": conversation, "body": "On my way."}},
                },
            }
            for name, body in bodies.items():
                for _ in range(5):
                    got = await client.post("/graphql", json=body, headers=headers)
                    assert got.status_code == 200 and b'"errors"' not in got.content, got.text
                    assert b'"userErrors":[]' in got.content, got.text
                with count_statements() as statements:
                    await client.post("/graphql", json=body, headers=headers)
                profiler = cProfile.Profile() if profile == name else None
                if profiler is not None:
                    profiler.enable()
                start = time.process_time()
                for _ in range(requests):
                    await client.post("/graphql", json=body, headers=headers)
                cpu = (time.process_time() - start) / requests * 1e6
                if profiler is not None:
                    profiler.disable()
                    pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
                found[name] = (cpu, statements.count)
    return found


def main() -> int:
    """Print CPU µs (best of the rounds) and statements a request per scenario."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", choices=SCENARIOS)
    args = parser.parse_args()
    rounds: list[dict[str, tuple[float, int]]] = []
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "posting.sqlite3"
        shutil.copyfile(HERE / "data" / "standard.sqlite3", database)
        for _ in range(args.rounds):
            rounds.append(asyncio.run(measure(database, args.requests, args.profile)))
    print("| request | CPU µs (best) | CPU µs (each round) | statements |")
    print("|---|---:|---|---:|")
    for name in SCENARIOS:
        cpus = [found[name][0] for found in rounds]
        each = ", ".join(f"{cpu:,.0f}" for cpu in cpus)
        print(f"| {name} | {min(cpus):,.0f} | {each} | {rounds[-1][name][1]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
