"""The test harness: a GraphQL client over the real ASGI app that scans every response
for IP addresses, the databases, the app in process and real servers on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
from asgi_lifespan import LifespanManager

import models
from services.settings import Settings
from web.app import create_app

TEST_IP = "203.0.113.77"  # the address every in-process request comes from
LOOPBACK_IPS = ("127.0.0.1", "::1", "::ffff:127.0.0.1")
PASSWORD = "correct horse battery"
BASE_URL = "http://localhost"


class IpLeak(AssertionError):
    """A response carried an IP address the tests used."""


def ip_pattern(addresses: Iterable[str]) -> re.Pattern[str]:
    """Matches any of the addresses as a whole token (203.0.113.7 is not in 203.0.113.77)."""
    alternatives = "|".join(re.escape(a) for a in sorted(set(addresses), key=len, reverse=True))
    return re.compile(rf"(?<![0-9A-Za-z.:])(?:{alternatives})(?![0-9A-Za-z.:])")


def assert_no_ip(text: str, addresses: Iterable[str]) -> None:
    """Fail if the text holds any of the addresses."""
    match = ip_pattern(addresses).search(text)
    if match:
        context = text[max(0, match.start() - 80) : match.end() + 80]
        raise IpLeak(f"IP address {match.group(0)!r} leaked: ...{context}...")


RECORD_DOCUMENTS = os.environ.get("RECORD_GRAPHQL_DOCUMENTS", "")


def record(body: dict[str, Any]) -> None:
    """In a recording run (RECORD_GRAPHQL_DOCUMENTS=FILE), append the body to FILE: the
    differential test of the plan executor replays the documents the tests send."""
    if RECORD_DOCUMENTS:
        line = json.dumps(body, sort_keys=True) + "\n"
        with open(RECORD_DOCUMENTS, "a", encoding="utf-8") as out:
            out.write(line)  # one write of one line: xdist workers append safely


@dataclass
class Client:
    """GraphQL over HTTP through the app; members sign in once and keep their cookie."""

    http: httpx.AsyncClient
    ips: set[str] = field(default_factory=lambda: {TEST_IP, *LOOPBACK_IPS})
    cookies: dict[str, str] = field(default_factory=dict)
    responses: int = 0

    async def __call__(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        as_member: str | None = None,
        headers: dict[str, str] | None = None,
        cookie: str | None = None,
    ) -> dict[str, Any]:
        """POST a query; return the JSON body after the IP scan."""
        response = await self.post(
            query, variables, as_member=as_member, headers=headers, cookie=cookie
        )
        assert response.headers["content-type"].startswith("application/json"), response.text
        return response.json()

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        as_member: str | None = None,
        headers: dict[str, str] | None = None,
        cookie: str | None = None,
    ) -> httpx.Response:
        """POST a query and return the raw response (scanned for IPs)."""
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        record(body)
        request_headers = {"content-type": "application/json", **(headers or {})}
        token = cookie if cookie is not None else (self.cookies[as_member] if as_member else None)
        if token is not None:
            request_headers["cookie"] = f"session={token}"
        return await self.request("POST", "/graphql", json=body, headers=request_headers)

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Any HTTP request, scanned for IPs like every other."""
        self.http.cookies.clear()  # each call names its own cookie
        response = await self.http.request(method, url, **kwargs)
        self.scan(response)
        return response

    def scan(self, response: httpx.Response) -> None:
        """Fail the test if the response names an IP address the tests used."""
        self.responses += 1
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        assert_no_ip(headers + "\n" + response.text, self.ips)

    async def sign_in(self, login: str, password: str = PASSWORD) -> str:
        """Sign in and remember the session cookie under the login name."""
        response = await self.post(
            "mutation($i: LoginInput!) { login(input: $i) { userErrors { code } } }",
            {"i": {"login": login, "password": password}},
        )
        assert response.json() == {"data": {"login": {"userErrors": []}}}, response.text
        token = session_cookie(response)
        assert token is not None
        self.cookies[login] = token
        return token


def session_cookie(response: httpx.Response) -> str | None:
    """The session token a response sets, if any."""
    for value in response.headers.get_list("set-cookie"):
        name, _, rest = value.partition("=")
        if name.strip() == "session":
            token = rest.split(";")[0].strip('"')
            return token or None
    return None


# ------------------------------------------------------------------ databases

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", ""
)  # e.g. postgres://u@127.0.0.1:5433/postgres


_templates: dict[str, str] = {}


async def _migrated_template() -> str:
    """A database migrated once per test process, copied for each test (much faster
    than migrating every test's database from scratch)."""
    kind = "postgres" if POSTGRES_ADMIN_URL else "sqlite"
    if kind in _templates:
        return _templates[kind]
    if kind == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="forum-template-"))
        url = f"sqlite://{folder / 'template.sqlite3'}"
    else:
        url = await _create_postgres(f"tpl_{uuid.uuid4().hex[:16]}")
    await models.init_db(url)
    await models.close_db()
    _templates[kind] = url
    return url


async def _create_postgres(name: str, template: str | None = None) -> str:
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        source = f' TEMPLATE "{template}"' if template else ""
        await connection.execute(f'CREATE DATABASE "{name}"{source}')
    finally:
        await connection.close()
    parts = urlsplit(POSTGRES_ADMIN_URL)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


