"""Retention of stored addresses: `purge` drops ciphers and hashes past their windows and
nothing else; `purge-ip` runs it from cron; `reveal-ip` is the operator's audited way in."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from models.accounts import User
from models.activity import Visit
from models.audit import AuditEntry
from resolvers.addresses import HOLDERS, purge
from services.settings import Settings
from tests.support.addresses import every_kind_of_write
from tests.support.harness import Client, Server, assert_no_ip
from tests.support.mail import Mailbox

ROOT = Path(__file__).resolve().parent.parent
GB = "81.2.69.160"  # every request comes from here, so visits have a country
TABLES = [holder.model._meta.db_table for holder in HOLDERS]


@pytest.fixture
async def gql(settings: Settings, mailbox: Mailbox) -> AsyncIterator[Client]:
    # The mailbox: its scan runs once this app has stopped.
    async with Server(settings, client_ip=GB) as client:
        yield client


@pytest.fixture
async def written(gql: Client, mailbox: Mailbox) -> None:
    """ada (and bob) wrote one of everything: every holder table has address rows."""
    await every_kind_of_write(gql, mailbox)


async def age(days: float, first_only: bool = False) -> None:
    """Make every row (or each table's first row) `days` old by its holder's time column."""
    when = datetime.now(UTC) - timedelta(days=days)
    for holder in HOLDERS:
        rows = holder.model.all()
        if first_only:
            first = await holder.model.all().order_by("id").first()
            assert first is not None
            rows = holder.model.filter(id=first.pk)
        await rows.update(**{holder.time_column: when})


async def kept() -> dict[str, list[tuple[bool, bool]]]:
    """Per table, in row order: does each row still have its cipher, its hash?"""
    found = {}
    for holder in HOLDERS:
        rows = await holder.model.all().order_by("id").values_list("ip_cipher", "ip_hash")
        found[holder.model._meta.db_table] = [(c is not None, h is not None) for c, h in rows]
    return found


async def everything_else() -> dict[str, list[dict[str, Any]]]:
    """Per table, every row's other columns."""
    found = {}
    for holder in HOLDERS:
        rows = await holder.model.all().order_by("id").values()
        found[holder.model._meta.db_table] = [
            {k: v for k, v in row.items() if k not in ("ip_cipher", "ip_hash")} for row in rows
        ]
    return found


def all_rows(before: dict[str, list[tuple[bool, bool]]], state: tuple[bool, bool]) -> dict:
    """`before`, with every row that had an address now in `state`."""
    return {
        table: [state if cipher else (False, False) for cipher, _ in rows]
        for table, rows in before.items()
    }


# ------------------------------------------------------------------ purge


@pytest.mark.parametrize(
    ("raw_days", "hash_days", "days_old", "cipher_kept", "hash_kept"),
    [
        (30, 90, 1, True, True),
        (30, 90, 29, True, True),
        (30, 90, 31, False, True),  # past the raw window only
        (30, 90, 91, False, False),
        (365, 90, 100, True, False),  # the defaults: hashes go first
        (365, 90, 366, False, False),
    ],
)
async def test_purge_drops_each_value_past_its_window_in_every_table(
    written: None,
    raw_days: int,
    hash_days: int,
    days_old: int,
    cipher_kept: bool,
    hash_kept: bool,
) -> None:
    before = await kept()
    await age(days_old)

    changed = await purge(raw_days, hash_days)

    assert await kept() == all_rows(before, (cipher_kept, hash_kept))
    dropped = not (cipher_kept and hash_kept)
    assert changed == {
        table: sum(cipher for cipher, _ in rows) if dropped else 0 for table, rows in before.items()
    }


async def test_purge_leaves_newer_rows_of_the_same_table(written: None) -> None:
    before = await kept()
    await age(400, first_only=True)

    await purge(30, 90)

    assert await kept() == {table: [(False, False), *rows[1:]] for table, rows in before.items()}


async def test_purge_leaves_every_other_column_as_it_was(written: None) -> None:
    await age(400)
    before = await everything_else()

    await purge(30, 90)

    assert await everything_else() == before
    assert await Visit.all().values_list("page_views", "country") == [(1, "GB")]


async def test_a_second_purge_changes_nothing(written: None) -> None:
    await age(400)
    await purge(30, 90)

    assert await purge(30, 90) == dict.fromkeys(TABLES, 0)


async def test_purge_reports_each_table_as_it_goes(written: None) -> None:
    await age(400, first_only=True)
    seen: list[tuple[str, int]] = []

    await purge(30, 90, lambda table, count: seen.append((table, count)))

    assert seen == [(table, 1) for table in TABLES]


# ------------------------------------------------------------------ the commands


def command_env(settings: Settings, tmp_path: Path) -> dict[str, str]:
    """The server's own database and keys, as an operator's shell would give them."""
    return {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "IP_KEY": settings.ip_key,
        "SECRET_KEY": settings.secret_key,
        "DATA_DIR": str(tmp_path / "cli"),
    }


async def run(settings: Settings, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """`python server.py ARGS` beside the running app; its output is checked for addresses."""
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "server.py", *args],
        cwd=ROOT,
        env=command_env(settings, tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if args[0] != "reveal-ip":
        assert_no_ip(result.stdout + result.stderr, {GB})
    return result


async def test_purge_ip_prints_how_many_records_it_purged(
    written: None, settings: Settings, tmp_path: Path
) -> None:
    await age(400, first_only=True)

    result = await run(settings, tmp_path, "purge-ip", "--days", "30", "--hash-days", "90")

    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"purged {len(TABLES)} address records "
        "(raw older than 30 days, hashes older than 90 days)\n"
    )
    assert [rows[0] for rows in (await kept()).values()] == [(False, False)] * len(TABLES)


async def test_purge_ip_uses_the_configured_windows_by_default(
    written: None, settings: Settings, tmp_path: Path
) -> None:
    result = await run(settings, tmp_path, "purge-ip")

    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "purged 0 address records (raw older than 365 days, hashes older than 90 days)\n"
    )


