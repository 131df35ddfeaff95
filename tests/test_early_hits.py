"""Response-cache hits answered ahead of the middleware (web/hits.py,
RESPONSE_CACHE_EARLY_HITS): byte for byte what the whole stack sends for them, only to
requests that can only be anonymous, and never once the database has moved on.

A request the whole stack answers writes its request line; a hit answered early writes
none (hits are counted instead), which is how these tests tell the two apart."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from models.accounts import User
from services.settings import Settings
from tests.support.harness import TEST_IP, Client, Server
from tests.support.harness import test_settings as make_settings
from tests.support.members import member, set_profile

ROOT = Path(__file__).resolve().parent.parent
BIO = '{ user(username: "ada_l") { profile { bio } } }'
SHOWN = {"data": {"user": {"profile": {"bio": "Walks to work."}}}}
CYCLES = {"data": {"user": {"profile": {"bio": "Cycles."}}}}
JSON = {"content-type": "application/json"}
# Another process writes to the database: migrations are the server's business.
WRITER = """
import asyncio, sys
from tortoise import connections
import models

async def main() -> None:
    await models.init_db(sys.argv[1], migrate=False)
    await connections.get("default").execute_query("UPDATE profiles SET bio = 'Cycles.'")
    await models.close_db()

asyncio.run(main())
"""


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """X-Cache on, to see whether the cache answered."""
    return make_settings(tmp_path, database_url, response_cache_debug=True)


@pytest.fixture
async def ada(gql: Client) -> User:
    """A member whose bio everyone may read, signed in on `gql`."""
    user = await member(gql, "ada_l")
    await set_profile(user, bio="Walks to work.")
    return user


def request_lines(caplog: pytest.LogCaptureFixture) -> int:
    """How many request lines were written so far."""
    return sum(1 for record in caplog.records if record.name == "forum.requests")


async def asked(
    gql: Client, caplog: pytest.LogCaptureFixture, **request: Any
) -> tuple[Any, str | None, str]:
    """The answer to BIO (or another request), X-Cache, and who answered: "early" or
    the whole "stack"."""
    caplog.set_level(logging.INFO, logger="forum.requests")
    before = request_lines(caplog)
    request = request or {"json": {"query": BIO}, "headers": JSON}
    response = await gql.request(request.pop("method", "POST"), "/graphql", **request)
    who = "early" if request_lines(caplog) == before else "stack"
    return response.json(), response.headers.get("x-cache"), who


async def answered_early(gql: Client, caplog: pytest.LogCaptureFixture, **request: Any) -> Any:
    """Ask until a hit is answered early: the first answer learns its keys, the second
    is kept, the first hit goes through the whole stack, which shows how it is sent."""
    answers = [await asked(gql, caplog, **request) for _ in range(4)]
    assert [(state, who) for _, state, who in answers] == [
        ("miss", "stack"), ("miss", "stack"), ("hit", "stack"), ("hit", "early"),
    ]  # fmt: skip
    return answers[-1][0]


async def test_hits_after_the_first_through_the_stack_are_answered_early(
    gql: Client, ada: User, caplog: pytest.LogCaptureFixture
) -> None:
    assert await answered_early(gql, caplog) == SHOWN
    assert await asked(gql, caplog) == (SHOWN, "hit", "early")


SHAPES = {
    "post": {"json": {"query": BIO}, "headers": JSON},
    "post_named_with_variables": {
        "json": {
            "query": "query Bio($u: String!) { user(username: $u) { profile { bio } } }",
            "variables": {"u": "ada_l"},
            "operationName": "Bio",
        },
        "headers": {"content-type": "application/json; charset=utf-8", "accept": "*/*"},
    },
    "get": {"method": "GET", "params": {"query": BIO}},
}


async def fifth(settings: Settings, shape: dict[str, Any]) -> tuple[httpx.Response, int]:
    """The fifth of five identical requests on a fresh app, and how many request lines
    the five wrote."""
    lines = 0

    class Counter(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            nonlocal lines
            lines += 1

    logger = logging.getLogger("forum.requests")
    counter = Counter()
    logger.addHandler(counter)
    try:
        async with Server(settings) as gql:
            if await User.filter(username="ada_l").first() is None:
                await set_profile(await member(None, "ada_l"), bio="Walks to work.")
            shape = {**shape}
            method = shape.pop("method", "POST")
            responses = [await gql.request(method, "/graphql", **shape) for _ in range(5)]
    finally:
        logger.removeHandler(counter)
    return responses[-1], lines


@pytest.mark.parametrize("debug", [True, False], ids=["x-cache", "no-x-cache"])
@pytest.mark.parametrize("shape", list(SHAPES))
async def test_an_early_hit_is_byte_for_byte_the_hit_the_whole_stack_sends(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture, shape: str, debug: bool
) -> None:
    caplog.set_level(logging.INFO, logger="forum.requests")
    stack, stack_lines = await fifth(
        make_settings(
            tmp_path, database_url, response_cache_debug=debug, response_cache_early_hits=False
        ),
        SHAPES[shape],
    )
    early, early_lines = await fifth(
        make_settings(tmp_path, database_url, response_cache_debug=debug), SHAPES[shape]
    )

    assert (early_lines, stack_lines) == (3, 5)  # two hits of five answered early
    assert (early.status_code, early.headers.raw, early.content) == (
        stack.status_code,
        stack.headers.raw,
        stack.content,
    )
    assert early.json() == SHOWN


async def test_a_write_by_another_process_is_seen_by_the_next_hit(
    gql: Client, ada: User, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    await answered_early(gql, caplog)

    writer = [sys.executable, "-c", WRITER, settings.db_url]
    await asyncio.to_thread(subprocess.run, writer, cwd=ROOT, check=True, timeout=120)

    assert await asked(gql, caplog) == (CYCLES, "miss", "stack")
    assert await asked(gql, caplog) == (CYCLES, "hit", "stack")
    assert await asked(gql, caplog) == (CYCLES, "hit", "early")


async def test_a_write_through_the_api_is_seen_by_the_next_hit(
    gql: Client, ada: User, caplog: pytest.LogCaptureFixture
) -> None:
    await answered_early(gql, caplog)
    changed = await gql(
        'mutation { updateProfile(input: {bio: "Cycles."}) { userErrors { code } } }',
        as_member="ada_l",
    )
    assert changed == {"data": {"updateProfile": {"userErrors": []}}}

    assert await asked(gql, caplog) == (CYCLES, "miss", "stack")


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"content-type": "text/plain"}, 415),
        ({"origin": "https://evil.example"}, 403),
        ({"host": "evil.example"}, 400),
        ({"content-length": "99999999"}, 413),
    ],
    ids=["not-json", "foreign-origin", "foreign-host", "too-long"],
)
async def test_a_hit_the_stack_would_refuse_is_refused_by_the_stack(
    gql: Client,
    ada: User,
    caplog: pytest.LogCaptureFixture,
    headers: dict[str, str],
    status: int,
) -> None:
    await answered_early(gql, caplog)
    before = request_lines(caplog)

    response = await gql.request("POST", "/graphql", json={"query": BIO}, headers=headers)

    assert (response.status_code, request_lines(caplog) - before) == (status, 1)


async def raw_post(app: Any, extra: list[tuple[bytes, bytes]]) -> int:
    """POST BIO through the ASGI app with headers exactly as given (a server might pass
    on names in upper case); the status it answers with."""
    body = json.dumps({"query": BIO}).encode()
    headers = [(b"host", b"localhost"), (b"content-type", b"application/json"), *extra]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/graphql", "raw_path": b"/graphql", "root_path": "",
        "query_string": b"", "headers": headers, "client": (TEST_IP, 51234),
        "server": ("localhost", 80), "state": {},
    }  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"]


async def test_a_cookie_or_host_header_named_in_upper_case_is_never_answered_early(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="forum.requests")
    server = Server(settings)
    answers = []
    async with server:
        await set_profile(await member(None, "ada_l"), bio="Walks to work.")
        for extra in ([], [], [], [], [(b"Cookie", b"theme=dark")], [(b"Host", b"localhost")]):
            before = request_lines(caplog)
            status = await raw_post(server.app, extra)
            answers.append((status, request_lines(caplog) - before))

    # miss, miss, a hit through the stack, one answered early; then the stack again.
    assert answers == [(200, 1), (200, 1), (200, 1), (200, 0), (200, 1), (200, 1)]