async def fresh_database_url(tmp_path: Path) -> str:
    """An empty, migrated database for one test: a copy of the per-process template."""
    template = await _migrated_template()
    if not POSTGRES_ADMIN_URL:
        target = tmp_path / "forum.sqlite3"
        source = template.removeprefix("sqlite://")
        shutil.copyfile(source, target)
        return f"sqlite://{target}"
    name = f"t_{uuid.uuid4().hex[:16]}"
    return await _create_postgres(name, urlsplit(template).path.lstrip("/"))


async def empty_database_url(tmp_path: Path) -> str:
    """A database with no tables at all, for tests of the migrations themselves."""
    if not POSTGRES_ADMIN_URL:
        return f"sqlite://{tmp_path / 'empty.sqlite3'}"
    return await _create_postgres(f"t_{uuid.uuid4().hex[:16]}")


async def drop_database(url: str) -> None:
    """Remove a database made by fresh_database_url (SQLite files go with tmp_path)."""
    if not url.startswith("postgres"):
        return
    name = urlsplit(url).path.lstrip("/")
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def test_settings(tmp_path: Path, database_url: str, **overrides: Any) -> Settings:
    """Settings for one test: everything under tmp_path, limits off unless asked."""
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "database_url": database_url,
        "mail_url": f"file://{tmp_path / 'mail'}",
        "public_url": "http://localhost:8000",
        "rate_limits": "off",
        "environment": "development",
        "secret_key": "test-secret-key-" + "x" * 32,
        "ip_key": "test-ip-key-" + "y" * 32,
        # Still Argon2id, at a cost a test suite of hundreds of sign-ins can afford.
        "argon2_time_cost": 1,
        "argon2_memory_kib": 8192,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class Live:
    """A running uvicorn on loopback: its port and an IP-scanned HTTP client."""

    port: int
    http: Client

    @property
    def base(self) -> str:
        """The HTTP base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        """The WebSocket endpoint."""
        return f"ws://127.0.0.1:{self.port}/graphql"


class Server:
    """The app under LifespanManager, and a Client talking to it from TEST_IP."""

    def __init__(self, settings: Settings, client_ip: str = TEST_IP) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self.client_ip = client_ip
        self._lifespan = LifespanManager(self.app, startup_timeout=60, shutdown_timeout=60)

    async def __aenter__(self) -> Client:
        await self._lifespan.__aenter__()
        transport = httpx.ASGITransport(app=self.app, client=(self.client_ip, 51234))
        self.http = httpx.AsyncClient(transport=transport, base_url=BASE_URL)
        return Client(http=self.http, ips={TEST_IP, self.client_ip, *LOOPBACK_IPS})

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()
        await self._lifespan.__aexit__(*exc)


# ------------------------------------------------------------------ real servers

ROOT = Path(__file__).resolve().parents[2]  # the project (this file is tests/support/harness.py)


def free_port() -> int:
    """A loopback port nobody listens on (at the moment of asking)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_process(settings: Settings, port: int, workers: int = 1) -> subprocess.Popen[str]:
    """`python server.py serve` on the test's database and keys, its output to a pipe."""
    env = {
        **os.environ,
        "DATABASE_URL": settings.db_url,
        "DATA_DIR": str(settings.data_dir),
        "SECRET_KEY": settings.secret_key,
        "IP_KEY": settings.ip_key,
        "MAIL_URL": settings.mail_target,
        "RATE_LIMITS": "off",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "8192",
    }
    command = [sys.executable, "server.py", "serve", "--port", str(port), "--workers", str(workers)]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


async def stop_processes(processes: Sequence[subprocess.Popen[str]]) -> None:
    """Stop servers as Ctrl-C would (all at once), killing any that has not ended in 30 s."""
    for process in processes:
        process.send_signal(signal.SIGINT)
    for process in processes:
        try:
            await asyncio.to_thread(process.wait, 30)
        except subprocess.TimeoutExpired:
            process.kill()


async def until_healthy(http: httpx.AsyncClient, server: subprocess.Popen[str]) -> None:
    """Poll /healthz until it answers (or the server has died)."""
    for _ in range(600):
        assert server.poll() is None, "the server exited before it was healthy"
        try:
            if (await http.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("the server never became healthy")


def serve(tmp_path: Path, port: int) -> subprocess.Popen[str]:
    """`python server.py serve` on its own SQLite database, output to one pipe."""
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path / "served"),
        "DATABASE_URL": "",
        "PUBLIC_URL": f"http://localhost:{port}",
        "SECRET_KEY": "served-secret-" + "s" * 32,
        "IP_KEY": "served-ip-key-" + "k" * 32,
        "RATE_LIMITS": "off",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "8192",
        "PYTHONUNBUFFERED": "1",
    }
    return subprocess.Popen(
        [sys.executable, "server.py", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(server: subprocess.Popen[str]) -> str:
    """Stop the server as Ctrl+C would; everything it printed."""
    server.send_signal(signal.SIGINT)
    try:
        output, _ = server.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        output, _ = server.communicate()
    return output
