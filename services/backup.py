"""Backups: a consistent copy of a SQLite database while it serves, through SQLite's
online backup API; PostgreSQL is pg_dump's business."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


def sqlite_path(db_url: str) -> Path:
    """The file behind a sqlite:// URL (its options dropped)."""
    return Path(db_url.removeprefix("sqlite://").split("?")[0])


def backup_sqlite(source: Path, output: Path) -> str:
    """Copy the database into `output` (written beside it, then renamed into place, so a
    half-written copy never carries the name); the copy's integrity_check answer."""
    partial = output.with_name(f".{output.name}.partial")
    partial.unlink(missing_ok=True)
    # Read-only: the backup never writes to the live database. One step (pages=-1) copies
    # one snapshot under one read transaction; WAL lets writers go on meanwhile.
    with (
        sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True) as live,
        sqlite3.connect(partial) as copy,
    ):
        live.execute("PRAGMA busy_timeout = 10000")
        live.backup(copy, pages=-1)
        copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        (verdict,) = copy.execute("PRAGMA integrity_check").fetchone()
    live.close()
    copy.close()
    os.replace(partial, output)
    return str(verdict)


def pg_dump_command(db_url: str, output: Path) -> str:
    """The pg_dump line that backs this PostgreSQL database up into `output`; the password
    is left out (pg_dump reads it from PGPASSWORD or ~/.pgpass)."""
    parts = urlsplit(db_url)
    netloc = parts.hostname or ""
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    url = urlunsplit(("postgresql", netloc, parts.path, "", ""))
    return f"pg_dump --format=custom --no-owner --file={output} '{url}'"
