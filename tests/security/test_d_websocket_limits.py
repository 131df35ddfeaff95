"""Issue 14: the HTTP limits hold over the WebSocket too, tried against a real uvicorn.

- PERSISTED_QUERIES=only refuses any other document sent as `subscribe` (extends the B
  rows, whose document allow-list the socket skipped).
- Open sockets are capped per client and per signed-in member, per worker (extends J7
  and B14: one client opened hundreds of sockets).
- JSON nested deeper than the parser recurses closes the socket with 4400 like any other
  frame that is not JSON, with no traceback in the log (extends D4 and B10).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from services.settings import Settings
from tests.support.documents import LOGOUT_CODE
from tests.support.harness import Live
from tests.support.harness import test_settings as make_settings
from tests.support.members import member
from tests.support.websockets import (
    WAIT,
    Site,
    Socket,
    next_message,
    opened,
    raw_socket,
)
from web.graphql import ForumGraphQL

pytestmark = pytest.mark.e2e


PER_CLIENT, PER_MEMBER = 3, 2
ALLOWED = "{ viewer { username } }"  # the one document of the site's clients
DIGEST = hashlib.sha256(ALLOWED.encode()).hexdigest()
TOO_MANY = ([], 1013, "Too many connections")
NESTED_TOO_DEEPLY = {
    "errors": [
        {"message": "The request is nested too deeply.", "extensions": {"code": "BAD_USER_INPUT"}}
    ]
}


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """PERSISTED_QUERIES=only with a manifest of ALLOWED, and small socket caps."""
    manifest = tmp_path / "manifest.json"
    operation = {"id": DIGEST, "name": "Viewer", "type": "query", "body": ALLOWED}
    document = {"format": "apollo-persisted-query-manifest", "version": 1}
    manifest.write_text(json.dumps({**document, "operations": [operation]}))
    return make_settings(
        tmp_path,
        database_url,
        persisted_queries="only",
        persisted_queries_file=manifest,
        ws_max_per_client=PER_CLIENT,
        ws_max_per_member=PER_MEMBER,
    )


async def ada_token(live: Live) -> str:
    """A session of ada's (made as `login` makes one)."""
    await member(live.http, "ada")
    return live.http.cookies["ada"]


async def held(view: ForumGraphQL, count: int) -> None:
    """Wait until the server holds `count` sockets (a closed one is let go soon after)."""
    for _ in range(int(WAIT / 0.01)):
        if sum(view.sockets.clients.values()) == count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{view.sockets.clients} sockets held")


# ------------------------------------------------------------------ persisted queries only


async def test_D_persisted_queries_only_refuses_another_document_over_the_socket(
    site: Site, sockets: list[Socket]
) -> None:
    token = await ada_token(site.live)
    socket = await opened(site.live, sockets, token)

    await socket.subscribe("1", LOGOUT_CODE, {})

    refusal = {
        "message": "Only the persisted queries of this site's clients may run here.",
        "extensions": {"code": "PERSISTED_QUERY_REQUIRED"},
    }
    assert await socket.receive() == {"id": "1", "type": "error", "payload": [refusal]}
    # The logout never ran: the session still signs ada in.
    assert await site.live.http(ALLOWED, cookie=token) == {"data": {"viewer": {"username": "ada"}}}


@pytest.mark.parametrize("sent", ["document", "hash"])
async def test_D_persisted_queries_only_runs_the_manifests_document_over_the_socket(
    site: Site, sockets: list[Socket], sent: str
) -> None:
    socket = await opened(site.live, sockets, await ada_token(site.live))
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": DIGEST}}
    payload: dict[str, Any] = {"query": ALLOWED} if sent == "document" else {}
    payload["extensions"] = persisted

    await socket.send({"id": "1", "type": "subscribe", "payload": payload})

    assert [await socket.receive(), await socket.receive()] == [
        next_message("1", "viewer", {"username": "ada"}),
        {"id": "1", "type": "complete"},
    ]


# ------------------------------------------------------------------ sockets per client, member


async def test_J7_one_client_may_hold_only_so_many_sockets(
    site: Site, sockets: list[Socket]
) -> None:
    for _ in range(PER_CLIENT):
        await opened(site.live, sockets)
    refused = Socket(await raw_socket(site.live), site.live.http.ips)
    sockets.append(refused)

    assert await refused.ending() == TOO_MANY  # at once: no connection_init was sent


async def test_J7_closing_a_socket_frees_its_clients_slot(
    site: Site, views: list[ForumGraphQL], sockets: list[Socket]
) -> None:
    first, *_ = [await opened(site.live, sockets) for _ in range(PER_CLIENT)]

    await first.ws.close()
    await held(views[0], PER_CLIENT - 1)

    await opened(site.live, sockets)  # acknowledged


async def test_J7_one_member_may_hold_only_so_many_sockets(
    site: Site, sockets: list[Socket]
) -> None:
    token = await ada_token(site.live)
    for _ in range(PER_MEMBER):
        await opened(site.live, sockets, token)
    refused = Socket(await raw_socket(site.live, token), site.live.http.ips)
    sockets.append(refused)

    assert await refused.ending() == TOO_MANY
    await opened(site.live, sockets)  # the client has a slot left, for someone signed out


def test_J7_the_caps_default_to_20_per_client_and_10_per_member(
    tmp_path: Path, database_url: str
) -> None:
    defaults = make_settings(tmp_path, database_url)
    assert (defaults.ws_max_per_client, defaults.ws_max_per_member) == (20, 10)


# ------------------------------------------------------------------ deeply nested JSON


async def test_D4_deeply_nested_json_closes_the_socket_4400_without_a_traceback(
    site: Site, sockets: list[Socket], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    socket = await opened(site.live, sockets)

    await socket.ws.send("[" * 100_000 + "]" * 100_000)

    assert await socket.ending() == ([], 4400, "WebSocket message must be valid JSON")
    faults = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert faults == []


async def test_D4_deeply_nested_json_over_http_still_gets_its_coded_400(site: Site) -> None:
    depth = 100_000
    body = b'{"query": "{ __typename }", "variables": {"a": ' + b"[" * depth + b"]" * depth + b"}}"

    response = await site.live.http.request(
        "POST", "/graphql", content=body, headers={"content-type": "application/json"}
    )

    assert (response.status_code, response.json()) == (400, NESTED_TOO_DEEPLY)
