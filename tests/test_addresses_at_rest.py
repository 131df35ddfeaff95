"""Stored client addresses: every table that keeps one holds it encrypted next to a keyed
hash, and no dump of the database, SQLite or PostgreSQL, shows one in plain text."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import sqlite3
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from tortoise import Tortoise

from resolvers.addresses import HOLDERS
from services.addresses import AddressVault
from services.settings import Settings
from tests.support.addresses import (
    ADA,
    BOB,
    NEWCOMER,
    every_kind_of_write,
)
from tests.support.harness import TEST_IP, Client, Server, assert_no_ip
from tests.support.harness import test_settings as make_settings
from tests.support.mail import Mailbox

ADDRESSES = {*ADA.values(), "2001:db8::21", BOB, NEWCOMER}
# What each table holds afterwards: the address of every row, in row order. ada's account
# and first consent keep where she registered, not where she opened the link.
EXPECTED = {
    "users": [ADA["register"], None],  # bob was made by the operator's command: no client
    "sessions": [ADA["login"], BOB],
    "email_tokens": [ADA["email change"]],
    "consents": [ADA["register"], ADA["consent"]],
    "threads": [ADA["thread"]],
    "conversations": [ADA["conversation"]],
    "messages": [ADA["thread"], ADA["post"], BOB, ADA["conversation"]],
    "message_edits": [ADA["edit"]],
    "reports": [ADA["report"]],
    "correction_requests": [ADA["correction"]],
    "visits": ["2001:db8::21"],
    "pending_registrations": [NEWCOMER],
}


def behind_proxy(tmp_path: Path, database_url: str) -> Settings:
    """Settings with TEST_IP, the harness's peer, as our proxy: X-Forwarded-For counts."""
    return make_settings(tmp_path, database_url, trusted_proxies=[f"{TEST_IP}/32"])


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return behind_proxy(tmp_path, database_url)


@pytest.fixture
async def gql(settings: Settings, mailbox: Mailbox) -> AsyncIterator[Client]:
    # The mailbox: its scan runs once this app has stopped.
    async with Server(settings) as client:
        client.ips.update(ADDRESSES)
        yield client


@pytest.fixture
async def written(gql: Client, mailbox: Mailbox) -> None:
    """Every kind of write has happened once."""
    await every_kind_of_write(gql, mailbox)


async def stored(vault: AddressVault) -> dict[str, list[str]]:
    """Each address-holding table's addresses, decrypted, in row order; checks each hash."""
    found: dict[str, list[str]] = {}
    for holder in HOLDERS:
        rows = await holder.model.all().order_by("id").values_list("ip_cipher", "ip_hash")
        addresses = [vault.open(cipher) if cipher else None for cipher, _ in rows]
        assert [digest for _, digest in rows] == [a and vault.fingerprint(a) for a in addresses]
        found[holder.model._meta.db_table] = addresses
    return found


async def test_every_table_keeps_each_writes_address_encrypted_with_its_keyed_hash(
    written: None, settings: Settings
) -> None:
    assert await stored(AddressVault(settings.address_key)) == EXPECTED


async def test_every_table_that_keeps_addresses_is_listed_as_a_holder(gql: Client) -> None:
    with_addresses = {
        model._meta.db_table
        for model in Tortoise.apps["models"].values()
        if "ip_cipher" in model._meta.fields_map
    }

    assert with_addresses == set(EXPECTED)
    assert {holder.model._meta.db_table for holder in HOLDERS} == with_addresses


async def test_a_cipher_needs_the_key(written: None, settings: Settings) -> None:
    cipher = await HOLDERS[0].model.get(username="ada").values_list("ip_cipher", flat=True)
    other = AddressVault(b"another-key-" + b"z" * 32)

    with pytest.raises(InvalidTag):
        other.open(cipher)
    assert other.fingerprint(ADA["register"]) != AddressVault(settings.address_key).fingerprint(
        ADA["register"]
    )


# ------------------------------------------------------------------ dumps


def unkeyed_hashes() -> list[str]:
    """Plain digests of the addresses: a hash anyone can compute would be no protection."""
    return [
        hashlib.new(name, address.encode()).hexdigest()
        for address in ADDRESSES
        for name in ("md5", "sha1", "sha256")
    ]


def assert_no_address(text: str) -> None:
    """Fail if the text holds any test address, or an unkeyed hash of one."""
    assert_no_ip(text, ADDRESSES | {TEST_IP})
    assert [digest for digest in unkeyed_hashes() if digest in text] == []


def sqlite_file(settings: Settings) -> Path:
    if not settings.is_sqlite:
        pytest.skip("reads the SQLite database file")
    return Path(settings.db_url.removeprefix("sqlite://").split("?")[0])


async def test_the_sqlite_file_and_its_wal_hold_no_readable_address(
    written: None, settings: Settings
) -> None:
    database = sqlite_file(settings)

    files = [path for path in (database, Path(f"{database}-wal")) if path.exists()]

    assert files[0] == database
    for path in files:
        assert_no_address(path.read_bytes().decode("latin-1"))


async def test_a_sqlite_dump_holds_no_readable_address(written: None, settings: Settings) -> None:
    database = sqlite_file(settings)
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        dump = "\n".join(connection.iterdump())

    assert 'INSERT INTO "visits"' in dump
    assert_no_address(dump)


def pg_dump() -> str:
    found = shutil.which("pg_dump") or "/usr/lib/postgresql/15/bin/pg_dump"
    if not Path(found).exists():
        pytest.skip("pg_dump is not installed (apt-get install postgresql-client)")
    return found


async def test_a_postgresql_dump_holds_no_readable_address(
    written: None, settings: Settings
) -> None:
    if settings.is_sqlite:
        pytest.skip("dumps a PostgreSQL database; run under scripts/with-postgres")
    result = await asyncio.to_thread(
        subprocess.run,
        [pg_dump(), "--no-owner", "--inserts", settings.database_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "INSERT INTO public.visits" in result.stdout
    assert_no_address(result.stdout)
