"""Logs: one JSON line per request with no client address (unless the operator asks),
and no address, email, password, token or variable in any log record, even at DEBUG,
in process or from a real uvicorn."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import signal
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from tortoise import connections
from websockets.asyncio.client import connect

from models.base import Role
from resolvers.accounts import create_member
from services.logs import json_formatter
from services.settings import Settings
from tests.support.documents import CONFIRM_TOKEN
from tests.support.harness import (
    LOOPBACK_IPS,
    PASSWORD,
    POSTGRES_ADMIN_URL,
    TEST_IP,
    Client,
    Server,
    assert_no_ip,
    free_port,
    serve,
    session_cookie,
    stop,
    until_healthy,
)
from tests.support.harness import test_settings as make_settings
from tests.support.mail import Mailbox, token_in
from tests.support.members import register
from tests.support.processes import Lines, serve_two_workers

ROOT = Path(__file__).resolve().parent.parent
CLIENT = "198.51.100.41"  # a member behind our proxy
OTHER = "2001:db8::42"
WRONG_PASSWORD = "canary-wrong-password-31"
BAD_DATE = "canary-date-5e"
TITLE = "canary-title-8c"
PATH = "/canary-path-d1"
LINE_KEYS = ["request_id", "method", "path", "status", "duration_ms", "operation", "viewer"]
SQL_LOGGERS = ("tortoise", "tortoise.db_client", "aiosqlite", "asyncpg")
LOGIN = "mutation Login($i: LoginInput!) { login(input: $i) { userErrors { code } } }"
VIEW = (
    "mutation View($i: RecordPageViewInput!) { recordPageView(input: $i) { userErrors { code } } }"
)


def everything_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    """Every logger that exists, the root and the SQL loggers at DEBUG, into caplog."""
    names = ["", *SQL_LOGGERS, "strawberry", "forum", "uvicorn", "uvicorn.error"]
    names += list(logging.root.manager.loggerDict)
    for name in names:
        caplog.set_level(logging.DEBUG, logger=name or None)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """TEST_IP, the harness's peer, is our proxy: X-Forwarded-For names the client."""
    return make_settings(tmp_path, database_url, trusted_proxies=[f"{TEST_IP}/32"])


