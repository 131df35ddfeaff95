"""A plain install is complete: the wheel, installed without extras into a fresh virtual
environment, serves a query and a subscription from a folder outside the checkout, with
its migrations, GraphiQL's files and its data inside."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.support.harness import (
    LOOPBACK_IPS,
    POSTGRES_ADMIN_URL,
    TEST_IP,
    assert_no_ip,
    free_port,
    until_healthy,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.e2e,
    # The installed copy serves its own SQLite file: the PostgreSQL run would repeat it.
    pytest.mark.skipif(bool(POSTGRES_ADMIN_URL), reason="runs once, in the SQLite run"),
]

ROOT = Path(__file__).resolve().parent.parent
WAIT = 60  # seconds: a fail-safe against a hang, not a timing claim
THREADS = "{ forums { threads(first: 1) { edges { node { id title } } } } }"
SUBSCRIBE = "subscription($t: ID!) { threadMessageAdded(threadId: $t) { body } }"
LOGIN = "mutation($i: LoginInput!) { login(input: $i) { userErrors { code } } }"
POST = "mutation($i: PostMessageInput!) { postMessage(input: $i) { userErrors { code } } }"


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a command to its end; its output (the test fails with it if the command does)."""
    result = subprocess.run([str(part) for part in command], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=900, check=False)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh virtual environment with the wheel installed, no extras; its bin folder."""
    folder = tmp_path_factory.mktemp("install")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    # From a copy: setuptools builds in the source tree, and each xdist worker that runs
    # a test of this module builds its own wheel.
    source = folder / "source"
    shutil.copytree(ROOT, source, ignore=outside_the_wheel)
    run(*pip, "wheel", "--no-deps", "-w", folder / "dist", ".", cwd=source)
    (wheel,) = (folder / "dist").glob("*.whl")
    run(sys.executable, "-m", "venv", folder / "venv", cwd=folder)
    bin_ = folder / "venv" / "bin"
    constraints = ROOT / "constraints.txt"
    run(bin_ / "python", "-m", "pip", "install", "-q", "-c", constraints, wheel, cwd=folder)
    yield bin_


def outside_the_wheel(folder: str, names: list[str]) -> set[str]:
    """What the copy the wheel is built from leaves out: the checkout's own state and
    its top-level folders no wheel needs (package data such as services/data stays)."""
    skipped = {name for name in names if name.startswith(".") or name == "__pycache__"}
    if Path(folder) == ROOT:
        skipped |= {"build", "data", "tests", "e2e", "bench", "docs", "node_modules"}
        skipped |= {name for name in names if name.endswith(".egg-info")}
    return skipped & set(names)


def site_env(folder: Path, port: int) -> dict[str, str]:
    """The environment of the installed server: nothing of the checkout's on any path."""
    keep = {name: value for name, value in os.environ.items()
            if name in ("PATH", "HOME", "LANG", "TMPDIR")}  # fmt: skip
    return {**keep, "DATA_DIR": str(folder / "data"), "PUBLIC_URL": f"http://localhost:{port}",
            "SECRET_KEY": "installed-secret-" + "s" * 32, "IP_KEY": "installed-ip-" + "k" * 32,
            "RATE_LIMITS": "off", "ARGON2_TIME_COST": "1", "ARGON2_MEMORY_KIB": "8192"}  # fmt: skip


def test_the_wheel_carries_migrations_static_files_and_data(installed: Path) -> None:
    (wheel,) = (installed.parent.parent / "dist").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()

    assert "migrations/0001_initial.py" in names
    assert {"server.py", "forum.py"} <= set(names)
    assert "services/data/privacy-policy.md" in names
    assert any(name.startswith("web/static/graphiql/graphiql@") for name in names)
    assert "websockets" in wheel_requirements(names, wheel)


def wheel_requirements(names: list[str], wheel: Path) -> str:
    """The Requires-Dist lines of the wheel's metadata."""
    (metadata,) = [name for name in names if name.endswith(".dist-info/METADATA")]
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    return "\n".join(line for line in text.splitlines() if line.startswith("Requires-Dist"))


def start(bin_: Path, folder: Path, port: int) -> subprocess.Popen[str]:
    """`forum serve` of the installed copy, in `folder`, its output to a pipe."""
    return subprocess.Popen(
        [str(bin_ / "forum"), "serve", "--port", str(port)], cwd=folder,
        env=site_env(folder, port), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


async def test_the_installed_console_script_serves_a_query_and_a_subscription(
    installed: Path, tmp_path: Path
) -> None:
    port = free_port()
    run(installed / "forum", "seed", cwd=tmp_path, env=site_env(tmp_path, port))
    server = start(installed, tmp_path, port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=WAIT) as http:
            await until_healthy(http, server)
            event = await a_message_heard_live(http, port)
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = await asyncio.to_thread(server.communicate, timeout=WAIT)

    assert event == {"threadMessageAdded": {"body": "Heard live from an installed copy"}}
    assert_no_ip("\n".join(t for t in output.splitlines() if "Uvicorn running" not in t),
                 {TEST_IP, *LOOPBACK_IPS})  # fmt: skip


def test_python_m_forum_runs_the_same_command_line_outside_the_checkout(
    installed: Path, tmp_path: Path
) -> None:
    env = site_env(tmp_path, free_port())

    usage = run(installed / "python", "-m", "forum", "--help", cwd=tmp_path, env=env)
    migrated = run(installed / "python", "-m", "forum", "migrate", cwd=tmp_path, env=env)

    assert usage.startswith("usage: python -m forum [-h] COMMAND ...")
    assert "rotate-keys" in usage
    assert migrated.startswith("applied ")
    assert (tmp_path / "data" / "forum.sqlite3").exists()


async def a_message_heard_live(http: httpx.AsyncClient, port: int) -> dict:
    """Subscribe to the first thread, post in it as alice (a demo member: the demo
    password is hers, the demo admin's is random); the event heard."""
    threads = (await http.post("/graphql", json={"query": THREADS})).json()["data"]
    thread = next(
        f["threads"]["edges"][0]["node"] for f in threads["forums"] if f["threads"]["edges"]
    )
    origin = f"http://localhost:{port}"
    url = f"ws://127.0.0.1:{port}/graphql"
    protocols = ["graphql-transport-ws"]
    async with connect(url, origin=origin, subprotocols=protocols, open_timeout=WAIT) as socket_:
        await socket_.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await socket_.recv())["type"] == "connection_ack"
        payload = {"query": SUBSCRIBE, "variables": {"t": thread["id"]}}
        await socket_.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        login = {"i": {"login": "alice", "password": "forum-demo-2026"}}
        signed_in = await http.post("/graphql", json={"query": LOGIN, "variables": login},
                                    headers={"origin": origin})  # fmt: skip
        assert signed_in.json() == {"data": {"login": {"userErrors": []}}}
        post = {"i": {"threadId": thread["id"], "body": "Heard live from an installed copy"}}
        # The subscription starts while the socket is read: post until it hears one
        # (each later post would be heard too, so the first event decides).
        for _ in range(10):
            posted = await http.post("/graphql", json={"query": POST, "variables": post},
                                     headers={"origin": origin})  # fmt: skip
            assert posted.json() == {"data": {"postMessage": {"userErrors": []}}}
            with contextlib.suppress(TimeoutError):
                message = json.loads(await asyncio.wait_for(socket_.recv(), 5))
                break
        else:
            raise AssertionError("no event reached the subscription")
    assert message["type"] == "next", message
    return message["payload"]["data"]
