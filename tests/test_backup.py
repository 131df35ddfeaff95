"""Backups: `backup --output FILE` copies the SQLite database while members post, and the
copy opens, passes integrity_check and holds every message committed before it started;
on PostgreSQL the command prints the pg_dump line to use."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from services.settings import Settings
from tests.support.forum import new_forum, open_thread, pk, reply
from tests.support.harness import POSTGRES_ADMIN_URL, Client
from tests.support.members import member

ROOT = Path(__file__).resolve().parent.parent
WRITERS = 4

sqlite_only = pytest.mark.skipif(bool(POSTGRES_ADMIN_URL), reason="SQLite's backup API")


async def backup(settings: Settings, output: Path) -> tuple[int, str, str]:
    """`server.py backup --output FILE` on the test's database: exit code, stdout, stderr."""
    env = {**os.environ, "DATABASE_URL": settings.db_url, "DATA_DIR": str(settings.data_dir)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "server.py", "backup", "--output", str(output), cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


@sqlite_only
async def test_a_backup_taken_while_members_post_holds_every_earlier_message(
    gql: Client, settings: Settings, tmp_path: Path
) -> None:
    for name in ("ada", "bob"):
        await member(gql, name)
    thread_id, first = await open_thread(gql, "ada", await new_forum())
    committed = [pk(first)]
    stop, under_way = asyncio.Event(), asyncio.Event()

    async def write(author: str) -> None:
        while not stop.is_set():
            committed.append(pk(await reply(gql, author, thread_id, "still typing")))
            if len(committed) >= 20:
                under_way.set()

    writers = [asyncio.create_task(write(("ada", "bob")[n % 2])) for n in range(WRITERS)]
    await asyncio.wait_for(under_way.wait(), 60)
    before = set(committed)
    output = tmp_path / "copy.sqlite3"
    try:
        code, stdout, stderr = await backup(settings, output)
    finally:
        stop.set()
        await asyncio.gather(*writers)

    assert (code, stderr) == (0, ""), stderr
    assert stdout == f"backed up to {output} ({output.stat().st_size} bytes, integrity ok)\n"
    copy = sqlite3.connect(output)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        held = {row[0] for row in copy.execute("SELECT id FROM messages")}
    finally:
        copy.close()
    assert before <= held
    assert len(committed) > len(before)  # writers went on while the backup ran


@sqlite_only
async def test_a_backup_never_overwrites_a_file(settings: Settings, tmp_path: Path) -> None:
    output = tmp_path / "taken.sqlite3"
    output.write_text("precious")

    code, stdout, stderr = await backup(settings, output)

    assert (code, stdout) == (1, "")
    assert stderr == f"error: {output} exists; name a new file\n"
    assert output.read_text() == "precious"


@pytest.mark.skipif(not POSTGRES_ADMIN_URL, reason="PostgreSQL only")
async def test_on_postgresql_backup_prints_the_pg_dump_line_without_the_password(
    settings: Settings, tmp_path: Path
) -> None:
    output = tmp_path / "forum.dump"

    code, stdout, stderr = await backup(settings, output)

    assert (code, stderr) == (0, "")
    assert stdout.splitlines()[1].startswith(f"pg_dump --format=custom --no-owner --file={output} ")
    password = urlsplit(settings.db_url).password
    assert not password or password not in stdout
    assert not output.exists()