@pytest.fixture
async def gql(
    settings: Settings, mailbox: Mailbox, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[Client]:
    """The app, started with every logger at DEBUG (as a careless logging config would)."""
    everything_at_debug(caplog)
    async with Server(settings) as client:
        client.ips.update({CLIENT, OTHER})
        yield client


def request_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The fields of the forum.requests records logged so far."""
    return [
        {key: getattr(r, key) for key in [*LINE_KEYS, "client"] if hasattr(r, key)}
        for r in caplog.records
        if r.name == "forum.requests"
    ]


def line(**fields: Any) -> dict[str, Any]:
    """A request line as expected, its request id and duration taken as they come."""
    return {"method": "POST", "path": "/graphql", "status": 200, "operation": None,
            "viewer": None, **fields}  # fmt: skip


def comparable(found: dict[str, Any]) -> dict[str, Any]:
    """A logged line without its id and duration (checked for shape, not value)."""
    assert list(found) in (LINE_KEYS, [*LINE_KEYS, "client"])
    assert re.fullmatch(r"[0-9a-f]{32}", found["request_id"])
    assert isinstance(found["duration_ms"], int | float) and found["duration_ms"] >= 0
    return {k: v for k, v in found.items() if k not in ("request_id", "duration_ms")}


# ------------------------------------------------------------------ the request line


async def test_each_request_writes_one_json_line_without_the_client(
    gql: Client, caplog: pytest.LogCaptureFixture
) -> None:
    ada = await create_member("ada", "ada@example.org", PASSWORD, Role.MEMBER, date(1990, 5, 17))
    token = await gql.sign_in("ada")
    caplog.clear()

    await gql("query Who { viewer { username } }", cookie=token)
    await gql("{ viewer { username } }", headers={"x-forwarded-for": CLIENT})
    await gql.request("GET", "/healthz")

    assert [comparable(found) for found in request_lines(caplog)] == [
        line(operation="Who", viewer=ada.id),
        line(),
        line(method="GET", path="/healthz"),
    ]


async def test_the_line_names_the_client_only_when_the_operator_asks(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(
        tmp_path, database_url, trusted_proxies=[f"{TEST_IP}/32"], log_client_ips=True
    )
    caplog.set_level(logging.INFO, logger="forum.requests")
    async with Server(settings) as client:
        client.ips.update({CLIENT})
        await client("{ viewer { username } }")
        await client("{ viewer { username } }", headers={"x-forwarded-for": CLIENT})

    assert [comparable(found) for found in request_lines(caplog)] == [
        line(client=TEST_IP),
        line(client=CLIENT),
    ]


async def test_hits_answered_early_are_counted_in_one_line_instead_of_a_line_each(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="forum.requests")
    caplog.set_level(logging.INFO, logger="forum.cache")
    async with Server(settings) as client:
        for _ in range(6):  # kept at once (it reads the site-wide key alone)
            await client("query Who { viewer { username } }")

    # A miss and the first hit (unnamed: no operationName) went through the stack; four
    # hits were answered early (web/hits.py) and are counted, the count written at the
    # latest as the app stops.
    assert [comparable(found) for found in request_lines(caplog)] == [line(operation="Who"), line()]
    (counted,) = [r for r in caplog.records if r.name == "forum.cache"]
    assert (counted.getMessage(), counted.hits) == ("cache hits", 4)
    assert counted.seconds >= 0


async def test_a_crafted_path_cannot_forge_a_second_line(
    gql: Client, caplog: pytest.LogCaptureFixture
) -> None:
    forged = '{"request_id": "0", "method": "POST", "path": "/graphql", "status": 200}'

    response = await gql.request("GET", "/nope%0A" + forged.replace(" ", "%20"))

    assert response.status_code == 404
    (found,) = request_lines(caplog)
    assert comparable(found) == line(method="GET", path="/nope\n" + forged, status=404)
    (record,) = [r for r in caplog.records if r.name == "forum.requests"]
    (written,) = json_formatter().format(record).splitlines()
    assert json.loads(written)["path"] == "/nope\n" + forged


def test_a_uvicorn_line_carries_its_message_without_terminal_colours() -> None:
    record = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, "Started", (), None)
    record.color_message = "Started \x1b[36m1\x1b[0m"

    written = json.loads(json_formatter().format(record))

    assert (written["message"], "color_message" in written) == ("Started", False)


async def test_a_masked_fault_is_logged_under_the_request_id_it_answers_with(
    gql: Client, caplog: pytest.LogCaptureFixture
) -> None:
    await connections.get("default").execute_script("DROP TABLE policy_versions")
    caplog.clear()

    response = await gql("query Policy { privacyPolicy { version } }")

    request_id = response["errors"][0]["extensions"]["requestId"]
    (found,) = request_lines(caplog)
    assert found["request_id"] == request_id
    assert comparable(found) == line(operation="Policy")
    faults = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.name for r in faults] == ["forum.graphql"]
    assert request_id in faults[0].getMessage()


async def test_the_sql_logs_stay_quiet_even_when_configured_for_debug(gql: Client) -> None:
    # They print parameter values: emails, the bodies of mails with their tokens.
    levels = {name: logging.getLogger(name).getEffectiveLevel() for name in SQL_LOGGERS}

    assert levels == dict.fromkeys(SQL_LOGGERS, logging.WARNING)


# ------------------------------------------------------------------ nothing personal in any record


async def the_whole_mix(gql: Client, mailbox: Mailbox, secrets: list[str]) -> None:
    """Register, confirm, sign in, browse, fail in several ways, and fault; every
    secret that went over the wire is added to `secrets`."""
    behind = {"x-forwarded-for": CLIENT}
    assert await register(gql, "ada") == {"data": {"register": {"userErrors": []}}}
    (mail,) = await mailbox.wait_for("ada@example.org")
    confirm = token_in(mail)
    await gql(CONFIRM_TOKEN, {"t": confirm}, headers=behind)
    response = await gql.post(LOGIN, {"i": {"login": "ada", "password": PASSWORD}}, headers=behind)
    token = session_cookie(response)
    assert token is not None
    gql.cookies["ada"] = token
    secrets += [confirm, token]
    view = {"path": PATH, "referrer": "https://canary-referrer.example/x", "title": TITLE}
    await gql(VIEW, {"i": view}, as_member="ada", headers={"x-forwarded-for": OTHER})
    visitor = await gql.post(VIEW, {"i": view})
    secrets.append(visitor.cookies["visitor"])
    wrong = {"i": {"login": "ada@example.org", "password": WRONG_PASSWORD}}
    assert (await gql(LOGIN, wrong, headers=behind))["data"]["login"]["userErrors"]
    stats = "query($d: Date!) { siteStats(from: $d, to: $d) { visits } }"
    assert (await gql(stats, {"d": BAD_DATE}, as_member="ada"))["errors"]
    assert (await gql(stats, {"d": "2026-01-01"}, as_member="ada"))["errors"]  # FORBIDDEN
    # Registering writes a registration waiting for its link: without its table, a fault.
    await connections.get("default").execute_script("DROP TABLE pending_registrations")
    faulted = await register(gql, "eve", email="eve@example.org", password=WRONG_PASSWORD)
    assert faulted["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"


async def test_no_log_record_holds_an_address_email_password_token_or_variable(
    gql: Client, mailbox: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    secrets = ["ada@example.org", "eve@example.org", PASSWORD, WRONG_PASSWORD, BAD_DATE, TITLE,
               PATH, "canary-referrer", "1990-05-17"]  # fmt: skip

    await the_whole_mix(gql, mailbox, secrets)

    assert len(request_lines(caplog)) == 9
    assert any(r.name == "forum.graphql" and r.levelno == logging.ERROR for r in caplog.records)
    for record in caplog.records:
        written = json_formatter().format(record)  # the line as stdout would get it
        text = "\n".join([written, repr(record.args), record.exc_text or ""])
        assert_no_ip(text, gql.ips)
        assert [secret for secret in secrets if secret in text] == [], record.name


# ------------------------------------------------------------------ a real uvicorn


async def some_traffic(http: httpx.AsyncClient, port: int) -> None:
    """A registration, a sign-in, a refusal, a 404, GraphiQL and a WebSocket handshake."""
    policy = (await http.post("/graphql", json={"query": "{ privacyPolicy { version } }"})).json()
    version = policy["data"]["privacyPolicy"]["version"]
    variables = {"i": {"username": "ada", "email": "ada@example.org", "password": PASSWORD,
                       "dateOfBirth": "1990-05-17", "acceptPolicyVersion": version}}  # fmt: skip
    register_query = "mutation($i: RegisterInput!) { register(input: $i) { userErrors { code } } }"
    for body in (
        {"query": register_query, "variables": variables},
        {"query": LOGIN, "variables": {"i": {"login": "ada", "password": WRONG_PASSWORD}}},
        {"query": '{ siteStats(from: "2026-01-01", to: "2026-01-01") { visits } }'},
    ):
        assert (await http.post("/graphql", json=body)).status_code == 200
    assert (await http.get("/nowhere")).status_code == 404
    assert (await http.get("/graphql", headers={"accept": "text/html"})).status_code == 200
    origin = f"http://localhost:{port}"
    async with connect(
        f"ws://127.0.0.1:{port}/graphql", subprotocols=["graphql-transport-ws"], origin=origin
    ) as socket_:
        await socket_.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await socket_.recv())["type"] == "connection_ack"


@pytest.mark.e2e
async def test_a_real_server_prints_no_client_address(tmp_path: Path) -> None:
    port = free_port()
    server = serve(tmp_path, port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            await until_healthy(http, server)
            await some_traffic(http, port)
    finally:
        output = await asyncio.to_thread(stop, server)

    # uvicorn's start-up line names the address it listens on, which is the server's own
    # (the --host default), not a client's: the one mention of 127.0.0.1 we accept.
    listening = f"Uvicorn running on http://127.0.0.1:{port} (Press CTRL+C to quit)"
    assert listening in output, output
    others = [text for text in output.splitlines() if listening not in text]
    assert_no_ip("\n".join(others), {TEST_IP, *LOOPBACK_IPS})
    assert "ada@example.org" not in output
    assert PASSWORD not in output and WRONG_PASSWORD not in output
    assert '"path": "/graphql"' in output  # the request lines did reach the output
    assert [type(json.loads(text)) for text in output.splitlines()] == [dict] * len(
        output.splitlines()
    )  # one JSON object per line, uvicorn's own lines included
    assert "WebSocket /graphql" in output  # uvicorn's handshake line, its address blanked


@pytest.mark.e2e
@pytest.mark.skipif(not POSTGRES_ADMIN_URL, reason="several workers need PostgreSQL")
async def test_every_worker_of_serve_writes_json_request_lines(settings: Settings) -> None:
    port = free_port()
    server = serve_two_workers(settings, port)
    output = Lines(server)
    fresh = httpx.Limits(max_keepalive_connections=0)  # each request may meet either worker
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=fresh) as http:
            await until_healthy(http, server)
            async with asyncio.timeout(120):  # a fail-safe against a hang
                while len(output.request_pids()) < 2:
                    query = {"query": "query Who { viewer { username } }"}
                    await asyncio.gather(*(http.post("/graphql", json=query) for _ in range(8)))
    finally:
        server.send_signal(signal.SIGINT)
        await asyncio.to_thread(server.wait, 30)
        output.reader.join(30)

    workers = output.request_pids()
    assert len(workers) == 2
    assert server.pid not in workers  # the lines come from the workers, not the parent
    lines = [json.loads(text) for text in output.lines]
    request = next(found for found in lines if found.get("operation") == "Who")
    assert {key: request[key] for key in ("level", "logger", "message", "method", "status")} == {
        "level": "INFO", "logger": "forum.requests", "message": "request", "method": "POST",
        "status": 200,
    }  # fmt: skip
    assert_no_ip("\n".join(t for t in output.lines if "Uvicorn running" not in t), {TEST_IP})