async def test_purge_ip_refuses_a_window_under_a_day(
    gql: Client, settings: Settings, tmp_path: Path
) -> None:
    result = await run(settings, tmp_path, "purge-ip", "--days", "30", "--hash-days", "-1")

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "error: retention windows are at least one day\n"


async def test_reveal_ip_prints_the_members_addresses_oldest_first(
    written: None, settings: Settings, tmp_path: Path
) -> None:
    ada = await User.get(username="ada")
    moments = await pin_adas_records(ada.id)

    result = await run(
        settings, tmp_path, "reveal-ip", "--username", "ada", "--reason", "court order 1"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{at.isoformat()}\t{table}\t{GB}" for at, table in moments
    ]


async def test_reveal_ip_writes_an_audit_entry_with_the_reason(
    written: None, settings: Settings, tmp_path: Path
) -> None:
    ada = await User.get(username="ada")

    await run(settings, tmp_path, "reveal-ip", "--username", "ada", "--reason", " court order 1 ")

    assert await AuditEntry.all().values(
        "actor_id", "action", "subject_id", "fields_read", "reason"
    ) == [
        {
            "actor_id": None,  # the operator at the console has no account
            "action": "REVEAL_IP_ADDRESSES",
            "subject_id": ada.id,
            "fields_read": ["ip_address"],
            "reason": "court order 1",
        }
    ]


async def test_reveal_ip_shows_nothing_already_purged(
    written: None, settings: Settings, tmp_path: Path
) -> None:
    await age(400)
    await purge(30, 90)

    result = await run(
        settings, tmp_path, "reveal-ip", "--username", "ada", "--reason", "court order 1"
    )

    assert (result.returncode, result.stdout) == (0, "")


async def test_reveal_ip_refuses_an_unknown_username_in_one_line(
    written: None, settings: Settings, tmp_path: Path
) -> None:
    result = await run(
        settings, tmp_path, "reveal-ip", "--username", "nobody", "--reason", "court order 1"
    )

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "error: no member has that username\n"
    assert await AuditEntry.all().count() == 0


async def test_reveal_ip_needs_a_reason(written: None, settings: Settings, tmp_path: Path) -> None:
    result = await run(settings, tmp_path, "reveal-ip", "--username", "ada", "--reason", " x ")

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "error: give a reason of at least three characters\n"
    assert await AuditEntry.all().count() == 0


async def pin_adas_records(user_id: int) -> list[tuple[datetime, str]]:
    """Give each of ada's address records its own second; return (time, table), oldest first."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    moments = []
    for holder in HOLDERS:
        if holder.user_column is None:
            continue
        table = holder.model._meta.db_table
        rows = holder.model.filter(ip_cipher__isnull=False, **{holder.user_column: user_id})
        for row_id in await rows.order_by("id").values_list("id", flat=True):
            at = start - timedelta(seconds=len(moments))  # newest first: reveal sorts
            await holder.model.filter(id=row_id).update(**{holder.time_column: at})
            moments.append((at, table))
    return sorted(moments)
